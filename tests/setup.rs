//! The first-boot setup against the real binary: setup mode gates the
//! API, the claim code from the console file, the wizard's API steps, and
//! 410 Gone afterwards (the wizard page itself: `tests/setup_page.rs`).

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options, Reply, TlsClient};
use hearth::store::{Outcome, Store};
use serde_json::{Value, json};

fn pending() -> Daemon {
    Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    })
}

/// A step of the wizard's API (`POST /api/v1/setup/{name}`) with `body`,
/// with the setup cookie if given.
async fn step(client: &TlsClient, name: &str, body: Value, cookie: Option<&str>) -> Reply {
    let path = format!("/api/v1/setup/{name}");
    client.post_json(&path, &body.to_string(), cookie).await
}

async fn claim(client: &TlsClient, code: &str) -> String {
    let r = client.claim_setup(code).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.cookie_with(&[
        "__Host-hearth_setup=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ]);
    r.set_cookie("__Host-hearth_setup").unwrap()
}

#[tokio::test]
async fn setup_mode_refuses_everything_but_health_and_setup() {
    let d = pending();
    let client = d.client();
    assert_eq!(client.get("/api/v1/health").await.status, 200);
    assert_eq!(
        client.get("/").await.status,
        200,
        "the page says where to go"
    );
    for path in common::MONITORING_PATHS {
        let r = client.get(path).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.json()["error"]["code"], "setup_required", "{path}");
    }
    let state = client.get("/api/v1/setup").await.json();
    assert_eq!(state["complete"], false);
    assert_eq!(state["step"], "claim");
    assert!(
        state.get("admin").is_none(),
        "nothing shown before the claim"
    );
    // The code is in a root-only file and nowhere in the daemon's output.
    let code = d.setup_code();
    assert_eq!(code.len(), 14);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.setup_code_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!d.stderr().contains(&code), "the code must not be logged");
}

#[tokio::test]
async fn wrong_code_is_refused_and_the_steps_need_the_claim() {
    let d = pending();
    let client = d.client();
    let r = client
        .post_json("/api/v1/setup/claim", "{\"code\":\"AAAA-AAAA-AAAA\"}", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "wrong_setup_code");
    let r = step(
        &client,
        "admin",
        json!({"username": "x", "password": "y"}),
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = client.post_json("/api/v1/setup/claim", "{}", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "code");
}

#[tokio::test]
async fn the_api_walks_through_setup_and_then_answers_410() {
    let d = pending();
    let client = d.client();
    let cookie = claim(&client, &d.setup_code()).await;
    let c = Some(cookie.as_str());
    let weak = json!({"username": "owner", "password": "password1234"});
    let r = step(&client, "admin", weak, c).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "password");
    let owner = json!({"username": "owner", "password": ADMIN_PASSWORD});
    let r = step(&client, "admin", owner, c).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["step"], "host");
    let host = json!({"hostname": "My Box", "timezone": "UTC"});
    let r = step(&client, "host", host, c).await;
    assert_eq!(r.json()["error"]["field"], "hostname");
    let host = json!({"hostname": "mybox", "timezone": "Europe/Berlin"});
    let r = step(&client, "host", host, c).await;
    assert_eq!(r.json()["step"], "domain");
    assert_eq!(r.json()["timezone"], "Europe/Berlin");
    let domain = json!({"domain": "home.example.org", "email": "me@example.org"});
    let r = step(&client, "domain", domain, c).await;
    assert_eq!(r.status, 200);
    // Until it is finished, a browser gets the wizard.
    let html = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let r = client.send("GET", "/setup", "", &[], &html).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/html"));
    let r = client.post_json("/api/v1/setup/finish", "{}", c).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").contains("Max-Age=0"));

    assert!(!d.setup_code_path().exists(), "the code file is removed");
    assert_eq!(client.get("/setup").await.status, 410);
    assert_eq!(client.get("/api/v1/setup").await.status, 410);
    // A browser loading the finished wizard goes to the status page; the
    // setup API stays 410 whatever the client accepts.
    let r = client.send("GET", "/setup", "", &[], &html).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/");
    let r = client.send("GET", "/api/v1/setup", "", &[], &html).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.json()["error"]["code"], "gone");
    let r = client
        .post_json("/api/v1/setup/claim", "{\"code\":\"x\"}", None)
        .await;
    assert_eq!(r.status, 410);
    // Out of setup mode: the status now asks for a sign-in instead.
    assert_eq!(client.get("/api/v1/status").await.status, 401);
    client.login("owner", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_cross_site_post_with_the_cookie_is_refused() {
    let d = pending();
    let client = d.client();
    let cookie = claim(&client, &d.setup_code()).await;
    // Raw request with the browser's Sec-Fetch-Site header.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tls = client.connect(&[b"http/1.1"]).await.unwrap();
    let body = format!("{{\"username\":\"evil\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let req = format!(
        "POST /api/v1/setup/admin HTTP/1.1\r\nHost: localhost\r\nCookie: __Host-hearth_setup={cookie}\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(text.contains("cross_origin"), "{text}");
}

#[tokio::test]
async fn a_restart_mid_setup_resumes_it() {
    let mut d = pending();
    let state = d.state_dir();
    let client = d.client();
    let cookie = claim(&client, &d.setup_code()).await;
    let r = client
        .post_json(
            "/api/v1/setup/admin",
            &format!("{{\"username\":\"owner\",\"password\":\"{ADMIN_PASSWORD}\"}}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(d.stop().success());
    {
        let store = Store::open(&state).unwrap();
        let claims: Vec<Outcome> = store
            .audit_records(0, 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "setup.claim")
            .map(|r| r.outcome)
            .collect();
        assert_eq!(claims, vec![Outcome::Success]);
    }
    // Like a reboot: a fresh runtime dir, so a fresh code.
    let again = Daemon::start(Options {
        state_dir: Some(state),
        pending_setup: true,
        ..Options::default()
    });
    let client = again.client();
    assert_eq!(
        client.get("/api/v1/status").await.status,
        403,
        "still in setup mode"
    );
    let cookie = claim(&client, &again.setup_code()).await;
    let s = client
        .get_with_cookie("/api/v1/setup", &cookie)
        .await
        .json();
    assert_eq!(
        s["step"], "host",
        "the admin from before the restart is kept"
    );
    assert_eq!(s["admin"], "owner");
}
