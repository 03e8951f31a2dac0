use super::*;

fn input(json: &str) -> ServerInput {
    serde_json::from_str(json).unwrap()
}

fn server(json: &str) -> Result<Server, Invalid> {
    Server::from_input(
        &input(json),
        "mia".into(),
        ServerId::try_from("0a1b2c3d").unwrap(),
        1_000,
    )
}

fn owned(owner: &str, id: &str, name: &str, memory_mib: u32, disk_mib: u32) -> Server {
    Server {
        id: ServerId::try_from(id).unwrap(),
        owner: owner.into(),
        name: ServerName::try_from(name).unwrap(),
        limits: Limits {
            memory_mib,
            disk_mib,
            ..Limits::DEFAULT
        },
        ports: vec![],
        desired: DesiredState::Running,
        created_ms: 0,
        deleting: None,
        restart_asked_ms: None,
        engine_port: None,
        base_loaded: false,
    }
}

#[test]
fn names_are_lower_case_letters_digits_and_dashes_up_to_25() {
    for good in ["web", "a", "my-server-2", "0", &"x".repeat(25)] {
        assert!(ServerName::try_from(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "Web",
        "my_server",
        "my server",
        "é",
        &"x".repeat(26),
        "a.b",
    ] {
        assert!(ServerName::try_from(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ids_are_eight_hex_digits_and_name_the_user() {
    let id = ServerId::random();
    assert_eq!(ServerId::try_from(id.as_str()), Ok(id.clone()));
    assert_eq!(id.user().len(), 11, "well within a user name's 32");
    assert_ne!(ServerId::random(), ServerId::random());
    for bad in ["0A1B2C3D", "0a1b2c3", "0a1b2c3d4", "../../x", "0a1b2c3g"] {
        assert!(ServerId::try_from(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_minimal_server_gets_the_defaults_and_runs() {
    let s = server(r#"{"name":"web"}"#).unwrap();
    assert_eq!(s.limits, Limits::DEFAULT);
    assert_eq!(s.desired, DesiredState::Running);
    assert!(s.ports.is_empty());
    assert_eq!((s.owner.as_str(), s.created_ms), ("mia", 1_000));
    let s = server(r#"{"name":"web","running":false}"#).unwrap();
    assert_eq!(s.desired, DesiredState::Stopped);
}

#[test]
fn limits_and_ports_are_checked_and_the_error_names_the_field() {
    let s = server(
        r#"{"name":"web","limits":{"memory_mib":2048,"pids":4096},
            "ports":[{"port":8080},{"port":5353,"protocol":"udp"}]}"#,
    )
    .unwrap();
    assert_eq!(s.limits.memory_mib, 2048);
    assert_eq!(s.limits.pids, 4096);
    assert_eq!(s.limits.cpu_millis, Limits::DEFAULT.cpu_millis);
    assert_eq!(
        s.ports,
        [
            PublishedPort {
                port: 5353,
                protocol: PortProtocol::Udp
            },
            PublishedPort {
                port: 8080,
                protocol: PortProtocol::Tcp
            },
        ]
    );
    for (json, field) in [
        (r#"{"name":"Web"}"#, "name"),
        (
            r#"{"name":"web","limits":{"memory_mib":16}}"#,
            "limits.memory_mib",
        ),
        (
            r#"{"name":"web","limits":{"cpu_millis":0}}"#,
            "limits.cpu_millis",
        ),
        (
            r#"{"name":"web","limits":{"pids":99999999999}}"#,
            "limits.pids",
        ),
        (
            r#"{"name":"web","limits":{"disk_mib":1}}"#,
            "limits.disk_mib",
        ),
        (
            r#"{"name":"web","ports":[{"port":8080},{"port":0}]}"#,
            "ports[1].port",
        ),
        (r#"{"name":"web","ports":[{"port":80}]}"#, "ports[0].port"),
        (
            r#"{"name":"web","ports":[{"port":23760}]}"#,
            "ports[0].port",
        ),
        (
            r#"{"name":"web","ports":[{"port":70000}]}"#,
            "ports[0].port",
        ),
        (
            r#"{"name":"web","ports":[{"port":8080,"protocol":"sctp"}]}"#,
            "ports[0].protocol",
        ),
        (
            r#"{"name":"web","ports":[{"port":8080},{"port":8080,"protocol":"tcp"}]}"#,
            "ports[1]",
        ),
    ] {
        let e = server(json).unwrap_err();
        assert_eq!(e.field, field, "{json}: {e}");
    }
    let many: Vec<String> = (2001..=2033).map(|p| format!("{{\"port\":{p}}}")).collect();
    let e = server(&format!(r#"{{"name":"web","ports":[{}]}}"#, many.join(","))).unwrap_err();
    assert_eq!(e.field, "ports");
}

#[test]
fn unknown_fields_are_refused() {
    assert!(serde_json::from_str::<ServerInput>(r#"{"name":"web","privileged":true}"#).is_err());
    assert!(
        serde_json::from_str::<ServerInput>(r#"{"name":"web","limits":{"swap_mib":1}}"#).is_err()
    );
}

#[test]
fn the_quota_counts_the_owners_servers_alone() {
    let quota = Quota {
        max_servers: Some(2),
        max_memory_mib: Some(3072),
        max_disk_mib: Some(10_000),
    };
    let box_servers = vec![
        owned("mia", "00000001", "web", 1024, 4096),
        // Another member's: never counted against mia.
        owned("ben", "00000002", "db", 8192, 9000),
    ];
    let ok = owned("mia", "00000003", "db", 2048, 4096);
    assert_eq!(quota.admit(&box_servers, &ok), Ok(()));

    let name = owned("mia", "00000003", "web", 256, 512);
    assert!(matches!(
        quota.admit(&box_servers, &name),
        Err(QuotaExceeded::NameTaken { .. })
    ));
    // ben's name is free for mia.
    let same_as_ben = owned("mia", "00000003", "db", 256, 512);
    assert_eq!(quota.admit(&box_servers, &same_as_ben), Ok(()));

    let memory = owned("mia", "00000003", "big", 4096, 512);
    let e = quota.admit(&box_servers, &memory).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mia's servers may use at most 3072 MiB of memory together; this would make 5120 MiB"
    );
    let disk = owned("mia", "00000003", "big", 256, 8192);
    assert!(matches!(
        quota.admit(&box_servers, &disk),
        Err(QuotaExceeded::Disk { would: 12288, .. })
    ));

    let mut full = box_servers.clone();
    full.push(ok);
    let third = owned("mia", "00000004", "cache", 256, 512);
    assert_eq!(
        quota.admit(&full, &third).unwrap_err().to_string(),
        "mia may have at most 2 servers, and has 2"
    );
    // A server being changed is not counted twice.
    let grown = owned("mia", "00000001", "web", 1024, 5000);
    assert_eq!(quota.admit(&full, &grown), Ok(()));
    assert_eq!(Quota::default().admit(&full, &third), Ok(()));
}
