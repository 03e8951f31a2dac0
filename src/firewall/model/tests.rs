use super::*;

fn input(json: serde_json::Value) -> Result<Policy, Invalid> {
    let input: PolicyInput = serde_json::from_value(json).expect("well-formed JSON");
    Policy::try_from(input)
}

#[test]
fn a_full_policy_parses_into_types() {
    let p = input(serde_json::json!({
        "https_from": ["192.168.1.0/24", "fd00::/8", "10.0.0.7"],
        "web": false,
        "allow": [
            {"protocol": "udp", "ports": 51820},
            {"protocol": "tcp", "ports": "8000-8100", "from": ["10.0.0.0/8"]}
        ],
        "forwards": [{"protocol": "tcp", "port": 2222, "to": "192.168.1.20", "to_port": 22}]
    }))
    .unwrap();
    assert_eq!(p.https_from[2], "10.0.0.7/32".parse::<IpNet>().unwrap());
    assert!(!p.web);
    assert_eq!(
        p.allow[1].ports,
        PortRange {
            first: 8000,
            last: 8100
        }
    );
    assert_eq!(p.forwards[0].to_port, 22);
    // The stored form reads back the same.
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
}

#[test]
fn host_bits_of_a_network_are_cut_off() {
    let p = input(serde_json::json!({"https_from": ["192.168.1.77/24"]})).unwrap();
    assert_eq!(p.https_from[0].to_string(), "192.168.1.0/24");
}

#[test]
fn each_bad_field_is_named_with_its_path() {
    let cases = [
        (
            serde_json::json!({"https_from": ["192.168.1.0/33"]}),
            "https_from[0]",
        ),
        (
            serde_json::json!({"https_from": [], "allow": [{"protocol": "icmp", "ports": 1}]}),
            "allow[0].protocol",
        ),
        (
            serde_json::json!({"https_from": [], "allow": [{"protocol": "tcp", "ports": "9-3"}]}),
            "allow[0].ports",
        ),
        (
            serde_json::json!({"https_from": [], "allow": [{"protocol": "tcp", "ports": 0}]}),
            "allow[0].ports",
        ),
        (
            serde_json::json!({"https_from": [], "allow": [{"protocol": "tcp", "ports": 70000}]}),
            "allow[0].ports",
        ),
        (
            serde_json::json!({"https_from": [], "forwards": [
                {"protocol": "tcp", "port": "80-90", "to": "10.0.0.2", "to_port": 80}]}),
            "forwards[0].port",
        ),
        (
            serde_json::json!({"https_from": [], "forwards": [
                {"protocol": "tcp", "port": 8080, "to": "box.lan", "to_port": 80}]}),
            "forwards[0].to",
        ),
        (
            serde_json::json!({"https_from": [], "forwards": [
                {"protocol": "tcp", "port": 8080, "to": "127.0.0.1", "to_port": 80}]}),
            "forwards[0].to",
        ),
        (
            serde_json::json!({"https_from": [], "forwards": [
                {"protocol": "tcp", "port": 8080, "to": "fd00::5", "to_port": 80,
                 "from": ["10.0.0.0/8"]}]}),
            "forwards[0].from",
        ),
    ];
    for (json, field) in cases {
        let e = input(json.clone()).unwrap_err();
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(!e.message.is_empty());
    }
}

#[test]
fn unknown_fields_are_refused() {
    let e = serde_json::from_value::<PolicyInput>(serde_json::json!({
        "https_from": [], "allow_all": true
    }))
    .unwrap_err();
    assert!(e.to_string().contains("allow_all"), "{e}");
}

fn forward(port: u16) -> PortForward {
    PortForward {
        protocol: Protocol::Tcp,
        port,
        to: "192.168.1.20".parse().unwrap(),
        to_port: 22,
        from: Vec::new(),
    }
}

#[test]
fn colliding_forwards_are_refused_naming_both() {
    let p = Policy {
        forwards: vec![forward(2222), forward(3333), forward(2222)],
        ..Policy::default()
    };
    let e = p.check_ports(8443).unwrap_err();
    assert_eq!(e.field, "forwards[2].port");
    assert!(e.message.contains("forwards[0]"), "{e}");
    assert!(e.message.contains("tcp 2222"), "{e}");
}

#[test]
fn a_forward_on_a_port_the_box_uses_is_refused_naming_the_use() {
    for (port, names) in [
        (8443, "hearth's own HTTPS port (8443)"),
        (443, "web ports"),
        (5000, "allow[0]"),
    ] {
        let p = Policy {
            allow: vec![AllowRule {
                protocol: Protocol::Tcp,
                ports: PortRange {
                    first: 5000,
                    last: 5010,
                },
                from: Vec::new(),
            }],
            forwards: vec![forward(port)],
            ..Policy::default()
        };
        let e = p.check_ports(8443).unwrap_err();
        assert!(e.message.contains(names), "{port}: {e}");
    }
    // The same port over UDP is free.
    let mut p = Policy {
        forwards: vec![forward(8443)],
        ..Policy::default()
    };
    p.forwards[0].protocol = Protocol::Udp;
    p.check_ports(8443).unwrap();
}

#[test]
fn who_reaches_https() {
    let p = Policy {
        https_from: vec!["192.168.1.0/24".parse().unwrap()],
        ..Policy::default()
    };
    assert!(p.reaches_https("192.168.1.9".parse().unwrap()));
    assert!(p.reaches_https("::ffff:192.168.1.9".parse().unwrap()));
    assert!(p.reaches_https("127.0.0.1".parse().unwrap()));
    assert!(!p.reaches_https("10.0.0.1".parse().unwrap()));
    assert!(Policy::default().reaches_https("2001:db8::1".parse().unwrap()));
}

#[test]
fn interface_names_are_checked() {
    assert!(InterfaceName::try_from("veth-srv1".to_string()).is_ok());
    assert!(InterfaceName::try_from(String::new()).is_err());
    assert!(InterfaceName::try_from("a\"; flush ruleset".to_string()).is_err());
    assert!(InterfaceName::try_from("x".repeat(16)).is_err());
}
