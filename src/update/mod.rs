//! Signed A/B updates of the appliance (issue 30), in the making. Here so
//! far: an update bundle's manifest, parsed without I/O and checked field
//! by field ([`manifest`]), its signature checked against the keys the
//! box trusts ([`keys`]), whether it may go over the running version
//! ([`policy`]: a downgrade only by name), and the release versions they
//! name ([`version`]).
//!
//! # What the boot loader does, as checked in the VM
//!
//! Debian 12's systemd-boot 252, in OVMF under qemu (TCG), on a copy of
//! the image with `default hearth-*` in `loader.conf` and entries named
//! `hearth-<generation>-<slot>[+LEFT[-DONE]].conf` (no `sort-key`):
//!
//! - an entry's id is its file name, counter included; the boot loader
//!   renames `+3` to `+2-1`, `+1-2`, `+0-3` before starting the kernel;
//! - `default` is a glob, and the first match in sort order boots: the
//!   highest generation with tries left. So a new slot's entry, written
//!   with a higher generation and `+3`, boots next without `loader.conf`
//!   being written; it keeps booting while it has tries left (3 kernel
//!   panics: 3 boots of it);
//! - an entry with no tries left (`+0-3`) sorts last, and the older
//!   blessed entry boots (the 4th boot came up on slot A, the failed
//!   entry untouched).
//!
//! A `default` naming one slot (`hearth-b.conf`) would never match the
//! renamed file, and `hearth-b*` would keep booting a failed entry (the
//! glob does not skip `+0`): hence one glob over all entries, and the
//! generation in the name.

pub mod adapter;
pub mod bundle;
pub mod error;
pub mod journal;
pub mod keys;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod policy;
pub mod run;
pub mod slots;
pub mod staging;
pub mod stored;
#[cfg(test)]
mod testing;
pub mod version;
