//! An event stream lasts only as long as the access it was opened with:
//! signing out, a revoked session or token, a changed role, a deleted user
//! or a status made private ends the streams it concerns, at once, and
//! leaves the others open.

mod common;

use std::time::Duration;

use common::sse::{self, SseStream};
use common::{Daemon, Options, Protocol, TlsClient};

/// Far longer than the server needs; a stream that outlives it was missed.
const WAIT: Duration = Duration::from_secs(5);
const PW: &str = "another fine passphrase here";

async fn add_user(admin: &TlsClient, name: &str, role: &str) {
    let body = format!("{{\"username\":\"{name}\",\"password\":\"{PW}\",\"role\":\"{role}\"}}");
    let r = admin.send("POST", "/api/v1/users", &body, &[], &[]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

fn with_session(d: &Daemon, token: &str) -> TlsClient {
    let mut c = d.client();
    c.session = Some(token.to_string());
    c
}

/// A stream on the system topic, past its snapshot.
async fn follow(client: &TlsClient) -> SseStream {
    let mut s = sse::open(
        client,
        Protocol::Http1,
        "/api/v1/events?topics=system",
        None,
    )
    .await;
    assert_eq!(s.status, 200);
    assert_eq!(s.next(WAIT).await.expect("a snapshot").event, "snapshot");
    s
}

/// The stream still delivers: the next sample arrives (one a second).
async fn still_live(s: &mut SseStream, what: &str) {
    let e = s.next(WAIT).await;
    assert!(
        e.as_ref().is_some_and(|e| e.event == "system"),
        "{what}: the stream should still deliver, got {e:?}"
    );
}

#[tokio::test]
async fn signing_out_ends_the_streams_of_that_session_only() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    add_user(&admin, "bob", "member").await;
    let c = d.client();
    let laptop = with_session(&d, &c.login("bob", PW).await);
    let phone = with_session(&d, &c.login("bob", PW).await);
    let mut on_laptop = follow(&laptop).await;
    let mut on_phone = follow(&phone).await;
    let mut on_admin = follow(&admin).await;

    let r = laptop.send("DELETE", "/api/v1/session", "", &[], &[]).await;
    assert_eq!(r.status, 204);
    assert!(
        on_laptop.ends_within(WAIT).await,
        "the signed-out session's stream goes on"
    );
    still_live(&mut on_phone, "bob's other session").await;
    still_live(&mut on_admin, "another user").await;
    let again = sse::open(&laptop, Protocol::Http1, "/api/v1/events", None).await;
    assert_eq!(again.status, 401, "reconnecting is refused");

    // Revoking a session from another device ends its stream too (the
    // laptop's is gone, so the phone's one other session is the desk's).
    let desk = with_session(&d, &c.login("bob", PW).await);
    let mut on_desk = follow(&desk).await;
    let sessions = phone
        .send("GET", "/api/v1/sessions", "", &[], &[])
        .await
        .json();
    let desk_id = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .expect("the desk's session")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = phone
        .send(
            "DELETE",
            &format!("/api/v1/sessions/{desk_id}"),
            "",
            &[],
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        on_desk.ends_within(WAIT).await,
        "the revoked session's stream goes on"
    );
    still_live(&mut on_phone, "the session that revoked it").await;
}

#[tokio::test]
async fn a_new_role_or_a_deleted_user_ends_that_users_streams() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    add_user(&admin, "ann", "viewer").await;
    add_user(&admin, "cy", "viewer").await;
    let c = d.client();
    let ann = with_session(&d, &c.login("ann", PW).await);
    let cy = with_session(&d, &c.login("cy", PW).await);
    let mut as_viewer = follow(&ann).await;
    let mut cys = follow(&cy).await;

    let r = admin
        .send(
            "PATCH",
            "/api/v1/users/ann",
            "{\"role\":\"admin\"}",
            &[],
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(
        as_viewer.ends_within(WAIT).await,
        "a stream cut for a viewer goes on after the role changed"
    );
    still_live(&mut cys, "a user whose role did not change").await;
    // Reconnecting gives the new role's cut: an admin sees hardware
    // addresses.
    let mut as_admin = follow(&ann).await;
    let e = as_admin.next(WAIT).await.expect("a sample");
    assert!(
        e.json()["net"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.get("mac").is_some()),
        "the reopened stream has the admin's view: {}",
        e.data
    );

    let r = admin
        .send("DELETE", "/api/v1/users/ann", "", &[], &[])
        .await;
    assert_eq!(r.status, 204);
    assert!(
        as_admin.ends_within(WAIT).await,
        "a deleted user's stream goes on"
    );
    still_live(&mut cys, "another user").await;
    let again = sse::open(&ann, Protocol::Http1, "/api/v1/events", None).await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn making_the_status_private_ends_the_visitors_streams() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let set_public = |on: bool| {
        let admin = admin.clone();
        async move {
            let body = format!("{{\"public_status\":{on}}}");
            let r = admin
                .send("PATCH", "/api/v1/settings", &body, &[], &[])
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    set_public(true).await;
    let visitor = d.client();
    let mut visiting = follow(&visitor).await;
    let mut admins = follow(&admin).await;
    // A change that does not concern the visitor leaves the stream open.
    add_user(&admin, "dee", "viewer").await;
    still_live(&mut visiting, "a visitor, after an unrelated change").await;

    set_public(false).await;
    assert!(
        visiting.ends_within(WAIT).await,
        "a visitor keeps watching a status made private"
    );
    still_live(&mut admins, "the admin").await;
    let again = sse::open(&visitor, Protocol::Http1, "/api/v1/events", None).await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn a_revoked_token_ends_its_stream() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let r = admin
        .send(
            "POST",
            "/api/v1/tokens",
            "{\"name\":\"dashboard\"}",
            &[],
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let created = r.json();
    let mut dashboard = d.client();
    dashboard.bearer = Some(created["token"].as_str().unwrap().to_string());
    let mut by_token = follow(&dashboard).await;
    let mut by_session = follow(&admin).await;

    let id = created["id"].as_str().unwrap();
    let r = admin
        .send("DELETE", &format!("/api/v1/tokens/{id}"), "", &[], &[])
        .await;
    assert_eq!(r.status, 204);
    assert!(
        by_token.ends_within(WAIT).await,
        "a revoked token's stream goes on"
    );
    still_live(&mut by_session, "the session of the token's owner").await;
    let again = sse::open(&dashboard, Protocol::Http1, "/api/v1/events", None).await;
    assert_eq!(again.status, 401);
}
