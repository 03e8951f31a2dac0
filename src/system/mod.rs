//! The host as hearth's process sees it: its own privileges (what it
//! keeps of root's powers, and that it never gains more), and the box
//! going down on request (reboot, power-off).

pub mod dbus;
pub mod host;
pub mod power;
pub mod privileges;
pub mod service_control;
pub mod units;
