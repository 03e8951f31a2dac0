//! Whether a server's disk fits on the box. A server's disk is a file
//! system image whose every block is allocated when it is made (not a
//! sparse file): a member who fills their own disk fills only that, and
//! another server's writes can never fail because the box's `/var` ran
//! out (issue 27: a sparse image on a full `/var` lost a member's
//! acknowledged writes). So a disk is given only if it fits in the free
//! space, and [`KEEP_FREE_MIB`] stays free for the box itself (its
//! store, its journal, an update).
//!
//! The check is pure ([`check`]); [`free_mib`] reads the file system.
//! The API checks when a server is made (counting the disks promised to
//! servers not yet made), and the privileged helper again when it
//! allocates the image: that one decides.

use std::path::Path;

/// What stays free on the servers' file system, whatever the servers.
pub const KEEP_FREE_MIB: u64 = 256;

/// A disk that does not fit, with the figures that say why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {wanted_mib} MiB disk does not fit: {free_mib} MiB free on the servers' storage, \
     {promised_mib} MiB of it promised to servers not yet made and {keep_mib} MiB kept free for the box"
)]
pub struct NoRoom {
    pub wanted_mib: u64,
    pub free_mib: u64,
    pub promised_mib: u64,
    pub keep_mib: u64,
}

/// Whether `wanted_mib` more fit in `free_mib`, after `promised_mib`
/// already given away and [`KEEP_FREE_MIB`].
pub fn check(wanted_mib: u64, free_mib: u64, promised_mib: u64) -> Result<(), NoRoom> {
    let needed = wanted_mib
        .checked_add(promised_mib)
        .and_then(|n| n.checked_add(KEEP_FREE_MIB));
    if needed.is_some_and(|n| n <= free_mib) {
        return Ok(());
    }
    Err(NoRoom {
        wanted_mib,
        free_mib,
        promised_mib,
        keep_mib: KEEP_FREE_MIB,
    })
}

/// The MiB an unprivileged process may still allocate on the file system
/// holding `path` (what `df` shows as available); a folder not made yet
/// (the servers' storage before the first server) is on its parent's.
pub fn free_mib(path: &Path) -> std::io::Result<u64> {
    let mut at = path;
    let s = loop {
        match nix::sys::statvfs::statvfs(at) {
            Ok(s) => break s,
            Err(nix::errno::Errno::ENOENT) if at.parent().is_some() => {
                at = at.parent().unwrap_or(at);
            }
            Err(e) => return Err(e.into()),
        }
    };
    #[allow(clippy::useless_conversion)] // the field types vary by target
    let bytes = u64::from(s.blocks_available()).saturating_mul(u64::from(s.fragment_size()));
    Ok(bytes >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_fits_only_beside_the_promised_ones_and_the_boxs_share() {
        assert_eq!(check(1024, 1024 + KEEP_FREE_MIB, 0), Ok(()));
        let refused = check(1024, 1024 + KEEP_FREE_MIB, 1).unwrap_err();
        assert_eq!(refused.promised_mib, 1);
        assert_eq!(
            refused.to_string(),
            format!(
                "a 1024 MiB disk does not fit: {} MiB free on the servers' storage, 1 MiB of it \
                 promised to servers not yet made and {KEEP_FREE_MIB} MiB kept free for the box",
                1024 + KEEP_FREE_MIB
            )
        );
        assert!(check(1, 0, 0).is_err());
        assert!(check(u64::MAX, u64::MAX, u64::MAX).is_err());
    }

    #[test]
    fn the_free_space_of_a_real_folder_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_mib(dir.path()).unwrap();
        assert!(free > 0);
        // Not made yet: its parent's file system.
        let missing = free_mib(&dir.path().join("missing/deeper")).unwrap();
        assert!(missing.abs_diff(free) < 64, "{missing} against {free}");
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(
            free_mib(&file.join("below")).is_err(),
            "ENOTDIR is no answer"
        );
    }
}
