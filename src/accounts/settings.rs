//! The box settings an admin changes through the API: whether the status
//! is public, whether the recovery console offers a root shell, and the
//! host name, time zone and NTP setting (which the
//! host manager, `crate::system::host`, applies to the OS). The rest of
//! the box's profile (domain, e-mail; see [`BoxProfile`]) comes from the
//! setup wizard and is shown here too. Changes are audited.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::Caller;
use super::profile::{self, BoxProfile};
use crate::names::{Hostname, TimeZone};
use crate::store::{AuditAction, Retention, Store, StoreError};

const PUBLIC_STATUS: &str = "public_status";
const CONSOLE_SHELL: &str = "console_shell";

/// Whether an admin turned on the root shell on the box's console (tty1
/// and serial); off unless turned on. Read from the store each time, so
/// that the recovery console, with or without the daemon, sees the
/// setting as it is now.
pub fn console_shell(store: &Store) -> Result<bool, StoreError> {
    Ok(store.setting(CONSOLE_SHELL)?.as_deref() == Some("true"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub public_status: bool,
    pub console_shell: bool,
    /// How long, and how much of, the audit log's records of attempts
    /// (not changes) are kept.
    pub audit_keep_days: u32,
    pub audit_max_mib: u32,
    #[serde(flatten)]
    pub profile: BoxProfile,
}

/// A change of the host settings, validated; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostChange {
    pub hostname: Option<Hostname>,
    pub timezone: Option<TimeZone>,
    pub ntp: Option<bool>,
}

impl HostChange {
    pub fn is_empty(&self) -> bool {
        *self == HostChange::default()
    }

    /// What the audit record names: `hostname=attic timezone=UTC ntp=false`,
    /// the fields given only.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.hostname {
            parts.push(format!("hostname={h}"));
        }
        if let Some(t) = &self.timezone {
            parts.push(format!("timezone={t}"));
        }
        if let Some(n) = self.ntp {
            parts.push(format!("ntp={n}"));
        }
        parts.join(" ")
    }
}

pub struct BoxSettings {
    store: Store,
    /// Read on every anonymous status request: kept in memory.
    public_status: AtomicBool,
}

impl BoxSettings {
    pub fn load(store: Store) -> Result<BoxSettings, StoreError> {
        let public = store.setting(PUBLIC_STATUS)?.as_deref() == Some("true");
        Ok(BoxSettings {
            store,
            public_status: AtomicBool::new(public),
        })
    }

    pub fn public_status(&self) -> bool {
        self.public_status.load(Ordering::Acquire)
    }

    /// The profile setup chose: host name, time zone, domain, e-mail.
    pub fn profile(&self) -> Result<BoxProfile, StoreError> {
        BoxProfile::read(&self.store)
    }

    pub fn view(&self) -> Result<SettingsView, StoreError> {
        let retention = self.store.audit_retention()?;
        Ok(SettingsView {
            public_status: self.public_status(),
            console_shell: console_shell(&self.store)?,
            audit_keep_days: retention.keep_days,
            audit_max_mib: retention.max_mib,
            profile: self.profile()?,
        })
    }

    pub fn set_public_status(
        &self,
        caller: &Caller,
        on: bool,
        source: IpAddr,
    ) -> Result<(), StoreError> {
        let entry = caller.audit(AuditAction::SettingsPublicStatus, &on.to_string(), source);
        self.store.change(entry, |c| {
            c.set_setting(PUBLIC_STATUS, if on { "true" } else { "false" })
        })?;
        self.public_status.store(on, Ordering::Release);
        Ok(())
    }

    /// Turns the root shell on the box's console on or off.
    pub fn set_console_shell(
        &self,
        caller: &Caller,
        on: bool,
        source: IpAddr,
    ) -> Result<(), StoreError> {
        let entry = caller.audit(AuditAction::SettingsConsoleShell, &on.to_string(), source);
        self.store.change(entry, |c| {
            c.set_setting(CONSOLE_SHELL, if on { "true" } else { "false" })
        })
    }

    /// Sets how much of the log of attempts is kept (an unchanged one is
    /// not recorded again).
    pub fn set_audit_retention(
        &self,
        caller: &Caller,
        retention: Retention,
        source: IpAddr,
    ) -> Result<(), StoreError> {
        if self.store.audit_retention()? == retention {
            return Ok(());
        }
        let target = format!(
            "keep_days={} max_mib={}",
            retention.keep_days, retention.max_mib
        );
        let entry = caller.audit(AuditAction::SettingsAuditRetention, &target, source);
        self.store
            .change(entry, |c| c.set_audit_retention(retention))
    }

    /// Stores a new host name, time zone or NTP setting in one audited
    /// change; the host manager wakes on it and applies it to the OS.
    pub fn set_host(
        &self,
        caller: &Caller,
        change: &HostChange,
        source: IpAddr,
    ) -> Result<(), StoreError> {
        if change.is_empty() {
            return Ok(());
        }
        let entry = caller.audit(AuditAction::SettingsHost, &change.describe(), source);
        self.store.change(entry, |c| {
            if let Some(h) = &change.hostname {
                profile::write_hostname(c, h)?;
            }
            if let Some(t) = &change.timezone {
                profile::write_timezone(c, t)?;
            }
            if let Some(n) = change.ntp {
                profile::write_ntp(c, n)?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, SecretHash};

    fn admin() -> Caller {
        Caller {
            username: "boss".into(),
            role: Role::Admin,
            session: SecretHash::default(),
            created_ms: 0,
        }
    }

    #[test]
    fn the_console_shell_is_off_until_an_admin_turns_it_on_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(!console_shell(&store).unwrap(), "off on a new box");
        let settings = BoxSettings::load(store.clone()).unwrap();
        assert!(!settings.view().unwrap().console_shell);

        let ip = IpAddr::from([10, 0, 0, 1]);
        settings.set_console_shell(&admin(), true, ip).unwrap();
        assert!(console_shell(&store).unwrap());
        assert!(settings.view().unwrap().console_shell);
        assert!(!settings.public_status(), "the other setting untouched");
        // The store opened anew (as the console does offline) says so too.
        drop(settings);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(console_shell(&store).unwrap());

        let settings = BoxSettings::load(store.clone()).unwrap();
        settings.set_console_shell(&admin(), false, ip).unwrap();
        assert!(!console_shell(&store).unwrap());

        let records: Vec<_> = store
            .audit_records(0, 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "settings.console_shell")
            .map(|r| (r.actor, r.target, r.source))
            .collect();
        assert_eq!(
            records,
            [
                ("boss".into(), "true".into(), "10.0.0.1".into()),
                ("boss".into(), "false".into(), "10.0.0.1".into()),
            ]
        );
    }
}
