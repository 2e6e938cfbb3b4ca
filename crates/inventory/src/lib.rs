//! ward-inventory: pure parsers that turn OS package databases, lockfiles, manifests and SBOMs
//! into one package model, and the versioned wire types that carry it out of ward.
//!
//! Every parser takes the file's path (only for messages and locations) and its bytes, and
//! returns a [`Parsed`]: the packages it found and the problems it met. Parsing never fails
//! and never panics; a malformed entry becomes a [`ParseError`] naming the file and, where the
//! format has lines, the line, and the rest of the file is still read.

#![forbid(unsafe_code)]

mod detect;
pub mod formats;
pub mod host;
mod lines;
mod model;
pub mod purl;
pub mod wire;

pub use detect::{detect, Format};
pub use model::{Include, IncludeKind, Location, Package, ParseError, Parsed, Relation, Source};

/// Parses `bytes` as `format`. `path` is used for messages and package locations only: the
/// crate does no IO.
pub fn parse(format: Format, path: &str, bytes: &[u8]) -> Parsed {
    formats::parse(format, path, bytes)
}
