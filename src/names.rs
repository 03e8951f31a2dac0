//! Validated names from user input: host names, domain names, time zones
//! and e-mail addresses. Each parses with `TryFrom<&str>` and cannot hold
//! a bad value; the error says why, never echoing more than it must.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(&'static str);

fn label_ok(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A host name for the box: one DNS label (RFC 1123), lower case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Hostname(String);

impl TryFrom<&str> for Hostname {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Hostname, NameError> {
        if label_ok(s) {
            Ok(Hostname(s.to_string()))
        } else {
            Err(NameError(
                "must be 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ))
        }
    }
}

/// A fully qualified domain name such as `cloud.example.org`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct DomainName(String);

impl TryFrom<&str> for DomainName {
    type Error = NameError;
    fn try_from(s: &str) -> Result<DomainName, NameError> {
        let s = s.strip_suffix('.').unwrap_or(s);
        if s.len() > 253 {
            return Err(NameError("must be at most 253 characters"));
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err(NameError("must have at least two labels, like example.org"));
        }
        if !labels.iter().all(|l| label_ok(l)) {
            return Err(NameError(
                "each label must be 1 to 63 characters of a-z, 0-9 and '-' (use lower case and punycode)",
            ));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(NameError("must be a name, not an address"));
        }
        Ok(DomainName(s.to_string()))
    }
}

/// An IANA time zone name such as `Europe/Berlin` or `UTC`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TryFrom<&str> for TimeZone {
    type Error = NameError;
    fn try_from(s: &str) -> Result<TimeZone, NameError> {
        let well_formed = !s.is_empty()
            && s.len() <= 64
            && !s.starts_with('/')
            && !s.contains("..")
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
        if !well_formed {
            return Err(NameError(
                "must be a time zone name like Europe/Berlin or UTC",
            ));
        }
        // Where the zone database is installed (the appliance has tzdata),
        // the name must be one of its zones.
        let db = std::path::Path::new("/usr/share/zoneinfo");
        if db.is_dir() && !db.join(s).is_file() {
            return Err(NameError("is not a known time zone"));
        }
        Ok(TimeZone(s.to_string()))
    }
}

/// An e-mail address for certificate notices: `local@domain`, kept simple.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl TryFrom<&str> for Email {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Email, NameError> {
        let (local, domain) = s.rsplit_once('@').ok_or(NameError("must contain '@'"))?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        if !local_ok {
            return Err(NameError("has an invalid part before '@'"));
        }
        DomainName::try_from(domain.to_ascii_lowercase().as_str())
            .map_err(|_| NameError("has an invalid domain after '@'"))?;
        Ok(Email(s.to_string()))
    }
}

macro_rules! as_str {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
as_str!(Hostname, DomainName, TimeZone, Email);

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that none of `bad` is a `T`.
    fn refuses<T: for<'a> TryFrom<&'a str>>(bad: &[&str]) {
        for bad in bad {
            assert!(T::try_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostnames() {
        assert!(Hostname::try_from("mybox").is_ok());
        assert!(Hostname::try_from("box-2").is_ok());
        refuses::<Hostname>(&["", "-box", "box-", "My Box", "box.local", &"a".repeat(64)]);
    }

    #[test]
    fn domains() {
        assert_eq!(
            DomainName::try_from("cloud.example.org.").unwrap().as_str(),
            "cloud.example.org"
        );
        refuses::<DomainName>(&[
            "localhost",
            "Example.org",
            "a..b",
            "-a.org",
            "1.2.3.4",
            "a b.org",
        ]);
    }

    #[test]
    fn time_zones() {
        assert!(TimeZone::try_from("UTC").is_ok());
        refuses::<TimeZone>(&[
            "",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe/Nowhere_Land",
            "A B",
        ]);
    }

    #[test]
    fn emails() {
        assert!(Email::try_from("owner@example.org").is_ok());
        refuses::<Email>(&[
            "owner",
            "@example.org",
            "owner@localhost",
            "a b@example.org",
        ]);
    }
}
