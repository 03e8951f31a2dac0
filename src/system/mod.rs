//! The host as hearth's process sees it: its own privileges (what it
//! keeps of root's powers, and that it never gains more), and what an
//! admin asks of it (a service's start or stop, a reboot), audited.

pub mod actions;
pub mod dbus;
pub mod host;
pub mod privileges;
pub mod units;
