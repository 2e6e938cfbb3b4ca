//! [`AuthError`]: every way an operation of this crate fails. No variant ever carries a
//! password, a token secret or a token's full text.

/// Why an operation of `ward-auth` failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// A new password is shorter than [`crate::password::MIN_PASSWORD_CHARS`].
    #[error("password is too short: it has {actual} characters, at least {min} are required")]
    PasswordTooShort {
        /// The minimum number of characters.
        min: usize,
        /// How many characters the password has.
        actual: usize,
    },
    /// A new password repeats one character (`aaaaaaaaaaaa`).
    #[error(
        "password repeats a single character: choose one with more than one distinct character"
    )]
    PasswordOneCharacter,
    /// A stored password hash is not a PHC string argon2 can verify (the argon2 crate's reason).
    #[error("stored password hash is invalid: {0}")]
    InvalidPasswordHash(String),
    /// Argon2 parameters out of range (the argon2 crate's reason).
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(String),
    /// Hashing failed inside argon2 (the argon2 crate's reason).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The random number generator failed.
    #[error("the random number generator failed")]
    Rng,
    /// A token's text is not `ward_<kind>_<id>_<secret>`; `reason` says which part is wrong.
    /// The token text itself is never included.
    #[error("malformed token: {reason}")]
    MalformedToken {
        /// What is wrong, e.g. `unknown kind`.
        reason: &'static str,
    },
    /// A role, scope or permission name that does not exist.
    #[error("unknown {what} `{value}`: expected one of {expected}")]
    UnknownName {
        /// `role`, `scope` or `permission`.
        what: &'static str,
        /// The name given.
        value: String,
        /// The accepted names, comma-separated.
        expected: &'static str,
    },
}
