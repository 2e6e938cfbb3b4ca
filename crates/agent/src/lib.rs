//! ward's host agent (`ward agent`): it runs on each host, pulls work from `ward server` and
//! pushes results back. This crate is, so far, the agent's delivery layer: [`spool`] keeps
//! results on disk while the server is unreachable and delivers each exactly once when it
//! returns; [`backoff`] spaces the retries.

pub mod backoff;
pub mod spool;
