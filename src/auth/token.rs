//! Bearer secrets: session tokens, API tokens, recovery codes. 256 random
//! bits, sent as base64url; stored only as their SHA-256, so a stolen
//! store does not hand out live sessions.

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::rand::{SecureRandom, SystemRandom};

/// A secret as the client holds it. Its text is never printed.
#[derive(Clone)]
pub struct Secret(String);

/// What the store keeps: SHA-256 of the secret, hex.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct SecretHash(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the OS random number generator does not fail");
    b
}

impl Secret {
    pub fn generate() -> Secret {
        Secret(Base64UrlUnpadded::encode_string(&random_bytes::<32>()))
    }

    /// A secret as received from a client (cookie, header).
    pub fn from_client(text: &str) -> Secret {
        Secret(text.to_string())
    }

    /// The text to hand to the client, once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        SecretHash(digest.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl SecretHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_unique_and_hashed() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.expose().len(), 43, "32 bytes in unpadded base64url");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash(), Secret::from_client(a.expose()).hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
