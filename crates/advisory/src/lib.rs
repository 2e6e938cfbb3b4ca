//! Advisory feeds normalized into one model, and the local advisory index.
//!
//! - [`model`]: the OSV 1.7 record every feed becomes ([`model::Record`]).
//! - [`affects`]: whether a version lies in an `affected[]` entry, exactly (native constraints
//!   first, then OSV ranges).
//! - [`feed`]: pure importers, bytes in, records and errors out (OSV JSON/YAML/zip,
//!   FriendsOfPHP, Node security WG, Alpine secdb, RustSec, Debian security suites and
//!   tracker, KEV, EPSS).
//! - [`name`]: package-name normalization per ecosystem, the index key.
//! - [`store`]: **the IO edge**: reading files and directories, building the index file and
//!   swapping it in atomically, opening and querying it.

#![forbid(unsafe_code)]

pub mod affects;
pub mod feed;
pub mod model;
pub mod name;
pub mod store;

pub use feed::{Format, ImportError, Parsed};
pub use model::Record;
