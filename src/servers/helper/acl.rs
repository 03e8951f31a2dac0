//! POSIX access control lists, written as the kernel's extended attribute
//! (`system.posix_acl_access` / `system.posix_acl_default`): the one way
//! hearth's user reaches a server's engine socket without joining a
//! group every server shares (a shared group would let one server's
//! engine, which may bind-mount any path its user can open, reach
//! another's socket).
//!
//! A server's runtime folder is its user's, 0700, with two entries for
//! hearth: it may pass through the folder, and what is created in it (the
//! socket, which dockerd makes mode 0660) it may read and write.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const UNDEFINED_ID: u32 = u32::MAX;

const R: u16 = 4;
const W: u16 = 2;
const X: u16 = 1;

/// The owner all, one named user `perm`, nobody else anything.
fn owner_and_one_user(user: u32, perm: u16) -> Vec<u8> {
    let entries = [
        (USER_OBJ, R | W | X, UNDEFINED_ID),
        (USER, perm, user),
        (GROUP_OBJ, 0, UNDEFINED_ID),
        (MASK, perm, UNDEFINED_ID),
        (OTHER, 0, UNDEFINED_ID),
    ];
    let mut out = VERSION.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&perm.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    out
}

/// The runtime folder's ACL for hearth (`user`): it may pass through
/// (`--x`), and files made in the folder give it `rw-`.
pub fn grant_socket_access(dir: &Path, user: u32) -> std::io::Result<()> {
    set(dir, "system.posix_acl_access", &owner_and_one_user(user, X))?;
    set(
        dir,
        "system.posix_acl_default",
        &owner_and_one_user(user, R | W),
    )
}

fn set(path: &Path, name: &str, value: &[u8]) -> std::io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    let name = CString::new(name)?;
    // SAFETY: both strings are NUL-terminated and outlive the call; the
    // value pointer and length describe one live slice.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entries_are_in_the_kernels_order_and_layout() {
        let v = owner_and_one_user(107, X);
        assert_eq!(v.len(), 4 + 5 * 8);
        assert_eq!(&v[..4], &[2, 0, 0, 0]);
        // The named user: tag 2, perm --x, id 107.
        assert_eq!(&v[12..20], &[2, 0, 1, 0, 107, 0, 0, 0]);
        let tags: Vec<u16> = v[4..]
            .chunks(8)
            .map(|e| u16::from_le_bytes([e[0], e[1]]))
            .collect();
        assert_eq!(tags, [USER_OBJ, USER, GROUP_OBJ, MASK, OTHER]);
    }
}
