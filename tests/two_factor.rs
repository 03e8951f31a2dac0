//! Two-factor login (TOTP) against the binary: enrol, confirm, sign in
//! with and without the second factor, a recovery code once, turn off.

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options};
use hearth::auth::totp;

fn now_s() -> u64 {
    hearth::clock::now_ms() / 1000
}

#[tokio::test]
async fn enrol_then_sign_in_with_the_second_factor() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;

    let enrol = c.as_user(&admin, "POST", "/api/v1/totp", "").await;
    assert_eq!(enrol.status, 200, "{:?}", enrol.body);
    let e = enrol.json();
    let secret = totp::base32_decode(e["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    assert!(
        e["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/hearth%20testbox:admin?secret=")
    );
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));

    let counter = now_s() / totp::STEP_S;
    let code = totp::hotp(&secret, counter, totp::DIGITS);
    // A code that cannot be right now: the current one with its first
    // digit changed (and not one of the neighbours' codes either).
    let neighbours = [
        totp::hotp(&secret, counter - 1, totp::DIGITS),
        totp::hotp(&secret, counter + 1, totp::DIGITS),
    ];
    let wrong = (0..10u8)
        .map(|d| format!("{}{}", (b'0' + d) as char, &code[1..]))
        .find(|w| *w != code && !neighbours.contains(w))
        .unwrap();
    let r = c
        .as_user(
            &admin,
            "POST",
            "/api/v1/totp/confirm",
            &format!("{{\"code\":\"{wrong}\"}}"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "code");
    let r = c
        .as_user(
            &admin,
            "POST",
            "/api/v1/totp/confirm",
            &format!("{{\"code\":\"{code}\"}}"),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let recovery: Vec<String> = r.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    let me = c.as_user(&admin, "GET", "/api/v1/session", "").await.json();
    assert_eq!(me["two_factor"], true, "{me}");

    let login = |extra: String| {
        format!("{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"{extra}}}")
    };
    let r = c.post_session(&login(String::new())).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "totp_required");
    assert!(
        r.set_cookie(common::SESSION_COOKIE).is_none(),
        "no session on the password alone"
    );

    // The code used to confirm does not work a second time.
    let r = c
        .post_session(&login(format!(",\"totp\":\"{code}\"")))
        .await;
    assert_eq!(r.status, 401, "a used code is refused");
    // It says the code was wrong, not the password, in plain words.
    assert_eq!(r.json()["error"]["code"], "totp_wrong", "{:?}", r.body);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("code is not right"), "{message}");
    assert!(!message.contains(&code), "{message}");
    assert!(!d.stderr().contains(&code), "no code in the log");
    // A wrong password with a code is still only "wrong username or
    // password".
    let r = c
        .post_session(&format!(
            "{{\"username\":\"admin\",\"password\":\"not it at all\",\"totp\":\"{code}\"}}"
        ))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    assert_eq!(r.json()["error"]["message"], "wrong username or password");
    // The next step's code does (clocks may drift by one step).
    let next = totp::hotp(&secret, counter + 1, totp::DIGITS);
    let r = c
        .post_session(&login(format!(",\"totp\":\"{next}\"")))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A recovery code works once.
    let rc = &recovery[0];
    let r = c.post_session(&login(format!(",\"totp\":\"{rc}\""))).await;
    assert_eq!(r.status, 200);
    let r = c.post_session(&login(format!(",\"totp\":\"{rc}\""))).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "totp_wrong");

    let r = c.as_user(&admin, "DELETE", "/api/v1/totp", "").await;
    assert_eq!(r.status, 204);
    let r = c.post_session(&login(String::new())).await;
    assert_eq!(r.status, 200, "off again: the password alone signs in");
    let me = c.as_user(&admin, "GET", "/api/v1/session", "").await.json();
    assert_eq!(me["two_factor"], false, "{me}");
}

#[tokio::test]
async fn wrong_codes_count_towards_the_wait() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;
    c.enrol_two_factor(&admin).await;
    // Recovery-code shaped, so never a valid TOTP code.
    let attempt = format!(
        "{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\",\"totp\":\"zzzzz-zzzzz\"}}"
    );
    for _ in 0..4 {
        let r = c.post_session(&attempt).await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(r.json()["error"]["code"], "totp_wrong");
    }
    let r = c.post_session(&attempt).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert_eq!(
        r.json()["error"]["message"],
        format!("too many failed attempts; try again in {retry} s")
    );
    // Each attempt is audited as a failure (or, while waiting, denied).
    let audit = c
        .as_user(&admin, "GET", "/api/v1/audit?actor=admin&limit=10", "")
        .await
        .json();
    let outcomes = common::audit_column(&audit, "session.login", "outcome");
    assert_eq!(
        &outcomes[..5],
        ["denied", "failure", "failure", "failure", "failure"]
    );
}
