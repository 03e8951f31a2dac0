//! Property tests of a server's validated names, its id (8 lower-case
//! hex digits, which names its user, unit and folder on the host) and
//! its name (1 to 25 of `a-z`, `0-9`, `-`):
//! - any text is one or an error, never a panic;
//! - an accepted one's text (`Display`, and its JSON) gives it again;
//! - the allowed alphabet and length are accepted, anything else is
//!   refused, in JSON too (the store and the helper read them so).

use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9a-zA-Z./ -]{0,30}", "[0-9a-f]{6,10}", any::<String>()]
}

proptest! {
    /// Any text: an id or a name, or an error, never a panic; what is
    /// accepted reads back as itself from its text and its JSON.
    #[test]
    fn any_text_is_checked(s in text()) {
        match ServerId::try_from(s.as_str()) {
            Ok(id) => {
                prop_assert_eq!(id.as_str(), s.as_str());
                prop_assert_eq!(ServerId::try_from(id.to_string()), Ok(id.clone()));
                let json = serde_json::to_string(&id).unwrap();
                prop_assert_eq!(serde_json::from_str::<ServerId>(&json).unwrap(), id.clone());
                prop_assert_eq!(id.user(), format!("hs-{s}"));
            }
            Err(e) => {
                prop_assert!(!e.is_empty());
                prop_assert!(serde_json::from_value::<ServerId>(serde_json::json!(s)).is_err());
            }
        }
        match ServerName::try_from(s.as_str()) {
            Ok(name) => {
                prop_assert_eq!(name.to_string(), s.clone());
                let json = serde_json::to_string(&name).unwrap();
                prop_assert_eq!(serde_json::from_str::<ServerName>(&json).unwrap(), name);
            }
            Err(e) => {
                prop_assert!(!e.is_empty());
                prop_assert!(serde_json::from_value::<ServerName>(serde_json::json!(s)).is_err());
            }
        }
    }

    /// 8 of `0-9a-f` is an id; one character more or less, or one
    /// outside them, is not.
    #[test]
    fn ids(id in "[0-9a-f]{8}", at in 0usize..8, bad in "[^0-9a-f]", more in "[0-9a-f]") {
        prop_assert!(ServerId::try_from(id.as_str()).is_ok());
        prop_assert!(ServerId::try_from(&id[1..]).is_err());
        prop_assert!(ServerId::try_from(format!("{id}{more}")).is_err(), "does not hold");
        let mut chars: Vec<char> = id.chars().collect();
        chars[at] = bad.chars().next().unwrap();
        let worse: String = chars.into_iter().collect();
        prop_assert!(ServerId::try_from(worse.as_str()).is_err(), "{:?}", worse);
    }

    /// 1 to 25 of `a-z0-9-` is a name; 26, none, or a character outside
    /// them is not.
    #[test]
    fn names(name in "[a-z0-9-]{1,25}", bad in "[^a-z0-9-]", pad in "[a-z]{26,30}") {
        prop_assert!(ServerName::try_from(name.as_str()).is_ok());
        prop_assert!(ServerName::try_from(format!("{name}{bad}")).is_err(), "does not hold");
        prop_assert!(ServerName::try_from(pad).is_err());
        prop_assert!(ServerName::try_from("").is_err());
    }
}
