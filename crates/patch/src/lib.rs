//! ward's host patch engine: plan the pending updates (security or all, allow/deny, holds and
//! pins respected), back up what a run touches, apply in small steps, find and restart what
//! still runs replaced code, verify with health checks, roll back to the exact previous
//! versions when verification fails, and record every run.
//!
//! Pure modules (bytes and values in, values out): [`changelog`], [`deb`].
//!
//! Reboots: [`reboot`] (the pure `decide` over facts read from `/run` and utmp).

pub mod reboot;
pub mod repack;

pub mod changelog;
pub mod deb;
