//! Signing in and out against the real binary.

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options, rss_kib};

const COOKIE: &str = "__Host-hearth_session";

const PHONE_AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

fn login_body(user: &str, password: &str) -> String {
    format!("{{\"username\":\"{user}\",\"password\":\"{password}\"}}")
}

#[tokio::test]
async fn sign_in_who_am_i_and_sign_out() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let r = client
        .post_session(&login_body("admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["username"], "admin");
    assert_eq!(r.json()["role"], "admin");
    r.cookie_with(&[
        "__Host-hearth_session=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ]);
    let token = r.set_cookie(COOKIE).unwrap();
    assert_eq!(token.len(), 43, "256 bits");

    let me = client.as_user(&token, "GET", "/api/v1/session", "").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "admin");
    assert_eq!(me.json()["role"], "admin");
    assert_eq!(me.json()["two_factor"], false);

    // A cross-site sign-out with the cookie is refused.
    let r = client
        .send(
            "DELETE",
            "/api/v1/session",
            "",
            &[(COOKIE, &token)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 403);

    let r = client
        .as_user(&token, "DELETE", "/api/v1/session", "")
        .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        client.session_status(&token).await,
        401,
        "the revoked session is refused at once"
    );
    let me = client.call("GET", "/api/v1/session", "").await;
    assert_eq!(me.status, 401);
}

#[tokio::test]
async fn failures_say_only_wrong_username_or_password_and_slow_down() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let a = client
        .post_session(&login_body("admin", "not the password at all"))
        .await;
    let b = client
        .post_session(&login_body("nobody", ADMIN_PASSWORD))
        .await;
    assert_eq!((a.status, b.status), (401, 401));
    assert_eq!(a.json()["error"]["message"], "wrong username or password");
    assert_eq!(a.json()["error"], b.json()["error"]);
    for _ in 0..3 {
        client
            .post_session(&login_body("admin", "still wrong, sorry"))
            .await;
    }
    let r = client
        .post_session(&login_body("admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!(retry >= 1);
    // The message says how long, in the same seconds as the header.
    assert_eq!(
        r.json()["error"]["message"],
        format!("too many failed attempts; try again in {retry} s")
    );
}

#[tokio::test]
async fn no_sign_in_during_setup() {
    let d = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    let r = d
        .client()
        .post_session(&login_body("admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "setup_required");
}

#[tokio::test]
async fn a_user_lists_and_revokes_its_own_sessions() {
    let d = Daemon::start(Options::default());
    let (c, laptop) = d.admin_sign_in().await;
    let r = c
        .send(
            "POST",
            "/api/v1/session",
            &login_body("admin", ADMIN_PASSWORD),
            &[],
            &[("user-agent", PHONE_AGENT)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let phone = r.set_cookie(COOKIE).unwrap();
    let list = c
        .as_user(&laptop, "GET", "/api/v1/sessions", "")
        .await
        .json();
    let sessions = list.as_array().unwrap();
    // The harness's own sign-in, the laptop and the phone.
    assert_eq!(sessions.len(), 3, "{list}");
    // Each names its browser, as a short label, never the header itself.
    let agents: Vec<&str> = sessions
        .iter()
        .map(|s| s["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents.iter().filter(|a| **a == "Safari on iPhone").count(),
        1,
        "{list}"
    );
    assert_eq!(
        agents.iter().filter(|a| **a == "unknown").count(),
        2,
        "{list}"
    );
    assert!(!list.to_string().contains("AppleWebKit"), "{list}");
    assert!(sessions.iter().all(|s| s["last_seen_ms"].is_u64()));
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(!list.to_string().contains(&phone), "no token is shown");
    let current = sessions.iter().find(|s| s["current"] == true).unwrap()["id"].clone();
    let other = sessions
        .iter()
        .filter(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    // Revoke everything but the current one: the phone is signed out at once.
    for id in &other {
        let r = c
            .as_user(&laptop, "DELETE", &format!("/api/v1/sessions/{id}"), "")
            .await;
        assert_eq!(r.status, 204);
    }
    assert_eq!(c.session_status(&phone).await, 401);
    assert_eq!(c.session_status(&laptop).await, 200);
    let r = c
        .as_user(&laptop, "DELETE", "/api/v1/sessions/0000000000000000", "")
        .await;
    assert_eq!(r.status, 404);
    let left = c
        .as_user(&laptop, "GET", "/api/v1/sessions", "")
        .await
        .json();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], current);
}

/// A password check is argon2id over 19 MiB; once it is done, that memory
/// goes back to the system (see `daemon::allocator`), sign-in after
/// sign-in. The daemon is restarted on a set-up box so that nothing but
/// sign-ins happens in it (setting a password also builds the strength
/// checker's dictionaries, which stay).
#[tokio::test]
async fn sign_ins_give_their_memory_back() {
    let state = tempfile::tempdir().unwrap();
    let options = || Options {
        state_dir: Some(state.path().join("state")),
        ..Options::default()
    };
    drop(Daemon::start(options()));
    // Its start signed the admin in once: glibc's default would keep the
    // next check's 19 MiB from here on.
    let d = Daemon::start(options());
    let before = rss_kib(d.child.id());
    for _ in 0..3 {
        d.client().login("admin", ADMIN_PASSWORD).await;
    }
    let grown_mib = rss_kib(d.child.id()).saturating_sub(before) / 1024;
    assert!(
        grown_mib < 8,
        "three sign-ins left the daemon {grown_mib} MiB bigger: argon2's memory was kept"
    );
}

/// The cross-origin check knows the box's own names (issue 28, item 8):
/// a sign-in from a page on a name rebound to the box's address (whose
/// browser sends that name as Origin and Host alike) is refused, and so
/// is a foreign Origin that comes with `Sec-Fetch-Site: none`; the box's
/// own names and addresses pass on any port (a port forward changes it).
#[tokio::test]
async fn sign_in_from_a_page_that_is_not_the_box_is_refused() {
    let d = Daemon::start(Options::default());
    let c = d.client();
    let body = format!("{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let sign_in = |headers: Vec<(&'static str, String)>| {
        let c = &c;
        let body = &body;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.send("POST", "/api/v1/session", body, &[], &headers).await
        }
    };
    let port = c.addr.port();
    // (The Host is the box's own here; it is not consulted.)
    for (origin, site) in [
        ("https://rebound.example:PORT", "same-origin"),
        ("https://evil.example", "none"),
        ("null", "same-origin"),
        ("http://localhost:PORT", "same-origin"),
    ] {
        let origin = origin.replace("PORT", &port.to_string());
        let r = sign_in(vec![
            ("origin", origin.clone()),
            ("sec-fetch-site", site.into()),
        ])
        .await;
        assert_eq!(r.status, 403, "{origin}: {:?}", r.body);
        assert_eq!(r.json()["error"]["code"], "cross_origin");
    }
    for origin in [
        format!("https://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
        "https://127.0.0.1:8444".to_string(),
        "https://hearth.local".to_string(),
        format!("https://[::1]:{port}"),
    ] {
        let r = sign_in(vec![
            ("origin", origin.clone()),
            ("sec-fetch-site", "same-origin".into()),
        ])
        .await;
        assert_eq!(r.status, 200, "{origin}: {:?}", r.body);
    }
}
