//! Property tests of [`SiteName`], the host name Caddy serves (a domain
//! name or a wildcard over one, internationalised names as punycode):
//! - any text, Unicode included, is a name or an error, never a panic;
//! - an accepted name is in its canonical form: its text (and its JSON)
//!   gives the same name again, lower case and without a final dot;
//! - a name in another case, with spaces around or a final dot is the
//!   same name; a wildcard only first, and the name it covers.

use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(\\*\\.)?([a-zA-Z0-9*-]{1,10}\\.){0,3}[a-zA-Z0-9-]{1,8}\\.?",
        "[a-z0-9äöüßéñ日本\u{200d}\u{ff0e}\u{3002}.*-]{0,30}",
        any::<String>(),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
        "(org|test|local|home\\.arpa|de|xn--p1ai)",
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

proptest! {
    /// Any text: a name or an error that says why, never a panic; an
    /// accepted name reads back as itself from its text and its JSON.
    #[test]
    fn any_text_is_a_canonical_name_or_an_error(s in text()) {
        match SiteName::try_from(s.as_str()) {
            Ok(n) => {
                prop_assert_eq!(SiteName::try_from(n.to_string()), Ok(n.clone()));
                let json = serde_json::to_string(&n).unwrap();
                prop_assert_eq!(serde_json::from_str::<SiteName>(&json).unwrap(), n.clone());
                prop_assert!(DomainName::try_from(n.base()).is_ok(), "{}", n);
                prop_assert!(!n.base().contains('*'));
                prop_assert_eq!(n.is_wildcard(), n.as_str().starts_with("*."));
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    /// A plain name in any case, with spaces around or a final dot, is the
    /// same name; with `*.` before it, its wildcard, which covers one
    /// label under it and neither itself nor two labels.
    #[test]
    fn names_and_wildcards(
        name in name().prop_filter("not a bad xn-- label", |n| SiteName::try_from(n.as_str()).is_ok()),
        label in "[a-z0-9]{1,8}",
    ) {
        let n = SiteName::try_from(name.as_str()).unwrap();
        prop_assert_eq!(n.as_str(), name.as_str());
        for same in [name.to_ascii_uppercase(), format!(" {name}. "), format!("{name}.")] {
            prop_assert_eq!(SiteName::try_from(same.as_str()), Ok(n.clone()));
        }
        prop_assert!(n.covers(&name) && !n.is_wildcard());

        let w = SiteName::try_from(format!("*.{name}").as_str()).unwrap();
        prop_assert!(w.is_wildcard());
        prop_assert_eq!(w.base(), name.as_str());
        let under = format!("{label}.{name}");
        prop_assert!(w.covers(&under));
        prop_assert!(!w.covers(&name));
        let covers_two = w.covers(&format!("{label}.{under}"));
        prop_assert!(!covers_two);
        prop_assert!(SiteName::try_from(format!("{label}.*.{name}").as_str()).is_err(), "does not hold");
        prop_assert!(SiteName::try_from(format!("*.*.{name}").as_str()).is_err(), "does not hold");
    }
}
