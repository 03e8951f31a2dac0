//! Key rotation: a bundle may name the key later bundles are signed
//! with. The helper keeps it, as pending for the generation it was
//! installed as, in its own root-owned state folder (never hearth's:
//! hearth's word is not a key), and trusts it only when asked once that
//! generation runs and was judged good; from then on it signs bundles
//! for this helper beside the image's keys.

use super::entry::{self, Entry};
use super::error::SlotError;
use super::layout::Layout;
use super::protocol::{KeyTrusted, Slot};
use crate::update::keys::TrustedKeys;

/// The keys this helper checks bundles with: the image's and those it
/// adopted.
pub fn trusted(layout: &Layout) -> Result<TrustedKeys, SlotError> {
    Ok(TrustedKeys::load_with_adopted(
        &layout.builtin_keys,
        &layout.adopted_keys(),
    )?)
}

fn key_text(key: &str, generation: u32) -> String {
    format!("untrusted comment: hearth update key named by generation {generation}\n{key}\n")
}

/// Keeps `key` as pending for `generation`.
pub fn keep_pending(layout: &Layout, generation: u32, key: &str) -> Result<(), SlotError> {
    let dir = layout.pending_keys();
    let write = |source| SlotError::Write {
        path: dir.clone(),
        source,
    };
    crate::fsutil::create_private_dir(&dir).map_err(write)?;
    let path = Layout::key_file(&dir, generation);
    crate::fsutil::write_atomically(&path, key_text(key, generation).as_bytes(), 0o600)
        .map_err(|source| SlotError::Write { path, source })
}

/// The generations with a pending key.
pub fn pending(layout: &Layout) -> Result<Vec<u32>, SlotError> {
    let dir = layout.pending_keys();
    let items = match std::fs::read_dir(&dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SlotError::Read { path: dir, source }),
    };
    let mut found: Vec<u32> = items
        .filter_map(|i| i.ok())
        .filter_map(|i| {
            let name = i.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".pub")?.parse().ok()
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Forgets the pending keys of generations no entry is left of.
pub fn prune(layout: &Layout, entries: &[Entry]) -> Result<(), SlotError> {
    for generation in pending(layout)? {
        if !entries.iter().any(|e| e.name.generation == generation) {
            super::esp::remove(&Layout::key_file(&layout.pending_keys(), generation))?;
        }
    }
    Ok(())
}

/// Trusts the key pending for the running slot's generation, once its
/// entry was judged good.
pub fn trust(layout: &Layout, entries: &[Entry], running: Slot) -> Result<KeyTrusted, SlotError> {
    let current = entry::current(entries, running).ok_or(SlotError::NoEntry { slot: running })?;
    let generation = current.name.generation;
    if current.name.tries.is_some() || current.name.is_bad() {
        return Err(SlotError::NotBlessed {
            file: current.name.file_name(),
        });
    }
    let pending = Layout::key_file(&layout.pending_keys(), generation);
    let adopted = Layout::key_file(&layout.adopted_keys(), generation);
    let source = if pending.exists() {
        &pending
    } else if adopted.exists() {
        // Asked again: already done.
        &adopted
    } else {
        return Err(SlotError::NoPendingKey { generation });
    };
    let text = std::fs::read_to_string(source).map_err(|e| SlotError::Read {
        path: source.clone(),
        source: e,
    })?;
    let key = text.lines().nth(1).unwrap_or_default().to_string();
    // Checked as a key before it is trusted as one.
    TrustedKeys::parse([("pending", text.as_str())])?;
    if source == &pending {
        let dir = layout.adopted_keys();
        crate::fsutil::create_private_dir(&dir).map_err(|e| SlotError::Write {
            path: dir.clone(),
            source: e,
        })?;
        crate::fsutil::write_atomically(&adopted, text.as_bytes(), 0o600).map_err(|e| {
            SlotError::Write {
                path: adopted.clone(),
                source: e,
            }
        })?;
        super::esp::remove(&pending)?;
    }
    Ok(KeyTrusted { generation, key })
}
