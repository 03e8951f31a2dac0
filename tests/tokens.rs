//! API tokens against the binary: made by a user for itself, shown once,
//! acting with at most the user's role, refused at once when revoked.

use hearth_testkit as common;

use common::{Daemon, Options};

#[tokio::test]
async fn tokens_act_for_their_user_and_die_when_revoked() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;
    let pw = "another fine passphrase here";
    let r = c.add_user_as(&admin, "watcher", pw, "viewer").await;
    assert_eq!(r.status, 201);

    let r = c
        .as_user(
            &admin,
            "POST",
            "/api/v1/tokens",
            "{\"name\":\"backup script\"}",
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let created = r.json();
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("hth_"));

    let r = c.as_token(&token, "GET", "/api/v1/users", "").await;
    assert_eq!(r.status, 200, "the admin's token acts as the admin");

    let list = c.as_user(&admin, "GET", "/api/v1/tokens", "").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "backup script");
    assert!(
        !list.to_string().contains(&token[4..]),
        "listed, never shown again"
    );

    // A viewer's token can do what a viewer can, not more.
    let viewer = c.login("watcher", pw).await;
    let vt = c
        .as_user(
            &viewer,
            "POST",
            "/api/v1/tokens",
            "{\"name\":\"ro\",\"expires_at\":4102444800}",
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c.as_token(&vt, "GET", "/api/v1/users", "").await;
    assert_eq!(r.status, 403);
    let r = c.as_token(&vt, "GET", "/api/v1/session", "").await;
    assert_eq!(r.json()["username"], "watcher");

    let r = c
        .as_user(
            &admin,
            "POST",
            "/api/v1/tokens",
            "{\"name\":\"old\",\"expires_at\":1000}",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "expires_at");

    let r = c
        .as_user(&admin, "DELETE", &format!("/api/v1/tokens/{id}"), "")
        .await;
    assert_eq!(r.status, 204);
    let r = c.as_token(&token, "GET", "/api/v1/users", "").await;
    assert_eq!(r.status, 401, "a revoked token is refused at once");
    // Another user cannot revoke someone else's token.
    let r = c
        .as_user(&viewer, "DELETE", &format!("/api/v1/tokens/{id}"), "")
        .await;
    assert_eq!(r.status, 404);
}

/// Signing out with an API token would end nothing: it is refused, and
/// the audit log does not claim a sign-out.
#[tokio::test]
async fn a_token_cannot_sign_out() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let token = admin.new_token("t").await;
    let logouts = || async {
        let page = admin.get("/api/v1/audit?limit=500").await.json();
        page["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "session.logout")
            .count()
    };
    let before = logouts().await;
    let r = d
        .client()
        .as_token(&token, "DELETE", "/api/v1/session", "")
        .await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let said = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(said.contains("/api/v1/tokens"), "{said}");
    assert_eq!(logouts().await, before, "no sign-out recorded");
    let r = d
        .client()
        .as_token(&token, "GET", "/api/v1/session", "")
        .await;
    assert_eq!(r.status, 200, "the token still works");
}
