//! The time zones the box knows, for the setup wizard's list: the zone
//! and link names of the installed tz database, read once per process
//! from `tzdata.zi` (the one-file summary Debian's `tzdata` ships beside
//! the compiled zones). Only names that [`TimeZone`] accepts are listed,
//! so every choice offered is one the setup takes. Without the database
//! the list is just `UTC`.

use std::path::Path;
use std::sync::OnceLock;

use crate::names::TimeZone;

/// Where Debian's `tzdata` puts the summary.
pub const TZDATA_ZI: &str = "/usr/share/zoneinfo/tzdata.zi";

/// The zone names of this machine, sorted; read on the first call.
pub fn list() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| load(Path::new(TZDATA_ZI)))
}

fn load(path: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "no time zone database; offering UTC only");
            String::new()
        }
    };
    let mut names: Vec<String> = parse_tzdata_zi(&text)
        .into_iter()
        .filter(|n| TimeZone::try_from(n.as_str()).is_ok())
        .collect();
    if names.is_empty() {
        names.push("UTC".into());
    }
    names
}

/// The names of the zones (`Z name ...`) and links (`L target name`) in
/// the text of a `tzdata.zi`, sorted, each once.
pub fn parse_tzdata_zi(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("Z"), Some(zone), _) => Some(zone),
                (Some("L"), Some(_target), Some(link)) => Some(link),
                _ => None,
            }
        })
        // "Factory" is the placeholder for "no zone set yet", not a
        // place anyone lives.
        .filter(|name| *name != "Factory")
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/zoneinfo/tzdata.zi");

    #[test]
    fn zones_and_links_of_a_fixture() {
        assert_eq!(
            parse_tzdata_zi(FIXTURE),
            [
                "Africa/Abidjan",
                "Africa/Accra",
                "America/Argentina/Buenos_Aires",
                "Arctic/Longyearbyen",
                "Etc/UTC",
                "Etc/Universal",
                "Europe/Berlin",
                "UTC",
            ]
        );
        assert!(parse_tzdata_zi("").is_empty());
        assert!(
            parse_tzdata_zi("# only a comment\nR d 1916 o - Jun 14 23s 1 S\nL half").is_empty()
        );
    }

    #[test]
    fn no_database_means_utc_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("tzdata.zi")), ["UTC"]);
    }

    #[test]
    fn every_listed_zone_is_one_the_setup_takes() {
        let zones = list();
        assert!(!zones.is_empty());
        assert!(zones.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
        for zone in zones {
            assert!(TimeZone::try_from(zone.as_str()).is_ok(), "{zone}");
        }
        assert!(zones.iter().any(|z| z == "UTC"));
        if Path::new(TZDATA_ZI).exists() {
            assert!(zones.iter().any(|z| z == "Europe/Berlin"), "{zones:?}");
        }
    }
}
