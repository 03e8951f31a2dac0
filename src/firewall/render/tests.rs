use super::*;
use crate::firewall::model::{
    AllowRule, InterfaceName, PortForward, PortRange, Protocol, ServerPort,
};
use crate::golden::assert_golden;

/// A policy with one of everything.
pub fn sample_policy() -> Policy {
    Policy {
        https_from: vec![
            "192.168.1.0/24".parse().unwrap(),
            "192.168.0.0/16".parse().unwrap(),
            "fd00::/8".parse().unwrap(),
        ],
        web: true,
        allow: vec![
            AllowRule {
                protocol: Protocol::Udp,
                ports: PortRange::one(51820),
                from: Vec::new(),
            },
            AllowRule {
                protocol: Protocol::Tcp,
                ports: PortRange {
                    first: 8000,
                    last: 8100,
                },
                from: vec!["10.0.0.0/8".parse().unwrap()],
            },
        ],
        forwards: vec![
            PortForward {
                protocol: Protocol::Tcp,
                port: 2222,
                to: "192.168.1.20".parse().unwrap(),
                to_port: 22,
                from: Vec::new(),
            },
            PortForward {
                protocol: Protocol::Udp,
                port: 3478,
                to: "fd00::20".parse().unwrap(),
                to_port: 3478,
                from: vec!["fd00::/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            },
        ],
    }
}

pub fn sample_servers() -> UserPlane {
    UserPlane {
        interfaces: vec![InterfaceName::try_from("hsrv-ann".to_string()).unwrap()],
        published: vec![
            ServerPort {
                uid: 59_001,
                protocol: Protocol::Tcp,
                port: 8080,
            },
            ServerPort {
                uid: 59_002,
                protocol: Protocol::Udp,
                port: 5353,
            },
        ],
        fronts: vec![23760, 23761],
        offered: vec![(Protocol::Udp, 53), (Protocol::Tcp, 53)],
    }
}

#[test]
fn the_sample_policy_renders_as_the_golden_script() {
    let script = ruleset(RenderInput {
        policy: &sample_policy(),
        servers: &sample_servers(),
        https_port: 8443,
    });
    assert_golden("firewall-sample.nft", &script);
}

#[test]
fn the_default_policy_renders_as_the_golden_script() {
    let script = ruleset(RenderInput {
        policy: &Policy::default(),
        servers: &UserPlane::default(),
        https_port: 8443,
    });
    assert_golden("firewall-default.nft", &script);
}

#[test]
fn the_script_replaces_only_hearths_tables() {
    let script = ruleset(RenderInput {
        policy: &sample_policy(),
        servers: &sample_servers(),
        https_port: 8443,
    });
    assert!(!script.contains("flush"), "never a flush");
    let tables: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("table ") || l.starts_with("delete "))
        .collect();
    assert_eq!(
        tables,
        [
            "table inet hearth_base",
            "delete table inet hearth_base",
            "table inet hearth",
            "delete table inet hearth",
            "table inet hearth {",
        ]
    );
}

#[test]
fn overlapping_sources_are_merged() {
    assert_eq!(
        elements(&[
            "192.168.1.0/24".parse().unwrap(),
            "192.168.0.0/16".parse().unwrap()
        ]),
        "192.168.0.0/16"
    );
}

#[test]
fn the_reset_removes_hearths_table_and_puts_the_base_back() {
    let script = reset_script("table inet hearth_base {\n}\n");
    assert_eq!(
        script,
        "table inet hearth\ndelete table inet hearth\ntable inet hearth_base {\n}\n"
    );
}

#[test]
fn the_boot_time_table_stops_the_same_uids_as_the_servers_range() {
    let range = format!("meta skuid {}-{} ", SERVER_UIDS.start(), SERVER_UIDS.end());
    assert!(
        crate::firewall::BASE_RULESET.contains(&format!("{range}counter drop")),
        "hearth-base.nft drops {range}"
    );
    let script = ruleset(RenderInput {
        policy: &Policy::default(),
        servers: &UserPlane::default(),
        https_port: 8443,
    });
    assert!(script.contains(&format!(
        "set server_uids {{ type uid; flags interval; elements = {{ {}-{} }}; }}",
        SERVER_UIDS.start(),
        SERVER_UIDS.end()
    )));
}

#[test]
fn a_server_never_publishes_the_boxs_own_tcp_ports() {
    let port = |protocol, port| ServerPort {
        uid: 59_001,
        protocol,
        port,
    };
    let servers = UserPlane {
        published: vec![
            port(Protocol::Tcp, 8443),
            port(Protocol::Tcp, 443),
            port(Protocol::Tcp, 23760),
            port(Protocol::Tcp, 8080),
            port(Protocol::Udp, 8443),
        ],
        fronts: vec![23760],
        ..UserPlane::default()
    };
    let script = ruleset(RenderInput {
        policy: &Policy::default(),
        servers: &servers,
        https_port: 8443,
    });
    assert!(
        script.contains("set published { type inet_proto . inet_service; elements = { tcp . 8080, udp . 8443 }; }"),
        "{script}"
    );
}
