//! The D-Bus interfaces hearth calls, as systemd 252 (Debian 12) has
//! them: only the methods, properties and signals used here, written by
//! hand (the `zbus_systemd` crate's are generated from a newer systemd).

use zbus::OwnedObjectPath;
use zbus::proxy;

#[proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
pub trait Manager {
    /// Asks systemd to send its signals (`JobRemoved`, and the units'
    /// `PropertiesChanged`) to this connection.
    fn subscribe(&self) -> zbus::Result<()>;
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn restart_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    /// Sets properties of a unit (`runtime`: in /run, gone at reboot).
    fn set_unit_properties(
        &self,
        name: &str,
        runtime: bool,
        properties: &[(&str, zbus::Variant<'_>)],
    ) -> zbus::Result<()>;
    /// The loaded units in `states` whose names match `patterns`: (name,
    /// description, load, active, sub, following, path, job id, job
    /// type, job path).
    #[allow(clippy::type_complexity)]
    fn list_units_by_patterns(
        &self,
        states: &[&str],
        patterns: &[&str],
    ) -> zbus::Result<
        Vec<(
            String,
            String,
            String,
            String,
            String,
            String,
            OwnedObjectPath,
            u32,
            String,
            OwnedObjectPath,
        )>,
    >;

    #[zbus(signal)]
    fn job_removed(
        &self,
        id: u32,
        job: OwnedObjectPath,
        unit: String,
        result: String,
    ) -> zbus::Result<()>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
pub trait Unit {
    #[zbus(property)]
    fn id(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn load_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
    /// µs since the epoch.
    #[zbus(property)]
    fn state_change_timestamp(&self) -> zbus::Result<u64>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Service",
    default_service = "org.freedesktop.systemd1"
)]
pub trait Service {
    #[zbus(property)]
    fn exec_main_status(&self) -> zbus::Result<i32>;
    #[zbus(property)]
    fn exec_main_code(&self) -> zbus::Result<i32>;
}

#[proxy(
    interface = "org.freedesktop.hostname1",
    default_service = "org.freedesktop.hostname1",
    default_path = "/org/freedesktop/hostname1"
)]
pub trait Hostname {
    fn set_static_hostname(&self, name: &str, interactive: bool) -> zbus::Result<()>;
    fn set_hostname(&self, name: &str, interactive: bool) -> zbus::Result<()>;
    #[zbus(property)]
    fn static_hostname(&self) -> zbus::Result<String>;
    /// The kernel's host name, the one in force.
    #[zbus(property)]
    fn hostname(&self) -> zbus::Result<String>;
}

#[proxy(
    interface = "org.freedesktop.timedate1",
    default_service = "org.freedesktop.timedate1",
    default_path = "/org/freedesktop/timedate1"
)]
pub trait Timedate {
    fn set_timezone(&self, timezone: &str, interactive: bool) -> zbus::Result<()>;
    #[zbus(name = "SetNTP")]
    fn set_ntp(&self, on: bool, interactive: bool) -> zbus::Result<()>;
    #[zbus(property)]
    fn timezone(&self) -> zbus::Result<String>;
    /// Whether an NTP service is enabled (what `SetNTP` sets).
    #[zbus(property, name = "NTP")]
    fn ntp(&self) -> zbus::Result<bool>;
    /// Whether the kernel's clock is synchronised.
    #[zbus(property, name = "NTPSynchronized")]
    fn ntp_synchronized(&self) -> zbus::Result<bool>;
}

#[proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
pub trait Login {
    fn reboot(&self, interactive: bool) -> zbus::Result<()>;
    fn power_off(&self, interactive: bool) -> zbus::Result<()>;
}
