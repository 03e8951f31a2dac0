//! Signed A/B updates of the appliance (issue 30). The box has two root
//! slots (`hearth-root-a`, `hearth-root-b`, see image/build.sh); an update
//! is written into the one that does not run, booted with three tries,
//! and judged: kept when it comes up, dropped by the boot loader itself
//! when it does not.
//!
//! - [`manifest`], [`keys`], [`bundle`]: an update bundle (a tar of a
//!   signed manifest and the root file system, kernel and initramfs),
//!   parsed without I/O, its signature checked against the keys the box
//!   trusts, every part's hash checked; [`policy`] and [`version`]: an
//!   upgrade goes, a downgrade only by name.
//! - [`staging`]: an uploaded bundle written to disk as it arrives,
//!   resumable, cancellable, refused before a byte when there is no room.
//! - [`slots`]: the update helper, the root unit that writes the other
//!   slot, its boot files and its entry (checking the bundle with its own
//!   keys), marks a failed slot bad and sets the one-shot boot.
//! - The manager ([`model`], [`plan`], [`adapter`], [`error`], [`run`],
//!   [`stored`], [`journal`]): walks an update from an admin's word
//!   through the helper's job, the reboot (after a copy of the store:
//!   `crate::store::pre_update`), the trial boot and the judgement
//!   (`crate::control::boot_check`, run by hearth-boot-check.service
//!   before `boot-complete.target`), and tells a fallback with the failed
//!   boots' journal.
//!
//! Not wired into the daemon yet, nor reachable over the API (the next
//! step of issue 30).
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
//!
//! And on the image itself (first boot, then a `+3` copy of slot A's
//! entry with a higher generation): hearth-boot-check.service passed at
//! 121 s after the kernel started, boot-complete.target was reached and
//! systemd-bless-boot renamed the entry to `hearth-0002-a.conf` at 122 s;
//! the i6300esb watchdog was armed by PID 1 ("Using hardware watchdog
//! 'i6300ESB timer'"); the journal of the boot was kept on /var.

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
pub mod service;
pub mod slots;
pub mod staging;
pub mod start;
pub mod stored;
#[cfg(test)]
mod testing;
pub mod version;
