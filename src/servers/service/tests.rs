use serde_json::json;

use super::*;
use crate::accounts::testkit::{HERE, caller, lab};
use crate::servers::model::QuotaExceeded;

fn input(v: serde_json::Value) -> ServerInput {
    serde_json::from_value(v).unwrap()
}

#[test]
fn members_see_and_manage_their_own_and_others_are_not_found() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let (boss, ann, bob) = (
        caller("boss", Role::Admin),
        caller("ann", Role::Member),
        caller("bob", Role::Member),
    );
    let web = service
        .create(&ann, &input(json!({"name": "web"})), HERE, 7)
        .unwrap();
    assert_eq!((web.owner.as_str(), web.created_ms), ("ann", 7));
    let for_bob = service
        .create(
            &boss,
            &input(json!({"name": "web", "owner": "bob"})),
            HERE,
            8,
        )
        .unwrap();

    assert_eq!(service.list(&boss).unwrap().len(), 2);
    assert_eq!(service.list(&ann).unwrap(), std::slice::from_ref(&web));
    let id = web.id.as_str();
    assert!(matches!(service.get(&bob, id), Err(ServersError::NotFound)));
    assert!(matches!(
        service.power(&bob, id, Power::Stop, HERE, 1_000),
        Err(ServersError::NotFound)
    ));
    assert!(matches!(
        service.delete(&bob, id, true, HERE, 9),
        Err(ServersError::NotFound)
    ));
    assert!(matches!(
        service.get(&ann, "../etc"),
        Err(ServersError::NotFound)
    ));
    assert_eq!(service.get(&boss, for_bob.id.as_str()).unwrap(), for_bob);

    let stopped = service.power(&ann, id, Power::Stop, HERE, 1_000).unwrap();
    assert_eq!(stopped.desired, DesiredState::Stopped);
    let started = service
        .power(&ann, id, Power::Restart, HERE, 1_000)
        .unwrap();
    assert_eq!(started.desired, DesiredState::Running);

    // Members cannot make servers for others, nor anyone for a non-user.
    assert!(matches!(
        service.create(&ann, &input(json!({"name": "x", "owner": "bob"})), HERE, 9),
        Err(ServersError::Forbidden(_))
    ));
    match service.create(&boss, &input(json!({"name": "x", "owner": "zed"})), HERE, 9) {
        Err(ServersError::Invalid(e)) => assert_eq!(e.field, "owner"),
        other => panic!("{other:?}"),
    }

    // Deleting: marked, stopped, and closed to other requests.
    let gone = service.delete(&ann, id, false, HERE, 10).unwrap();
    assert_eq!(gone.desired, DesiredState::Stopped);
    assert_eq!(
        gone.deleting,
        Some(Deletion {
            erase: false,
            asked_ms: 10
        })
    );
    assert!(matches!(
        service.power(&ann, id, Power::Start, HERE, 1_000),
        Err(ServersError::Deleting(_))
    ));
    let actions = lab.store.audit_actions(100).unwrap();
    for action in [
        "server.create",
        "server.stop",
        "server.restart",
        "server.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[test]
fn the_quota_is_enforced_at_create_with_a_clear_error() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let (boss, ann) = (caller("boss", Role::Admin), caller("ann", Role::Member));
    let quota = Quota {
        max_servers: Some(2),
        max_memory_mib: Some(2048),
        max_disk_mib: None,
    };
    service.set_quota(&boss, "ann", &quota, HERE).unwrap();
    assert_eq!(service.quota("ann").unwrap(), quota);
    service
        .create(&ann, &input(json!({"name": "a"})), HERE, 1)
        .unwrap();
    let bigger = input(json!({"name": "b", "limits": {"memory_mib": 2048}}));
    match service.create(&ann, &bigger, HERE, 2) {
        Err(ServersError::Quota(QuotaExceeded::Memory {
            max: 2048,
            would: 3072,
            ..
        })) => {}
        other => panic!("{other:?}"),
    }
    match service.create(&ann, &input(json!({"name": "a"})), HERE, 2) {
        Err(e @ ServersError::Quota(QuotaExceeded::NameTaken { .. })) => {
            assert_eq!(e.to_string(), "ann already has a server named a")
        }
        other => panic!("{other:?}"),
    }
    let small = |name: &str| input(json!({"name": name, "limits": {"memory_mib": 512}}));
    service.create(&ann, &small("b"), HERE, 3).unwrap();
    assert!(matches!(
        service.create(&ann, &small("c"), HERE, 4),
        Err(ServersError::Quota(QuotaExceeded::Servers {
            max: 2,
            has: 2,
            ..
        }))
    ));
    // Nothing refused was stored.
    assert_eq!(service.list(&ann).unwrap().len(), 2);
    assert!(matches!(
        service.set_quota(&boss, "zed", &quota, HERE),
        Err(ServersError::Invalid(_))
    ));
}

#[test]
fn a_port_of_the_box_is_published_by_one_server_and_never_hearths_own() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone()).reserving(8443);
    let (ann, bob) = (caller("ann", Role::Member), caller("bob", Role::Member));
    let with_ports =
        |name: &str, ports: serde_json::Value| input(json!({"name": name, "ports": ports}));
    service
        .create(&ann, &with_ports("web", json!([{"port": 8080}])), HERE, 1)
        .unwrap();
    let refused = |e: ServersError| match e {
        ServersError::Invalid(i) => (i.field.to_string(), i.to_string()),
        other => panic!("{other:?}"),
    };
    let (field, why) = refused(
        service
            .create(
                &bob,
                &with_ports("web", json!([{"port": 9000}, {"port": 8080}])),
                HERE,
                2,
            )
            .unwrap_err(),
    );
    assert_eq!(field, "ports[1]");
    assert!(
        why.contains("8080/tcp is published by another server"),
        "{why}"
    );
    // The same number in the other protocol is another port.
    service
        .create(
            &bob,
            &with_ports("dns", json!([{"port": 8080, "protocol": "udp"}])),
            HERE,
            3,
        )
        .unwrap();
    let (field, why) = refused(
        service
            .create(&bob, &with_ports("x", json!([{"port": 8443}])), HERE, 4)
            .unwrap_err(),
    );
    assert_eq!(
        (field.as_str(), why.contains("hearth's own port")),
        ("ports[0]", true)
    );
    assert_eq!(
        service.list(&bob).unwrap().len(),
        1,
        "nothing refused was kept"
    );
}

#[test]
fn a_disk_that_does_not_fit_beside_the_promised_ones_is_refused_naming_the_sizes() {
    let lab = lab();
    let storage = tempfile::tempdir().unwrap();
    let layout = Layout::new(storage.path(), storage.path());
    let service = ServersService::new(lab.store.clone()).with_storage(layout.clone());
    let ann = caller("ann", Role::Member);
    let disk = |name: &str, mib: u64| input(json!({"name": name, "limits": {"disk_mib": mib}}));
    match service.create(&ann, &disk("huge", 1 << 24), HERE, 1) {
        Err(e @ ServersError::NoRoom(_)) => {
            let text = e.to_string();
            assert!(
                text.starts_with("a 16777216 MiB disk does not fit: "),
                "{text}"
            );
            assert!(text.contains("MiB free on the servers' storage"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(service.list(&ann).unwrap().is_empty());

    // Six tenths of the free space, twice: the second does not fit
    // beside the first, promised while its image is not made.
    let most = crate::servers::room::free_mib(storage.path()).unwrap() * 6 / 10;
    let first = service.create(&ann, &disk("a", most), HERE, 2).unwrap();
    match service.create(&ann, &disk("b", most), HERE, 3) {
        Err(ServersError::NoRoom(r)) => assert_eq!(r.promised_mib, most),
        other => panic!("{other:?}"),
    }
    // Once its image is there, its blocks are counted by the file system
    // (here an empty stand-in: the space stays free), not twice.
    std::fs::create_dir_all(layout.server_dir(&first.id)).unwrap();
    std::fs::write(layout.image(&first.id), b"").unwrap();
    service.create(&ann, &disk("b", most), HERE, 4).unwrap();
}
