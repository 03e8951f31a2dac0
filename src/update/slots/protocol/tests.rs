use super::*;

const ID: &str = "0123456789abcdef";

#[test]
fn requests_round_trip_as_one_line_of_json() {
    let id = BundleId::try_from(ID).unwrap();
    for (request, line) in [
        (Request::Status {}, r#"{"op":"status"}"#.to_string()),
        (
            Request::Install { bundle: id.clone() },
            format!(r#"{{"op":"install","bundle":"{ID}"}}"#),
        ),
        (
            Request::MarkBad { slot: Slot::B },
            r#"{"op":"mark_bad","slot":"b"}"#.into(),
        ),
        (
            Request::BootOnce { slot: Slot::A },
            r#"{"op":"boot_once","slot":"a"}"#.into(),
        ),
        (
            Request::TrustNextKey {},
            r#"{"op":"trust_next_key"}"#.into(),
        ),
    ] {
        assert_eq!(serde_json::to_string(&request).unwrap(), line);
        assert_eq!(parse(&line), Ok(request));
    }
}

#[test]
fn nothing_outside_the_set_is_a_request() {
    for bad in [
        r#"{"op":"run","command":"sh"}"#,
        r#"{"op":"install","bundle":"../../etc/shadow"}"#,
        r#"{"op":"install","bundle":"0123456789ABCDEF"}"#,
        r#"{"op":"install","bundle":"0123456789abcde"}"#,
        r#"{"op":"install","bundle":"0123456789abcdef0123456789abcdef0"}"#,
        r#"{"op":"install","bundle":"0123456789abcdef","path":"/dev/sda"}"#,
        r#"{"op":"install"}"#,
        r#"{"op":"mark_bad","slot":"c"}"#,
        r#"{"op":"mark_bad","slot":"A"}"#,
        r#"{"op":"boot_once"}"#,
        r#"{"op":"status","slot":"a"}"#,
        "not json",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    assert!(parse(&"x".repeat(MAX_LINE + 1)).is_err());
}

#[test]
fn bundle_ids_are_16_to_32_lowercase_hex_digits() {
    for good in ["0123456789abcdef", "0123456789abcdef0123456789abcdef"] {
        assert_eq!(BundleId::try_from(good).unwrap().as_str(), good);
    }
    for bad in [
        "",
        "0123456789abcde",
        "0123456789abcdeg",
        "../0123456789abcdef",
        "0123456789abcdef.bundle",
    ] {
        assert!(BundleId::try_from(bad).is_err(), "{bad}");
    }
}

#[test]
fn replies_carry_typed_data_on_one_line() {
    let progress = Reply::Progress(Progress {
        step: Step::WriteRoot,
        bytes: 16 << 20,
        total: 1 << 30,
    });
    let installed = Reply::Done {
        answer: Answer::Installed(Installed {
            slot: Slot::B,
            generation: 2,
            entry: "hearth-0002-b+3.conf".into(),
            version: "0.3.0".into(),
            root_sha256: "00".repeat(32),
        }),
    };
    let failed = Reply::Failed {
        step: Some(Step::ReadBack),
        error: "the partition reads back otherwise".into(),
    };
    for (reply, starts) in [
        (
            &progress,
            r#"{"reply":"progress","step":"write_root","bytes":16777216,"total":1073741824}"#,
        ),
        (
            &installed,
            r#"{"reply":"done","installed":{"slot":"b","generation":2,"entry":"hearth-0002-b+3.conf""#,
        ),
        (&failed, r#"{"reply":"failed","step":"read_back","error":"#),
    ] {
        let line = serde_json::to_string(reply).unwrap();
        assert!(line.starts_with(starts), "{line}");
        assert_eq!(&serde_json::from_str::<Reply>(&line).unwrap(), reply);
    }
    let status = Reply::Done {
        answer: Answer::Status(Status {
            running: Slot::A,
            a: SlotStatus { entry: None },
            b: SlotStatus { entry: None },
            pending_key: None,
        }),
    };
    let line = serde_json::to_string(&status).unwrap();
    assert_eq!(
        line,
        r#"{"reply":"done","status":{"running":"a","a":{"entry":null},"b":{"entry":null},"pending_key":null}}"#
    );
    assert_eq!(serde_json::from_str::<Reply>(&line).unwrap(), status);
}
