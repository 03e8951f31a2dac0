//! Property tests of Caddy's read-back: the config Caddy runs is read
//! from `GET /config/` as JSON and compared with the rendered one, and
//! a refusal's body is read for Caddy's message ([`error_message`]):
//! - any body gives a message, never a panic, and Caddy's own
//!   `{"error": ...}` gives exactly its text;
//! - any config rendered from any domains, servers and settings, sent
//!   and read back as Caddy serves it, is the same value, so that a
//!   manager's pass that changed nothing never loads again; and each
//!   domain's name is in it exactly once.

use std::net::IpAddr;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::names::Email;
use crate::proxy::model::{Domain, SiteName, Target, TlsMode};
use crate::proxy::render::{self, CaddySettings, HearthUpstream, RenderInput};
use crate::servers::model::{
    Deletion, DesiredState, Limits, PortProtocol, PublishedPort, Server, ServerId, ServerName,
};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
        any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6),
    ]
}

const IDS: &[&str] = &["0a1b2c3d", "00000000", "ffffffff"];
const OWNERS: &[&str] = &["ann", "bob"];

fn site_name() -> impl Strategy<Value = SiteName> {
    (
        any::<bool>(),
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,6}){0,2}",
        "(org|test|local|home\\.arpa|example|xn--p1ai)",
    )
        .prop_filter_map(
            "a site name (not a bad xn-- label)",
            |(wildcard, name, tld)| {
                let star = if wildcard { "*." } else { "" };
                SiteName::try_from(format!("{star}{name}.{tld}").as_str()).ok()
            },
        )
}

fn domain() -> impl Strategy<Value = Domain> {
    let target = prop_oneof![
        (ip(), any::<u16>()).prop_map(|(address, port)| Target::Address { address, port }),
        Just(Target::Hearth),
        (proptest::sample::select(IDS), 1024u16..=1040).prop_map(|(id, port)| Target::Server {
            server: ServerId::try_from(id).unwrap(),
            port,
        }),
    ];
    (
        site_name(),
        proptest::sample::select(OWNERS),
        target,
        prop_oneof![
            Just(TlsMode::Auto),
            Just(TlsMode::Internal),
            Just(TlsMode::Off)
        ],
        any::<bool>(),
    )
        .prop_map(|(name, owner, target, tls, hsts)| Domain {
            name,
            owner: owner.to_string(),
            target,
            tls,
            hsts: hsts && tls != TlsMode::Off,
        })
}

fn server() -> impl Strategy<Value = Server> {
    (
        proptest::sample::select(IDS),
        proptest::sample::select(OWNERS),
        proptest::collection::btree_set(
            (
                1024u16..=1040,
                prop_oneof![Just(PortProtocol::Tcp), Just(PortProtocol::Udp)],
            ),
            0..4,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(id, owner, ports, running, deleting)| Server {
            id: ServerId::try_from(id).unwrap(),
            owner: owner.to_string(),
            name: ServerName::try_from("web").unwrap(),
            limits: Limits::DEFAULT,
            ports: ports
                .into_iter()
                .map(|(port, protocol)| PublishedPort { port, protocol })
                .collect(),
            desired: if running {
                DesiredState::Running
            } else {
                DesiredState::Stopped
            },
            created_ms: 0,
            deleting: deleting.then_some(Deletion {
                erase: true,
                asked_ms: 0,
            }),
            restart_asked_ms: None,
            engine_port: None,
            base_loaded: false,
        })
}

fn settings() -> impl Strategy<Value = CaddySettings> {
    (
        "/[a-z/]{1,20}",
        proptest::option::of("/[a-z ./]{1,20}"),
        proptest::option::of(ip()),
        (1u16..=u16::MAX, 1u16..=u16::MAX),
        proptest::option::of("https://[a-z.]{1,12}/directory"),
        proptest::option::of("/[a-z/]{1,20}"),
        (ip(), any::<u16>(), "[A-Za-z0-9+/]{0,40}", "[a-z.]{1,20}"),
    )
        .prop_map(
            |(
                admin,
                storage,
                bind,
                (http_port, https_port),
                acme_ca,
                roots,
                (hip, hport, cert, sni),
            )| {
                CaddySettings {
                    admin_socket: admin.into(),
                    storage: storage.map(Into::into),
                    bind,
                    http_port,
                    https_port,
                    ask_url: "http://127.0.0.1:8444/ask".into(),
                    acme_ca,
                    acme_roots: roots.map(Into::into),
                    hearth: HearthUpstream {
                        dial: std::net::SocketAddr::new(hip, hport),
                        certificate: cert,
                        server_name: sni,
                    },
                }
            },
        )
}

/// How often `host` is a route's host match in `config`.
fn routes_of(config: &Value, host: &str) -> usize {
    config["apps"]["http"]["servers"]
        .as_object()
        .into_iter()
        .flat_map(|s| s.values())
        .flat_map(|s| s["routes"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["match"][0]["host"][0] == json!(host))
        .count()
}

proptest! {
    /// Any body of a refusal gives a message, never a panic.
    #[test]
    fn any_body_gives_a_message(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "\\{\"error\": *[a-z0-9\"{}:,\\[\\] ]{0,40}\\}".prop_map(String::into_bytes),
        ],
    ) {
        let _ = error_message(&body);
    }

    /// Caddy's `{"error": ...}` gives its text as it is.
    #[test]
    fn caddys_error_gives_its_text(message in any::<String>(), pretty in any::<bool>()) {
        let body = json!({"error": message});
        let body = if pretty {
            serde_json::to_vec_pretty(&body).unwrap()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        prop_assert_eq!(error_message(&body), message);
    }

    /// A config as sent to Caddy and read back from it is the same
    /// value, whatever the domains, servers and settings; each domain
    /// has one route.
    #[test]
    fn a_rendered_config_reads_back_as_itself(
        domains in proptest::collection::btree_map(site_name(), domain(), 0..8),
        servers in proptest::collection::vec(server(), 0..4),
        email in proptest::option::of(Just(Email::try_from("owner@example.org").unwrap())),
        settings in settings(),
    ) {
        // One record per name, as the store keeps them.
        let domains: Vec<Domain> = domains
            .into_iter()
            .map(|(name, d)| Domain { name, ..d })
            .collect();
        let config = render::config(RenderInput {
            domains: &domains,
            servers: &servers,
            email: email.as_ref(),
            settings: &settings,
        });
        let sent = serde_json::to_vec(&config).unwrap();
        let read: Value = serde_json::from_slice(&sent).unwrap();
        prop_assert_eq!(&read, &config);
        for d in &domains {
            prop_assert_eq!(routes_of(&read, d.name.as_str()), 1, "{}", d.name);
        }
    }
}
