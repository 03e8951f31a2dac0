//! The account and administration pages in headless Chromium: an admin
//! adds a user, sees it audited, makes an API token and turns on
//! two-factor login, all through the pages.

mod common;

use std::time::{Duration, Instant};

use common::webdriver::{Browser, sign_in_and_open_status, spki_pin};
use common::{ADMIN_PASSWORD, Daemon, Options};
use hearth::auth::totp;

async fn wait_true(browser: &Browser, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.eval(script).await != true {
        if Instant::now() > deadline {
            let msg = browser
                .eval("return (document.getElementById('message') || {}).textContent")
                .await;
            panic!("{what} did not happen; message: {msg}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn js(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_works_through_the_pages() {
    let d = Daemon::start(Options::default());
    let port = d.addr().port();
    let key = std::fs::read_to_string(d.state_dir().join("tls/key.pem")).unwrap();
    let browser = Browser::start(&spki_pin(&key)).await;
    sign_in_and_open_status(&browser, port, "admin", ADMIN_PASSWORD).await;

    browser
        .goto(&format!("https://localhost:{port}/admin"))
        .await;
    wait_true(
        &browser,
        "return document.querySelectorAll('#users tr').length === 1",
        "the user list",
    )
    .await;
    browser
        .eval(&format!(
            "document.getElementById('new-username').value = 'kid'; document.getElementById('new-password').value = {}; document.getElementById('new-role').value = 'viewer'; document.querySelector('#new-user button').click(); return true;",
            js("another fine passphrase here")
        ))
        .await;
    wait_true(
        &browser,
        "return Array.from(document.querySelectorAll('#users th')).some(e => e.textContent === 'kid')",
        "the new user listed",
    )
    .await;
    browser
        .eval("document.getElementById('public-status').click(); return true;")
        .await;
    // The audit log shows the change, after a reload.
    browser
        .goto(&format!("https://localhost:{port}/admin"))
        .await;
    wait_true(
        &browser,
        "return Array.from(document.querySelectorAll('#audit td')).some(e => e.textContent === 'user.create kid')",
        "the audit entry",
    )
    .await;
    wait_true(
        &browser,
        "return document.getElementById('public-status').checked",
        "public status on",
    )
    .await;

    browser
        .goto(&format!("https://localhost:{port}/account"))
        .await;
    wait_true(
        &browser,
        "return document.querySelectorAll('#sessions tr').length >= 1",
        "sessions",
    )
    .await;
    browser
        .eval("document.getElementById('token-name').value = 'backup'; document.querySelector('#new-token button').click(); return true;")
        .await;
    wait_true(
        &browser,
        "return document.getElementById('token-value').textContent.startsWith('hth_')",
        "the token shown once",
    )
    .await;
    browser
        .eval("document.getElementById('totp-begin').click(); return true;")
        .await;
    wait_true(
        &browser,
        "return document.getElementById('totp-secret').textContent.length > 20",
        "the secret",
    )
    .await;
    let secret = browser
        .eval("return document.getElementById('totp-secret').textContent")
        .await;
    let secret = totp::base32_decode(secret.as_str().unwrap()).unwrap();
    let code = totp::hotp(
        &secret,
        hearth::clock::now_ms() / 1000 / totp::STEP_S,
        totp::DIGITS,
    );
    browser
        .eval(&format!(
            "document.getElementById('totp-code').value = {}; document.querySelector('#totp-confirm button').click(); return true;",
            js(&code)
        ))
        .await;
    wait_true(
        &browser,
        "return document.querySelectorAll('#recovery-codes li').length === 10",
        "recovery codes",
    )
    .await;
    let qr_loaded = browser
        .eval(
            "const i = document.getElementById('totp-qr'); return i.complete && i.naturalWidth > 0",
        )
        .await;
    assert_eq!(qr_loaded, true, "the QR code renders under the CSP");

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("account.png");
    browser.screenshot(&shot).await;
    let severe: Vec<_> = browser
        .log()
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(severe.is_empty(), "browser errors: {severe:?}");
}
