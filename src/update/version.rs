//! A release's version, `MAJOR.MINOR.PATCH`, compared numerically: what
//! an update bundle says it is, the oldest version it may be applied
//! over, and what the box runs (`/usr/lib/hearth/version`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a version: {why}")]
pub struct VersionError {
    /// The text as given, cut to 40 characters.
    text: String,
    why: &'static str,
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        let refuse = |why| VersionError {
            text: text.chars().take(40).collect(),
            why,
        };
        let mut numbers = text.split('.').map(|n| {
            // No sign, no leading zero, no space: one spelling a version.
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse("each part is a number, MAJOR.MINOR.PATCH"));
            }
            if n.len() > 1 && n.starts_with('0') {
                return Err(refuse("a part has no leading zero"));
            }
            n.parse::<u32>().map_err(|_| refuse("a part is too large"))
        });
        let (Some(major), Some(minor), Some(patch), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return Err(refuse("three parts, MAJOR.MINOR.PATCH"));
        };
        Ok(Version {
            major: major?,
            minor: minor?,
            patch: patch?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("0.10.0") > v("0.9.9"));
        assert!(v("1.0.0") > v("0.99.99"));
        assert_eq!(v("2.3.4").to_string(), "2.3.4");
    }

    #[test]
    fn anything_else_is_refused_saying_why() {
        for (text, why) in [
            ("", "three parts"),
            ("1.2", "three parts"),
            ("1.2.3.4", "three parts"),
            ("1.2.x", "a number"),
            ("1.-2.3", "a number"),
            ("1. 2.3", "a number"),
            ("01.2.3", "leading zero"),
            ("1.2.99999999999", "too large"),
        ] {
            let e = text.parse::<Version>().unwrap_err();
            assert!(e.to_string().contains(why), "{text:?}: {e}");
        }
    }
}
