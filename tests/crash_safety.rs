//! Crash safety (issue 28): hearth killed with SIGKILL at moments it does
//! not choose, as a power cut or the OOM killer would, must lose nothing
//! it acknowledged and must start again on what it left.
//!
//! - Acknowledged writes: a few hundred kills at random moments while
//!   clients write through the API; after each, the store opens and every
//!   acknowledged write is there, and no change is there in half (see
//!   `common::crash_writes`, which `benches/crash.rs` runs longer).
//! - A firewall change killed while it is applied (checked by nft,
//!   stored, put into the kernel, answered): the kernel holds the old or
//!   the new ruleset whole, never a mix or none; after the restart the
//!   stored policy is the one in force and the owner still gets in.
//! - A server killed while it is being made (its user, storage and
//!   engine half done, by the helper and systemd that live on): after the
//!   restart it comes up running, or, if its create was never committed,
//!   nothing of it is left; either way the same name can be made again.

use hearth_testkit as common;

use std::time::{Duration, Instant};

use common::crash_writes::{self, Plan, Rng, request};
use common::eventually;
use common::fw_lab::{Lab, in_force};
use common::servers_box::{ServersBox, follow, server};
use common::servers_lab::remove_leftovers;
use common::{Daemon, TlsClient};
use hearth::servers::model::ServerId;
use nix::sys::signal::Signal;
use serde_json::{Value, json};

/// The rounds of the test, which bound its time: a round (a start of
/// ~70 ms, the checks, which read back every token, up to 150 ms of
/// writes, the kill) took ~0.55 s on average on a 2-core machine, so
/// 250 rounds ~2¼ min.
const ROUNDS: usize = 250;

#[test]
fn every_acknowledged_write_survives_sigkill_at_random_moments() {
    let plan = Plan {
        rounds: ROUNDS,
        writers: 4,
        max_delay: Duration::from_millis(150),
    };
    let f = crash_writes::run(&plan, &mut |_, _| {});
    eprintln!(
        "crash_writes: seed {}: {} kills, {} acknowledged writes, {} lost, {} unanswered of which {} committed; {} tokens, store {} KiB; mean round {:?}, mean start {:?}",
        f.seed,
        f.kills,
        f.acknowledged,
        f.lost,
        f.unanswered,
        f.unanswered_present,
        f.tokens_at_end,
        f.store_bytes / 1024,
        mean(&f.rounds),
        mean(&f.starts),
    );
    assert_eq!(f.kills, ROUNDS);
    assert_eq!(f.lost, 0);
    // Else the kills came before any write and proved nothing.
    assert!(
        f.acknowledged >= ROUNDS,
        "only {} writes acknowledged in {ROUNDS} rounds",
        f.acknowledged
    );
}

fn mean(d: &[Duration]) -> Duration {
    d.iter().sum::<Duration>() / d.len().max(1) as u32
}

/// The firewall test's two policies: A opens port 5000 to all, B port
/// 5001 and the web to none, hearth's port to the LAN only. Both keep the
/// owner's address (the LAN client's), so a kill between them never
/// locks the owner out, and the test sees that it does not.
fn policy(b: bool) -> Value {
    if b {
        json!({"https_from": ["192.168.50.0/24"], "web": false,
               "allow": [{"protocol": "tcp", "ports": 5001}]})
    } else {
        json!({"https_from": ["0.0.0.0/0", "::/0"], "web": true,
               "allow": [{"protocol": "tcp", "ports": 5000}]})
    }
}

/// Whether a stored or shown policy is B (else A).
fn is_b(policy: &Value) -> bool {
    policy["allow"][0]["ports"] == 5001
}

/// hearth's table as the kernel has it, without counters.
fn kernel_table(lab: &Lab) -> String {
    lab.boxns
        .run("nft", &["-s", "list", "table", "inet", "hearth"])
}

/// Waits until the restarted daemon has settled: nothing pending and its
/// firewall health saying the stored version is in force; the view.
async fn settled(admin: &TlsClient) -> Value {
    eventually(Duration::from_secs(30), "settled", async || {
        let view = admin.get("/api/v1/firewall").await.json();
        if view.get("pending").is_none() {
            let health = admin.get("/api/v1/health").await.json();
            let fw = &health["components"]["firewall"];
            let version = view["version"].as_u64().unwrap();
            if fw["state"] == "ok"
                && fw["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(&format!("policy version {version} ")))
            {
                return Ok(view);
            }
        }
        Err(view)
    })
    .await
}

/// Asks for a server named `web`, as the member holding `token`.
async fn create_web(client: &TlsClient, token: &str) -> Result<(u16, Value), String> {
    request(
        client,
        "POST",
        "/api/v1/servers",
        r#"{"name":"web"}"#,
        token,
    )
    .await
}

const FIREWALL_ROUNDS: usize = 10;

#[tokio::test]
async fn a_firewall_change_killed_mid_apply_leaves_a_whole_ruleset_and_the_owner_in() {
    let lab = Lab::from_lan("fwcrash");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("state");
    let window_s = 10;
    let mut d = lab.start_hearth(window_s, Some(state_dir.clone()));
    let admin = d.admin_client();
    in_force(&admin, 0).await;
    // An API token survives the restarts (a session would too, but the
    // harness signs in anew at each start).
    let token = admin.new_token("fw").await;
    // The two whole rulesets, and how long a change takes to answer (the
    // kills land within that).
    let mut tables = Vec::new();
    let mut took = Duration::ZERO;
    for b in [false, true] {
        let began = Instant::now();
        let r = put_policy(&admin, b, false).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        took = took.max(began.elapsed());
        tables.push(kernel_table(&lab));
    }
    assert_ne!(tables[0], tables[1]);
    let mut current_b = true;
    let mut rng = Rng::from_env();
    eprintln!(
        "firewall: seed {} (HEARTH_CRASH_SEED), a change answers in {took:?}",
        rng.seed()
    );
    let mut acked_rounds = 0;
    for round in 0..FIREWALL_ROUNDS {
        let to_b = !current_b;
        // Every other change awaits confirmation: killed, it is taken
        // back at the next start whether or not it was answered.
        let confirm = round % 2 == 1;
        let delay = rng.delay(took.mul_f32(1.2));
        let put = {
            let (client, token) = (d.client(), token.clone());
            tokio::spawn(async move {
                let body = json!({"policy": policy(to_b), "confirm": confirm}).to_string();
                request(&client, "PUT", "/api/v1/firewall", &body, &token).await
            })
        };
        tokio::time::sleep(delay).await;
        d.signal(Signal::SIGKILL);
        d.wait_exit(Duration::from_secs(10)).expect("killed");
        let answered = put.await.unwrap();
        let acked = matches!(answered, Ok((200, _)));
        acked_rounds += usize::from(acked);
        // With hearth dead (its nft may still be finishing: it is not
        // hearth's to kill), the kernel holds one of the two whole.
        let now = kernel_table(&lab);
        assert!(
            tables.contains(&now),
            "round {round} (delay {delay:?}): the kernel holds neither ruleset:\n{now}"
        );

        // The restart signs the owner in over the LAN, through whatever
        // ruleset is in force: a locked-out owner fails here.
        let _dead = std::mem::replace(&mut d, lab.start_hearth(window_s, Some(state_dir.clone())));
        let admin = d.admin_client();
        let view = settled(&admin).await;
        let stored_b = is_b(&view["policy"]);
        let now = kernel_table(&lab);
        assert_eq!(
            now,
            tables[usize::from(stored_b)],
            "round {round}: the kernel's ruleset is not the stored policy's: {view}"
        );
        if acked && !confirm {
            assert_eq!(stored_b, to_b, "round {round}: an answered change was lost");
        }
        if confirm {
            assert_eq!(
                stored_b, current_b,
                "round {round}: a change never confirmed outlived the restart"
            );
        }
        eprintln!(
            "firewall round {round}: delay {delay:?}, confirm {confirm}, answered {:?}, now {}",
            answered.map(|(status, _)| status),
            if stored_b { "B" } else { "A" }
        );
        current_b = stored_b;
    }
    eprintln!("firewall: {FIREWALL_ROUNDS} kills, {acked_rounds} after the answer");
}

async fn put_policy(admin: &TlsClient, b: bool, confirm: bool) -> common::Reply {
    let body = json!({"policy": policy(b), "confirm": confirm}).to_string();
    admin.call("PUT", "/api/v1/firewall", &body).await
}

/// How a server round's kill comes: while the create is in flight (it
/// may or may not be committed), as soon as it is answered, or later
/// while the server is being made.
#[derive(Debug, Clone, Copy)]
enum Moment {
    InFlight,
    Answered,
    Making,
}

const SERVER_MOMENTS: [Moment; 6] = [
    Moment::Answered,
    Moment::Making,
    Moment::InFlight,
    Moment::Making,
    Moment::InFlight,
    Moment::InFlight,
];

#[tokio::test(flavor = "multi_thread")]
async fn a_server_create_killed_midway_comes_up_or_leaves_nothing() {
    let mut sb = ServersBox::start();
    sb.daemon
        .add_user("ann", "a long enough password 1", "member")
        .await;
    // Ann's API token signs her in across the restarts.
    let ann = member_client(&sb.daemon, None);
    let session = ann.login("ann", "a long enough password 1").await;
    let r = ann
        .as_user(&session, "POST", "/api/v1/tokens", r#"{"name":"crash"}"#)
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let token = r.json()["token"].as_str().unwrap().to_string();
    let mut rng = Rng::from_env();
    eprintln!("servers: seed {} (HEARTH_CRASH_SEED)", rng.seed());
    // How long a create takes to running, measured on the first round
    // that sees one: the later kills land within it.
    let mut making = Duration::from_secs(8);
    for (round, moment) in SERVER_MOMENTS.into_iter().enumerate() {
        let client = member_client(&sb.daemon, Some(&token));
        let began = Instant::now();
        let create = {
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move { create_web(&client, &token).await })
        };
        let delay = match moment {
            // A create is answered within milliseconds: the kill lands
            // before or after its commit.
            Moment::InFlight => rng.delay(Duration::from_millis(3)),
            Moment::Answered => Duration::ZERO,
            Moment::Making => rng.delay(making),
        };
        let mut answer = None;
        if !matches!(moment, Moment::InFlight) {
            let (status, created) = create.await.unwrap().expect("the create is answered");
            assert_eq!(status, 201, "round {round}: {created}");
            answer = Some(created["id"].as_str().unwrap().to_string());
            tokio::time::sleep(delay).await;
            sb.kill_and_restart();
        } else {
            tokio::time::sleep(delay).await;
            sb.kill_and_restart();
            if let Ok((201, created)) = create.await.unwrap() {
                answer = Some(created["id"].as_str().unwrap().to_string());
            }
        }
        let client = member_client(&sb.daemon, Some(&token));
        let (status, list) = request(&client, "GET", "/api/v1/servers", "", &token)
            .await
            .unwrap();
        assert_eq!(status, 200, "{list}");
        let ids: Vec<String> = list["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= 1, "round {round}: one create, servers {list}");
        if let Some(id) = &answer {
            assert_eq!(
                ids,
                std::slice::from_ref(id),
                "round {round}: an answered create is missing"
            );
        }
        eprintln!(
            "servers round {round}: {moment:?} after {delay:?}: answered {}, present {}",
            answer.is_some(),
            !ids.is_empty()
        );
        if let Some(id) = ids.first() {
            // There: it comes up, from whatever the kill left half done.
            let mut stream = follow(&client).await;
            let wait = Duration::from_secs(120);
            if let Err(last) = stream
                .try_until("servers", wait, |r| {
                    server(r, id).is_some_and(|s| s["phase"] == "running")
                })
                .await
            {
                panic!(
                    "round {round}: server {id} not running within {wait:?} after the restart; the last servers event: {last}\nits unit's output:\n{}\nhearth's log:\n{}",
                    sb.unit_log_tail(id),
                    common::last_lines(&sb.daemon.stderr(), 40),
                );
            }
            if matches!(moment, Moment::Answered) {
                making = began.elapsed();
            }
            let (status, gone) = request(
                &client,
                "DELETE",
                &format!("/api/v1/servers/{id}?erase=true"),
                "",
                &token,
            )
            .await
            .unwrap();
            assert_eq!(status, 202, "{gone}");
            stream
                .until("servers", Duration::from_secs(60), |r| {
                    r["status"]["servers"].is_array() && server(r, id).is_none()
                })
                .await;
        }
        no_leftovers(&sb, round).await;
    }
    // The name is free again: a last create, not killed, runs.
    let client = member_client(&sb.daemon, Some(&token));
    let (status, created) = create_web(&client, &token).await.unwrap();
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    follow(&client)
        .await
        .until("servers", Duration::from_secs(120), |r| {
            server(r, &id).is_some_and(|s| s["phase"] == "running")
        })
        .await;
    remove_leftovers(&sb.lab.layout, &id);
}

/// A client of `d`'s API, with `token` as its bearer (for the event
/// stream) if given.
fn member_client(d: &Daemon, token: Option<&str>) -> TlsClient {
    let mut c = d.client();
    c.bearer = token.map(str::to_string);
    c
}

/// Nothing of a server is left in the box: no user of the servers' with
/// its home in the lab's storage, no storage or runtime folder, no engine
/// running, and the daemon (its manager, as admin sees it) reports no user
/// or unit without a server.
async fn no_leftovers(sb: &ServersBox, round: usize) {
    let storage = sb.lab.layout.storage.to_string_lossy().into_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let users: Vec<&str> = passwd
        .lines()
        .filter(|l| {
            l.starts_with("hs-") && l.split(':').nth(5).is_some_and(|h| h.starts_with(&storage))
        })
        .collect();
    assert!(users.is_empty(), "round {round}: users left: {users:?}");
    // A server's folders are named by its id (the helper keeps files of
    // its own beside them, e.g. the ports it guards).
    for dir in [&sb.lab.layout.storage, &sb.lab.layout.run] {
        let left: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| ServerId::try_from(name.as_str()).is_ok())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "round {round}: left in {}: {left:?}",
            dir.display()
        );
    }
    let engines: Vec<String> = sb.running.lock().unwrap().keys().cloned().collect();
    assert!(
        engines.is_empty(),
        "round {round}: engines running: {engines:?}"
    );
    let mut stream = follow(&sb.daemon.admin_client()).await;
    let report = stream
        .until("servers", Duration::from_secs(30), |r| {
            r["status"].is_object()
        })
        .await;
    for field in ["unknown_users", "unknown_units"] {
        let listed = &report["status"][field];
        assert!(
            listed.is_null() || listed.as_array().is_some_and(Vec::is_empty),
            "round {round}: {field}: {report}"
        );
    }
}
