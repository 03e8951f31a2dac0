//! An event stream lasts only as long as the access it was opened with:
//! signing out, a revoked session or token, a changed role, a deleted user
//! or a status made private ends the streams it concerns, at once, and
//! leaves the others open.

use hearth_testkit as common;

use std::time::Duration;

use common::sse::{self, SseStream};
use common::{Daemon, Options, Protocol, TlsClient};

/// Far longer than the server needs; a stream that outlives it was missed.
const WAIT: Duration = Duration::from_secs(5);
const PW: &str = "another fine passphrase here";

async fn add_user(admin: &TlsClient, name: &str, role: &str) {
    let body = format!("{{\"username\":\"{name}\",\"password\":\"{PW}\",\"role\":\"{role}\"}}");
    let r = admin.call("POST", "/api/v1/users", &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

/// A client signed in as `username`, with its own new session.
async fn signed_in(d: &Daemon, username: &str, password: &str) -> TlsClient {
    let mut c = d.client();
    c.session = Some(c.login(username, password).await);
    c
}

/// A stream on the system topic, past its snapshot.
async fn follow(client: &TlsClient, protocol: Protocol) -> SseStream {
    let mut s = sse::open(client, protocol, "/api/v1/events?topics=system", None).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.next(WAIT).await.expect("a snapshot").event, "snapshot");
    s
}

/// The stream still delivers: two more samples arrive (one a second), so
/// not just a frame that was already on its way.
async fn still_live(s: &mut SseStream, what: &str) {
    for _ in 0..2 {
        let e = s.next(WAIT).await;
        assert!(
            e.as_ref().is_some_and(|e| e.event == "system"),
            "{what}: the stream should still deliver, got {e:?}"
        );
    }
}

/// The server ends the stream, and a reconnect with the same credential
/// is refused.
async fn cut_off(s: &mut SseStream, client: &TlsClient, what: &str) {
    assert!(s.ends_within(WAIT).await, "{what}: the stream goes on");
    let again = sse::follow(client, "/api/v1/events").await;
    assert_eq!(again.status, 401, "{what}: reconnecting is not refused");
}

fn shows_mac(sample: &serde_json::Value) -> bool {
    sample["net"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.get("mac").is_some())
}

#[tokio::test]
async fn signing_out_ends_the_streams_of_that_session_only() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    add_user(&admin, "bob", "member").await;
    let laptop = signed_in(&d, "bob", PW).await;
    let phone = signed_in(&d, "bob", PW).await;
    let mut on_laptop = follow(&laptop, Protocol::Http1).await;
    let mut on_phone = follow(&phone, Protocol::Http2).await;
    let mut on_admin = follow(&admin, Protocol::Http1).await;

    let r = laptop.call("DELETE", "/api/v1/session", "").await;
    assert_eq!(r.status, 204);
    cut_off(&mut on_laptop, &laptop, "the signed-out session").await;
    still_live(&mut on_phone, "bob's other session").await;
    still_live(&mut on_admin, "another user").await;

    // Revoking a session from another device ends its stream too (the
    // laptop's is gone, so the phone's one other session is the desk's).
    let desk = signed_in(&d, "bob", PW).await;
    let mut on_desk = follow(&desk, Protocol::Http2).await;
    let sessions = phone.call("GET", "/api/v1/sessions", "").await.json();
    let desk_id = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("the desk's session")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/sessions/{desk_id}");
    let r = phone.call("DELETE", &path, "").await;
    assert_eq!(r.status, 204);
    cut_off(&mut on_desk, &desk, "the revoked session").await;
    still_live(&mut on_phone, "the session that revoked it").await;
}

#[tokio::test]
async fn a_new_role_a_disabled_or_deleted_user_ends_that_users_streams() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    add_user(&admin, "ann", "admin").await;
    add_user(&admin, "cy", "viewer").await;
    let ann = signed_in(&d, "ann", PW).await;
    let cy = signed_in(&d, "cy", PW).await;
    let mut as_admin = follow(&ann, Protocol::Http1).await;
    let mut cys = follow(&cy, Protocol::Http2).await;
    let sample = as_admin.next(WAIT).await.expect("a sample");
    assert!(shows_mac(&sample.json()), "an admin's cut: {}", sample.data);

    let patch = |user: &'static str, body: &'static str| {
        let admin = admin.clone();
        async move {
            let path = format!("/api/v1/users/{user}");
            let r = admin.call("PATCH", &path, body).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    // Demoted: the admin's cut ends; reconnecting gives a viewer's.
    patch("ann", "{\"role\":\"viewer\"}").await;
    assert!(
        as_admin.ends_within(WAIT).await,
        "a stream cut for an admin goes on after the demotion"
    );
    still_live(&mut cys, "a user whose role did not change").await;
    let mut as_viewer = follow(&ann, Protocol::Http1).await;
    let sample = as_viewer.next(WAIT).await.expect("a sample");
    assert!(
        !shows_mac(&sample.json()),
        "a viewer's cut: {}",
        sample.data
    );

    patch("cy", "{\"disabled\":true}").await;
    cut_off(&mut cys, &cy, "a disabled user").await;
    still_live(&mut as_viewer, "another user").await;

    let r = admin.call("DELETE", "/api/v1/users/ann", "").await;
    assert_eq!(r.status, 204);
    cut_off(&mut as_viewer, &ann, "a deleted user").await;
}

#[tokio::test]
async fn making_the_status_private_ends_the_visitors_streams() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let set_public = |on: bool| {
        let admin = admin.clone();
        async move {
            let body = format!("{{\"public_status\":{on}}}");
            let r = admin.patch_settings(&body).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    set_public(true).await;
    let visitor = d.client();
    let mut visiting = follow(&visitor, Protocol::Http2).await;
    let mut admins = follow(&admin, Protocol::Http1).await;
    // A change that takes someone else's access away (a sign-out) makes
    // every stream check, and leaves the visitor's open.
    let other = signed_in(&d, "admin", common::ADMIN_PASSWORD).await;
    let r = other.call("DELETE", "/api/v1/session", "").await;
    assert_eq!(r.status, 204);
    still_live(&mut visiting, "a visitor, after an unrelated sign-out").await;

    set_public(false).await;
    cut_off(
        &mut visiting,
        &visitor,
        "a visitor of a status made private",
    )
    .await;
    still_live(&mut admins, "the admin").await;
}

#[tokio::test]
async fn a_revoked_token_ends_its_stream() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let body = "{\"name\":\"dashboard\"}";
    let r = admin.call("POST", "/api/v1/tokens", body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let created = r.json();
    let mut dashboard = d.client();
    dashboard.bearer = Some(created["token"].as_str().unwrap().to_string());
    let mut by_token = follow(&dashboard, Protocol::Http2).await;
    let mut by_session = follow(&admin, Protocol::Http1).await;

    let id = created["id"].as_str().unwrap();
    let r = admin
        .call("DELETE", &format!("/api/v1/tokens/{id}"), "")
        .await;
    assert_eq!(r.status, 204);
    cut_off(&mut by_token, &dashboard, "a revoked token").await;
    still_live(&mut by_session, "the session of the token's owner").await;
}
