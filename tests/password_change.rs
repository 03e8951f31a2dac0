//! Changing a password against the binary: one's own (any role, the
//! current password checked, the other sessions ended, one audit record)
//! and an admin's reset of someone else's (their sessions ended).

use hearth_testkit as common;

use common::{Daemon, Options, TlsClient};

const PW: &str = "another fine passphrase here";
const NEW_PW: &str = "a brand new passphrase now";

async fn change(c: &TlsClient, token: &str, current: &str, new: &str) -> common::Reply {
    c.as_user(
        token,
        "POST",
        "/api/v1/session/password",
        &format!(r#"{{"current_password":"{current}","new_password":"{new}"}}"#),
    )
    .await
}

async fn password_records(d: &Daemon) -> Vec<serde_json::Value> {
    let page = d
        .admin_client()
        .get("/api/v1/audit?actor=ann&limit=500")
        .await
        .json();
    let records = common::audit_records(&page, "user.password");
    records.into_iter().cloned().collect()
}

/// A daemon with user ann (`role`, password [`PW`]), a client, and a
/// session of ann's.
async fn with_ann(role: &str) -> (Daemon, TlsClient, String) {
    let d = Daemon::start(Options::default());
    d.add_user("ann", PW, role).await;
    let c = d.client();
    let session = c.login("ann", PW).await;
    (d, c, session)
}

/// An admin setting `user`'s password to [`NEW_PW`] (no current password).
async fn admin_sets_password(d: &Daemon, user: &str) -> common::Reply {
    let body = format!(r#"{{"password":"{NEW_PW}"}}"#);
    d.admin_client()
        .call("PATCH", &format!("/api/v1/users/{user}"), &body)
        .await
}

#[tokio::test]
async fn a_viewer_changes_their_own_password() {
    let (d, c, here) = with_ann("viewer").await;
    let elsewhere = c.login("ann", PW).await;

    let r = change(&c, &here, "not the password at all", NEW_PW).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "current_password");
    let r = change(&c, &here, PW, "short").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "new_password");
    let records = password_records(&d).await;
    assert_eq!(records.len(), 1, "the wrong current password is audited");
    assert_eq!(records[0]["outcome"], "failure");

    let r = change(&c, &here, PW, NEW_PW).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let records = password_records(&d).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["outcome"], "success", "newest first");
    assert_eq!(c.session_status(&here).await, 200, "this session stays");
    assert_eq!(
        c.session_status(&elsewhere).await,
        401,
        "the other session ended"
    );
    let old = c.try_login("ann", PW).await;
    assert_eq!(old.status, 401, "the old password is gone");
    c.login("ann", NEW_PW).await;

    let anon = c
        .call(
            "POST",
            "/api/v1/session/password",
            &format!(r#"{{"current_password":"{PW}","new_password":"{NEW_PW}"}}"#),
        )
        .await;
    assert_eq!(anon.status, 401, "signed out");
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled() {
    let (_d, c, here) = with_ann("member").await;
    let mut last = 0;
    for _ in 0..20 {
        last = change(&c, &here, "a wrong guess of it", NEW_PW)
            .await
            .status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "wrong guesses are throttled like sign-ins");
    let r = change(&c, &here, PW, NEW_PW).await;
    assert_eq!(r.status, 429, "the right password waits too");
    assert!(r.headers.contains_key("retry-after"), "says how long");
    let login = c.try_login("ann", PW).await;
    assert_eq!(login.status, 429, "sign-in shares the count");
}

#[tokio::test]
async fn an_admin_cannot_set_their_own_password_without_the_current_one() {
    let d = Daemon::start(Options::default());
    let r = admin_sets_password(&d, "admin").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.json()["error"]["field"], "password");
    assert!(r.error_message().contains("/api/v1/session/password"));
    d.client().login("admin", common::ADMIN_PASSWORD).await;
}

/// API tokens are for programs, and stay: the page says so, and lists
/// them to revoke.
#[tokio::test]
async fn api_tokens_outlive_a_password_change() {
    let (_d, c, here) = with_ann("member").await;
    let token = c
        .as_user(&here, "POST", "/api/v1/tokens", r#"{"name":"backup"}"#)
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(change(&c, &here, PW, NEW_PW).await.status, 204);
    let r = c.as_token(&token, "GET", "/api/v1/session", "").await;
    assert_eq!(r.status, 200, "the token still works");
}

#[tokio::test]
async fn an_admin_reset_ends_the_users_sessions() {
    let (d, c, ann) = with_ann("member").await;
    let r = admin_sets_password(&d, "ann").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(c.session_status(&ann).await, 401);
    c.login("ann", NEW_PW).await;
}
