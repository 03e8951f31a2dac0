//! Whether a verified bundle may be installed over the version the box
//! runs: an upgrade may, if the running version is at least the bundle's
//! `min_version`; the same version again, or an older one, only when the
//! admin asked for that version by name (a downgrade is never the result
//! of a mistaken click or a stale channel).

use super::manifest::Manifest;
use super::version::Version;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallRefused {
    #[error(
        "{bundle} must be installed over {min} or newer, and this box runs {running}: install {min} first"
    )]
    TooOld {
        running: Version,
        bundle: Version,
        min: Version,
    },
    #[error(
        "{bundle} is older than {running}, which this box runs: a downgrade is installed only when asked for by its version"
    )]
    Downgrade { running: Version, bundle: Version },
    #[error(
        "this box already runs {running}: installing it again is done only when asked for by its version"
    )]
    Same { running: Version },
}

/// Checks `manifest` against the `running` version; `asked` is the
/// version the admin named, if any.
pub fn may_install(
    running: Version,
    manifest: &Manifest,
    asked: Option<Version>,
) -> Result<(), InstallRefused> {
    let bundle = manifest.version;
    if running < manifest.min_version {
        return Err(InstallRefused::TooOld {
            running,
            bundle,
            min: manifest.min_version,
        });
    }
    let named = asked == Some(bundle);
    if bundle < running && !named {
        return Err(InstallRefused::Downgrade { running, bundle });
    }
    if bundle == running && !named {
        return Err(InstallRefused::Same { running });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn bundle(version: &str, min: &str) -> Manifest {
        let mut m = Manifest::parse(include_bytes!("testdata/manifest.json")).unwrap();
        m.version = v(version);
        m.min_version = v(min);
        m
    }

    #[test]
    fn an_upgrade_goes_and_the_rest_only_when_named() {
        let cases = [
            ("upgrade", "0.1.0", "0.2.0", "0.1.0", None, Ok(())),
            (
                "upgrade, asked by name",
                "0.1.0",
                "0.2.0",
                "0.1.0",
                Some("0.2.0"),
                Ok(()),
            ),
            (
                "too old to skip to it",
                "0.1.0",
                "0.3.0",
                "0.2.0",
                Some("0.3.0"),
                Err("install 0.2.0 first"),
            ),
            (
                "downgrade",
                "0.2.0",
                "0.1.5",
                "0.1.0",
                None,
                Err("a downgrade"),
            ),
            (
                "downgrade, another named",
                "0.2.0",
                "0.1.5",
                "0.1.0",
                Some("0.1.4"),
                Err("a downgrade"),
            ),
            (
                "downgrade, named",
                "0.2.0",
                "0.1.5",
                "0.1.0",
                Some("0.1.5"),
                Ok(()),
            ),
            (
                "the same",
                "0.2.0",
                "0.2.0",
                "0.1.0",
                None,
                Err("already runs 0.2.0"),
            ),
            (
                "the same, named",
                "0.2.0",
                "0.2.0",
                "0.1.0",
                Some("0.2.0"),
                Ok(()),
            ),
        ];
        for (case, running, version, min, asked, want) in cases {
            let got = may_install(v(running), &bundle(version, min), asked.map(v));
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(says)) => assert!(e.to_string().contains(says), "{case}: {e}"),
                (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
            }
        }
    }
}
