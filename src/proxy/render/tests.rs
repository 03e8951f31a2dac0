use super::*;
use crate::golden::assert_golden;
use crate::proxy::model::SiteName;
use crate::proxy::testkit::{server, settings};
use crate::servers::model::{Deletion, DesiredState};

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
        domain(
            "app.example.org",
            to("a1a1a1a1", 8080),
            TlsMode::Auto,
            false,
        ),
        domain(
            "gone.example.org",
            to("c0ffee00", 8080),
            TlsMode::Auto,
            true,
        ),
    ]
}

fn to(server: &str, port: u16) -> Target {
    Target::Server {
        server: ServerId::try_from(server).unwrap(),
        port,
    }
}

/// ann's server `a1a1a1a1`, publishing 8080 for tcp and 5353 for udp.
fn sample_servers() -> Vec<Server> {
    vec![server(
        "ann",
        "a1a1a1a1",
        serde_json::json!([{"port": 8080}, {"port": 5353, "protocol": "udp"}]),
    )]
}

fn render(domains: &[Domain], settings: &CaddySettings) -> String {
    render_with(domains, &sample_servers(), settings)
}

fn render_with(domains: &[Domain], servers: &[Server], settings: &CaddySettings) -> String {
    let email = Email::try_from("owner@example.org").unwrap();
    let value = config(RenderInput {
        domains,
        servers,
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
            "app.example.org",
            "box.example.org",
            "cloud.example.org",
            "gone.example.org",
            "nas.lan",
            "*.apps.home.arpa",
            "*.box.example.org"
        ]
    );
}

/// The handler that answers for `name` (the last of its route's).
fn handler(v: &Value, name: &str) -> Value {
    let servers = v["apps"]["http"]["servers"].as_object().unwrap();
    let route = servers
        .values()
        .flat_map(|s| s["routes"].as_array().unwrap())
        .find(|r| r["match"][0]["host"][0] == name)
        .unwrap_or_else(|| panic!("no route for {name}"));
    route["handle"].as_array().unwrap().last().unwrap().clone()
}

#[test]
fn a_server_target_dials_its_published_port_on_loopback_in_plain_http() {
    let domains = [domain(
        "app.example.org",
        to("a1a1a1a1", 8080),
        TlsMode::Auto,
        false,
    )];
    let v: Value = serde_json::from_str(&render(&domains, &settings())).unwrap();
    assert_eq!(
        handler(&v, "app.example.org"),
        json!({"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:8080"}]})
    );
    assert_eq!(unreachable(&domains[0], &sample_servers()), None);
}

#[test]
fn a_server_gone_stopped_or_without_the_port_answers_a_static_error() {
    let d = domain("app.example.org", to("a1a1a1a1", 8080), TlsMode::Auto, true);
    let answer = |servers: &[Server]| {
        let v: Value =
            serde_json::from_str(&render_with(std::slice::from_ref(&d), servers, &settings()))
                .unwrap();
        let route = &v["apps"]["http"]["servers"]["https"]["routes"][0];
        // HSTS still said, before the answer.
        assert_eq!(route["handle"][0]["handler"], "headers");
        let h = handler(&v, "app.example.org");
        assert_eq!(h["handler"], "static_response", "{h}");
        let why = unreachable(&d, servers).expect("unreachable").to_string();
        (h["status_code"].as_u64().unwrap(), why)
    };
    assert_eq!(answer(&[]), (502, "server a1a1a1a1 is gone".to_string()));

    let mut deleting = sample_servers();
    deleting[0].deleting = Some(Deletion {
        erase: true,
        asked_ms: 1,
    });
    assert_eq!(
        answer(&deleting),
        (502, "server a1a1a1a1 is gone".to_string())
    );

    // The same id, another owner: not this domain's server.
    let bobs = [server("bob", "a1a1a1a1", json!([{"port": 8080}]))];
    assert_eq!(answer(&bobs), (502, "server a1a1a1a1 is gone".to_string()));

    let udp_only = [server(
        "ann",
        "a1a1a1a1",
        json!([{"port": 8080, "protocol": "udp"}, {"port": 8000}]),
    )];
    assert_eq!(
        answer(&udp_only),
        (
            502,
            "port 8080 is no longer published by server a1a1a1a1".to_string()
        )
    );

    let mut stopped = sample_servers();
    stopped[0].desired = DesiredState::Stopped;
    assert_eq!(
        answer(&stopped),
        (503, "server a1a1a1a1 is stopped".to_string())
    );
}

#[test]
fn other_targets_are_never_unreachable() {
    for d in sample_domains()
        .iter()
        .filter(|d| !matches!(d.target, Target::Server { .. }))
    {
        assert_eq!(unreachable(d, &[]), None, "{}", d.name);
    }
}
