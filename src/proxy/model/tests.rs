use std::net::IpAddr;

use super::*;

fn name(s: &str) -> Result<String, String> {
    SiteName::try_from(s).map(String::from)
}

#[test]
fn site_names_are_lower_case_ascii_with_punycode() {
    assert_eq!(name("Cloud.Example.ORG").unwrap(), "cloud.example.org");
    assert_eq!(name("bücher.example").unwrap(), "xn--bcher-kva.example");
    assert_eq!(name("münchen.de.").unwrap(), "xn--mnchen-3ya.de");
    assert_eq!(name("*.home.example.org").unwrap(), "*.home.example.org");
    assert_eq!(name("*.bücher.example").unwrap(), "*.xn--bcher-kva.example");
}

#[test]
fn bad_site_names_say_why() {
    for bad in [
        "",
        "localhost",
        "a..b",
        "-a.example",
        "a_b.example",
        "a.*.example",
        "**.example",
        "*example.org",
        "10.0.0.1",
        "has space.example",
        &format!("{}.example", "a".repeat(64)),
    ] {
        let e = name(bad).expect_err(bad);
        assert!(!e.is_empty(), "{bad}: no reason");
    }
}

#[test]
fn a_wildcard_covers_one_label_only() {
    let w = SiteName::try_from("*.box.example").unwrap();
    assert!(w.covers("app.box.example"));
    assert!(!w.covers("box.example"));
    assert!(!w.covers("a.b.box.example"));
    assert!(!w.covers("appbox.example"));
    assert!(!w.covers(".box.example"));
    let n = SiteName::try_from("app.box.example").unwrap();
    assert!(n.covers("app.box.example"));
    assert!(!n.covers("x.app.box.example"));
}

#[test]
fn private_suffixes_have_no_public_dns() {
    for private in ["nas.local", "a.b.lan", "box.home.arpa", "app.test"] {
        let n = SiteName::try_from(private).unwrap();
        assert!(n.is_private(), "{private}");
        assert_eq!(TlsMode::default_for(&n), TlsMode::Internal);
    }
    for public in ["example.org", "mylan.org", "local.example.com"] {
        let n = SiteName::try_from(public).unwrap();
        assert!(!n.is_private(), "{public}");
        assert_eq!(TlsMode::default_for(&n), TlsMode::Auto);
    }
}

fn input(json: serde_json::Value) -> DomainInput {
    serde_json::from_value(json).unwrap()
}

const OWN: [IpAddr; 1] = [IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 10))];

fn check(json: serde_json::Value, box_domain: Option<&str>) -> Result<Domain, Invalid> {
    let d = box_domain.map(|d| DomainName::try_from(d).unwrap());
    let ctx = Context {
        box_domain: d.as_ref(),
        box_addresses: &OWN,
        hearth_port: 8443,
    };
    Domain::from_input(&input(json), "ann".into(), ctx)
}

fn field(r: Result<Domain, Invalid>) -> String {
    let e = r.expect_err("refused");
    assert!(!e.message.is_empty());
    e.field
}

#[test]
fn a_domain_gets_defaults_from_its_name() {
    let d = check(
        serde_json::json!({"name": "app.example.org", "target": {"address": "127.0.0.1", "port": 8080}}),
        None,
    )
    .unwrap();
    assert_eq!(d.tls, TlsMode::Auto);
    assert!(!d.hsts);
    assert_eq!(d.owner, "ann");
    assert_eq!(
        d.target,
        Target::Address {
            address: "127.0.0.1".parse().unwrap(),
            port: 8080
        }
    );
    let d = check(
        serde_json::json!({"name": "nas.lan", "target": {"address": "192.168.1.10", "port": 5000}}),
        None,
    )
    .unwrap();
    assert_eq!(d.tls, TlsMode::Internal);
}

#[test]
fn bad_domains_name_their_field() {
    let t = serde_json::json!({"address": "127.0.0.1", "port": 8080});
    let cases = [
        (
            serde_json::json!({"name": "bad_name.org", "target": t}),
            "name",
        ),
        (
            serde_json::json!({"name": "*.other.org", "target": t}),
            "name",
        ),
        (
            serde_json::json!({"name": "a.org", "tls": "maybe", "target": t}),
            "tls",
        ),
        (
            serde_json::json!({"name": "nas.local", "tls": "auto", "target": t}),
            "tls",
        ),
        (
            serde_json::json!({"name": "a.org", "tls": "off", "hsts": true, "target": t}),
            "hsts",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"port": 80}}),
            "target.address",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "8.8.8.8", "port": 80}}),
            "target.address",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "nope", "port": 80}}),
            "target.address",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "::1", "port": 0}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "::1", "port": 70000}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "::1"}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"address": "::1", "port": 8443}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "hearth", "port": 1}}),
            "target",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "shell"}}),
            "target.kind",
        ),
    ];
    for (json, want) in cases {
        assert_eq!(
            field(check(json.clone(), Some("box.example.org"))),
            want,
            "{json}"
        );
    }
}

#[test]
fn wildcards_only_under_the_box_domain() {
    let t = serde_json::json!({"address": "127.0.0.1", "port": 8080});
    let ok = check(
        serde_json::json!({"name": "*.box.example.org", "target": t}),
        Some("box.example.org"),
    )
    .unwrap();
    assert!(ok.name.is_wildcard());
    assert!(
        check(
            serde_json::json!({"name": "*.apps.box.example.org", "target": t}),
            Some("box.example.org"),
        )
        .is_ok()
    );
    let none = check(
        serde_json::json!({"name": "*.box.example.org", "target": t}),
        None,
    );
    assert!(none.unwrap_err().message.contains("has none"));
    assert_eq!(
        field(check(
            serde_json::json!({"name": "*.example.org", "target": t}),
            Some("box.example.org"),
        )),
        "name"
    );
}

#[test]
fn the_hearth_target() {
    let d = check(
        serde_json::json!({"name": "box.example.org", "target": {"kind": "hearth"}, "hsts": true}),
        None,
    )
    .unwrap();
    assert_eq!(d.target, Target::Hearth);
    assert!(d.hsts);
}

#[test]
fn stored_names_are_checked_on_read() {
    let d: Result<Domain, _> = serde_json::from_value(serde_json::json!({
        "name": "bad_name.org", "owner": "ann", "target": {"kind": "hearth"}, "tls": "auto", "hsts": false
    }));
    assert!(d.is_err());
}
