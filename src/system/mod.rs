//! The box's system: systemd over D-Bus (`dbus`: the systemd 252
//! proxies; `units`: the follower and control of the box's services),
//! what an admin asks of it (`actions`: a service's start or stop, a
//! reboot, audited), the host name, time zone and NTP (`host`, a
//! manager), the process's own privileges (`privileges`: what it keeps
//! of root's powers, and that it never gains more), and their start
//! (`start`).

pub mod actions;
pub mod dbus;
pub mod host;
pub mod privileges;
pub mod start;
pub mod units;
