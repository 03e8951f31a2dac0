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
    check_for("ann", json, box_domain)
}

/// Checks `json` as a domain of `owner`'s, on a box with [`servers`].
fn check_for(
    owner: &str,
    json: serde_json::Value,
    box_domain: Option<&str>,
) -> Result<Domain, Invalid> {
    let d = box_domain.map(|d| DomainName::try_from(d).unwrap());
    let servers = servers();
    let ctx = Context {
        box_domain: d.as_ref(),
        box_addresses: &OWN,
        hearth_port: 8443,
        servers: &servers,
    };
    Domain::from_input(&input(json), owner.into(), ctx)
}

/// ann's `web` (8000 and 8080 for tcp, 5353 for udp), `dns` (udp only)
/// and `old` (being deleted); bob's `web` (8000 for tcp).
fn servers() -> Vec<Server> {
    use crate::proxy::testkit::server;
    let mut old = server("ann", "de1e7ed0", serde_json::json!([{"port": 8000}]));
    old.deleting = Some(crate::servers::model::Deletion {
        erase: false,
        asked_ms: 1,
    });
    vec![
        server(
            "ann",
            "a1a1a1a1",
            serde_json::json!([{"port": 8080}, {"port": 8000}, {"port": 5353, "protocol": "udp"}]),
        ),
        server(
            "ann",
            "a2a2a2a2",
            serde_json::json!([{"port": 5300, "protocol": "udp"}]),
        ),
        old,
        server("bob", "b0b0b0b0", serde_json::json!([{"port": 8000}])),
    ]
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
            serde_json::json!({"name": "a.org", "target": {"port": 8000}}),
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

fn to_server(server: &str, port: u32) -> serde_json::Value {
    serde_json::json!({"name": "app.example.org", "target": {"kind": "server", "server": server, "port": port}})
}

fn refusal(r: Result<Domain, Invalid>) -> Invalid {
    r.expect_err("refused")
}

#[test]
fn a_server_target_is_a_published_tcp_port_of_the_owners_server() {
    let d = check(to_server("a1a1a1a1", 8080), None).unwrap();
    assert_eq!(
        d.target,
        Target::Server {
            server: ServerId::try_from("a1a1a1a1").unwrap(),
            port: 8080
        }
    );
    // The kind follows from a server named.
    let d = check(
        serde_json::json!({"name": "app.example.org", "target": {"server": " a1a1a1a1 ", "port": 8000}}),
        None,
    )
    .unwrap();
    assert_eq!(d.target.kind(), "server");
    // Kept and read back as the API spells it.
    let stored = serde_json::to_value(&d).unwrap();
    assert_eq!(
        stored["target"],
        serde_json::json!({"kind": "server", "server": "a1a1a1a1", "port": 8000})
    );
    assert_eq!(serde_json::from_value::<Domain>(stored).unwrap(), d);
}

#[test]
fn another_owners_server_is_refused_as_one_that_does_not_exist() {
    let unknown = refusal(check(to_server("c0ffee00", 8000), None));
    assert_eq!(unknown.field, "target.server");
    assert!(unknown.message.contains("no such server"), "{unknown}");
    // bob's server exists and publishes 8000, and is no server of ann's: the
    // same words as for one that does not exist, the id aside.
    let bobs = refusal(check(to_server("b0b0b0b0", 8000), None));
    assert_eq!(bobs.field, "target.server");
    assert_eq!(
        bobs.message.replace("b0b0b0b0", "ID"),
        unknown.message.replace("c0ffee00", "ID")
    );
    // A server being deleted, and an id of no server's shape, likewise.
    let old = refusal(check(to_server("de1e7ed0", 8000), None));
    assert_eq!(
        old.message.replace("de1e7ed0", "ID"),
        unknown.message.replace("c0ffee00", "ID")
    );
    let odd = refusal(check(to_server("../etc", 8000), None));
    assert_eq!(odd.field, "target.server");
    assert!(odd.message.contains("no such server"), "{odd}");
}

#[test]
fn an_admin_making_bobs_domain_chooses_among_bobs_servers() {
    // The domain's owner decides, not who asks: the model sees only it.
    assert!(check_for("bob", to_server("b0b0b0b0", 8000), None).is_ok());
    let annes = refusal(check_for("bob", to_server("a1a1a1a1", 8000), None));
    assert_eq!(annes.field, "target.server");
    assert!(
        annes.message.contains("not one of bob's servers"),
        "{annes}"
    );
}

#[test]
fn a_server_target_needs_a_published_tcp_port() {
    let unpublished = refusal(check(to_server("a1a1a1a1", 9999), None));
    assert_eq!(unpublished.field, "target.port");
    assert!(
        unpublished.message.contains("publishes 8000, 8080"),
        "the published ones listed: {unpublished}"
    );
    let udp = refusal(check(to_server("a1a1a1a1", 5353), None));
    assert_eq!(udp.field, "target.port");
    assert!(
        udp.message.contains("5353 is published for udp only")
            && udp.message.contains("publishes 8000, 8080 for tcp"),
        "{udp}"
    );
    let none = refusal(check(to_server("a2a2a2a2", 5300), None));
    assert_eq!(none.field, "target.port");
    assert!(none.message.contains("publishes none"), "{none}");
    for (json, want) in [
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "server", "port": 80}}),
            "target.server",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "server", "server": "a1a1a1a1"}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "server", "server": "a1a1a1a1", "port": 70000}}),
            "target.port",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "server", "server": "a1a1a1a1", "port": 8000, "address": "127.0.0.1"}}),
            "target",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "address", "server": "a1a1a1a1", "address": "127.0.0.1", "port": 80}}),
            "target",
        ),
        (
            serde_json::json!({"name": "a.org", "target": {"kind": "hearth", "server": "a1a1a1a1"}}),
            "target",
        ),
    ] {
        assert_eq!(field(check(json.clone(), None)), want, "{json}");
    }
}
