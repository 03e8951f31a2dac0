//! Where a server's things live on the host: its storage (a file system
//! image and the folder it is mounted on), its runtime folder (the
//! engine's socket), and where kept storage goes when a server is deleted
//! without erasing. Pure: paths only, from the two roots the helper is
//! given.

use std::path::{Path, PathBuf};

use crate::servers::model::ServerId;

/// The roots; everything else is derived from them and a [`ServerId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `/var/lib/hearth-servers` on the appliance: root's, 0711.
    pub storage: PathBuf,
    /// `/run/hearth-servers`: root's, 0711.
    pub run: PathBuf,
    /// The subordinate ID files `newuidmap` and `newgidmap` read.
    pub subuid: PathBuf,
    pub subgid: PathBuf,
}

impl Layout {
    pub const STORAGE: &str = crate::config::paths::SERVERS_STORAGE;
    pub const RUN: &str = crate::config::paths::SERVERS_RUN;

    /// The appliance's layout.
    pub fn system() -> Layout {
        Layout::new(Path::new(Self::STORAGE), Path::new(Self::RUN))
    }

    pub fn new(storage: &Path, run: &Path) -> Layout {
        Layout {
            storage: storage.to_path_buf(),
            run: run.to_path_buf(),
            subuid: PathBuf::from("/etc/subuid"),
            subgid: PathBuf::from("/etc/subgid"),
        }
    }

    /// The server's folder: root's, 0711, holding the image and the mount
    /// point.
    /// The ports each server's user may bind on the host (the bind
    /// guard's, kept across the helper's restarts and the box's).
    pub fn guarded_ports(&self) -> PathBuf {
        self.storage.join(".guarded-ports.json")
    }

    pub fn server_dir(&self, id: &ServerId) -> PathBuf {
        self.storage.join(id.as_str())
    }

    /// The ext4 image whose size is the server's disk limit.
    pub fn image(&self, id: &ServerId) -> PathBuf {
        self.server_dir(id).join("disk.img")
    }

    /// An image being made: renamed to [`Layout::image`] once formatted,
    /// so a crash never leaves a half-made image in its place.
    pub fn image_new(&self, id: &ServerId) -> PathBuf {
        self.server_dir(id).join("disk.img.new")
    }

    /// Where the image is mounted: the server user's, 0700.
    pub fn data(&self, id: &ServerId) -> PathBuf {
        self.server_dir(id).join("data")
    }

    /// The engine's data root (`dockerd --data-root`).
    pub fn docker_root(&self, id: &ServerId) -> PathBuf {
        self.data(id).join("docker")
    }

    /// The server user's home (the engine keeps its config there).
    pub fn home(&self, id: &ServerId) -> PathBuf {
        self.data(id).join("home")
    }

    /// The engine's `XDG_RUNTIME_DIR`: its socket is `docker.sock` here.
    pub fn run_dir(&self, id: &ServerId) -> PathBuf {
        self.run.join(id.as_str())
    }

    pub fn socket(&self, id: &ServerId) -> PathBuf {
        self.run_dir(id).join("docker.sock")
    }

    /// Storage kept when a server is deleted without erasing: root's, 0700,
    /// for an admin to recover.
    pub fn kept(&self, id: &ServerId) -> PathBuf {
        self.storage.join(".kept").join(id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_under_its_root_and_named_by_the_id() {
        let l = Layout::system();
        let id = ServerId::try_from("0a1b2c3d").unwrap();
        assert_eq!(
            l.image(&id),
            Path::new("/var/lib/hearth-servers/0a1b2c3d/disk.img")
        );
        assert_eq!(
            l.docker_root(&id),
            Path::new("/var/lib/hearth-servers/0a1b2c3d/data/docker")
        );
        assert_eq!(
            l.socket(&id),
            Path::new("/run/hearth-servers/0a1b2c3d/docker.sock")
        );
        assert_eq!(
            l.kept(&id),
            Path::new("/var/lib/hearth-servers/.kept/0a1b2c3d")
        );
    }
}
