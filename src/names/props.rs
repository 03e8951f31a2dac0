//! Property tests of the validated names (host name, domain name, time
//! zone, e-mail address):
//! - any text is a name or an error that says why, never a panic;
//! - an accepted name's text parses again to the same name, and keeps
//!   the bounds its type promises;
//! - names built from the allowed characters are accepted, and a
//!   forbidden character, upper case or a bad length is refused.

use proptest::prelude::*;

use super::*;

/// Text near the names' alphabets, or anything.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9.@/_+-]{0,40}",
        "([a-z0-9-]{0,12}\\.){0,5}[a-z0-9-]{0,12}\\.?",
        "[a-z!#$%&'*+/=?^_`{|}~.-]{0,10}@([a-zA-Z0-9-]{1,8}\\.){1,3}[a-zA-Z]{1,6}",
        any::<String>(),
    ]
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
}

fn domain() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(label(), 1..4),
        "[a-z][a-z0-9]{0,5}",
    )
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
        .prop_filter("at most 253 characters", |d| d.len() <= 253)
}

proptest! {
    /// Any text: a name or an error, never a panic; an accepted name's
    /// text gives the same name again.
    #[test]
    fn any_text_is_a_name_or_an_error(s in text()) {
        if let Ok(h) = Hostname::try_from(s.as_str()) {
            prop_assert_eq!(h.as_str(), s.as_str());
            prop_assert!((1..=63).contains(&h.as_str().len()));
            prop_assert_eq!(Hostname::try_from(h.to_string().as_str()), Ok(h.clone()));
        }
        match DomainName::try_from(s.as_str()) {
            Ok(d) => {
                prop_assert!(d.as_str().len() <= 253 && !d.as_str().ends_with('.'));
                prop_assert!(d.as_str().contains('.'));
                prop_assert_eq!(d.as_str(), s.strip_suffix('.').unwrap_or(&s));
                prop_assert_eq!(DomainName::try_from(d.to_string().as_str()), Ok(d.clone()));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        if let Ok(z) = TimeZone::try_from(s.as_str()) {
            prop_assert!(!z.as_str().contains("..") && !z.as_str().starts_with('/'));
            prop_assert_eq!(TimeZone::try_from(z.to_string().as_str()), Ok(z.clone()));
        }
        if let Ok(e) = Email::try_from(s.as_str()) {
            prop_assert_eq!(e.as_str(), s.as_str());
            prop_assert_eq!(Email::try_from(e.to_string().as_str()), Ok(e.clone()));
        }
    }

    /// An RFC 1123 label is a host name; with a character outside it,
    /// or upper case, it is not.
    #[test]
    fn host_names(name in label(), at in any::<prop::sample::Index>(), bad in "[^a-z0-9-]") {
        prop_assert!(Hostname::try_from(name.as_str()).is_ok());
        let mut chars: Vec<char> = name.chars().collect();
        chars.insert(at.index(chars.len() + 1), bad.chars().next().unwrap());
        let worse: String = chars.into_iter().collect();
        prop_assert!(Hostname::try_from(worse.as_str()).is_err(), "{:?}", worse);
        prop_assert!(Hostname::try_from(format!("-{name}").as_str()).is_err(), "does not hold");
        prop_assert!(Hostname::try_from(format!("{name}-").as_str()).is_err(), "does not hold");
        if name.bytes().any(|b| b.is_ascii_lowercase()) {
            prop_assert!(Hostname::try_from(name.to_ascii_uppercase().as_str()).is_err());
        }
    }

    /// Labels joined by dots, a name at the end, are a domain name (a
    /// final dot left out); an empty label, upper case, a number at the
    /// end or one label alone is not.
    #[test]
    fn domain_names(name in domain(), label in label()) {
        let d = DomainName::try_from(name.as_str());
        prop_assert_eq!(d.as_ref().map(DomainName::as_str), Ok(name.as_str()));
        let fqdn = DomainName::try_from(format!("{name}.").as_str());
        prop_assert_eq!(fqdn, d);
        prop_assert!(DomainName::try_from(format!("{name}..").as_str()).is_err(), "does not hold");
        prop_assert!(DomainName::try_from(format!(".{name}").as_str()).is_err(), "does not hold");
        prop_assert!(DomainName::try_from(name.replacen('.', "..", 1).as_str()).is_err());
        prop_assert!(DomainName::try_from(name.to_ascii_uppercase().as_str()).is_err());
        prop_assert!(DomainName::try_from(format!("{name}.1234").as_str()).is_err(), "does not hold");
        prop_assert!(DomainName::try_from(label.as_str()).is_err());
        let long = format!("{}.{name}", "a.".repeat(130));
        prop_assert!(DomainName::try_from(long.as_str()).is_err());
    }

    /// `local@domain` with a valid local part and domain is an address
    /// (the domain in any case); without `@`, or with a space, it is not.
    #[test]
    fn emails(local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}", domain in domain(), upper in any::<bool>()) {
        let domain = if upper { domain.to_ascii_uppercase() } else { domain };
        let address = format!("{local}@{domain}");
        prop_assert_eq!(Email::try_from(address.as_str()).map(|e| e.to_string()), Ok(address.clone()));
        prop_assert!(Email::try_from(address.replace('@', "").as_str()).is_err());
        prop_assert!(Email::try_from(format!("{local} @{domain}").as_str()).is_err(), "does not hold");
        prop_assert!(Email::try_from(format!("@{domain}").as_str()).is_err(), "does not hold");
        prop_assert!(Email::try_from(format!("{local}@").as_str()).is_err(), "does not hold");
    }

    /// A path out of the zone database, or a character outside zone
    /// names, is never a time zone.
    #[test]
    fn time_zones(zone in "[A-Za-z_+-]{1,12}(/[A-Za-z_+-]{1,12})?", bad in "[^A-Za-z0-9/_+-]") {
        prop_assert!(TimeZone::try_from(format!("../{zone}").as_str()).is_err(), "does not hold");
        prop_assert!(TimeZone::try_from(format!("{zone}/..").as_str()).is_err(), "does not hold");
        prop_assert!(TimeZone::try_from(format!("/{zone}").as_str()).is_err(), "does not hold");
        prop_assert!(TimeZone::try_from(format!("{zone}{bad}").as_str()).is_err(), "does not hold");
        prop_assert!(TimeZone::try_from(format!("{zone}{}", "x".repeat(64)).as_str()).is_err(), "does not hold");
    }
}
