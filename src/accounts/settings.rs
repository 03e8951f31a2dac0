//! The box settings an admin changes through the API: for now whether the
//! status is public. The box's profile (host name, time zone, domain,
//! e-mail; see [`BoxProfile`]) comes from the setup wizard and is shown
//! here too. Changes are audited.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::Caller;
use super::profile::BoxProfile;
use crate::store::{AuditAction, Store, StoreError};

const PUBLIC_STATUS: &str = "public_status";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsView {
    pub public_status: bool,
    #[serde(flatten)]
    pub profile: BoxProfile,
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
        Ok(SettingsView {
            public_status: self.public_status(),
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
}
