//! `LoaderEntryOneShot`: the entry systemd-boot boots at the next boot
//! only (then deletes the variable). efivarfs holds a variable as a
//! file: 4 bytes of attributes, then the value, here UTF-16LE with a
//! trailing NUL; an existing one is immutable until its flag is cleared.

use std::io::Write;
use std::path::Path;

use super::error::SlotError;
use super::host::Host;

/// Non-volatile, seen by the boot services and at run time.
const ATTRIBUTES: u32 = 0x07;

/// The variable file's bytes for `value`.
pub fn encode(value: &str) -> Vec<u8> {
    let mut bytes = ATTRIBUTES.to_le_bytes().to_vec();
    for unit in value.encode_utf16().chain([0]) {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// Sets the variable at `path` to `value`: the old one deleted first (a
/// cut in between leaves none, which boots the default), then the new
/// one written in one write, as efivarfs wants.
pub fn set(host: &dyn Host, path: &Path, value: &str) -> Result<(), SlotError> {
    if path.exists() {
        host.make_mutable(path)?;
        super::esp::remove(path)?;
    }
    let write = |source| SlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = encode(value);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write)?;
    let written = file.write(&bytes).map_err(write)?;
    if written != bytes.len() {
        return Err(write(std::io::Error::other("a short write")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_attributes_then_utf16_with_a_nul() {
        assert_eq!(encode("ab*"), [7, 0, 0, 0, b'a', 0, b'b', 0, b'*', 0, 0, 0]);
    }
}
