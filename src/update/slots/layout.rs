//! Where the update helper reads and writes: every path derived here
//! from a few roots, none from a request. Pure.

use std::path::{Path, PathBuf};

use super::protocol::{BundleId, Slot};

/// The EFI variable the boot loader boots once, then deletes (vendor
/// GUID of systemd-boot's variables).
pub const ONE_SHOT_VARIABLE: &str = "LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

/// Which disk holds the slots, and which partition runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootDisk {
    /// The partition mounted on `/` and its disk (the appliance).
    Mounted,
    /// Named (kernel names, e.g. `loop3` and `loop3p2`): for tests, on a
    /// loop device.
    Given { disk: String, running: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The EFI system partition's mount point (`/efi`).
    pub esp: PathBuf,
    /// Where hearth stages bundles (`/var/lib/hearth/updates`): hearth's.
    pub staging: PathBuf,
    /// The keys the image trusts (`/usr/lib/hearth/update-keys`).
    pub builtin_keys: PathBuf,
    /// The helper's own state (`/var/lib/hearth-update-helper`): root's,
    /// 0700; keys adopted and keys pending.
    pub state: PathBuf,
    /// `/sys/firmware/efi/efivars`.
    pub efivars: PathBuf,
    /// Where the partitions' device nodes are (`/dev`).
    pub dev: PathBuf,
    pub root: RootDisk,
}

impl Layout {
    /// The appliance's.
    pub fn system() -> Layout {
        Layout {
            esp: "/efi".into(),
            staging: "/var/lib/hearth/updates".into(),
            builtin_keys: "/usr/lib/hearth/update-keys".into(),
            state: "/var/lib/hearth-update-helper".into(),
            efivars: "/sys/firmware/efi/efivars".into(),
            dev: "/dev".into(),
            root: RootDisk::Mounted,
        }
    }

    /// Every folder under `dir` (named as their last components), the
    /// devices in `dev`: a test's, on a loop device or on plain files.
    pub fn under(dir: &Path, dev: &Path, root: RootDisk) -> Layout {
        Layout {
            esp: dir.join("esp"),
            staging: dir.join("staging"),
            builtin_keys: dir.join("keys"),
            state: dir.join("state"),
            efivars: dir.join("efivars"),
            dev: dev.to_path_buf(),
            root,
        }
    }

    pub fn bundle(&self, id: &BundleId) -> PathBuf {
        self.staging.join(format!("{}.bundle", id.as_str()))
    }

    pub fn entries(&self) -> PathBuf {
        self.esp.join("loader/entries")
    }

    /// A slot's kernel and initramfs: `/hearth/<slot>/` on the ESP, as
    /// its entry names them.
    pub fn boot_dir(&self, slot: Slot) -> PathBuf {
        self.esp.join("hearth").join(slot.letter().to_string())
    }

    /// Keys adopted from a bundle's `next_public_key`.
    pub fn adopted_keys(&self) -> PathBuf {
        self.state.join("keys")
    }

    /// Keys named by an installed bundle, by its entry's generation,
    /// until that slot is judged good.
    pub fn pending_keys(&self) -> PathBuf {
        self.state.join("pending")
    }

    pub fn key_file(dir: &Path, generation: u32) -> PathBuf {
        dir.join(format!("{generation:04}.pub"))
    }

    pub fn one_shot(&self) -> PathBuf {
        self.efivars.join(ONE_SHOT_VARIABLE)
    }

    pub fn device(&self, partition: &str) -> PathBuf {
        self.dev.join(partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_under_its_root() {
        let l = Layout::system();
        let id = BundleId::try_from("0123456789abcdef").unwrap();
        assert_eq!(
            l.bundle(&id),
            Path::new("/var/lib/hearth/updates/0123456789abcdef.bundle")
        );
        assert_eq!(l.entries(), Path::new("/efi/loader/entries"));
        assert_eq!(l.boot_dir(Slot::B), Path::new("/efi/hearth/b"));
        assert_eq!(
            Layout::key_file(&l.pending_keys(), 2),
            Path::new("/var/lib/hearth-update-helper/pending/0002.pub")
        );
        assert_eq!(
            l.one_shot(),
            Path::new(
                "/sys/firmware/efi/efivars/LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
            )
        );
        assert_eq!(l.device("sda3"), Path::new("/dev/sda3"));
    }
}
