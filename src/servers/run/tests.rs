//! The manager against a recording host: a model of users, storage and
//! units that the steps change, so that whole passes run as on a box.

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::accounts::testkit::{HERE, caller, lab};
use crate::auth::Role;
use crate::events::{Reader, Visible};
use crate::servers::adapter::{HostView, MachineryError};
use crate::servers::model::{Limits, ServerInput};
use crate::servers::plan::{Seen, Storage};
use crate::servers::service::{Power, ServersService};

#[derive(Default)]
struct Recording {
    host: Mutex<BTreeMap<ServerId, Seen>>,
    log: Mutex<Vec<String>>,
    /// Servers whose helper requests fail.
    broken: Mutex<BTreeSet<ServerId>>,
}

impl Recording {
    fn seen(&self, id: &ServerId) -> Seen {
        self.host
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or(Seen::NOTHING)
    }
    fn set(&self, id: &ServerId, f: impl FnOnce(&mut Seen)) {
        let mut host = self.host.lock().unwrap();
        f(host.entry(id.clone()).or_insert(Seen::NOTHING));
    }
    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.log.lock().unwrap())
    }
}

impl Machinery for Recording {
    async fn look(&self, ids: &[ServerId]) -> Result<HostView, MachineryError> {
        let host = self.host.lock().unwrap();
        Ok(HostView {
            servers: ids
                .iter()
                .map(|id| (id.clone(), host.get(id).cloned().unwrap_or(Seen::NOTHING)))
                .collect(),
            users: host
                .iter()
                .filter(|(_, s)| s.user)
                .map(|(id, _)| (id.clone(), uid_of(id)))
                .collect(),
            units: host
                .iter()
                .filter(|(_, s)| s.unit != Activity::Inactive)
                .map(|(id, _)| id.clone())
                .collect(),
        })
    }

    async fn ask_helper(&self, request: Request) -> Result<(), MachineryError> {
        let id = match &request {
            Request::CreateUser { id }
            | Request::PrepareStorage { id, .. }
            | Request::RemoveStorage { id, .. }
            | Request::RemoveUser { id }
            | Request::GuardPorts { id, .. } => id.clone(),
        };
        if self.broken.lock().unwrap().contains(&id) {
            return Err(MachineryError::Helper(
                crate::servers::helper::client::ClientError::Failed {
                    what: request.describe(),
                    error: "no space left".into(),
                },
            ));
        }
        self.log.lock().unwrap().push(request.describe());
        self.set(&id, |s| match request {
            Request::CreateUser { .. } => s.user = true,
            Request::PrepareStorage { .. } => s.storage = Storage::Mounted,
            Request::RemoveStorage { .. } => s.storage = Storage::Absent,
            Request::RemoveUser { .. } => s.user = false,
            Request::GuardPorts { .. } => {}
        });
        Ok(())
    }

    async fn start(&self, id: &ServerId, limits: Limits) -> Result<(), MachineryError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {id} {} MiB", limits.memory_mib));
        self.set(id, |s| {
            s.unit = Activity::Active;
            s.since_ms = now_ms();
        });
        Ok(())
    }

    async fn restart(&self, id: &ServerId, _limits: Limits) -> Result<(), MachineryError> {
        self.log.lock().unwrap().push(format!("restart {id}"));
        self.set(id, |s| {
            s.unit = Activity::Active;
            s.since_ms = now_ms() + 1;
        });
        Ok(())
    }

    async fn stop(&self, id: &ServerId) -> Result<(), MachineryError> {
        self.log.lock().unwrap().push(format!("stop {id}"));
        self.set(id, |s| s.unit = Activity::Inactive);
        Ok(())
    }
}

/// The uid the recording host gives a server's user.
fn uid_of(id: &ServerId) -> u32 {
    59_000 + u32::from_str_radix(&id.as_str()[5..], 16).unwrap() % 1000
}

/// One pass as the loop runs it; `None` when there was nothing to do.
async fn pass(m: &mut ServersManager<Recording>) -> Option<Result<ServersStatus, String>> {
    crate::reconcile::once(m)
        .await
        .map_err(|e| e.to_string())
        .transpose()
}

/// Passes until one has nothing to do; the last status.
async fn settle(m: &mut ServersManager<Recording>) -> ServersStatus {
    for _ in 0..10 {
        if pass(m).await.is_none() {
            let desired = m.desired().await.unwrap();
            let Observation::Present(observed) = m.observe().await.unwrap() else {
                unreachable!()
            };
            return <ServersManager<Recording> as Manager>::status(&desired, &observed);
        }
    }
    panic!("no rest after 10 passes");
}

fn create(service: &ServersService, owner: &str, name: &str) -> ServerId {
    let input: ServerInput = serde_json::from_value(json!({"name": name})).unwrap();
    service
        .create(&caller(owner, Role::Member), &input, HERE, 1)
        .unwrap()
        .id
}

fn helper_audits(store: &Store) -> Vec<(String, String)> {
    store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("server.helper") || r.action == "server.removed")
        .map(|r| (r.action, r.target))
        .collect()
}

#[tokio::test]
async fn a_new_server_is_made_started_stopped_and_deleted_with_its_data() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let id = create(&service, "ann", "web");

    let status = settle(&mut m).await;
    assert_eq!(
        host.take_log(),
        [
            format!("create user hs-{id}"),
            // Its ports before its storage: the engine starts next.
            format!("let hs-{id} bind no port on the host"),
            format!("prepare 4096 MiB of storage for {id}"),
            format!("start {id} 1024 MiB"),
        ]
    );
    assert_eq!(status.servers[0].phase, Phase::Running);
    assert_eq!(status.servers[0].owner.as_str(), "ann");
    assert_eq!(
        helper_audits(&lab.store),
        [
            ("server.helper".to_string(), format!("create user hs-{id}")),
            (
                "server.helper".to_string(),
                format!("let hs-{id} bind no port on the host")
            ),
            (
                "server.helper".to_string(),
                format!("prepare 4096 MiB of storage for {id}")
            ),
        ]
    );

    let ann = caller("ann", Role::Member);
    // Asked after the engine came up.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    service
        .power(&ann, id.as_str(), Power::Restart, HERE, now_ms())
        .unwrap();
    settle(&mut m).await;
    assert_eq!(host.take_log(), [format!("restart {id}")]);

    service
        .power(&ann, id.as_str(), Power::Stop, HERE, now_ms())
        .unwrap();
    let status = settle(&mut m).await;
    assert_eq!(host.take_log(), [format!("stop {id}")]);
    assert_eq!(status.servers[0].phase, Phase::Stopped);

    service
        .delete(&ann, id.as_str(), true, HERE, now_ms())
        .unwrap();
    let status = settle(&mut m).await;
    assert_eq!(
        host.take_log(),
        [
            format!("erase the storage of {id}"),
            format!("remove user hs-{id}"),
        ]
    );
    assert!(status.servers.is_empty());
    assert!(stored::servers(&lab.store).unwrap().is_empty());
    let audits = helper_audits(&lab.store);
    assert_eq!(
        audits.last().unwrap(),
        &("server.removed".to_string(), id.to_string())
    );
}

#[tokio::test]
async fn one_servers_failure_holds_back_no_other() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let bad = create(&service, "ann", "bad");
    let good = create(&service, "bob", "good");
    host.broken.lock().unwrap().insert(bad.clone());

    let mut last = None;
    for _ in 0..4 {
        last = pass(&mut m).await;
    }
    let err = last.expect("the bad server still has work").unwrap_err();
    assert!(
        err.contains(bad.as_str()) && err.contains("no space left"),
        "{err}"
    );
    assert!(!err.contains(good.as_str()), "{err}");
    assert_eq!(host.seen(&good).unit, Activity::Active);
    // The failed request is audited as a failure.
    let failures = lab
        .store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "server.helper" && r.target.contains(bad.as_str()))
        .count();
    assert!(failures >= 1);
}

#[tokio::test]
async fn a_crashed_engine_is_counted_and_started_again_when_its_wait_is_over() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let id = create(&service, "ann", "web");
    settle(&mut m).await;
    host.take_log();

    // It crashed just now: counted once, not started before its wait.
    host.set(&id, |s| {
        s.unit = Activity::Failed;
        s.since_ms = now_ms();
    });
    assert!(pass(&mut m).await.is_none());
    assert!(pass(&mut m).await.is_none(), "the same crash counts once");
    assert_eq!(m.crashes[&id].count, 1);
    let wake = m.wake_at().expect("woken when the wait is over");
    assert!(wake > tokio::time::Instant::now());

    // Its wait is over (as if it had failed 3 s ago): started again.
    let three_s_ago = now_ms() - 3_000;
    host.set(&id, |s| s.since_ms = three_s_ago);
    m.crashes.get_mut(&id).unwrap().last_ms = three_s_ago;
    assert!(pass(&mut m).await.unwrap().is_ok());
    assert_eq!(host.take_log(), [format!("start {id} 1024 MiB")]);

    // It fails again at once: the second crash in a row waits 4 s.
    host.set(&id, |s| {
        s.unit = Activity::Failed;
        s.since_ms = now_ms();
    });
    assert!(pass(&mut m).await.is_none());
    assert_eq!(m.crashes[&id].count, 2);
    let c = m.crashes[&id];
    assert_eq!(c.retry_at_ms() - c.last_ms, 4_000);
}

#[tokio::test]
async fn strangers_on_the_host_are_reported_and_left_alone() {
    let lab = lab();
    let host = Arc::new(Recording::default());
    let stranger = ServerId::try_from("0badc0de").unwrap();
    host.set(&stranger, |s| {
        s.user = true;
        s.unit = Activity::Active;
    });
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let status = settle(&mut m).await;
    assert_eq!(status.unknown_users, ["hs-0badc0de"]);
    assert_eq!(status.unknown_units, ["hearth-server@0badc0de.service"]);
    assert!(host.take_log().is_empty());
}

#[tokio::test]
async fn a_member_sees_their_own_servers_and_no_strangers() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    host.set(&ServerId::try_from("0badc0de").unwrap(), |s| s.user = true);
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let ann_web = create(&service, "ann", "web");
    let bob_web = create(&service, "bob", "web");
    let status = settle(&mut m).await;
    let admin = serde_json::to_value(&status).unwrap();
    assert_eq!(admin["servers"].as_array().unwrap().len(), 2);
    assert_eq!(admin["unknown_users"], json!(["hs-0badc0de"]));
    let ann = Username::try_from("ann").unwrap();
    let seen = serde_json::to_value(status.for_member(Reader::Member(&ann)).unwrap()).unwrap();
    let servers = seen["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{seen}");
    assert_eq!(servers[0]["id"], ann_web.as_str());
    let whole = admin["servers"].as_array().unwrap();
    assert!(
        whole.contains(&servers[0]),
        "a member's own record is whole"
    );
    assert!(!seen.to_string().contains(bob_web.as_str()));
    assert!(seen.get("unknown_users").is_none() && seen.get("unknown_units").is_none());
    assert!(status.for_member(Reader::Anyone).is_none());
    assert!(status.for_public().is_none());
}

#[tokio::test]
async fn the_firewall_gets_a_servers_ports_under_its_uid_and_loses_them_with_it() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let mut m = ServersManager::new(lab.store.clone(), host.clone());
    let input: ServerInput =
        serde_json::from_value(json!({"name": "web", "ports": [{"port": 8080}]})).unwrap();
    let ann = caller("ann", Role::Member);
    let server = service.create(&ann, &input, HERE, 1).unwrap();
    settle(&mut m).await;
    let plane = crate::plane::stored::load(&lab.store).unwrap();
    assert_eq!(
        plane.published,
        [crate::plane::ServerPort {
            uid: uid_of(&server.id),
            protocol: crate::plane::Protocol::Tcp,
            port: 8080,
        }]
    );
    assert_eq!(plane.fronts, [server.engine_port.unwrap()]);
    let changes = lab
        .store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "firewall.change" && r.target == "servers")
        .count();
    assert_eq!(changes, 2, "written when it changed, not at every pass");

    service
        .delete(&ann, server.id.as_str(), false, HERE, now_ms())
        .unwrap();
    settle(&mut m).await;
    let plane = crate::plane::stored::load(&lab.store).unwrap();
    assert_eq!(
        (plane.published.len(), plane.fronts.len()),
        (0, 0),
        "{plane:?}"
    );
    assert_eq!(plane.offered, crate::servers::plan::OFFERED, "DNS stays");
}

#[tokio::test]
async fn the_status_carries_what_each_running_servers_cgroup_shows() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let slice = tempfile::tempdir().unwrap();
    let mut m =
        ServersManager::new(lab.store.clone(), host.clone()).with_usage(slice.path().to_path_buf());
    let id = create(&service, "ann", "web");
    let status = settle(&mut m).await;
    let s = &status.servers[0];
    assert_eq!(s.usage, None, "no cgroup");
    assert!(
        s.usage_error
            .as_deref()
            .is_some_and(|e| e.contains("cpu.stat")),
        "{s:?}"
    );
    let dir = slice.path().join(format!("hearth-server@{id}.service"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cpu.stat"), "usage_usec 5000\n").unwrap();
    std::fs::write(dir.join("memory.current"), "100663296\n").unwrap();
    std::fs::write(dir.join("pids.current"), "31\n").unwrap();
    let status = settle(&mut m).await;
    let s = &status.servers[0];
    assert_eq!(s.usage_error, None);
    let json = serde_json::to_value(&status).unwrap();
    let usage = &json["servers"][0]["usage"];
    assert_eq!(
        (&usage["memory_bytes"], &usage["tasks"]),
        (&json!(100663296), &json!(31)),
        "{usage}"
    );
    // The counter did not move between the passes' readings: no CPU.
    assert!(
        usage.get("cpu_millis").is_none_or(|c| *c == json!(0)),
        "{usage}"
    );
    // A stopped server is not read.
    service
        .power(
            &caller("ann", Role::Member),
            id.as_str(),
            Power::Stop,
            HERE,
            now_ms(),
        )
        .unwrap();
    let status = settle(&mut m).await;
    assert_eq!(
        (status.servers[0].usage, &status.servers[0].usage_error),
        (None, &None)
    );
}

#[tokio::test]
async fn a_failed_base_import_is_audited_as_failed_and_not_tried_again_at_once() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    let dir = tempfile::tempdir().unwrap();
    let layout = crate::servers::helper::Layout::new(&dir.path().join("s"), &dir.path().join("r"));
    // No such tar: the import fails before it reaches any engine.
    let mut m = ServersManager::new(lab.store.clone(), host.clone())
        .with_base_image(dir.path().join("missing.tar"), layout);
    let id = create(&service, "ann", "web");
    settle(&mut m).await;
    host.set(&id, |s| s.answering = Some(true));
    let taken = pass(&mut m).await;
    assert!(taken.is_some(), "the import was started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let failed = loop {
        let found = lab
            .store
            .audit_records(0, 100)
            .unwrap()
            .into_iter()
            .find(|r| r.action == "server.base_image");
        if let Some(r) = found {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no audit of the import"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(failed.outcome, crate::store::Outcome::Failure);
    assert_eq!(failed.target, id.as_str());
    // The retry time is set just after the audit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !matches!(m.base_busy.lock().unwrap().get(&id), Some(Some(_))) {
        assert!(std::time::Instant::now() < deadline, "no retry time set");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!stored::servers(&lab.store).unwrap()[0].base_loaded);
    // Until the wait is over, passes take no step for it.
    assert!(pass(&mut m).await.is_none(), "tried again at once");
    let status = settle(&mut m).await;
    assert_eq!(
        status.servers[0].progress.map(|p| p.doing),
        Some("loading its base image"),
        "still to load"
    );
}

#[tokio::test]
async fn a_failed_engine_says_why_and_the_component_is_degraded_until_it_runs() {
    let lab = lab();
    let service = ServersService::new(lab.store.clone());
    let host = Arc::new(Recording::default());
    // A journal folder that is not there: its lines say that they could
    // not be read (the real journal is read in tests/servers_logs.rs).
    let mut m = ServersManager::new(lab.store.clone(), host.clone())
        .with_journal(Some("/nonexistent/journal".into()));
    let id = create(&service, "ann", "web");
    let status = settle(&mut m).await;
    assert_eq!(ServersManager::<Recording>::trouble(&status), None);
    assert!(status.servers[0].last_log.is_none());

    host.set(&id, |s| {
        s.unit = Activity::Failed;
        s.since_ms = now_ms();
    });
    pass(&mut m).await;
    let Observation::Present(observed) = m.observe().await.unwrap() else {
        panic!("the host is there");
    };
    let desired = m.desired().await.unwrap();
    let status = ServersManager::<Recording>::status(&desired, &observed);
    assert_eq!(status.servers[0].phase, Phase::Failed);
    let said = status.servers[0].last_log.clone().expect("its last lines");
    assert!(
        said[0].message.contains("could not read its log"),
        "{said:?}"
    );
    assert_eq!(
        ServersManager::<Recording>::trouble(&status).as_deref(),
        Some("0 of 1 servers running; 1 failed (started again after a wait)")
    );

    // Up, answering: no trouble, and its old lines are gone.
    host.set(&id, |s| {
        s.unit = Activity::Active;
        s.since_ms = now_ms();
    });
    let Observation::Present(observed) = m.observe().await.unwrap() else {
        panic!("the host is there");
    };
    let status = ServersManager::<Recording>::status(&desired, &observed);
    assert_eq!(status.servers[0].phase, Phase::Running);
    assert!(status.servers[0].last_log.is_none());
    assert!(m.tails.is_empty());
    assert_eq!(ServersManager::<Recording>::trouble(&status), None);
}
