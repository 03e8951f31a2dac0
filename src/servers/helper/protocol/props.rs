//! Property tests of the root helper's protocol (hearth's typed requests,
//! one JSON line each, and the helper's replies):
//! - [`parse`] of any line gives a request or an error that says
//!   something, never a panic, and refuses anything over [`MAX_LINE`];
//! - every valid request (up to [`MAX_PORTS`] published ports) is one
//!   line within [`MAX_LINE`] that parses back to itself, and its
//!   description names its server; replies round-trip too;
//! - a valid request with one field made invalid (the server id, the
//!   size, a port, a protocol, the op, an extra field) is refused.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::plane::Protocol;
use crate::servers::model::MAX_PORTS;

fn server_id() -> impl Strategy<Value = ServerId> {
    "[0-9a-f]{8}".prop_map(|s| ServerId::try_from(s.as_str()).unwrap())
}

fn port() -> impl Strategy<Value = PublishedPort> {
    (
        any::<u16>(),
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
    )
        .prop_map(|(port, protocol)| PublishedPort { port, protocol })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        server_id().prop_map(|id| Request::CreateUser { id }),
        (server_id(), any::<u32>())
            .prop_map(|(id, disk_mib)| Request::PrepareStorage { id, disk_mib }),
        (server_id(), any::<bool>()).prop_map(|(id, erase)| Request::RemoveStorage { id, erase }),
        server_id().prop_map(|id| Request::RemoveUser { id }),
        (
            server_id(),
            proptest::collection::vec(port(), 0..=MAX_PORTS)
        )
            .prop_map(|(id, ports)| Request::GuardPorts { id, ports }),
    ]
}

/// Not a server id: the wrong length, case or letters, or not a string.
fn bad_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[0-9a-f]{0,7}".prop_map(Value::from),
        "[0-9a-f]{9,12}".prop_map(Value::from),
        "[0-9a-f]{0,7}[g-zA-F./ ][0-9a-f]{0,7}".prop_map(Value::from),
        "[0-9a-f]{8}".prop_map(|s| Value::from(format!("../{s}"))),
        any::<u32>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

proptest! {
    /// Any line is a request or an error that says why, never a panic.
    #[test]
    fn any_line_parses_or_fails(
        line in prop_oneof![
            "[{}\\[\\]\":,a-z_0-9 -]{0,160}",
            any::<String>(),
            "\\{\"op\":\"(create_user|prepare_storage|remove_storage|remove_user|guard_ports)\",\"id\":\"[0-9a-f]{8}\"(,\"[a-z_]{1,9}\":[a-z0-9\"\\[\\]{}:,-]{0,40})?\\}",
        ],
    ) {
        if let Err(e) = parse(&line) {
            prop_assert!(!e.is_empty());
        }
        let _ = serde_json::from_str::<Reply>(&line);
    }

    /// A line longer than [`MAX_LINE`] is refused, whatever it holds.
    #[test]
    fn a_long_line_is_refused(r in request(), pad in (MAX_LINE + 1)..(MAX_LINE + 64)) {
        let mut line = serde_json::to_string(&r).unwrap();
        while line.len() < pad {
            line.push(' ');
        }
        prop_assert!(parse(&line).is_err());
    }

    /// Every request hearth can make is one line within [`MAX_LINE`] that
    /// parses back to itself (with or without its newline); its
    /// description names its server.
    #[test]
    fn requests_round_trip_as_one_line(r in request()) {
        let line = serde_json::to_string(&r).unwrap();
        prop_assert!(!line.contains('\n'));
        prop_assert!(line.len() <= MAX_LINE, "{} bytes", line.len());
        prop_assert_eq!(parse(&line), Ok(r.clone()));
        let id = match &r {
            Request::CreateUser { id }
            | Request::PrepareStorage { id, .. }
            | Request::RemoveStorage { id, .. }
            | Request::RemoveUser { id }
            | Request::GuardPorts { id, .. } => id,
        };
        prop_assert!(r.describe().contains(id.as_str()));
    }

    /// Replies read back as written.
    #[test]
    fn replies_round_trip_as_one_line(error in proptest::option::of(any::<String>())) {
        let reply = match error {
            None => Reply::Done,
            Some(error) => Reply::Failed { error },
        };
        let line = serde_json::to_string(&reply).unwrap();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(serde_json::from_str::<Reply>(&line).unwrap(), reply);
    }

    /// A request with one field made bad is not a request.
    #[test]
    fn one_bad_field_makes_a_request_refused(
        r in request(),
        id in bad_id(),
        extra in "[a-z_]{1,10}",
        op in "[a-z_]{1,16}",
        size in prop_oneof![
            (i64::MIN..0).prop_map(Value::from),
            (u64::from(u32::MAX) + 1..=u64::MAX).prop_map(Value::from),
            Just(json!(1.5)),
            Just(json!("4096")),
        ],
        port in prop_oneof![
            (65_536u64..=u64::MAX).prop_map(Value::from),
            (i64::MIN..0).prop_map(Value::from),
            Just(json!("80")),
        ],
        protocol in "[a-z]{0,5}".prop_filter("not tcp or udp", |p| p != "tcp" && p != "udp"),
    ) {
        let good = serde_json::to_value(&r).unwrap();
        let refused = |v: &Value| parse(&v.to_string()).is_err();

        let mut v = good.clone();
        v["id"] = id;
        prop_assert!(refused(&v), "{}", v);

        if !good.as_object().unwrap().contains_key(extra.as_str()) {
            let mut v = good.clone();
            v[extra.as_str()] = json!(1);
            prop_assert!(refused(&v), "{}", v);
        }

        if !["create_user", "prepare_storage", "remove_storage", "remove_user", "guard_ports"]
            .contains(&op.as_str())
        {
            let mut v = good.clone();
            v["op"] = json!(op);
            prop_assert!(refused(&v), "{}", v);
        }

        let mut v = good.clone();
        v.as_object_mut().unwrap().remove("op");
        prop_assert!(refused(&v), "{}", v);

        match &r {
            Request::PrepareStorage { .. } => {
                let mut v = good.clone();
                v["disk_mib"] = size;
                prop_assert!(refused(&v), "{}", v);
            }
            Request::GuardPorts { ports, .. } if !ports.is_empty() => {
                let mut v = good.clone();
                v["ports"][0]["port"] = port;
                prop_assert!(refused(&v), "{}", v);
                let mut v = good.clone();
                v["ports"][0]["protocol"] = json!(protocol);
                prop_assert!(refused(&v), "{}", v);
            }
            _ => {}
        }
    }
}
