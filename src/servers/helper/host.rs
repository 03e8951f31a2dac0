//! The root work the helper does, behind a small trait: the real one runs
//! `useradd`, `mkfs.ext4`, `mount` and writes the files; the recording one
//! (tests) keeps a model of users, files and mounts, so that the order and
//! the idempotence of [`super::execute`] are tested without root. The real
//! one is tested as root by `tests/servers_helper.rs`.

use std::fs::Permissions;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;
use std::process::Command;

use super::bind_guard::{self, Rule};
use super::error::HelperError;
use crate::servers::model::SERVER_UIDS;

/// A user's numeric ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
}

pub trait Host {
    fn user(&self, name: &str) -> Result<Option<Account>, HelperError>;
    /// A system user with a group of its own, no login shell, `home`
    /// not created (it lives on the storage, made later).
    fn add_user(&self, name: &str, home: &Path) -> Result<(), HelperError>;
    /// Fails while any process of the user runs.
    fn remove_user(&self, name: &str) -> Result<(), HelperError>;
    /// The file's text; a missing file is empty.
    fn read(&self, path: &Path) -> Result<String, HelperError>;
    /// Replaces the file in one rename, mode 0644 (as shadow keeps it).
    fn replace(&self, path: &Path, text: &str) -> Result<(), HelperError>;
    fn exists(&self, path: &Path) -> bool;
    /// Creates the folder if missing, then sets its mode and owner (root
    /// when `owner` is `None`).
    fn folder(&self, path: &Path, mode: u32, owner: Option<Account>) -> Result<(), HelperError>;
    /// A file of `mib` MiB with every block allocated (see
    /// [`Host::allocate`]), formatted ext4 without discarding them, its
    /// root folder owned by `owner`, mode 0700.
    fn make_image(&self, path: &Path, mib: u32, owner: Account) -> Result<(), HelperError>;
    /// Allocates every block of the first `mib` MiB of the file at `path`
    /// that is not yet (what it holds is kept), if that leaves
    /// [`crate::servers::room::KEEP_FREE_MIB`] free; an image made sparse
    /// by an older hearth gets its blocks this way.
    fn allocate(&self, path: &Path, mib: u32) -> Result<(), HelperError>;
    /// Opens the tun device to every user, as udev's default rule does
    /// (`MODE="0666"`): slirp4netns opens it as the server's user, and
    /// only someone with CAP_NET_ADMIN in a network namespace can make an
    /// interface with it. Refused if it is missing or not the tun device.
    fn open_tun(&self) -> Result<(), HelperError>;
    /// Puts the bind guard's rules of `scope` (a storage root) in force:
    /// each server's own (`servers`) before the catch-alls (`defaults`).
    fn guard_binds(
        &self,
        scope: &Path,
        servers: Vec<Rule>,
        defaults: Vec<Rule>,
    ) -> Result<(), HelperError>;
    fn rename(&self, from: &Path, to: &Path) -> Result<(), HelperError>;
    fn is_mounted(&self, at: &Path) -> Result<bool, HelperError>;
    /// Mounts the image through a loop device, `nodev,nosuid`.
    fn mount_image(&self, image: &Path, at: &Path) -> Result<(), HelperError>;
    fn unmount(&self, at: &Path) -> Result<(), HelperError>;
    fn remove_tree(&self, path: &Path) -> Result<(), HelperError>;
    /// See `acl::grant_socket_access`.
    fn grant_socket_access(&self, dir: &Path, uid: u32) -> Result<(), HelperError>;
}

/// The host itself; needs root.
pub struct RealHost;

/// The tun device, and its major and minor numbers.
const TUN: &str = "/dev/net/tun";
const TUN_DEVICE: (u64, u64) = (10, 200);

fn run(command: &mut Command) -> Result<(), HelperError> {
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = command.output().map_err(|e| HelperError::Command {
        command: shown.clone(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(HelperError::Command {
        command: shown,
        detail: format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    })
}

impl Host for RealHost {
    fn user(&self, name: &str) -> Result<Option<Account>, HelperError> {
        let user =
            nix::unistd::User::from_name(name).map_err(|source| HelperError::LookupUser {
                user: name.to_string(),
                source,
            })?;
        Ok(user.map(|u| Account {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }))
    }

    fn add_user(&self, name: &str, home: &Path) -> Result<(), HelperError> {
        let (first, last) = (SERVER_UIDS.start(), SERVER_UIDS.end());
        run(Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            // The system range of login.defs, narrowed to the servers'
            // own for this call: uid and gid both come from it.
            .args(["--key", &format!("SYS_UID_MIN={first}")])
            .args(["--key", &format!("SYS_UID_MAX={last}")])
            .args(["--key", &format!("SYS_GID_MIN={first}")])
            .args(["--key", &format!("SYS_GID_MAX={last}")])
            .arg("--home-dir")
            .arg(home)
            .args(["--shell", "/usr/sbin/nologin", "--comment", "hearth server"])
            .arg(name))
    }

    fn remove_user(&self, name: &str) -> Result<(), HelperError> {
        run(Command::new("userdel").arg(name))
    }

    fn read(&self, path: &Path) -> Result<String, HelperError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(HelperError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn replace(&self, path: &Path, text: &str) -> Result<(), HelperError> {
        crate::fsutil::write_atomically(path, text.as_bytes(), 0o644).map_err(|source| {
            HelperError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn folder(&self, path: &Path, mode: u32, owner: Option<Account>) -> Result<(), HelperError> {
        let err = |source| HelperError::Folder {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e)),
        }
        let (uid, gid) = owner.map_or((0, 0), |a| (a.uid, a.gid));
        chown(path, Some(uid), Some(gid)).map_err(err)?;
        std::fs::set_permissions(path, Permissions::from_mode(mode)).map_err(err)
    }

    fn make_image(&self, path: &Path, mib: u32, owner: Account) -> Result<(), HelperError> {
        let file = std::fs::File::create(path).map_err(|source| HelperError::Image {
            path: path.to_path_buf(),
            source,
        })?;
        drop(file);
        if let Err(e) = self.allocate(path, mib) {
            // Whatever blocks it got go back to the box at once.
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        // nodiscard: mke2fs would otherwise discard the whole device,
        // which on a loop file punches holes, giving the blocks back.
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0", "-E"])
            .arg(format!(
                "root_owner={}:{},lazy_itable_init=1,nodiscard",
                owner.uid, owner.gid
            ))
            .arg(path))?;
        std::fs::set_permissions(path, Permissions::from_mode(0o600)).map_err(|source| {
            HelperError::Image {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    fn allocate(&self, path: &Path, mib: u32) -> Result<(), HelperError> {
        use std::os::unix::fs::MetadataExt;
        let err = |source| HelperError::Allocate {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(err)?;
        let len = u64::from(mib) << 20;
        // st_blocks counts 512-byte units, whatever the block size.
        let held = file.metadata().map_err(err)?.blocks().saturating_mul(512);
        let missing_mib = len.saturating_sub(held).div_ceil(1 << 20);
        if missing_mib > 0 {
            let folder = path.parent().unwrap_or(Path::new("/"));
            let free = crate::servers::room::free_mib(folder).map_err(err)?;
            crate::servers::room::check(missing_mib, free, 0).map_err(|source| {
                HelperError::NoRoom {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        nix::fcntl::fallocate(
            &file,
            nix::fcntl::FallocateFlags::empty(),
            0,
            i64::try_from(len).unwrap_or(i64::MAX),
        )
        .map_err(|e| err(e.into()))?;
        file.sync_all().map_err(err)
    }

    fn guard_binds(
        &self,
        scope: &Path,
        servers: Vec<Rule>,
        defaults: Vec<Rule>,
    ) -> Result<(), HelperError> {
        Ok(bind_guard::apply(scope, servers, defaults)?)
    }

    fn open_tun(&self) -> Result<(), HelperError> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let path = Path::new(TUN);
        let fail = |detail: String| HelperError::Tun {
            path: path.to_path_buf(),
            detail,
        };
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| fail(format!("{e} (the kernel needs the tun module)")))?;
        let rdev = meta.rdev();
        if !meta.file_type().is_char_device()
            || (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev)) != TUN_DEVICE
        {
            return Err(fail("is not the tun device (10:200)".into()));
        }
        if meta.mode() & 0o666 == 0o666 {
            return Ok(());
        }
        std::fs::set_permissions(path, Permissions::from_mode(0o666))
            .map_err(|e| fail(format!("cannot open it to the servers' users: {e}")))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<(), HelperError> {
        std::fs::rename(from, to).map_err(|source| HelperError::Move {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        })
    }

    fn is_mounted(&self, at: &Path) -> Result<bool, HelperError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|source| HelperError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(mount_points(&text).any(|p| Path::new(&p) == at))
    }

    fn mount_image(&self, image: &Path, at: &Path) -> Result<(), HelperError> {
        run(Command::new("mount")
            .args(["-t", "ext4", "-o", "loop,nodev,nosuid,noatime"])
            .arg(image)
            .arg(at))
    }

    fn unmount(&self, at: &Path) -> Result<(), HelperError> {
        run(Command::new("umount").arg(at))
    }

    fn remove_tree(&self, path: &Path) -> Result<(), HelperError> {
        match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(HelperError::Remove {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn grant_socket_access(&self, dir: &Path, uid: u32) -> Result<(), HelperError> {
        super::acl::grant_socket_access(dir, uid).map_err(|source| HelperError::Acl {
            path: dir.to_path_buf(),
            source,
        })
    }
}

/// The mount points of a `/proc/*/mountinfo` text (the fifth field, its
/// `\040`-style escapes undone).
pub fn mount_points(mountinfo: &str) -> impl Iterator<Item = String> + '_ {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape)
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = field
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match octal {
            Some(b) if bytes[i] == b'\\' => {
                out.push(b);
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_read_with_their_escapes_undone() {
        let text = "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                    37 35 7:0 / /var/lib/hearth-servers/0a1b2c3d/data rw - ext4 /dev/loop0 rw\n";
        let points: Vec<String> = mount_points(text).collect();
        assert_eq!(
            points,
            ["/mnt/a b", "/var/lib/hearth-servers/0a1b2c3d/data"]
        );
    }
}
