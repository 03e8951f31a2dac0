//! The box's profile: its host name, time zone, NTP setting, domain and
//! contact e-mail, chosen in the setup wizard and the settings. This module owns how they are kept (one
//! setting each) and hands them out typed, so no caller reads them as
//! loose strings; the managers to come (systemd sets the host name and
//! time zone, Caddy uses the domain and e-mail) read [`BoxProfile`] too.

use crate::names::{DomainName, Email, Hostname, NameError, TimeZone};
use crate::store::{Change, Store, StoreError};

const HOSTNAME: &str = "box.hostname";
const TIMEZONE: &str = "box.timezone";
const DOMAIN: &str = "box.domain";
const EMAIL: &str = "box.email";
const NTP: &str = "box.ntp";

/// Each field is `None` until setup has set it (the domain and e-mail are
/// optional for good).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BoxProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Hostname>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<TimeZone>,
    /// Whether the clock follows NTP; `None`: as the OS has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

impl BoxProfile {
    /// Reads the profile. A stored value that no longer parses (edited
    /// by hand, or a rule tightened since) is an error naming the setting,
    /// never a silent default.
    pub fn read(store: &Store) -> Result<BoxProfile, StoreError> {
        let get = |key: &'static str| store.setting(key);
        Ok(BoxProfile {
            hostname: parse(store, HOSTNAME, get(HOSTNAME)?)?,
            timezone: parse(store, TIMEZONE, get(TIMEZONE)?)?,
            ntp: match get(NTP)?.as_deref() {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => {
                    return Err(StoreError::Malformed {
                        path: store.path().to_path_buf(),
                        what: NTP,
                        reason: "is neither true nor false".into(),
                    });
                }
            },
            domain: parse(store, DOMAIN, get(DOMAIN)?)?,
            email: parse(store, EMAIL, get(EMAIL)?)?,
        })
    }

    /// Whether the host name is set: the one field setup requires.
    pub fn has_host(store: &Store) -> Result<bool, StoreError> {
        Ok(store.setting(HOSTNAME)?.is_some())
    }

    /// The time zone in force: the chosen one, else UTC.
    pub fn timezone_or_utc(&self) -> &str {
        self.timezone.as_ref().map_or("UTC", TimeZone::as_str)
    }
}

/// Writes the host name and time zone, inside the caller's change.
pub(super) fn write_host(
    c: &mut Change<'_>,
    hostname: &Hostname,
    timezone: &TimeZone,
) -> Result<(), StoreError> {
    write_hostname(c, hostname)?;
    write_timezone(c, timezone)
}

/// Writes the host name alone, inside the caller's change.
pub(super) fn write_hostname(c: &mut Change<'_>, hostname: &Hostname) -> Result<(), StoreError> {
    c.set_setting(HOSTNAME, hostname.as_str())
}

/// Writes the time zone alone, inside the caller's change.
pub(super) fn write_timezone(c: &mut Change<'_>, timezone: &TimeZone) -> Result<(), StoreError> {
    c.set_setting(TIMEZONE, timezone.as_str())
}

/// Writes whether the clock follows NTP, inside the caller's change.
pub(super) fn write_ntp(c: &mut Change<'_>, on: bool) -> Result<(), StoreError> {
    c.set_setting(NTP, if on { "true" } else { "false" })
}

/// Writes the domain and e-mail; `None` clears one.
pub(super) fn write_domain(
    c: &mut Change<'_>,
    domain: Option<&DomainName>,
    email: Option<&Email>,
) -> Result<(), StoreError> {
    match domain {
        Some(d) => c.set_setting(DOMAIN, d.as_str())?,
        None => c.remove_setting(DOMAIN)?,
    }
    match email {
        Some(e) => c.set_setting(EMAIL, e.as_str()),
        None => c.remove_setting(EMAIL),
    }
}

fn parse<T>(
    store: &Store,
    key: &'static str,
    value: Option<String>,
) -> Result<Option<T>, StoreError>
where
    T: for<'a> TryFrom<&'a str, Error = NameError>,
{
    value
        .map(|v| {
            T::try_from(v.as_str()).map_err(|e| StoreError::Malformed {
                path: store.path().to_path_buf(),
                what: key,
                reason: e.to_string(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditAction, AuditEntry};

    fn write(store: &Store, f: impl FnOnce(&mut Change<'_>) -> Result<(), StoreError>) {
        store
            .change(AuditEntry::system(AuditAction::SetupHost, "test"), f)
            .unwrap();
    }

    #[test]
    fn a_new_box_has_an_empty_profile_in_utc() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let profile = BoxProfile::read(&store).unwrap();
        assert_eq!(profile, BoxProfile::default());
        assert_eq!(profile.timezone_or_utc(), "UTC");
        assert!(!BoxProfile::has_host(&store).unwrap());
    }

    #[test]
    fn what_is_written_reads_back_typed_and_none_clears() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let host = Hostname::try_from("attic").unwrap();
        let tz = TimeZone::try_from("Europe/Vienna").unwrap();
        let domain = DomainName::try_from("example.org").unwrap();
        let email = Email::try_from("owner@example.org").unwrap();
        write(&store, |c| {
            write_host(c, &host, &tz)?;
            write_ntp(c, false)?;
            write_domain(c, Some(&domain), Some(&email))
        });
        let profile = BoxProfile::read(&store).unwrap();
        assert_eq!(profile.ntp, Some(false));
        assert_eq!(profile.hostname, Some(host));
        assert_eq!(profile.timezone_or_utc(), "Europe/Vienna");
        assert_eq!(profile.domain, Some(domain));
        assert_eq!(profile.email, Some(email));
        write(&store, |c| write_domain(c, None, None));
        let profile = BoxProfile::read(&store).unwrap();
        assert_eq!((profile.domain, profile.email), (None, None));
        assert!(BoxProfile::has_host(&store).unwrap());
    }

    #[test]
    fn a_stored_value_that_does_not_parse_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        write(&store, |c| c.set_setting(HOSTNAME, "Not A Host"));
        let err = BoxProfile::read(&store).unwrap_err().to_string();
        assert!(err.contains("box.hostname"), "{err}");
    }
}
