//! Who may see the live status: signed-in users by role, visitors only
//! when the owner made the status public, and each with its own cut of the
//! data (role filtering on the stream).

use hearth_testkit as common;

use std::time::Duration;

use common::sse;
use common::{Daemon, Options, Protocol, TlsClient};

const WAIT: Duration = Duration::from_secs(5);

/// `path` opened as an event stream over HTTP/1.1 by `c`, and its
/// snapshot (within [`WAIT`]).
async fn snapshot_h1(c: &TlsClient, path: &str) -> (sse::SseStream, sse::SseEvent) {
    sse::open_snapshot(c, Protocol::Http1, path, WAIT).await
}

#[tokio::test]
async fn the_status_needs_a_session_and_each_role_gets_its_cut() {
    let d = Daemon::start(Options::default());
    let anon = d.client();
    for path in common::MONITORING_PATHS {
        let r = anon.get(path).await;
        assert_eq!(r.status, 401, "{path}");
    }
    let admin = d.admin_client();
    let pw = "another fine passphrase here";
    let r = admin
        .call(
            "POST",
            "/api/v1/users",
            &format!("{{\"username\":\"eve\",\"password\":\"{pw}\",\"role\":\"viewer\"}}"),
        )
        .await;
    assert_eq!(r.status, 201);
    let mut viewer = d.client();
    viewer.session = Some(viewer.login("eve", pw).await);

    // The admin sees hardware addresses; a viewer does not, on the status
    // and on the stream alike.
    let has_mac = |v: &serde_json::Value| {
        v["net"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.get("mac").is_some())
    };
    let admin_status = admin.get("/api/v1/status").await.json();
    let viewer_status = viewer.get("/api/v1/status").await.json();
    assert!(
        has_mac(&admin_status["system"]),
        "this machine has a MAC to hide"
    );
    assert!(!has_mac(&viewer_status["system"]));
    assert!(viewer_status["system"]["processes"].is_object());
    let mut stream = sse::follow(&viewer, "/api/v1/events?topics=system").await;
    assert_eq!(stream.status, 200);
    let snap = stream.next(WAIT).await.unwrap();
    assert!(!has_mac(&snap.json()["system"]));
    let live = stream.next(WAIT).await.unwrap();
    assert_eq!(live.event, "system");
    assert!(!has_mac(&live.json()));
    assert_eq!(
        viewer.get("/metrics").await.status,
        200,
        "viewers may scrape"
    );
}

#[tokio::test]
async fn public_status_lets_visitors_see_a_reduced_view() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let anon = d.client();
    let r = admin.patch_settings("{\"public_status\":true}").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["public_status"], true);
    assert_eq!(r.json()["hostname"], "testbox");

    let v = anon.get("/api/v1/status").await;
    assert_eq!(v.status, 200);
    let system = &v.json()["system"];
    assert!(system["cpu"]["cores"].is_array());
    assert!(
        system.get("processes").is_none(),
        "visitors do not see processes"
    );
    assert!(
        system["net"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.get("mac").is_none())
    );
    assert!(
        v.json().get("health").is_none(),
        "visitors get a reduced topic set"
    );
    let (_stream, snap) = sse::open_snapshot(&anon, Protocol::Http2, "/api/v1/events", WAIT).await;
    assert!(snap.json().get("health").is_none());
    // Asking for more than a visitor may follow is cut down, not refused:
    // the public page asks for what a signed-in user gets.
    let (mut cut, snap) = snapshot_h1(&anon, "/api/v1/events?topics=system,health").await;
    assert!(snap.json()["system"].is_object(), "{}", snap.data);
    assert!(snap.json().get("health").is_none(), "{}", snap.data);
    let live = cut.next(WAIT).await.unwrap();
    assert_eq!(live.event, "system");
    // Nothing left to follow: refused, naming what a visitor may follow.
    let r = anon.get("/api/v1/events?topics=health").await;
    assert_eq!(r.status, 403);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("may follow: system"), "{message}");
    assert_eq!(anon.get("/metrics").await.status, 401, "no public scraping");
    // Settings are admin-only.
    assert_eq!(
        anon.patch_settings("{\"public_status\":false}")
            .await
            .status,
        401
    );

    let r = admin.patch_settings("{\"public_status\":false}").await;
    assert_eq!(r.json()["public_status"], false);
    assert_eq!(anon.get("/api/v1/status").await.status, 401);
}

/// The root shell on the box's console: off on a new box, an admin's
/// setting alone, audited, and a wrong type named.
#[tokio::test]
async fn the_console_shell_is_off_until_an_admin_turns_it_on() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let settings = admin.get("/api/v1/settings").await;
    assert_eq!(settings.status, 200);
    assert_eq!(
        settings.json()["console_shell"],
        false,
        "{:?}",
        settings.body
    );

    let r = admin.patch_settings(r#"{"console_shell":true}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["console_shell"], true);
    assert_eq!(
        r.json()["public_status"],
        false,
        "the other setting untouched"
    );
    let settings = admin.get("/api/v1/settings").await.json();
    assert_eq!(settings["console_shell"], true, "{settings}");
    let audit = admin.get("/api/v1/audit").await.json();
    let record = common::audited(&audit, "settings.console_shell");
    assert_eq!(record["actor"], "admin", "{record}");
    assert_eq!(record["target"], "true", "{record}");
    assert_eq!(record["outcome"], "success", "{record}");

    // Members and viewers may neither change nor read it; visitors must
    // sign in.
    for role in ["member", "viewer"] {
        let c = d.signed_in(&format!("{role}1"), role).await;
        let r = c.patch_settings(r#"{"console_shell":false}"#).await;
        assert_eq!(r.status, 403, "{role}: {:?}", r.body);
        assert_eq!(c.get("/api/v1/settings").await.status, 403, "{role}");
    }
    let r = d
        .client()
        .patch_settings(r#"{"console_shell":false}"#)
        .await;
    assert_eq!(r.status, 401);

    // Not a boolean: a 400 naming the field, and nothing of the request
    // stored.
    for body in [
        r#"{"console_shell":"yes"}"#,
        r#"{"console_shell":1}"#,
        r#"{"public_status":true,"console_shell":"off"}"#,
    ] {
        let r = admin.patch_settings(body).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(
            r.json()["error"]["field"],
            "console_shell",
            "{body}: {:?}",
            r.body
        );
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains("true or false"), "{body}: {message}");
    }
    let settings = admin.get("/api/v1/settings").await.json();
    assert_eq!(settings["console_shell"], true, "{settings}");
    assert_eq!(settings["public_status"], false, "{settings}");

    let r = admin.patch_settings(r#"{"console_shell":false}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["console_shell"], false);
    let audit = admin.get("/api/v1/audit").await.json();
    let targets = common::audit_column(&audit, "settings.console_shell", "target");
    assert_eq!(
        targets,
        ["false", "true"],
        "newest first, the refused not recorded: {audit}"
    );
}

#[tokio::test]
async fn admins_follow_the_audit_log_live_and_others_may_not() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let mut stream = sse::follow(&admin, "/api/v1/events?topics=audit").await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next(WAIT).await.unwrap().event, "snapshot");
    let pw = "another fine passphrase here";
    let r = admin
        .call(
            "POST",
            "/api/v1/users",
            &format!("{{\"username\":\"ann\",\"password\":\"{pw}\",\"role\":\"viewer\"}}"),
        )
        .await;
    assert_eq!(r.status, 201);
    let e = stream.next(WAIT).await.expect("an audit event");
    assert_eq!(e.event, "audit");
    assert_eq!(e.json()["action"], "user.create");
    assert_eq!(e.json()["actor"], "admin");
    assert_eq!(e.json()["target"], "ann");

    let mut viewer = d.client();
    viewer.session = Some(viewer.login("ann", pw).await);
    let r = viewer.get("/api/v1/events?topics=audit").await;
    assert_eq!(r.status, 403);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("may follow: system, health"), "{message}");
    // Following everything, or naming `audit` among others, a viewer
    // simply gets no audit events.
    let mut all = sse::follow(&viewer, "/api/v1/events").await;
    let snap = all.next(WAIT).await.unwrap();
    assert!(snap.json().get("audit").is_none());
    let (mut named, snap) = snapshot_h1(&viewer, "/api/v1/events?topics=system,audit").await;
    assert!(snap.json()["system"].is_object());
    assert!(snap.json().get("audit").is_none());
    // An audited change while the viewer's streams are open: the admin's
    // stream gets it, the viewer's only system samples.
    let r = admin
        .call(
            "POST",
            "/api/v1/users",
            &format!("{{\"username\":\"bob\",\"password\":\"{pw}\",\"role\":\"viewer\"}}"),
        )
        .await;
    assert_eq!(r.status, 201);
    // (After the records of the viewer's sign-in.)
    loop {
        let e = stream.next(WAIT).await.expect("an audit event");
        assert_eq!(e.event, "audit");
        if e.json()["target"] == "bob" {
            break;
        }
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut seen = Vec::new();
    while let Some(e) = named
        .next(until.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        seen.push(e.event);
    }
    assert!(seen.iter().any(|e| e == "system"), "{seen:?}");
    assert!(seen.iter().all(|e| e == "system"), "{seen:?}");
    admin.call("DELETE", "/api/v1/users/ann", "").await;
}
