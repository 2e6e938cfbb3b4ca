//! API tokens, agent credentials and one-time enrollment tokens.
//!
//! A token's text is `ward_<kind>_<id>_<secret>`: `kind` is `api`, `agent` or `enrollment`,
//! `id` is 12 lowercase hex digits (48 random bits, public: the server's lookup key) and
//! `secret` is 64 lowercase hex digits (256 random bits). The server stores only a
//! [`StoredToken`]: kind, id and the lowercase hex SHA-256 of the secret's 32 bytes. To
//! authenticate, it [`parse`]s the presented text, finds the row by id and calls [`verify`],
//! which compares hashes in constant time.
//!
//! The secret is never in `Debug` output and no type here implements `Display`; the full text is
//! only available through [`Token::reveal`], to be shown to the user once.

use std::fmt;

use argon2::password_hash::rand_core::TryCryptoRng;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{hex, AuthError};

const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// What a token is for. Its name is part of the token text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// A user's API token (acts with its owner's role intersected with its scopes).
    Api,
    /// An enrolled agent's credential.
    Agent,
    /// A one-time token an agent exchanges for an [`TokenKind::Agent`] credential.
    Enrollment,
}

impl TokenKind {
    /// Every kind, in declaration order.
    pub const ALL: [TokenKind; 3] = [TokenKind::Api, TokenKind::Agent, TokenKind::Enrollment];

    /// The name used in token text: `api`, `agent`, `enrollment`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Agent => "agent",
            TokenKind::Enrollment => "enrollment",
        }
    }
}

kebab_names!(TokenKind, "token kind", "api, agent, enrollment");

/// A freshly generated token: the secret, to show once and then drop. `Debug` shows the kind and
/// id only.
pub struct Token {
    kind: TokenKind,
    id: String,
    text: SecretString,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("text", &"[REDACTED]")
            .finish()
    }
}

/// What the server stores for a token: nothing that lets anyone act as it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// What the token is for.
    pub kind: TokenKind,
    /// The public lookup id: 12 lowercase hex digits.
    pub id: String,
    /// Lowercase hex SHA-256 of the secret's 32 bytes.
    pub hash: String,
}

impl Token {
    /// Generates a token of `kind` from `rng`: 48 bits of id and 256 bits of secret. Returns the
    /// token (to show once) and the row to store. Fails only if the RNG fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        kind: TokenKind,
        rng: &mut R,
    ) -> Result<(Token, StoredToken), AuthError> {
        let mut id = [0u8; ID_BYTES];
        let mut secret = SecretBox::new(Box::new([0u8; SECRET_BYTES]));
        rng.try_fill_bytes(&mut id).map_err(|_| AuthError::Rng)?;
        rng.try_fill_bytes(secret.expose_secret_mut()).map_err(|_| AuthError::Rng)?;
        let id = hex::encode(&id);
        let mut secret_hex = hex::encode(secret.expose_secret());
        let text = SecretString::from(format!("ward_{kind}_{id}_{secret_hex}"));
        secret_hex.zeroize();
        let stored =
            StoredToken { kind, id: id.clone(), hash: secret_hash(secret.expose_secret()) };
        Ok((Token { kind, id, text }, stored))
    }

    /// What the token is for.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The public lookup id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The full token text (`ward_<kind>_<id>_<secret>`), to show to the user once.
    pub fn reveal(&self) -> &str {
        self.text.expose_secret()
    }
}

/// A token presented by a client, split into its parts. `Debug` never shows the secret.
#[derive(Debug)]
pub struct ParsedToken {
    /// What the token claims to be for.
    pub kind: TokenKind,
    /// The lookup id: 12 lowercase hex digits.
    pub id: String,
    secret: SecretBox<[u8; SECRET_BYTES]>,
}

/// Splits presented token text into kind, id and secret. Fails, without echoing the text, if it
/// is not exactly `ward_<kind>_<12 hex>_<64 hex>` (lowercase hex).
pub fn parse(text: &str) -> Result<ParsedToken, AuthError> {
    let malformed = |reason| AuthError::MalformedToken { reason };
    let mut parts = text.split('_');
    if parts.next() != Some("ward") {
        return Err(malformed("does not start with `ward_`"));
    }
    let (Some(kind), Some(id), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected four `_`-separated parts: ward, kind, id, secret"));
    };
    let kind = kind
        .parse::<TokenKind>()
        .map_err(|_| malformed("unknown kind (expected api, agent or enrollment)"))?;
    if id.len() != ID_BYTES * 2 || hex::decode(id).is_none() {
        return Err(malformed("id is not 12 lowercase hex digits"));
    }
    let mut decoded = hex::decode(secret).unwrap_or_default();
    let bytes = <[u8; SECRET_BYTES]>::try_from(decoded.as_slice())
        .map_err(|_| malformed("secret is not 64 lowercase hex digits"));
    decoded.zeroize();
    Ok(ParsedToken { kind, id: id.to_owned(), secret: SecretBox::new(Box::new(bytes?)) })
}

/// Whether a presented token matches a stored row: same kind, same id, and the secret's SHA-256
/// equal to the stored hash, compared in constant time.
pub fn verify(parsed: &ParsedToken, stored: &StoredToken) -> bool {
    let hash = secret_hash(parsed.secret.expose_secret());
    let hash_matches: bool = hash.as_bytes().ct_eq(stored.hash.as_bytes()).into();
    hash_matches && parsed.kind == stored.kind && parsed.id == stored.id
}

fn secret_hash(secret: &[u8; SECRET_BYTES]) -> String {
    hex::encode(&Sha256::digest(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::SeededRng;

    fn generate(kind: TokenKind, seed: u64) -> (Token, StoredToken) {
        Token::generate(kind, &mut SeededRng::new(seed)).unwrap()
    }

    fn check_malformed(text: &str, reason: &str) {
        match parse(text) {
            Err(AuthError::MalformedToken { reason: got }) => {
                assert!(got.contains(reason), "{text:?}: {got}");
            }
            other => panic!("{text:?}: expected a malformed-token error, got {other:?}"),
        }
    }

    #[test]
    fn generated_token_text_has_the_documented_shape() {
        for kind in TokenKind::ALL {
            let (token, stored) = generate(kind, 7);
            let text = token.reveal();
            let prefix = format!("ward_{kind}_{}_", stored.id);
            assert!(text.starts_with(&prefix), "{text}");
            let secret = &text[prefix.len()..];
            assert_eq!(secret.len(), 64);
            assert!(secret.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(stored.id.len(), 12);
            assert_eq!(token.id(), stored.id);
            assert_eq!(token.kind(), kind);
            assert_eq!(stored.kind, kind);
            // The stored hash is SHA-256 of the secret's bytes, not the secret.
            let bytes = hex::decode(secret).unwrap();
            assert_eq!(stored.hash, hex::encode(&Sha256::digest(&bytes)));
            assert!(!text.contains(&stored.hash));
        }
    }

    #[test]
    fn generated_tokens_differ() {
        let (a, stored_a) = generate(TokenKind::Api, 1);
        let (b, stored_b) = generate(TokenKind::Api, 2);
        assert_ne!(a.reveal(), b.reveal());
        assert_ne!(stored_a.id, stored_b.id);
        assert_ne!(stored_a.hash, stored_b.hash);
        let (c, _) = Token::generate(TokenKind::Api, &mut crate::OsRng).unwrap();
        let (d, _) = Token::generate(TokenKind::Api, &mut crate::OsRng).unwrap();
        assert_ne!(c.reveal(), d.reveal());
    }

    #[test]
    fn a_token_verifies_against_its_own_row_only() {
        let (token, stored) = generate(TokenKind::Api, 1);
        let (_, other) = generate(TokenKind::Api, 2);
        let parsed = parse(token.reveal()).unwrap();
        assert_eq!(parsed.kind, TokenKind::Api);
        assert_eq!(parsed.id, stored.id);
        assert!(verify(&parsed, &stored));
        assert!(!verify(&parsed, &other));
        // Same id and hash, but stored for another kind: an API token is not an agent credential.
        let as_agent = StoredToken { kind: TokenKind::Agent, ..stored.clone() };
        assert!(!verify(&parsed, &as_agent));
        // Right secret, other id.
        let other_id = StoredToken { id: other.id.clone(), ..stored.clone() };
        assert!(!verify(&parsed, &other_id));
        // A corrupt stored hash (wrong length) never matches.
        let short = StoredToken { hash: stored.hash[..10].to_owned(), ..stored };
        assert!(!verify(&parsed, &short));
    }

    #[test]
    fn a_changed_secret_does_not_verify() {
        let (token, stored) = generate(TokenKind::Enrollment, 3);
        let mut text = token.reveal().to_owned();
        let last = text.pop().unwrap();
        text.push(if last == '0' { '1' } else { '0' });
        assert!(!verify(&parse(&text).unwrap(), &stored));
    }

    #[test]
    fn parse_rejects_malformed_text() {
        let id = "0123456789ab";
        let secret = "ab".repeat(32);
        check_malformed("", "ward_");
        check_malformed(&format!("wrd_api_{id}_{secret}"), "ward_");
        check_malformed(&format!("ward_api_{id}"), "four");
        check_malformed(&format!("ward_api_{id}_{secret}_x"), "four");
        check_malformed(&format!("ward_user_{id}_{secret}"), "unknown kind");
        check_malformed(&format!("ward_API_{id}_{secret}"), "unknown kind");
        check_malformed(&format!("ward_api_0123456789a_{secret}"), "id");
        check_malformed(&format!("ward_api_0123456789AB_{secret}"), "id");
        check_malformed(&format!("ward_api_{id}_{}", "ab".repeat(31)), "secret");
        check_malformed(&format!("ward_api_{id}_{}", "AB".repeat(32)), "secret");
        check_malformed(&format!("ward_api_{id}_{}", "zz".repeat(32)), "secret");
        assert!(parse(&format!("ward_api_{id}_{secret}")).is_ok());
    }

    #[test]
    fn parse_errors_never_echo_the_text() {
        let text = format!("ward_user_0123456789ab_{}", "cd".repeat(32));
        let error = parse(&text).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("cdcd"), "{shown}");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let (token, stored) = generate(TokenKind::Api, 1);
        let secret = &token.reveal()[token.reveal().len() - 64..];
        let parsed = parse(token.reveal()).unwrap();
        for shown in [format!("{token:?}"), format!("{parsed:?}"), format!("{stored:?}")] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains(&secret[..16]), "{shown}");
        }
        assert!(format!("{token:?}").contains(&stored.id));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for (kind, name) in [
            (TokenKind::Api, "api"),
            (TokenKind::Agent, "agent"),
            (TokenKind::Enrollment, "enrollment"),
        ] {
            assert_eq!(kind.to_string(), name);
            assert_eq!(name.parse::<TokenKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }
        assert!("Api".parse::<TokenKind>().is_err());
    }

    #[test]
    fn stored_token_round_trips_through_json() {
        let (_, stored) = generate(TokenKind::Agent, 4);
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(serde_json::from_str::<StoredToken>(&json).unwrap(), stored);
    }

    #[test]
    fn generate_reports_a_failing_rng() {
        struct Broken;
        #[derive(Debug)]
        struct Failure;
        impl fmt::Display for Failure {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("broken")
            }
        }
        impl std::error::Error for Failure {}
        impl crate::rand_core::TryRng for Broken {
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
            Token::generate(TokenKind::Api, &mut Broken).map(|_| ()).unwrap_err(),
            AuthError::Rng
        );
    }
}
