//! Passwords: the policy a new one must meet, and argon2id hashing with
//! OWASP's parameters (19 MiB, 2 passes, 1 lane: argon2's defaults).

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// At least this many characters (NIST SP 800-63B allows long passphrases;
/// OWASP's minimum with no composition rules is 8, the issue asks 12).
pub const MIN_CHARS: usize = 12;
/// Longer inputs are refused before hashing, so nobody can make the box
/// hash megabytes.
pub const MAX_BYTES: usize = 1024;

/// A password that met the policy; its text is never printed.
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_BYTES} bytes")]
    TooLong,
    #[error("is too common or too easy to guess; try a longer passphrase of unrelated words")]
    TooCommon,
    #[error("must not contain the username")]
    ContainsUsername,
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

impl NewPassword {
    /// Checks `password` for the account `username`.
    pub fn new(password: &str, username: &str) -> Result<NewPassword, PasswordError> {
        if password.len() > MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        if password.chars().count() < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
            return Err(PasswordError::ContainsUsername);
        }
        // zxcvbn ranks against lists of the most common passwords, names
        // and words, keyboard walks and repeats; 3 of 4 means "safely
        // unguessable" for an online attack.
        let estimate = zxcvbn::zxcvbn(password, &[username, "hearth"]);
        if (estimate.score() as u8) < 3 {
            return Err(PasswordError::TooCommon);
        }
        Ok(NewPassword(password.to_string()))
    }

    /// The argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub fn hash(&self) -> PasswordHash {
        let phc = hasher()
            .hash_password(self.0.as_bytes())
            .expect("argon2 with valid parameters and a random salt cannot fail");
        PasswordHash(phc.to_string())
    }
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A stored password hash.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Constant-time check (argon2's own); a malformed hash never matches.
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_BYTES {
            return false;
        }
        let Ok(parsed) = Phc::new(&self.0) else {
            return false;
        };
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// A hash of a random password, verified against when a username does
    /// not exist, so a login takes the same time either way.
    pub fn decoy() -> PasswordHash {
        static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        DECOY
            .get_or_init(|| {
                let random = super::token::Secret::generate();
                NewPassword(random.expose().to_string()).hash()
            })
            .clone()
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "correct horse battery staple";

    #[test]
    fn policy() {
        let long = "x".repeat(2000);
        for (password, refused) in [
            ("short", PasswordError::TooShort),
            ("password1234", PasswordError::TooCommon),
            ("qwertyuiop123", PasswordError::TooCommon),
            ("aaaaaaaaaaaaaaaa", PasswordError::TooCommon),
            ("alice-in-wonderland-77", PasswordError::ContainsUsername),
            (&long, PasswordError::TooLong),
        ] {
            assert_eq!(
                NewPassword::new(password, "alice").err(),
                Some(refused),
                "{password}"
            );
        }
        assert!(NewPassword::new(GOOD, "alice").is_ok());
    }

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hash = NewPassword::new(GOOD, "alice").unwrap().hash();
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        assert!(hash.verify(GOOD));
        assert!(!hash.verify("correct horse battery stapler"));
        assert!(!PasswordHash("garbage".into()).verify(GOOD));
        // Same password, new salt: a different hash.
        assert_ne!(hash, NewPassword::new(GOOD, "alice").unwrap().hash());
        assert!(!PasswordHash::decoy().verify(GOOD));
    }

    #[test]
    fn secrets_are_not_printed() {
        let p = NewPassword::new(GOOD, "alice").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(!format!("{:?}", p.hash()).contains("argon2"));
    }
}
