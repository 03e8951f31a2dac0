//! The privileged operations of the update helper, behind a trait so
//! that the install's order is unit-tested with a recording host on
//! plain files, and the real one ([`RealHost`]) on a loop device, as
//! root: which partition holds `/`, the partitions of its disk and their
//! GPT names, the device opened for writing, its cached blocks dropped,
//! a file system synced, an EFI variable made writable.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::SlotError;

/// A partition of the slots' disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its kernel name (`sda3`, `loop0p2`).
    pub device: String,
    /// Its GPT name (`hearth-root-b`).
    pub name: String,
    /// Its GPT UUID, lowercase: the kernel's `root=PARTUUID=`.
    pub uuid: String,
}

pub trait Host {
    /// The disk and the partition (kernel names) `/` is mounted from.
    fn root_partition(&self) -> Result<(String, String), SlotError>;
    /// The partitions of `disk`, their nodes in `dev`.
    fn partitions(&self, disk: &str, dev: &Path) -> Result<Vec<Partition>, SlotError>;
    /// A partition's device, for reading, or for writing alone (a
    /// mounted one cannot be opened so).
    fn open_device(&self, path: &Path, write: bool) -> Result<File, SlotError>;
    /// Drops the device's cached blocks: a read then comes from the disk.
    fn drop_cache(&self, device: &File, path: &Path) -> Result<(), SlotError>;
    /// Writes out the whole file system holding `dir` (the ESP: a rename
    /// on FAT is only safe once the FAT itself is written).
    fn sync_fs(&self, dir: &Path) -> Result<(), SlotError>;
    /// Clears the immutable flag the kernel sets on EFI variables.
    fn make_mutable(&self, path: &Path) -> Result<(), SlotError>;
    /// Bytes free to an unprivileged writer... or root, on the ESP.
    fn free_bytes(&self, dir: &Path) -> Result<u64, SlotError>;
}

/// The machine's.
pub struct RealHost;

/// `FS_IMMUTABLE_FL` of `<linux/fs.h>`.
const IMMUTABLE: libc::c_int = 0x10;
/// `EFIVARFS_MAGIC`.
const EFIVARFS: libc::c_long = 0xde5e_81e4;

// BLKFLSBUF is _IO(0x12, 97): no argument.
nix::ioctl_none!(block_flush_buffers, 0x12, 97);
// The kernel reads and writes an int, though the numbers name a long.
nix::ioctl_read_bad!(get_flags, libc::FS_IOC_GETFLAGS, libc::c_int);
nix::ioctl_write_ptr_bad!(set_flags, libc::FS_IOC_SETFLAGS, libc::c_int);

impl Host for RealHost {
    fn root_partition(&self) -> Result<(String, String), SlotError> {
        let fail = |why: String| SlotError::RootDevice(why);
        let dev = nix::sys::stat::stat("/")
            .map_err(|e| fail(format!("stat /: {e}")))?
            .st_dev;
        let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
        let link = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
        let node = std::fs::canonicalize(&link)
            .map_err(|e| fail(format!("{major}:{minor} is not a block device ({e})")))?;
        if !node.join("partition").exists() {
            return Err(fail(format!("{} is not a partition", node.display())));
        }
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        match (node.parent().and_then(name), name(&node)) {
            (Some(disk), Some(part)) => Ok((disk, part)),
            _ => Err(fail(format!("{} has no disk", node.display()))),
        }
    }

    fn partitions(&self, disk: &str, dev: &Path) -> Result<Vec<Partition>, SlotError> {
        let dir = Path::new("/sys/class/block").join(disk);
        let fail = |source| SlotError::ListPartitions {
            disk: disk.to_string(),
            source,
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            let device = entry.file_name().to_string_lossy().into_owned();
            if !device.starts_with(disk) || !entry.path().join("partition").exists() {
                continue;
            }
            // The GPT's own words (sysfs has no PARTNAME for a loop
            // device's partitions): `-p` reads the table, not a cache.
            let out = Command::new("blkid")
                .args(["-p", "-o", "export"])
                .arg(dev.join(&device))
                .output()
                .map_err(fail)?;
            let text = String::from_utf8_lossy(&out.stdout);
            let value = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .map(str::to_string)
            };
            if let (Some(name), Some(uuid)) = (value("PART_ENTRY_NAME"), value("PART_ENTRY_UUID")) {
                found.push(Partition {
                    device,
                    name,
                    uuid: uuid.to_ascii_lowercase(),
                });
            }
        }
        found.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(found)
    }

    fn open_device(&self, path: &Path, write: bool) -> Result<File, SlotError> {
        let mut options = std::fs::OpenOptions::new();
        if write {
            options.write(true).custom_flags(libc::O_EXCL);
        } else {
            options.read(true);
        }
        options.open(path).map_err(|source| SlotError::Open {
            path: path.to_path_buf(),
            source,
        })
    }

    fn drop_cache(&self, device: &File, path: &Path) -> Result<(), SlotError> {
        // SAFETY: BLKFLSBUF takes no argument; the fd is open and ours.
        unsafe { block_flush_buffers(device.as_raw_fd()) }
            .map(drop)
            .map_err(|e| SlotError::FlushCache {
                path: path.to_path_buf(),
                source: e.into(),
            })
    }

    fn sync_fs(&self, dir: &Path) -> Result<(), SlotError> {
        let sync = |source| SlotError::Sync {
            path: dir.to_path_buf(),
            source,
        };
        let file = File::open(dir).map_err(sync)?;
        nix::unistd::syncfs(&file).map_err(|e| sync(e.into()))
    }

    fn make_mutable(&self, path: &Path) -> Result<(), SlotError> {
        let fail = |source: std::io::Error| SlotError::Immutable {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(fail)?;
        // Only efivarfs must have the flag cleared; a test's plain
        // folder may not even know the ioctl.
        let efivarfs = nix::sys::statfs::fstatfs(&file)
            .map(|s| s.filesystem_type().0 == EFIVARFS)
            .unwrap_or(false);
        let tolerated = |e: nix::Error| {
            !efivarfs
                && matches!(
                    e,
                    nix::Error::ENOTTY | nix::Error::EOPNOTSUPP | nix::Error::EINVAL
                )
        };
        let mut flags: libc::c_int = 0;
        // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer given,
        // which points at `flags`; the fd is open and ours.
        match unsafe { get_flags(file.as_raw_fd(), &mut flags) } {
            Ok(_) => {}
            Err(e) if tolerated(e) => return Ok(()),
            Err(e) => return Err(fail(e.into())),
        }
        if flags & IMMUTABLE == 0 {
            return Ok(());
        }
        flags &= !IMMUTABLE;
        // SAFETY: FS_IOC_SETFLAGS reads one int from the pointer given,
        // which points at `flags`; the fd is open and ours.
        unsafe { set_flags(file.as_raw_fd(), &flags) }
            .map(drop)
            .map_err(|e| fail(e.into()))
    }

    fn free_bytes(&self, dir: &Path) -> Result<u64, SlotError> {
        let s = nix::sys::statvfs::statvfs(dir).map_err(|e| SlotError::Read {
            path: dir.to_path_buf(),
            source: e.into(),
        })?;
        Ok(s.blocks_available() as u64 * s.fragment_size() as u64)
    }
}
