//! The security primitives of `ward server`: argon2id password hashing and rules
//! ([`password`]), API and agent tokens stored as hashes ([`token`]), roles, scopes and the
//! permission check ([`role`], [`scope`]), the login lockout policy ([`lockout`]) and the
//! hash-chained audit log ([`audit`]).
//!
//! Everything here is pure: no IO, no clock (the caller passes `now`), no database (the server
//! persists the values these functions produce). Randomness comes from a caller-supplied RNG
//! ([`OsRng`] in production, a seeded one in tests). See ARCHITECTURE.md.

#![forbid(unsafe_code)]

/// `Display` and `FromStr` for a fieldless enum with `ALL` and `as_str`: one parser for every
/// name table in the crate (roles, permissions, scopes, token kinds).
macro_rules! kebab_names {
    ($ty:ty, $what:literal, $expected:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::AuthError;

            fn from_str(s: &str) -> Result<Self, $crate::AuthError> {
                <$ty>::ALL.into_iter().find(|value| value.as_str() == s).ok_or_else(|| {
                    $crate::AuthError::UnknownName {
                        what: $what,
                        value: s.to_owned(),
                        expected: $expected,
                    }
                })
            }
        }
    };
}

pub mod audit;
mod error;
mod hex;
pub mod lockout;
pub mod password;
pub mod role;
pub mod scope;
pub mod token;

pub use error::AuthError;
pub use secrecy::{ExposeSecret, SecretString};

/// The RNG traits [`password::hash`] and [`token::Token::generate`] accept (rand_core 0.10,
/// the version argon2 uses).
pub use argon2::password_hash::rand_core;

/// The operating system's cryptographically secure RNG (`getrandom`), for production callers.
pub use getrandom::SysRng as OsRng;

#[cfg(test)]
pub(crate) mod test_rng {
    //! A deterministic RNG for tests: SHA-256 in counter mode over a seed.

    use std::convert::Infallible;

    use sha2::{Digest, Sha256};

    use crate::rand_core::{TryCryptoRng, TryRng};

    #[derive(Debug)]
    pub(crate) struct SeededRng {
        seed: u64,
        counter: u64,
    }

    impl SeededRng {
        pub(crate) fn new(seed: u64) -> Self {
            SeededRng { seed, counter: 0 }
        }
    }

    impl TryRng for SeededRng {
        type Error = Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            let mut b = [0; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }

        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut b = [0; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            for chunk in dst.chunks_mut(32) {
                let block = Sha256::new()
                    .chain_update(self.seed.to_le_bytes())
                    .chain_update(self.counter.to_le_bytes())
                    .finalize();
                self.counter += 1;
                chunk.copy_from_slice(&block[..chunk.len()]);
            }
            Ok(())
        }
    }

    impl TryCryptoRng for SeededRng {}
}
