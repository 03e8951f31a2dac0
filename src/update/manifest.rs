//! An update bundle's manifest: what the bundle is (its version and
//! commit, the oldest version it may be applied over) and what it holds
//! (the root file system, the kernel and the initramfs, each with its
//! size and SHA-256). Parsed without I/O into a typed value whose every
//! field was checked; an error names the field (`parts[1].sha256`) and
//! says why. Whether it may be trusted is [`super::keys`]'s to say: a
//! manifest is parsed only once its signature checked out.

use serde::Deserialize;

use super::version::Version;
use crate::invalid::{Invalid, invalid};

/// The manifest format this hearth reads.
pub const FORMAT: u32 = 1;

/// The most a kernel or an initramfs may be: two sets of them share the
/// boot partition with the boot loader.
pub const MAX_BOOT_FILE: u64 = 64 << 20;

/// The most a root file system may be: a root slot's size.
pub const MAX_ROOT: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub version: Version,
    /// The git commit it was built from: 40 hex digits.
    pub commit: String,
    /// The oldest running version it may be installed over.
    pub min_version: Version,
    /// When it was built (`SOURCE_DATE_EPOCH`), in seconds.
    pub created: u64,
    /// A public key (minisign's base64 line) that later bundles may be
    /// signed with: trusted once this bundle's slot was judged good.
    pub next_public_key: Option<String>,
    pub root: Part,
    pub kernel: Part,
    pub initrd: Part,
}

/// One file of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub size: u64,
    pub sha256: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not the JSON expected: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the manifest's {0}")]
    Invalid(Invalid),
}

impl From<Invalid> for ManifestError {
    fn from(e: Invalid) -> Self {
        ManifestError::Invalid(e)
    }
}

/// The manifest as written; every field is checked in [`Manifest::parse`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    format: u32,
    version: String,
    commit: String,
    min_version: String,
    created: u64,
    #[serde(default)]
    next_public_key: Option<String>,
    parts: Vec<RawPart>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPart {
    name: String,
    size: u64,
    sha256: String,
}

impl Manifest {
    pub fn parse(json: &[u8]) -> Result<Manifest, ManifestError> {
        let raw: Raw = serde_json::from_slice(json).map_err(ManifestError::Json)?;
        if raw.format != FORMAT {
            return Err(invalid(
                "format",
                format!(
                    "is {}; this hearth reads format {FORMAT}: update to a version that reads it first",
                    raw.format
                ),
            )
            .into());
        }
        let version = parse_version("version", &raw.version)?;
        let min_version = parse_version("min_version", &raw.min_version)?;
        if min_version > version {
            return Err(invalid(
                "min_version",
                format!("is {min_version}, newer than the bundle's own {version}"),
            )
            .into());
        }
        if raw.commit.len() != 40 || !raw.commit.bytes().all(is_lower_hex) {
            return Err(invalid("commit", "must be 40 lowercase hex digits").into());
        }
        if let Some(key) = &raw.next_public_key
            && minisign_verify::PublicKey::from_base64(key).is_err()
        {
            return Err(invalid("next_public_key", "is not a minisign public key").into());
        }
        let [root, kernel, initrd] = parts(&raw.parts)?;
        Ok(Manifest {
            version,
            commit: raw.commit,
            min_version,
            created: raw.created,
            next_public_key: raw.next_public_key,
            root,
            kernel,
            initrd,
        })
    }
}

fn parse_version(field: &str, text: &str) -> Result<Version, Invalid> {
    text.parse().map_err(|e| invalid(field, format!("{e}")))
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// The three parts, in the order root, kernel, initrd, each once.
fn parts(raw: &[RawPart]) -> Result<[Part; 3], Invalid> {
    const NAMES: [(&str, u64); 3] = [
        ("root", MAX_ROOT),
        ("kernel", MAX_BOOT_FILE),
        ("initrd", MAX_BOOT_FILE),
    ];
    if raw.len() != NAMES.len() {
        return Err(invalid(
            "parts",
            "must be root, kernel and initrd, each once",
        ));
    }
    let mut parts = [Part {
        size: 0,
        sha256: [0; 32],
    }; 3];
    for (i, ((name, max), (given, part))) in
        NAMES.iter().zip(raw.iter().zip(&mut parts)).enumerate()
    {
        let field = |f: &str| format!("parts[{i}].{f}");
        if given.name != *name {
            return Err(invalid(
                field("name"),
                format!("must be {name:?} (the parts come as root, kernel, initrd)"),
            ));
        }
        if given.size == 0 || given.size > *max {
            return Err(invalid(
                field("size"),
                format!("must be between 1 and {max} bytes"),
            ));
        }
        *part = Part {
            size: given.size,
            sha256: sha256(&given.sha256)
                .ok_or_else(|| invalid(field("sha256"), "must be 64 lowercase hex digits"))?,
        };
    }
    Ok(parts)
}

fn sha256(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(is_lower_hex) {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
