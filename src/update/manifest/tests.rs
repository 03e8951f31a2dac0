use serde_json::{Value, json};

use super::*;

const FIXTURE: &str = include_str!("../testdata/manifest.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

/// A field's name, how to spoil it, and what the refusal must say.
type Case = (&'static str, fn(&mut Value), &'static str);

fn parse(v: &Value) -> Result<Manifest, ManifestError> {
    Manifest::parse(&serde_json::to_vec(v).unwrap())
}

#[test]
fn the_signed_fixture_parses_into_its_typed_parts() {
    let m = Manifest::parse(FIXTURE.as_bytes()).unwrap();
    assert_eq!(m.version.to_string(), "0.2.0");
    assert_eq!(m.min_version.to_string(), "0.1.0");
    assert_eq!(m.commit, "0d35549a6c8225d5741be36ec206c29221348bd7");
    assert_eq!(m.root.size, 506_363_904);
    assert_eq!(m.kernel.size, 8_247_232);
    assert_eq!(m.initrd.sha256[..2], [0xfd, 0x61]);
    assert_eq!(m.next_public_key, None);
}

#[test]
fn each_bad_field_is_named_and_nothing_is_half_read() {
    let cases: [Case; 12] = [
        ("format", |m| m["format"] = json!(2), "format 1"),
        (
            "version",
            |m| m["version"] = json!("0.2"),
            "MAJOR.MINOR.PATCH",
        ),
        (
            "min_version",
            |m| m["min_version"] = json!("0.3.0"),
            "newer than",
        ),
        (
            "commit",
            |m| m["commit"] = json!("0D35549"),
            "40 lowercase hex",
        ),
        (
            "next_public_key",
            |m| m["next_public_key"] = json!("not a key"),
            "minisign",
        ),
        (
            "parts",
            |m| {
                m["parts"].as_array_mut().unwrap().pop();
            },
            "each once",
        ),
        (
            "parts[0].name",
            |m| m["parts"][0]["name"] = json!("kernel"),
            "\"root\"",
        ),
        (
            "parts[1].name",
            |m| m["parts"][1]["name"] = json!("vmlinuz"),
            "\"kernel\"",
        ),
        (
            "parts[0].size",
            |m| m["parts"][0]["size"] = json!(0),
            "between 1",
        ),
        (
            "parts[2].size",
            |m| m["parts"][2]["size"] = json!(MAX_BOOT_FILE + 1),
            "between 1",
        ),
        (
            "parts[1].sha256",
            |m| m["parts"][1]["sha256"] = json!("abc"),
            "64 lowercase",
        ),
        (
            "parts[2].sha256",
            |m| m["parts"][2]["sha256"] = json!("G".repeat(64)),
            "64 lowercase",
        ),
    ];
    for (field, spoil, why) in cases {
        let mut m = fixture();
        spoil(&mut m);
        let e = parse(&m).unwrap_err();
        let ManifestError::Invalid(e) = e else {
            panic!("{field}: {e}")
        };
        assert_eq!(e.field, field);
        assert!(e.message.contains(why), "{field}: {e}");
    }
}

#[test]
fn an_unknown_field_or_broken_json_is_refused() {
    let mut m = fixture();
    m["install_anyway"] = json!(true);
    let e = parse(&m).unwrap_err();
    assert!(e.to_string().contains("install_anyway"), "{e}");
    let truncated = &FIXTURE.as_bytes()[..FIXTURE.len() / 2];
    assert!(matches!(
        Manifest::parse(truncated),
        Err(ManifestError::Json(_))
    ));
}

#[test]
fn a_next_key_is_kept_when_it_is_a_key() {
    let mut m = fixture();
    let key = include_str!("../testdata/other-TEST-ONLY.pub")
        .lines()
        .nth(1)
        .unwrap();
    m["next_public_key"] = json!(key);
    assert_eq!(parse(&m).unwrap().next_public_key.as_deref(), Some(key));
}
