//! An update bundle as a file: an uncompressed tar whose members are, in
//! this order and no others, the regular files `manifest.json`,
//! `manifest.json.minisig`, `root.erofs`, `vmlinuz` and `initrd.img`.
//!
//! [`Bundle::open`] reads the five headers, the manifest and its
//! signature, checks the signature against the keys it is given (see
//! [`super::keys`]) and each part's size against the signed manifest, and
//! says where each part's bytes lie in the file; [`Bundle::copy_part`]
//! streams one part out while hashing it, and fails when the hash is not
//! the signed one. So a part's bytes are trusted only once they were
//! read and hashed, by whoever reads them: a file changed after it was
//! opened is caught by the hash of what was read.
//!
//! Sync and without tokio: the root helper reads bundles, and hearth
//! checks an upload ([`Bundle::check`]) on a blocking thread. The tar
//! headers are parsed with the `tar` crate's header type, but the blocks
//! are read here, so that an offset and a cut are exact.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use ring::digest::{Context, SHA256};

use super::keys::{SignatureError, Signed, TrustedKeys};
use super::manifest::{Manifest, Part};

/// The most a manifest may be.
pub const MAX_MANIFEST: u64 = 64 << 10;
/// The most a manifest's signature may be.
pub const MAX_SIGNATURE: u64 = 4 << 10;

/// A tar block.
const BLOCK: u64 = 512;
/// How much is read at once while streaming a part.
const CHUNK: usize = 1 << 20;

/// The parts of a bundle, which the manifest names root, kernel, initrd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartName {
    Root,
    Kernel,
    Initrd,
}

impl PartName {
    pub const ALL: [PartName; 3] = [PartName::Root, PartName::Kernel, PartName::Initrd];

    /// Its member's name in the tar.
    pub fn member(self) -> &'static str {
        match self {
            PartName::Root => "root.erofs",
            PartName::Kernel => "vmlinuz",
            PartName::Initrd => "initrd.img",
        }
    }

    /// What the signed manifest says of it.
    pub fn in_manifest(self, manifest: &Manifest) -> Part {
        match self {
            PartName::Root => manifest.root,
            PartName::Kernel => manifest.kernel,
            PartName::Initrd => manifest.initrd,
        }
    }
}

/// The members, in their order.
const MEMBERS: [&str; 5] = [
    "manifest.json",
    "manifest.json.minisig",
    "root.erofs",
    "vmlinuz",
    "initrd.img",
];

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle: {0}")]
    Read(#[source] std::io::Error),
    #[error("the bundle is cut short in {what} of {member}")]
    Truncated { member: String, what: &'static str },
    #[error("the bundle's member {index} is not a tar header ({why})")]
    Header { index: usize, why: String },
    #[error("the bundle's member {index} is {found:?}, where {expected:?} must be")]
    Member {
        index: usize,
        expected: &'static str,
        found: String,
    },
    #[error("the bundle has a member after initrd.img: it holds the five files only")]
    Extra,
    #[error("the bundle's {member} is not a regular file")]
    NotAFile { member: &'static str },
    #[error("the bundle's {member} is {size} bytes; at most {max}")]
    TooLarge {
        member: &'static str,
        size: u64,
        max: u64,
    },
    #[error("the bundle's {member} is {found} bytes where its manifest says {expected}")]
    Size {
        member: &'static str,
        expected: u64,
        found: u64,
    },
    #[error("the bundle's manifest.json.minisig is not text")]
    SignatureText,
    #[error("the bundle's signature: {0}")]
    Signature(#[from] SignatureError),
    #[error(
        "the bundle's {member} does not match its manifest (SHA-256 {found}): changed or damaged"
    )]
    Hash { member: &'static str, found: String },
    #[error("cannot write the bundle's {member}: {source}")]
    Write {
        member: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("stopped while copying the bundle's {member}: {source}")]
    Stopped {
        member: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Where a member's bytes lie in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub size: u64,
}

/// A bundle whose manifest's signature checked out, and whose parts lie
/// where its tar headers say, each of the size the manifest says. Their
/// bytes are not checked yet: see [`Bundle::copy_part`].
#[derive(Debug)]
pub struct Bundle {
    pub signed: Signed,
    parts: [Span; 3],
}

impl Bundle {
    pub fn open(file: &File, keys: &TrustedKeys) -> Result<Bundle, BundleError> {
        let len = file.metadata().map_err(BundleError::Read)?.len();
        let mut reader = Members { file, len, next: 0 };
        let manifest = reader.member(0, MAX_MANIFEST)?;
        let manifest = reader.contents(MEMBERS[0], manifest)?;
        let signature = reader.member(1, MAX_SIGNATURE)?;
        let signature = reader.contents(MEMBERS[1], signature)?;
        let signature = String::from_utf8(signature).map_err(|_| BundleError::SignatureText)?;
        let signed = keys.verify_manifest(&manifest, &signature)?;
        let mut parts = [Span { offset: 0, size: 0 }; 3];
        for (i, (name, span)) in PartName::ALL.iter().zip(&mut parts).enumerate() {
            *span = reader.member(i + 2, u64::MAX)?;
            let expected = name.in_manifest(&signed.manifest).size;
            if span.size != expected {
                return Err(BundleError::Size {
                    member: name.member(),
                    expected,
                    found: span.size,
                });
            }
        }
        reader.end()?;
        Ok(Bundle { signed, parts })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.signed.manifest
    }

    /// Where `part`'s bytes lie in the file.
    pub fn span(&self, part: PartName) -> Span {
        self.parts[part as usize]
    }

    /// Copies `part` from `file` into `out`, hashing what was read, and
    /// calls `progress` with the bytes copied so far after each chunk
    /// (its error stops the copy). Fails when the hash is not the signed
    /// one: what was written must then not be used.
    pub fn copy_part(
        &self,
        file: &File,
        part: PartName,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64) -> std::io::Result<()>,
    ) -> Result<[u8; 32], BundleError> {
        let member = part.member();
        let span = self.span(part);
        let mut hash = Context::new(&SHA256);
        let mut buffer = vec![0u8; CHUNK];
        let mut done = 0u64;
        while done < span.size {
            let want = (span.size - done).min(CHUNK as u64) as usize;
            let read = read_fully(file, &mut buffer[..want], span.offset + done)?;
            if read < want {
                return Err(truncated(member, "the data"));
            }
            hash.update(&buffer[..want]);
            out.write_all(&buffer[..want])
                .map_err(|source| BundleError::Write { member, source })?;
            done += want as u64;
            progress(done).map_err(|source| BundleError::Stopped { member, source })?;
        }
        let found = digest(hash);
        if found != part.in_manifest(self.manifest()).sha256 {
            return Err(BundleError::Hash {
                member,
                found: hex(&found),
            });
        }
        Ok(found)
    }

    /// Hashes every part: the whole bundle is then known to be what was
    /// signed. `progress` gets the bytes hashed so far over all parts.
    pub fn check(
        &self,
        file: &File,
        progress: &mut dyn FnMut(u64) -> std::io::Result<()>,
    ) -> Result<(), BundleError> {
        let mut before = 0;
        for part in PartName::ALL {
            self.copy_part(file, part, &mut std::io::sink(), &mut |n| {
                progress(before + n)
            })?;
            before += self.span(part).size;
        }
        Ok(())
    }

    /// The bytes of all parts together.
    pub fn parts_size(&self) -> u64 {
        self.parts.iter().map(|s| s.size).sum()
    }
}

/// Lowercase hex of a hash, as manifests write it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A finished SHA-256 as bytes.
pub fn digest(context: Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn truncated(member: &str, what: &'static str) -> BundleError {
    BundleError::Truncated {
        member: member.to_string(),
        what,
    }
}

/// Reads into `buffer` at `offset` until it is full or the file ends;
/// how much was read.
pub fn read_fully(file: &File, buffer: &mut [u8], offset: u64) -> Result<usize, BundleError> {
    let mut read = 0;
    while read < buffer.len() {
        match file.read_at(&mut buffer[read..], offset + read as u64) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BundleError::Read(e)),
        }
    }
    Ok(read)
}

/// The walk over the tar's headers.
struct Members<'a> {
    file: &'a File,
    len: u64,
    /// Where the next header starts.
    next: u64,
}

impl Members<'_> {
    /// Member `index`'s header: its name and type checked, its size at
    /// most `max`; where its data lies (which the file must hold).
    fn member(&mut self, index: usize, max: u64) -> Result<Span, BundleError> {
        let expected = MEMBERS[index];
        let block = self.block(expected)?;
        if block.iter().all(|&b| b == 0) {
            return Err(BundleError::Member {
                index,
                expected,
                found: "the end of the archive".into(),
            });
        }
        let header = tar::Header::from_byte_slice(&block);
        let bad = |why: &str| BundleError::Header {
            index,
            why: why.to_string(),
        };
        if header.as_ustar().is_none() && header.as_gnu().is_none() {
            return Err(bad("neither ustar nor GNU"));
        }
        let mut copy = header.clone();
        copy.set_cksum();
        if header.cksum().ok() != copy.cksum().ok() {
            return Err(bad("its checksum is wrong"));
        }
        let found = header.path_bytes();
        if *found != *expected.as_bytes() {
            return Err(BundleError::Member {
                index,
                expected,
                found: String::from_utf8_lossy(&found).chars().take(100).collect(),
            });
        }
        if header.entry_type() != tar::EntryType::Regular {
            return Err(BundleError::NotAFile { member: expected });
        }
        let size = header
            .entry_size()
            .map_err(|_| bad("its size is not a number"))?;
        if size > max {
            return Err(BundleError::TooLarge {
                member: expected,
                size,
                max,
            });
        }
        let offset = self.next + BLOCK;
        let end = offset
            .checked_add(size.div_ceil(BLOCK) * BLOCK)
            .ok_or_else(|| bad("its size is out of range"))?;
        if self.len < end {
            return Err(truncated(expected, "the data"));
        }
        self.next = end;
        Ok(Span { offset, size })
    }

    /// A small member's bytes.
    fn contents(&self, member: &str, span: Span) -> Result<Vec<u8>, BundleError> {
        let mut bytes = vec![0u8; span.size as usize];
        if read_fully(self.file, &mut bytes, span.offset)? < bytes.len() {
            return Err(truncated(member, "the data"));
        }
        Ok(bytes)
    }

    /// After the last member: the end-of-archive block, nothing else.
    fn end(&mut self) -> Result<(), BundleError> {
        let mut block = [0u8; BLOCK as usize];
        if read_fully(self.file, &mut block, self.next)? < block.len() {
            return Err(truncated("the archive", "the end blocks"));
        }
        if block.iter().any(|&b| b != 0) {
            return Err(BundleError::Extra);
        }
        Ok(())
    }

    /// The next header block, for `member`.
    fn block(&mut self, member: &str) -> Result<[u8; BLOCK as usize], BundleError> {
        let mut block = [0u8; BLOCK as usize];
        if read_fully(self.file, &mut block, self.next)? < block.len() {
            return Err(truncated(member, "the header"));
        }
        Ok(block)
    }
}

#[cfg(test)]
pub(crate) mod tests;
