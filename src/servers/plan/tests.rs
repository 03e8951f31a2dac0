use super::*;
use crate::servers::model::PortProtocol;
use crate::servers::model::{Deletion, ServerName};

fn server(id: &str, desired: DesiredState) -> Server {
    Server {
        id: ServerId::try_from(id).unwrap(),
        owner: "ann".into(),
        name: ServerName::try_from("web").unwrap(),
        limits: Limits::DEFAULT,
        ports: Vec::new(),
        desired,
        created_ms: 1,
        deleting: None,
        restart_asked_ms: None,
        engine_port: None,
        base_loaded: false,
    }
}

fn id(s: &str) -> ServerId {
    ServerId::try_from(s).unwrap()
}

fn seen(user: bool, storage: Storage, unit: Activity, since_ms: u64) -> Seen {
    Seen {
        user,
        storage,
        unit,
        since_ms,
        answering: None,
    }
}

/// What the host shows, with the firewall's record as the manager
/// leaves it for no server (the box's DNS offered).
fn observed(entries: &[(&str, Seen)]) -> Observed {
    Observed {
        servers: entries.iter().map(|(i, s)| (id(i), s.clone())).collect(),
        now_ms: 100_000,
        plane: UserPlane {
            offered: OFFERED.to_vec(),
            ..UserPlane::default()
        },
        ..Observed::default()
    }
}

const A: &str = "0000000a";

#[test]
fn a_new_server_is_made_one_step_per_pass_then_started() {
    let s = [server(A, DesiredState::Running)];
    let limits = Limits::DEFAULT;
    let cases = [
        (Seen::NOTHING, Step::CreateUser(id(A)), Phase::Preparing),
        (
            seen(true, Storage::Absent, Activity::Inactive, 0),
            Step::PrepareStorage {
                id: id(A),
                disk_mib: limits.disk_mib,
                ports: Vec::new(),
            },
            Phase::Preparing,
        ),
        // After a reboot: the image is there, not mounted.
        (
            seen(true, Storage::Unmounted, Activity::Inactive, 0),
            Step::PrepareStorage {
                id: id(A),
                disk_mib: limits.disk_mib,
                ports: Vec::new(),
            },
            Phase::Preparing,
        ),
        (
            seen(true, Storage::Mounted, Activity::Inactive, 0),
            Step::Start { id: id(A), limits },
            Phase::Starting,
        ),
    ];
    for (seen, step, phase) in cases {
        let p = plan(&s, &observed(&[(A, seen.clone())]));
        assert_eq!(p.steps, [step], "{seen:?}");
        assert_eq!(p.phases[&id(A)], phase);
    }
    let p = plan(
        &s,
        &observed(&[(A, seen(true, Storage::Mounted, Activity::Active, 5))]),
    );
    assert!(p.is_noop());
    assert_eq!(p.phases[&id(A)], Phase::Running);
    // Followed: running once its engine answers.
    for (answering, phase) in [(false, Phase::Starting), (true, Phase::Running)] {
        let mut up = seen(true, Storage::Mounted, Activity::Active, 5);
        up.answering = Some(answering);
        let p = plan(&s, &observed(&[(A, up)]));
        assert!(p.is_noop());
        assert_eq!(p.phases[&id(A)], phase);
    }
}

#[test]
fn stopping_and_restarting_follow_the_record() {
    let up = seen(true, Storage::Mounted, Activity::Active, 50_000);
    let p = plan(
        &[server(A, DesiredState::Stopped)],
        &observed(&[(A, up.clone())]),
    );
    assert_eq!(p.steps, [Step::Stop(id(A))]);
    assert_eq!(p.phases[&id(A)], Phase::Stopping);
    let down = seen(true, Storage::Mounted, Activity::Inactive, 60_000);
    let p = plan(&[server(A, DesiredState::Stopped)], &observed(&[(A, down)]));
    assert!(p.is_noop());
    assert_eq!(p.phases[&id(A)], Phase::Stopped);

    // A restart asked after the engine came up restarts it, once: the
    // restarted unit is up since after the ask.
    let mut s = server(A, DesiredState::Running);
    s.restart_asked_ms = Some(60_000);
    let p = plan(std::slice::from_ref(&s), &observed(&[(A, up)]));
    assert_eq!(
        p.steps,
        [Step::Restart {
            id: id(A),
            limits: Limits::DEFAULT
        }]
    );
    let restarted = seen(true, Storage::Mounted, Activity::Active, 61_000);
    assert!(plan(&[s], &observed(&[(A, restarted)])).is_noop());
}

#[test]
fn a_crashed_engine_is_started_again_after_a_growing_wait() {
    let s = [server(A, DesiredState::Running)];
    let failed = seen(true, Storage::Mounted, Activity::Failed, 99_000);
    // First crash: at once (nothing remembered yet).
    let p = plan(&s, &observed(&[(A, failed.clone())]));
    assert_eq!(p.phases[&id(A)], Phase::Failed);
    assert!(matches!(p.steps[..], [Step::Start { .. }]));

    let mut o = observed(&[(A, failed)]);
    for (count, wait_ms) in [(1, 2_000), (2, 4_000), (3, 8_000), (20, 300_000)] {
        o.crashes.insert(
            id(A),
            Crashes {
                count,
                last_ms: o.now_ms,
            },
        );
        let p = plan(&s, &o);
        assert!(p.is_noop(), "crash {count}");
        assert_eq!(o.crashes[&id(A)].retry_at_ms(), o.now_ms + wait_ms);
        let mut later = o.clone();
        later.now_ms += wait_ms;
        assert!(matches!(plan(&s, &later).steps[..], [Step::Start { .. }]));
    }
}

#[test]
fn deleting_stops_removes_storage_then_user_then_forgets() {
    for erase in [false, true] {
        let mut s = server(A, DesiredState::Stopped);
        s.deleting = Some(Deletion { erase, asked_ms: 1 });
        let s = [s];
        let steps = [
            (
                seen(true, Storage::Mounted, Activity::Active, 0),
                Step::Stop(id(A)),
            ),
            (
                seen(true, Storage::Mounted, Activity::Inactive, 0),
                Step::RemoveStorage { id: id(A), erase },
            ),
            // Unmounted (a reboot while deleting): still removed first.
            (
                seen(true, Storage::Unmounted, Activity::Failed, 0),
                Step::RemoveStorage { id: id(A), erase },
            ),
            (
                seen(true, Storage::Absent, Activity::Inactive, 0),
                Step::RemoveUser(id(A)),
            ),
            (Seen::NOTHING, Step::Forget(id(A))),
        ];
        for (seen, step) in steps {
            let p = plan(&s, &observed(&[(A, seen.clone())]));
            assert_eq!(p.steps, [step], "{seen:?}");
            assert_eq!(p.phases[&id(A)], Phase::Deleting);
        }
    }
}

#[test]
fn users_and_units_without_a_record_are_reported_never_touched() {
    let mut o = observed(&[]);
    o.users = [(id("0000000b"), 59_011), (id(A), 59_010)].into();
    o.units = [id("0000000c")].into();
    let p = plan(&[server(A, DesiredState::Stopped)], &o);
    assert!(p.is_noop());
    assert_eq!(p.unknown_users, [id("0000000b")]);
    assert_eq!(p.unknown_units, [id("0000000c")]);
}

#[test]
fn the_firewall_gets_each_servers_ports_under_its_uid_once_its_user_exists() {
    use crate::plane::{InterfaceName, Protocol, ServerPort};
    use crate::servers::model::PublishedPort;
    let mut a = server(A, DesiredState::Running);
    a.engine_port = Some(23760);
    a.ports = vec![
        PublishedPort {
            port: 8080,
            protocol: PortProtocol::Tcp,
        },
        PublishedPort {
            port: 5353,
            protocol: PortProtocol::Udp,
        },
    ];
    let mut gone = server("0000000b", DesiredState::Stopped);
    gone.engine_port = Some(23761);
    gone.ports = vec![PublishedPort {
        port: 9090,
        protocol: PortProtocol::Tcp,
    }];
    gone.deleting = Some(Deletion {
        erase: true,
        asked_ms: 1,
    });
    let servers = [a, gone];
    let mut o = observed(&[]);
    // What the servers' manager does not own stays as it is.
    o.plane.interfaces = vec![InterfaceName::try_from("hsrv-x".to_string()).unwrap()];

    // No user yet: its front is open, its ports are not.
    let p = plan(&servers, &o);
    let plane = p.plane.clone().expect("the plane changes");
    assert_eq!(plane.fronts, [23760], "a server being deleted has none");
    assert!(plane.published.is_empty());
    assert_eq!(plane.interfaces, o.plane.interfaces);
    assert_eq!(
        plane.offered,
        [(Protocol::Udp, 53), (Protocol::Tcp, 53)],
        "the box's DNS"
    );

    o.users = [(id(A), 59_003), (id("0000000b"), 59_004)].into();
    let plane = plan(&servers, &o).plane.expect("the plane changes");
    assert_eq!(
        plane.published,
        [
            ServerPort {
                uid: 59_003,
                protocol: Protocol::Tcp,
                port: 8080
            },
            ServerPort {
                uid: 59_003,
                protocol: Protocol::Udp,
                port: 5353
            },
        ]
    );
    // Once the firewall's record holds it, there is nothing to write.
    o.plane = plane;
    assert_eq!(plan(&servers, &o).plane, None);
}

#[test]
fn the_base_image_goes_in_once_when_the_engine_first_answers() {
    let mut s = server(A, DesiredState::Running);
    let mut up = seen(true, Storage::Mounted, Activity::Active, 1);
    let mut o = observed(&[(A, up.clone())]);
    o.base_offered = true;
    // Not while the engine does not answer (nor where it is not followed).
    for answering in [None, Some(false)] {
        up.answering = answering;
        o.servers.insert(id(A), up.clone());
        let p = plan(std::slice::from_ref(&s), &o);
        assert!(!p.steps.contains(&Step::LoadBase(id(A))), "{answering:?}");
    }
    up.answering = Some(true);
    o.servers.insert(id(A), up);
    let p = plan(std::slice::from_ref(&s), &o);
    assert_eq!(p.steps, [Step::LoadBase(id(A))]);
    assert_eq!(p.phases[&id(A)], Phase::Running, "usable meanwhile");
    // Under way in the background: nothing more; failed: again only once
    // its wait is over.
    o.base_busy.insert(id(A), None);
    assert!(
        plan(std::slice::from_ref(&s), &o).steps.is_empty(),
        "under way"
    );
    o.base_busy.insert(id(A), Some(o.now_ms + 1));
    assert!(
        plan(std::slice::from_ref(&s), &o).steps.is_empty(),
        "waiting"
    );
    o.base_busy.insert(id(A), Some(o.now_ms));
    assert_eq!(
        plan(std::slice::from_ref(&s), &o).steps,
        [Step::LoadBase(id(A))]
    );
    o.base_busy.clear();
    s.base_loaded = true;
    assert!(plan(std::slice::from_ref(&s), &o).steps.is_empty(), "once");
    s.base_loaded = false;
    o.base_offered = false;
    assert!(
        plan(std::slice::from_ref(&s), &o).steps.is_empty(),
        "no base image, no step"
    );
}

#[test]
fn an_engine_that_never_answers_is_reported_after_its_grace_not_restarted() {
    let s = [server(A, DesiredState::Running)];
    let quiet = |since_ms| Seen {
        answering: Some(false),
        ..seen(true, Storage::Mounted, Activity::Active, since_ms)
    };
    let mut o = observed(&[(A, quiet(0))]);
    o.now_ms = UNRESPONSIVE_AFTER_MS - 1;
    let p = plan(&s, &o);
    assert_eq!(p.phases[&id(A)], Phase::Starting);
    assert!(p.steps.is_empty());
    o.now_ms = UNRESPONSIVE_AFTER_MS;
    let p = plan(&s, &o);
    assert_eq!(p.phases[&id(A)], Phase::Unresponsive);
    assert!(p.phases[&id(A)].is_trouble());
    // No step: a restart would hide why; the admin sees its last words.
    assert!(p.steps.is_empty());
    // Once it answers, it runs.
    o.servers.get_mut(&id(A)).unwrap().answering = Some(true);
    assert_eq!(plan(&s, &o).phases[&id(A)], Phase::Running);
}
