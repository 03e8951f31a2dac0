use super::*;
use crate::golden::assert_golden;
use crate::proxy::model::SiteName;
use crate::proxy::testkit::settings;

fn domain(name: &str, target: Target, tls: TlsMode, hsts: bool) -> Domain {
    Domain {
        name: SiteName::try_from(name).unwrap(),
        owner: "ann".into(),
        target,
        tls,
        hsts,
    }
}

fn at(address: &str, port: u16) -> Target {
    Target::Address {
        address: address.parse().unwrap(),
        port,
    }
}

/// One of everything, in no particular order.
pub fn sample_domains() -> Vec<Domain> {
    vec![
        domain(
            "*.box.example.org",
            at("127.0.0.1", 9000),
            TlsMode::Auto,
            false,
        ),
        domain(
            "cloud.example.org",
            at("127.0.0.1", 8080),
            TlsMode::Auto,
            true,
        ),
        domain("box.example.org", Target::Hearth, TlsMode::Auto, true),
        domain(
            "nas.lan",
            at("192.168.1.10", 5000),
            TlsMode::Internal,
            false,
        ),
        domain(
            "*.apps.home.arpa",
            at("::1", 3000),
            TlsMode::Internal,
            false,
        ),
        domain(
            "plain.example.org",
            at("127.0.0.1", 8081),
            TlsMode::Off,
            false,
        ),
    ]
}

fn render(domains: &[Domain], settings: &CaddySettings) -> String {
    let email = Email::try_from("owner@example.org").unwrap();
    let value = config(RenderInput {
        domains,
        email: Some(&email),
        settings,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap();
    text.push('\n');
    text
}

#[test]
fn no_domains_is_caddy_with_its_socket_and_nothing_else() {
    assert_golden("caddy-empty.json", &render(&[], &settings()));
}

#[test]
fn sample_domains_render_as_the_golden_file() {
    assert_golden("caddy-sample.json", &render(&sample_domains(), &settings()));
}

#[test]
fn the_order_of_the_records_does_not_matter() {
    let mut reversed = sample_domains();
    reversed.reverse();
    assert_eq!(
        render(&reversed, &settings()),
        render(&sample_domains(), &settings())
    );
}

#[test]
fn a_test_lab_gets_its_ports_storage_and_ca() {
    let mut s = settings();
    s.bind = Some("127.0.0.1".parse().unwrap());
    s.http_port = 18080;
    s.https_port = 18443;
    s.storage = Some("/tmp/lab/data".into());
    s.acme_ca = Some("https://acme.test:14000/acme/local/directory".into());
    s.acme_roots = Some("/tmp/lab/acme-root.crt".into());
    let v: Value = serde_json::from_str(&render(&sample_domains(), &s)).unwrap();
    assert_eq!(v["storage"]["root"], "/tmp/lab/data");
    assert_eq!(
        v["apps"]["http"]["servers"]["https"]["listen"][0],
        "127.0.0.1:18443"
    );
    assert_eq!(
        v["apps"]["http"]["servers"]["http"]["listen"][0],
        "127.0.0.1:18080"
    );
    let acme = &v["apps"]["tls"]["automation"]["policies"][0]["issuers"][0];
    assert_eq!(acme["ca"], "https://acme.test:14000/acme/local/directory");
    assert_eq!(acme["trusted_roots_pem_files"][0], "/tmp/lab/acme-root.crt");
}

#[test]
fn exact_names_come_before_wildcards() {
    let v: Value = serde_json::from_str(&render(&sample_domains(), &settings())).unwrap();
    let hosts: Vec<&str> = v["apps"]["http"]["servers"]["https"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["match"][0]["host"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        [
            "box.example.org",
            "cloud.example.org",
            "nas.lan",
            "*.apps.home.arpa",
            "*.box.example.org"
        ]
    );
}
