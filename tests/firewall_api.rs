//! The firewall through hearth's API, with the daemon running in the box
//! namespace of a test network (`common::fw_lab`) and this test's thread
//! in the LAN client's namespace: every request crosses the ruleset that
//! hearth applies. Needs root, nftables and iproute2.

use hearth_testkit as common;

use std::time::{Duration, Instant};

use common::fw_lab::{BOX_LAN, Lab, Listener, in_force, reaches};
use common::{TlsClient, sse};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

const WINDOW_S: u64 = 10;

async fn put(client: &TlsClient, body: Value) -> common::Reply {
    client
        .call("PUT", "/api/v1/firewall", &body.to_string())
        .await
}

fn opening(port: u16) -> Value {
    json!({"https_from": ["0.0.0.0/0", "::/0"], "web": true,
           "allow": [{"protocol": "tcp", "ports": port}]})
}

fn table(lab: &Lab) -> String {
    lab.boxns
        .run("nft", &["-s", "list", "table", "inet", "hearth"])
}

#[tokio::test]
async fn a_change_is_kept_only_when_confirmed_over_a_new_connection() {
    let lab = Lab::from_lan("fwok");
    Listener::start(&lab.boxns, "0.0.0.0:5000");
    let (_d, admin) = lab.hearth_in_force(WINDOW_S).await;
    let r = admin.post_json("/api/v1/firewall/confirm", "", None).await;
    assert_eq!(r.status, 409, "nothing to confirm yet: {:?}", r.body);

    // The change goes over a connection opened before it.
    let mut old = admin.http2::<http_body_util::Full<bytes::Bytes>>().await;
    let req = |method: &str, path: &str, body: String| {
        http::Request::builder()
            .method(method)
            .uri(format!("https://localhost:{}{path}", admin.addr.port()))
            .header("content-type", "application/json")
            .header(
                "cookie",
                format!(
                    "{}={}",
                    common::SESSION_COOKIE,
                    admin.session.as_deref().unwrap()
                ),
            )
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .unwrap()
    };
    let body = json!({"policy": opening(5000)}).to_string();
    let response = old
        .send_request(req("PUT", "/api/v1/firewall", body))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // That connection proves nothing any more: the server closed it, or a
    // confirmation over it is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    match old
        .send_request(req("POST", "/api/v1/firewall/confirm", String::new()))
        .await
    {
        Err(_) => {}
        Ok(r) => assert_eq!(r.status(), 409, "a confirmation over an old connection"),
    }
    assert!(
        reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")),
        "in force"
    );
    let r = admin.post_json("/api/v1/firewall/confirm", "", None).await;
    assert_eq!(r.status, 200, "over a new connection: {:?}", r.body);
    assert_eq!(r.json()["confirmed"], 1);

    tokio::time::sleep(Duration::from_secs(WINDOW_S + 2)).await;
    let view = admin.get("/api/v1/firewall").await.json();
    assert_eq!(view["version"], 1, "kept: {view}");
    assert!(view.get("pending").is_none(), "{view}");
    assert!(
        reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")),
        "still open"
    );
    let audit = admin.get("/api/v1/audit").await.json();
    let actions = common::texts(&audit["records"], "action");
    assert!(actions.contains(&"firewall.confirm") && actions.contains(&"firewall.change"));
    assert!(!actions.contains(&"firewall.rollback"), "{actions:?}");
}

#[tokio::test]
async fn without_confirmation_the_previous_ruleset_comes_back() {
    let lab = Lab::from_lan("fwrb");
    Listener::start(&lab.boxns, "0.0.0.0:5000");
    let (_d, admin) = lab.hearth_in_force(WINDOW_S).await;
    let before = table(&lab);
    let r = put(&admin, json!({"policy": opening(5000)})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let by = r.json()["confirm_by_ms"].as_u64().expect("a deadline");
    assert!(reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")));
    in_force(&admin, 2).await; // the rollback is version 2
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now_ms >= by, "not before the window's end");
    assert_eq!(table(&lab), before, "the previous ruleset, as it was");
    assert!(!reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")));
    let view = admin.get("/api/v1/firewall").await.json();
    assert_eq!(view["policy"]["allow"], json!([]), "{view}");
}

#[tokio::test]
async fn a_daemon_killed_during_the_window_rolls_back_at_its_next_start() {
    let lab = Lab::from_lan("fwkill");
    Listener::start(&lab.boxns, "0.0.0.0:5000");
    let (mut d, admin) = lab.hearth_in_force(WINDOW_S).await;
    let r = put(&admin, json!({"policy": opening(5000)})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    d.signal(Signal::SIGKILL);
    d.wait_exit(Duration::from_secs(5)).expect("killed");
    let state = d.state_dir();
    // The kernel keeps the unconfirmed ruleset while hearth is down.
    assert!(reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")));

    let again = lab.start_hearth(WINDOW_S, Some(state));
    let admin = again.admin_client();
    in_force(&admin, 2).await;
    let view = admin.get("/api/v1/firewall").await.json();
    assert_eq!(
        view["policy"]["allow"],
        json!([]),
        "the previous policy: {view}"
    );
    assert!(view.get("pending").is_none());
    assert!(!reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")));
    let audit = admin.get("/api/v1/audit").await.json();
    let rollback = common::audited(&audit, "firewall.rollback");
    assert_eq!(rollback["target"], "not confirmed before hearth stopped");
}

/// A table like Docker's, which hearth must leave alone.
const OTHER_TABLE: &str = "table ip filter {\n\tchain DOCKER-USER {\n\t\tcounter return\n\t}\n}\n";

#[tokio::test]
async fn drift_is_put_right_and_reported_and_other_tables_are_untouched() {
    let lab = Lab::from_lan("fwdrift");
    lab.boxns
        .sh("printf '%s' \"$1\" | nft -f -", &[OTHER_TABLE]);
    let other = lab.boxns.run("nft", &["list", "table", "ip", "filter"]);
    let (_d, admin) = lab.hearth_in_force(WINDOW_S).await;
    let applied = table(&lab);
    let mut events = sse::follow(&admin, "/api/v1/events?topics=firewall").await;

    // A rule deleted by hand.
    let listing = lab
        .boxns
        .run("nft", &["-a", "list", "chain", "inet", "hearth", "input"]);
    let handle = listing
        .lines()
        .find(|l| l.contains("comment \"web\""))
        .and_then(|l| l.rsplit("# handle ").next())
        .expect("the web rule and its handle")
        .trim()
        .to_string();
    lab.boxns.run(
        "nft",
        &[
            "delete", "rule", "inet", "hearth", "input", "handle", &handle,
        ],
    );
    assert_ne!(table(&lab), applied);
    let event = repaired(&mut events).await;
    assert!(
        event["status"]["last_apply"]["reason"]
            .as_str()
            .unwrap()
            .contains("changed by hand"),
        "{event}"
    );
    assert_eq!(table(&lab), applied, "the rule is back");

    // The table flushed.
    lab.boxns.run("nft", &["flush", "table", "inet", "hearth"]);
    let event = repaired(&mut events).await;
    assert!(
        event["status"]["last_apply"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("drift")
    );
    assert_eq!(table(&lab), applied, "the rules are back");
    assert_eq!(
        lab.boxns.run("nft", &["list", "table", "ip", "filter"]),
        other
    );
    // The reports carry the counters the page shows.
    assert!(
        event["status"]["counters"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{event}"
    );
}

/// The next `firewall` event that reports a repair.
async fn repaired(events: &mut sse::SseStream) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = events
            .next(left)
            .await
            .expect("a firewall event within 30 s");
        if e.event != "firewall" {
            continue;
        }
        let v = e.json();
        let fresh = v["status"]["last_apply"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("drift"));
        if fresh && v["state"] == "ok" {
            return v;
        }
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_the_kernel_is_unchanged() {
    let lab = Lab::from_lan("fwbad");
    let (_d, admin) = lab.hearth_in_force(WINDOW_S).await;
    // Without counters (-s): the requests below are counted.
    let before = lab.boxns.run("nft", &["-s", "list", "ruleset"]);

    let r = put(
        &admin,
        json!({"policy": {"https_from": ["0.0.0.0/0"],
        "allow": [{"protocol": "tcp", "ports": "9-3"}]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "allow[0].ports");

    let forward = json!({"protocol": "tcp", "port": 2222, "to": "192.168.50.20", "to_port": 22});
    let r = put(
        &admin,
        json!({"policy": {"https_from": ["0.0.0.0/0"],
        "forwards": [forward, forward]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "forwards[1].port");
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("forwards[0]") && message.contains("tcp 2222"),
        "{message}"
    );

    // Cutting off the address the change comes from needs saying so.
    let r = put(&admin, json!({"policy": {"https_from": ["10.0.0.0/8"]}})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "https_from");
    assert!(r.error_message().contains("192.168.50.10"));

    let r = put(&admin, json!({"policy": {"https_from": []}, "bogus": 1})).await;
    assert_eq!(r.status, 400);

    assert_eq!(
        lab.boxns.run("nft", &["-s", "list", "ruleset"]),
        before,
        "nothing applied"
    );
    assert_eq!(admin.get("/api/v1/firewall").await.json()["version"], 0);
}

#[tokio::test]
async fn only_admins_see_or_change_the_firewall() {
    let lab = Lab::from_lan("fwrole");
    let d = lab.start_hearth(WINDOW_S, None);
    d.add_user("mia", "a long enough password 1", "member")
        .await;
    let mia = {
        let mut c = d.client();
        c.session = Some(c.login("mia", "a long enough password 1").await);
        c
    };
    assert_eq!(mia.get("/api/v1/firewall").await.status, 403);
    assert_eq!(
        put(&mia, json!({"policy": opening(5000)})).await.status,
        403
    );
    let r = mia.get("/api/v1/events?topics=firewall").await;
    assert_eq!(r.status, 403, "the topic is admins' only");
}
