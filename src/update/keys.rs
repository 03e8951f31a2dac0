//! The keys the box trusts to sign update bundles, and the check of a
//! bundle's manifest against them, before a byte of the bundle is used.
//!
//! Bundles are signed in minisign's format (Ed25519 over the BLAKE2b-512
//! of the file, and over a trusted comment), so that a person can check
//! one with Debian's `minisign -V`; hearth checks them with the
//! `minisign-verify` crate. The image holds the public keys it trusts
//! (`/usr/lib/hearth/update-keys/*.pub`); the repository holds only a
//! test key, which only an image built to trust it does, and which the
//! box then names as such ([`TrustedKeys::trusts_test_key`]).

use std::path::{Path, PathBuf};

use minisign_verify::{PublicKey, Signature};

use super::manifest::{Manifest, ManifestError};

/// The repository's test key, `image/keys/hearth-TEST-ONLY.pub`.
pub const TEST_KEY: &str = include_str!("../../image/keys/hearth-TEST-ONLY.pub");

/// The trusted comment a bundle's manifest is signed with.
pub fn trusted_comment(manifest: &Manifest) -> String {
    format!("hearth {} {}", manifest.version, manifest.commit)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the update keys in {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} is not a minisign public key: {source}")]
    Parse {
        name: String,
        #[source]
        source: minisign_verify::Error,
    },
    #[error("no update key in {path}: no bundle can be trusted")]
    NoKey { path: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is not a minisign signature: {0}")]
    Decode(#[source] minisign_verify::Error),
    #[error("the bundle is signed with a key this box does not trust")]
    NotTrusted,
    #[error("the signature does not match the manifest (changed or cut short): {0}")]
    Mismatch(#[source] minisign_verify::Error),
    #[error("the signature's comment {found:?} does not name the manifest's version and commit")]
    Comment { found: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A manifest whose signature checked out, and whose key signed it.
#[derive(Debug)]
pub struct Signed {
    pub manifest: Manifest,
    pub key: String,
}

/// The keys a bundle may be signed with, each with where it came from.
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    keys: Vec<(String, PublicKey)>,
}

impl TrustedKeys {
    /// The keys of minisign public key files' texts, by name.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TrustedKeys, KeyError> {
        let keys = files
            .into_iter()
            .map(|(name, text)| {
                PublicKey::decode(text.trim_end())
                    .map(|key| (name.to_string(), key))
                    .map_err(|source| KeyError::Parse {
                        name: name.to_string(),
                        source,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedKeys { keys })
    }

    /// Every `*.pub` file in `dir`, in name order; none is an error.
    pub fn load(dir: &Path) -> Result<TrustedKeys, KeyError> {
        let files = key_files(dir)?;
        if files.is_empty() {
            return Err(KeyError::NoKey {
                path: dir.to_path_buf(),
            });
        }
        TrustedKeys::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// The keys of `dir` (as [`TrustedKeys::load`]) and those adopted
    /// since (a rotation: the `*.pub` files of `adopted`, which may not
    /// exist yet).
    pub fn load_with_adopted(dir: &Path, adopted: &Path) -> Result<TrustedKeys, KeyError> {
        let mut keys = TrustedKeys::load(dir)?;
        if adopted.is_dir() {
            let files = key_files(adopted)?;
            let more = TrustedKeys::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))?;
            keys.keys.extend(more.keys);
        }
        Ok(keys)
    }

    /// Whether the repository's test key is among them: never on a box
    /// built for real, and said loudly where it is.
    pub fn trusts_test_key(&self) -> bool {
        let test = PublicKey::decode(TEST_KEY.trim_end()).expect("the test key parses");
        self.keys.iter().any(|(_, key)| *key == test)
    }

    /// Checks `signature` (a `.minisig` file's text) over `manifest`,
    /// then parses the manifest and checks that the signed comment names
    /// its version and commit.
    pub fn verify_manifest(
        &self,
        manifest: &[u8],
        signature: &str,
    ) -> Result<Signed, SignatureError> {
        let signature = Signature::decode(signature).map_err(SignatureError::Decode)?;
        let mut signer = None;
        for (name, key) in &self.keys {
            match key.verify(manifest, &signature, false) {
                Ok(()) => {
                    signer = Some(name.clone());
                    break;
                }
                Err(minisign_verify::Error::UnexpectedKeyId) => continue,
                Err(e) => return Err(SignatureError::Mismatch(e)),
            }
        }
        let key = signer.ok_or(SignatureError::NotTrusted)?;
        let manifest = Manifest::parse(manifest)?;
        let found = signature.trusted_comment();
        if found != trusted_comment(&manifest) {
            return Err(SignatureError::Comment {
                found: found.chars().take(120).collect(),
            });
        }
        Ok(Signed { manifest, key })
    }
}

/// The `*.pub` files of `dir` by name, in name order.
fn key_files(dir: &Path) -> Result<Vec<(String, String)>, KeyError> {
    let read = |source| KeyError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.extension().is_some_and(|e| e == "pub") {
            let text = std::fs::read_to_string(&path).map_err(|source| KeyError::Read {
                path: path.clone(),
                source,
            })?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            files.push((name.into_owned(), text));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
