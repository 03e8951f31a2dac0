//! Property tests of the control socket's protocol (one JSON line each
//! way between the console and the daemon):
//! - decoding any bytes as a request or an answer gives a value or an
//!   error, never a panic, and JSON shaped like a request (known and
//!   unknown `do` tags, fields of any type) too; what decodes encodes
//!   back to the same value;
//! - every request and every answer is one line that decodes to itself;
//! - an unknown `do`, a missing terminal, or an extra field in a request
//!   with fields is refused;
//! - a request's `Debug` never shows its password.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::auth::Role;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_.-]{0,16}",
        any::<String>(),
        Just(String::new()),
        Just("\n\"\\\u{0}\u{2028}".to_string()),
    ]
}

fn recorded() -> impl Strategy<Value = Recorded> {
    prop_oneof![
        Just(Recorded::Log),
        Just(Recorded::Restart),
        Just(Recorded::Reboot),
        Just(Recorded::PowerOff),
        Just(Recorded::Shell),
        Just(Recorded::FactoryReset),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Failure),
        Just(Outcome::Denied),
    ]
}

/// Passwords are marked, so that a test can look for them.
fn password() -> impl Strategy<Value = String> {
    text().prop_map(|t| format!("PASSWORD{t}"))
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Status),
        Just(Request::Users),
        ("[a-z0-9_-]{0,16}", password())
            .prop_map(|(username, password)| Request::ResetPassword { username, password }),
        text().prop_map(|username| Request::TurnOffTwoFactor { username }),
        Just(Request::ResetFirewall),
        Just(Request::NewCertificate),
        (recorded(), outcome()).prop_map(|(what, outcome)| Request::Record { what, outcome }),
        Just(Request::ShellAllowed),
    ]
}

fn ask() -> impl Strategy<Value = Ask> {
    (text(), request()).prop_map(|(terminal, request)| Ask { terminal, request })
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Admin), Just(Role::Member), Just(Role::Viewer)]
}

fn answer() -> impl Strategy<Value = Answer> {
    let health = (text(), text(), text()).prop_map(|(component, state, detail)| HealthLine {
        component,
        state,
        detail,
    });
    let user = (text(), role(), any::<bool>(), any::<bool>()).prop_map(
        |(username, role, disabled, two_factor)| ConsoleUser {
            username,
            role,
            disabled,
            two_factor,
        },
    );
    prop_oneof![
        (
            any::<bool>(),
            any::<u16>(),
            proptest::option::of("[0-9a-f:]{0,95}"),
            proptest::collection::vec(health, 0..4),
        )
            .prop_map(|(setup_complete, https_port, fingerprint, health)| {
                Answer::Status {
                    setup_complete,
                    https_port,
                    fingerprint,
                    health,
                }
            }),
        proptest::collection::vec(user, 0..4).prop_map(|users| Answer::Users { users }),
        text().prop_map(|message| Answer::Done { message }),
        any::<bool>().prop_map(|allowed| Answer::ShellAllowed { allowed }),
        text().prop_map(|message| Answer::Failed { message }),
        text().prop_map(|message| Answer::Refused { message }),
    ]
}

/// Any JSON, small.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const DOS: &[&str] = &[
    "status",
    "users",
    "reset_password",
    "turn_off_two_factor",
    "reset_firewall",
    "new_certificate",
    "record",
    "shell_allowed",
    "format_disk",
];
const FIELDS: &[&str] = &["username", "password", "what", "outcome", "terminal", "x"];

/// JSON shaped like an ask: a terminal (or not), a `do` of the set or
/// not, and fields of the protocol's names with values of any type or of
/// the right one.
fn ask_like() -> impl Strategy<Value = Value> {
    let field_value = prop_oneof![
        json(),
        "[a-z_]{0,12}".prop_map(Value::String),
        Just(json!("reboot")),
        Just(json!("success")),
    ];
    (
        proptest::option::of(json()),
        proptest::sample::select(DOS),
        proptest::collection::btree_map(proptest::sample::select(FIELDS), field_value, 0..4),
    )
        .prop_map(|(terminal, r#do, fields)| {
            let mut request = Map::new();
            request.insert("do".into(), json!(r#do));
            for (k, v) in fields {
                request.insert(k.into(), v);
            }
            let mut ask = Map::new();
            if let Some(t) = terminal {
                ask.insert("terminal".into(), t);
            }
            ask.insert("request".into(), Value::Object(request));
            Value::Object(ask)
        })
}

proptest! {
    /// Any bytes on the socket: a request, an answer or an error, never a
    /// panic.
    #[test]
    fn any_bytes_decode_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Ask>(&bytes);
        let _ = serde_json::from_slice::<Answer>(&bytes);
    }

    /// Any line (JSON-ish or not) likewise, cut where the daemon cuts it.
    #[test]
    fn any_line_decodes_or_fails(
        line in prop_oneof![
            "[{}\\[\\]\":,a-z_0-9 ]{0,120}",
            any::<String>(),
        ],
    ) {
        let line: String = line.chars().take(MAX_LINE).collect();
        let _ = serde_json::from_str::<Ask>(line.trim_end());
        let _ = serde_json::from_str::<Answer>(line.trim_end());
    }

    /// JSON shaped like a request decodes or fails without a panic; what
    /// decodes encodes back to itself.
    #[test]
    fn request_shaped_json_decodes_to_a_value_that_round_trips(value in ask_like()) {
        let line = value.to_string();
        if let Ok(ask) = serde_json::from_str::<Ask>(&line) {
            let again = serde_json::to_string(&ask).unwrap();
            prop_assert_eq!(serde_json::from_str::<Ask>(&again).unwrap(), ask);
        }
    }

    /// Every request is one line of JSON that reads back as itself, and
    /// its `Debug` never shows the password.
    #[test]
    fn requests_round_trip_as_one_line(ask in ask()) {
        let line = serde_json::to_string(&ask).unwrap();
        prop_assert!(!line.contains('\n'), "{}", line);
        prop_assert_eq!(serde_json::from_str::<Ask>(&line).unwrap(), ask.clone());
        let mut sent = line.into_bytes();
        sent.push(b'\n');
        prop_assert_eq!(serde_json::from_slice::<Ask>(&sent).unwrap(), ask.clone());
        prop_assert!(!format!("{ask:?}").contains("PASSWORD"), "does not hold");
    }

    /// Every answer is one line of JSON that reads back as itself.
    #[test]
    fn answers_round_trip_as_one_line(answer in answer()) {
        let line = serde_json::to_string(&answer).unwrap();
        prop_assert!(!line.contains('\n'), "{}", line);
        prop_assert_eq!(serde_json::from_str::<Answer>(&line).unwrap(), answer);
    }

    /// Outside the set is refused: an unknown `do`, no terminal, or a
    /// field the request does not have.
    #[test]
    fn what_is_not_a_request_is_refused(ask in ask(), extra in "[a-z_]{1,12}", v in json()) {
        let good = serde_json::to_value(&ask).unwrap();

        let mut unknown = good.clone();
        unknown["request"]["do"] = json!(format!("{extra}_x"));
        prop_assert!(serde_json::from_value::<Ask>(unknown).is_err());

        let mut anonymous = good.clone();
        anonymous.as_object_mut().unwrap().remove("terminal");
        prop_assert!(serde_json::from_value::<Ask>(anonymous).is_err());

        let mut outer = good.clone();
        outer.as_object_mut().unwrap().insert(format!("{extra}_x"), v.clone());
        prop_assert!(serde_json::from_value::<Ask>(outer).is_err());

        // serde lets an extra field by in an internally tagged unit
        // variant (`{"do":"status","x":1}`): only requests with fields
        // refuse one (the daemon ignores it either way).
        let request = good["request"].as_object().unwrap();
        if request.len() > 1 && !request.contains_key(extra.as_str()) {
            let mut more = good.clone();
            more["request"][extra.as_str()] = v;
            prop_assert!(serde_json::from_value::<Ask>(more).is_err());
        }
    }
}
