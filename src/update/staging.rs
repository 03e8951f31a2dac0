//! An uploaded bundle on its way onto the box: written to disk as it
//! arrives (never held in memory), resumable after a broken connection,
//! cancellable, and refused before a byte is written when the disk has
//! no room for it.
//!
//! One upload at a time, in the staging folder (`/var/lib/hearth/updates`,
//! which the update helper reads from): `upload.partial` holds the bytes
//! received so far and `upload.json` the size announced when it began.
//! Once whole, the caller checks the bundle (signature, every part's
//! hash: [`super::bundle`]) and only then [`Staging::stage`]s it as
//! `<id>.bundle`, the one name the helper accepts. A cancelled upload
//! leaves nothing behind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// The largest bundle taken: a full root slot, two boot files at their
/// most, and the tar's own headers and the manifest.
pub const MAX_BUNDLE: u64 =
    super::manifest::MAX_ROOT + 2 * super::manifest::MAX_BOOT_FILE + (1 << 20);

/// What the disk must keep free beyond an upload: /var holds the store,
/// the journal and the members' servers too.
pub const KEEP_FREE: u64 = 512 << 20;

const PARTIAL: &str = "upload.partial";
const ANNOUNCED: &str = "upload.json";

#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("an update bundle is at most {MAX_BUNDLE} bytes; this one says {size}")]
    TooLarge { size: u64 },
    #[error("an update bundle is not empty")]
    Empty,
    #[error(
        "no room for the bundle in {path}: it needs {needed} MiB (with {keep} MiB kept free), {free} MiB are free",
        needed = needed >> 20, keep = KEEP_FREE >> 20, free = free >> 20
    )]
    NoRoom {
        path: PathBuf,
        needed: u64,
        free: u64,
    },
    #[error("no upload to resume: start it again")]
    NothingToResume,
    #[error("the upload stands at {have} bytes, not {asked}: resume from {have}")]
    WrongOffset { have: u64, asked: u64 },
    #[error("more bytes than the {size} announced")]
    TooMuch { size: u64 },
    #[error("cannot {what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StagingError {
    let path = path.to_path_buf();
    move |source| StagingError::Io { what, path, source }
}

/// An upload's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub received: u64,
    pub size: u64,
}

impl Progress {
    pub fn is_whole(&self) -> bool {
        self.received == self.size
    }
}

#[derive(Serialize, Deserialize)]
struct Announced {
    size: u64,
}

/// The free bytes of the file system holding a path.
pub type FreeSpace = fn(&Path) -> std::io::Result<u64>;

/// The file system's free bytes for an unprivileged writer.
pub fn free_space(path: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(stat.blocks_available() as u64 * stat.fragment_size() as u64)
}

/// The staging folder.
#[derive(Debug, Clone)]
pub struct Staging {
    dir: PathBuf,
    free: FreeSpace,
}

impl Staging {
    pub fn new(dir: PathBuf) -> Staging {
        Staging {
            dir,
            free: free_space,
        }
    }

    /// The same folder, its free space told by `free` (tests).
    pub fn with_free_space(dir: PathBuf, free: FreeSpace) -> Staging {
        Staging { dir, free }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn partial(&self) -> PathBuf {
        self.dir.join(PARTIAL)
    }

    fn announced(&self) -> PathBuf {
        self.dir.join(ANNOUNCED)
    }

    /// Where a staged bundle is kept.
    pub fn bundle_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.bundle"))
    }

    /// The upload under way, if any.
    pub fn pending(&self) -> Result<Option<Progress>, StagingError> {
        let announced = match std::fs::read(self.announced()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &self.announced())(e)),
        };
        // A sidecar that does not parse is a crash's leftover: no upload.
        let Ok(Announced { size }) = serde_json::from_slice(&announced) else {
            return Ok(None);
        };
        let received = match std::fs::metadata(self.partial()) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io("read", &self.partial())(e)),
        };
        Ok(Some(Progress { received, size }))
    }

    /// Starts an upload of `size` bytes, in place of any other (and of
    /// any bundle staged before: one update at a time), once the disk
    /// was seen to have room for it.
    pub async fn begin(&self, size: u64) -> Result<Writer, StagingError> {
        if size == 0 {
            return Err(StagingError::Empty);
        }
        if size > MAX_BUNDLE {
            return Err(StagingError::TooLarge { size });
        }
        std::fs::create_dir_all(&self.dir).map_err(io("make", &self.dir))?;
        self.cancel()?;
        let free = (self.free)(&self.dir).map_err(io("measure the free space of", &self.dir))?;
        let needed = size.saturating_add(KEEP_FREE);
        if free < needed {
            return Err(StagingError::NoRoom {
                path: self.dir.clone(),
                needed,
                free,
            });
        }
        let announced = serde_json::to_vec(&Announced { size }).expect("serializes");
        crate::fsutil::write_atomically(&self.announced(), &announced, 0o600)
            .map_err(io("write", &self.announced()))?;
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.partial())
            .await
            .map_err(io("create", &self.partial()))?;
        Ok(Writer {
            file,
            path: self.partial(),
            progress: Progress { received: 0, size },
        })
    }

    /// Goes on with the upload under way from `offset`, which must be
    /// what it holds.
    pub async fn resume(&self, offset: u64) -> Result<Writer, StagingError> {
        let progress = self.pending()?.ok_or(StagingError::NothingToResume)?;
        if offset != progress.received {
            return Err(StagingError::WrongOffset {
                have: progress.received,
                asked: offset,
            });
        }
        let file = tokio::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.partial())
            .await
            .map_err(io("open", &self.partial()))?;
        Ok(Writer {
            file,
            path: self.partial(),
            progress,
        })
    }

    /// Drops the upload under way and every staged bundle; whether there
    /// was anything.
    pub fn cancel(&self) -> Result<bool, StagingError> {
        let mut any = false;
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io("list", &self.dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io("list", &self.dir))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let ours = name == PARTIAL
                || name == ANNOUNCED
                || name.ends_with(".bundle")
                || name.ends_with(".tmp");
            if ours {
                std::fs::remove_file(&path).map_err(io("remove", &path))?;
                any = true;
            }
        }
        Ok(any)
    }

    /// The whole upload, checked by the caller, kept as `<id>.bundle`.
    pub fn stage(&self, id: &str) -> Result<PathBuf, StagingError> {
        let to = self.bundle_path(id);
        std::fs::rename(self.partial(), &to).map_err(io("keep", &to))?;
        std::fs::remove_file(self.announced()).map_err(io("remove", &self.announced()))?;
        crate::fsutil::sync_dir(&self.dir).map_err(io("sync", &self.dir))?;
        Ok(to)
    }

    /// The whole upload's path, for its check before [`Staging::stage`].
    pub fn whole(&self) -> Result<Option<PathBuf>, StagingError> {
        Ok(self
            .pending()?
            .filter(Progress::is_whole)
            .map(|_| self.partial()))
    }
}

/// Writes an upload's bytes as they arrive.
#[derive(Debug)]
pub struct Writer {
    file: tokio::fs::File,
    path: PathBuf,
    progress: Progress,
}

impl Writer {
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Appends `chunk`; more than announced is refused, and nothing of
    /// that chunk is written.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StagingError> {
        let after = self.progress.received + chunk.len() as u64;
        if after > self.progress.size {
            return Err(StagingError::TooMuch {
                size: self.progress.size,
            });
        }
        self.file
            .write_all(chunk)
            .await
            .map_err(io("write", &self.path))?;
        self.progress.received = after;
        Ok(())
    }

    /// Puts what arrived on the disk (a resume starts from there).
    pub async fn finish(mut self) -> Result<Progress, StagingError> {
        self.file.flush().await.map_err(io("write", &self.path))?;
        self.file.sync_all().await.map_err(io("sync", &self.path))?;
        Ok(self.progress)
    }
}

#[cfg(test)]
mod tests;
