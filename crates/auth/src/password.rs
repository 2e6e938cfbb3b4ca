//! Passwords: the minimum rules for a new password, argon2id hashing to a PHC string, constant-time
//! verification, and whether a stored hash should be recomputed with current parameters.
//!
//! Passwords only ever travel as [`SecretString`], whose `Debug` prints `[REDACTED]`; nothing in
//! this module formats, logs or returns a password.

use argon2::password_hash::rand_core::TryCryptoRng;
use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::AuthError;

/// The fewest characters (Unicode scalar values) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Bytes of salt drawn from the RNG for each hash (the PHC string format's recommendation).
const SALT_BYTES: usize = 16;

/// Argon2id cost parameters. The default is OWASP's recommendation (Password Storage Cheat
/// Sheet): 19 MiB of memory, two passes, one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory cost in KiB (`m`).
    pub memory_kib: u32,
    /// Number of passes (`t`).
    pub iterations: u32,
    /// Degree of parallelism (`p`).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

impl PasswordParams {
    fn argon2(&self) -> Result<Argon2<'static>, AuthError> {
        let params = argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| AuthError::InvalidParams(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Checks the minimum rules for a new password: at least [`MIN_PASSWORD_CHARS`] characters,
/// and not one character repeated. Existing passwords are not re-checked at login.
pub fn check_rules(password: &SecretString) -> Result<(), AuthError> {
    let text = password.expose_secret();
    let actual = text.chars().count();
    if actual < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort { min: MIN_PASSWORD_CHARS, actual });
    }
    let mut chars = text.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err(AuthError::PasswordOneCharacter);
        }
    }
    Ok(())
}

/// Hashes a new password with argon2id and the default [`PasswordParams`]; see
/// [`hash_with_params`].
pub fn hash<R: TryCryptoRng + ?Sized>(
    password: &SecretString,
    rng: &mut R,
) -> Result<String, AuthError> {
    hash_with_params(password, &PasswordParams::default(), rng)
}

/// Hashes a new password with argon2id (version 0x13) and `params`, with a 16-byte salt drawn
/// from `rng`. Returns the PHC string (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`) to store.
/// Fails if the password breaks [`check_rules`], the parameters are out of range or the RNG fails.
pub fn hash_with_params<R: TryCryptoRng + ?Sized>(
    password: &SecretString,
    params: &PasswordParams,
    rng: &mut R,
) -> Result<String, AuthError> {
    check_rules(password)?;
    let argon2 = params.argon2()?;
    let mut salt = [0u8; SALT_BYTES];
    rng.try_fill_bytes(&mut salt).map_err(|_| AuthError::Rng)?;
    let phc = argon2
        .hash_password_with_salt(password.expose_secret().as_bytes(), &salt)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string, using the parameters recorded in it.
/// The comparison of the computed and stored hashes is constant-time (argon2's `Output`).
/// `Ok(false)` is a wrong password; `Err` means the stored string is not a valid argon2 hash.
pub fn verify(password: &SecretString, phc: &str) -> Result<bool, AuthError> {
    let parsed = parse_argon2(phc)?;
    match Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(AuthError::InvalidPasswordHash(e.to_string())),
    }
}

/// Whether a stored hash should be replaced (after a successful login, while the password is at
/// hand): true unless it is argon2id version 0x13 with exactly `params`. An unparsable string
/// also needs a rehash.
pub fn needs_rehash(phc: &str, params: &PasswordParams) -> bool {
    let Ok(parsed) = parse_argon2(phc) else {
        return true;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return true;
    };
    let Ok(stored) = argon2::Params::try_from(&parsed) else {
        return true;
    };
    algorithm != Algorithm::Argon2id
        || parsed.version != Some(Version::V0x13.into())
        || stored.m_cost() != params.memory_kib
        || stored.t_cost() != params.iterations
        || stored.p_cost() != params.parallelism
}

fn parse_argon2(phc: &str) -> Result<PasswordHash, AuthError> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| AuthError::InvalidPasswordHash(e.to_string()))?;
    Algorithm::try_from(parsed.algorithm.as_str())
        .map_err(|e| AuthError::InvalidPasswordHash(e.to_string()))?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::SeededRng;

    /// Small parameters so the tests stay fast; one test uses the defaults.
    const FAST: PasswordParams = PasswordParams { memory_kib: 64, iterations: 1, parallelism: 1 };

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    fn check_rule(password: &str, expect: Result<(), AuthError>) {
        assert_eq!(check_rules(&secret(password)), expect, "{password:?}");
    }

    #[test]
    fn rules_for_new_passwords() {
        let short = |actual| Err(AuthError::PasswordTooShort { min: 12, actual });
        check_rule("", short(0));
        check_rule("correct hor", short(11));
        check_rule("ééééééééééé", short(11)); // counted in characters, not bytes
        check_rule("aaaaaaaaaaaa", Err(AuthError::PasswordOneCharacter));
        check_rule("éééééééééééééééé", Err(AuthError::PasswordOneCharacter));
        check_rule("correct hors", Ok(()));
        check_rule("aaaaaaaaaaab", Ok(()));
    }

    #[test]
    fn rule_errors_say_what_to_do() {
        assert_eq!(
            check_rules(&secret("short")).map_err(|e| e.to_string()),
            Err("password is too short: it has 5 characters, at least 12 are required".into())
        );
    }

    #[test]
    fn hash_then_verify() {
        let password = secret("correct horse battery");
        let phc = hash_with_params(&password, &FAST, &mut SeededRng::new(1)).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert_eq!(verify(&password, &phc), Ok(true));
        assert_eq!(verify(&secret("correct horse batterY"), &phc), Ok(false));
        assert_eq!(verify(&secret(""), &phc), Ok(false));
    }

    #[test]
    fn salt_comes_from_the_rng() {
        let password = secret("correct horse battery");
        let a = hash_with_params(&password, &FAST, &mut SeededRng::new(1)).unwrap();
        let again = hash_with_params(&password, &FAST, &mut SeededRng::new(1)).unwrap();
        let b = hash_with_params(&password, &FAST, &mut SeededRng::new(2)).unwrap();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(verify(&password, &b), Ok(true));
    }

    #[test]
    fn default_parameters_are_owasps() {
        assert_eq!(
            PasswordParams::default(),
            PasswordParams { memory_kib: 19_456, iterations: 2, parallelism: 1 }
        );
        let password = secret("correct horse battery");
        let phc = hash(&password, &mut SeededRng::new(3)).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(verify(&password, &phc), Ok(true));
        assert!(!needs_rehash(&phc, &PasswordParams::default()));
    }

    #[test]
    fn hash_refuses_weak_passwords_and_bad_params() {
        let mut rng = SeededRng::new(1);
        assert_eq!(
            hash_with_params(&secret("aaaaaaaaaaaaaa"), &FAST, &mut rng),
            Err(AuthError::PasswordOneCharacter)
        );
        let zero_passes = PasswordParams { iterations: 0, ..FAST };
        assert!(matches!(
            hash_with_params(&secret("correct horse battery"), &zero_passes, &mut rng),
            Err(AuthError::InvalidParams(_))
        ));
    }

    #[test]
    fn hash_reports_a_failing_rng() {
        use crate::rand_core::{TryCryptoRng, TryRng};

        #[derive(Debug)]
        struct Broken;
        #[derive(Debug)]
        struct Failure;
        impl std::fmt::Display for Failure {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("broken")
            }
        }
        impl std::error::Error for Failure {}
        impl TryRng for Broken {
            type Error = Failure;
            fn try_next_u32(&mut self) -> Result<u32, Failure> {
                Err(Failure)
            }
            fn try_next_u64(&mut self) -> Result<u64, Failure> {
                Err(Failure)
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Failure> {
                Err(Failure)
            }
        }
        impl TryCryptoRng for Broken {}

        assert_eq!(
            hash_with_params(&secret("correct horse battery"), &FAST, &mut Broken),
            Err(AuthError::Rng)
        );
    }

    #[test]
    fn hash_with_the_os_rng() {
        let password = secret("correct horse battery");
        let phc = hash_with_params(&password, &FAST, &mut crate::OsRng).unwrap();
        assert_eq!(verify(&password, &phc), Ok(true));
    }

    #[test]
    fn verify_rejects_what_is_not_an_argon2_hash() {
        let password = secret("correct horse battery");
        for bad in [
            "",
            "plaintext",
            "$argon2id$v=19$m=64,t=1,p=1$",
            "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(
                matches!(verify(&password, bad), Err(AuthError::InvalidPasswordHash(_))),
                "{bad:?}"
            );
            assert!(needs_rehash(bad, &FAST), "{bad:?}");
        }
    }

    #[test]
    fn needs_rehash_when_parameters_or_variant_change() {
        let password = secret("correct horse battery");
        let phc = hash_with_params(&password, &FAST, &mut SeededRng::new(1)).unwrap();
        assert!(!needs_rehash(&phc, &FAST));
        for changed in [
            PasswordParams { memory_kib: 128, ..FAST },
            PasswordParams { iterations: 2, ..FAST },
            PasswordParams { parallelism: 2, ..FAST },
        ] {
            assert!(needs_rehash(&phc, &changed), "{changed:?}");
        }
        // The same parameters with another variant (argon2i) still verify but need a rehash.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            argon2::Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"correct horse battery", b"saltsaltsaltsalt")
        .unwrap()
        .to_string();
        assert_eq!(verify(&password, &argon2i), Ok(true));
        assert!(needs_rehash(&argon2i, &FAST));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = secret("correct horse battery");
        let shown = format!("{password:?}");
        assert!(!shown.contains("correct"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        let error = check_rules(&secret("hunter2")).unwrap_err();
        assert!(!format!("{error:?} {error}").contains("hunter2"));
    }
}
