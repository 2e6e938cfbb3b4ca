//! ward's host patch engine: plan the pending updates (security or all, allow/deny patterns,
//! holds and pins respected), back up what a run touches, apply in small steps, find and
//! restart what still runs replaced code, verify with health checks, roll back to the exact
//! previous versions when verification fails, and record every run.
//!
//! Pure modules (bytes and values in, values out): [`apt_sim`] (what `apt-get -s` says),
//! [`changelog`], [`deb`] (one streaming pass over a `.deb`), [`dpkg_status`], [`plan`],
//! [`status`]; [`reboot`]'s `decide`. IO: [`system`] (the one way into the system being
//! patched), [`apt`] (the apt/dpkg [`backend::Backend`]), [`checks`], [`restart`],
//! [`repack`] (rebuilds the `.deb` of an installed package from the dpkg database), [`record`]
//! (run records in the data directory), and [`engine`], which runs the phases in order.

pub mod apt;
pub mod apt_sim;
pub mod backend;
pub mod changelog;
pub mod checks;
pub mod deb;
pub mod dpkg_status;
pub mod engine;
pub mod plan;
pub mod reboot;
pub mod record;
pub mod repack;
pub mod restart;
pub mod status;
pub mod system;
