//! The update helper (`hearth update-helper`, a root unit of its own):
//! the one process that writes a root slot, its kernel and initramfs and
//! its boot entry, sets the one-shot boot, and trusts a rotated key.
//! hearth asks it a closed set of requests ([`protocol`]) over its own
//! socket, checked with `SO_PEERCRED`; it derives every path itself
//! ([`layout`]), finds the slots on the root's own disk ([`disk`]),
//! checks every bundle with its own keys ([`next_key`]) and writes in a
//! power-cut-safe order ([`install`]). Its journal lines, each with the
//! asking pid, are its audit trail.
//!
//! Apart from the servers' helper on purpose: an install takes minutes,
//! and must never hold up a server's request, nor be held up by one.

pub mod client;
pub mod disk;
pub mod efivar;
pub mod entry;
pub mod error;
pub mod esp;
pub mod execute;
pub mod host;
pub mod install;
pub mod layout;
pub mod next_key;
pub mod protocol;
pub mod serve;
pub mod status;

pub use error::SlotError;
pub use layout::Layout;
