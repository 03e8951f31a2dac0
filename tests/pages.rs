//! The sign-in, account and administration pages in headless Chromium,
//! used as a person would: the shell on every page, the defects a new
//! user hit (each test here failed before its fix), and zero axe-core
//! violations in every state at desktop and phone widths.

use hearth_testkit as common;

use common::webdriver::{Browser, sign_in_and_open_status};
use common::{ADMIN_PASSWORD, Daemon, Options};
use hearth::auth::totp;
use serde_json::Value;

const PASSWORD: &str = "another fine passphrase here";

/// The current code of an authenticator holding `secret` (base32).
fn code_for(secret: &str) -> String {
    common::totp_now(&totp::base32_decode(secret).unwrap())
}

/// The header's navigation, link by link, once the shell has drawn it
/// (it knows the role only after its look-up: the name shows then).
async fn nav_links(b: &Browser) -> Value {
    b.wait_for(
        "return document.getElementById('whoami') !== null",
        "the header drawn for the signed-in user",
    )
    .await;
    b.eval("return Array.from(document.querySelectorAll('#shell nav a'), a => a.textContent)")
        .await
}

/// Defect 4: a wrong second factor said "wrong username or password" and
/// cleared the right password; the prompt for the code was a red error.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_second_factor_keeps_the_password_and_says_what_was_wrong() {
    let d = Daemon::start(Options::default());
    d.add_user("ann", PASSWORD, "member").await;
    let ann = d.client();
    let session = ann.login("ann", PASSWORD).await;
    // The app's current code confirmed the enrolment, and is refused a
    // second time: sign in with a recovery code.
    let recovery_code = ann.enrol_two_factor(&session).await.recovery_codes[0].clone();

    let b = d.browser().await;
    b.goto(&d.url("/login")).await;
    b.wait_loaded("the sign-in page").await;
    b.check_page("login").await;
    b.submit_sign_in("ann", PASSWORD).await;
    b.wait_shown("#second", "the second-factor field").await;
    let prompt = b
        .eval("const m = document.getElementById('login-message'); return [m.className, m.getAttribute('role'), m.textContent, document.activeElement.id]")
        .await;
    assert!(
        !prompt[0].as_str().unwrap().contains("error"),
        "the prompt for the code is an instruction, not an error: {prompt}"
    );
    assert_eq!(prompt[1], "status", "{prompt}");
    assert_eq!(prompt[3], "totp", "the code field has the focus: {prompt}");
    b.check_page("login-second-factor").await;

    b.submit_form("#login", &[("#totp", "000000")]).await;
    b.wait_invalid("#totp", "the wrong code marked").await;
    let after = b
        .eval("return [document.getElementById('password').value, document.getElementById('totp-error').textContent, document.getElementById('totp').getAttribute('aria-describedby')]")
        .await;
    assert_eq!(after[0], PASSWORD, "the right password is kept");
    let said = after[1].as_str().unwrap().to_lowercase();
    assert!(
        said.contains("code") && !said.contains("username or password"),
        "says the code was wrong: {said}"
    );
    assert!(
        after[2].as_str().unwrap().contains("totp-error"),
        "the error is tied to its field: {after}"
    );
    b.check_page("login-wrong-code").await;

    b.submit_form("#login", &[("#totp", &recovery_code)]).await;
    b.wait_path("/", "signed in with the right code").await;
    // The request for the code (403) and the wrong code (401) are how
    // the page learns; nothing else.
    b.assert_no_severe_errors(&["403 ()", "401 ()"]).await;
}

/// Defect 7: the account page did not say whether two-factor login is on,
/// offered both "set up" and "turn off", and "it is off" was a red error.
#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_says_whether_two_factor_login_is_on() {
    let d = Daemon::start(Options::default());
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        nav_links(&b).await,
        serde_json::json!(["Status", "Domains", "Servers", "Account", "Admin"])
    );
    b.goto(&d.url("/account")).await;
    b.wait_text("#totp-state", "off", "two-factor shown off")
        .await;
    let shown = "return [!document.getElementById('totp-begin').hidden, !document.getElementById('totp-off').hidden]";
    assert_eq!(b.eval(shown).await, serde_json::json!([true, false]));
    b.wait_for(
        "return document.querySelectorAll('#sessions tr').length >= 1",
        "the sessions",
    )
    .await;
    let browser_name = b
        .eval("const r = Array.from(document.querySelectorAll('#sessions tr')).find(r => r.textContent.includes('this browser')); return r ? r.querySelector('th').textContent : null")
        .await;
    assert!(
        browser_name.as_str().unwrap_or("").contains("Chrom"),
        "the session names its browser: {browser_name}"
    );
    b.check_page("account").await;

    b.click("#totp-begin").await;
    b.wait_for(
        "return document.getElementById('totp-secret').textContent.length > 20",
        "the secret",
    )
    .await;
    let secret = b.text("#totp-secret").await;
    b.submit_form("#totp-confirm", &[("#totp-code", &code_for(&secret))])
        .await;
    b.wait_count("#recovery-codes li", 10, "the recovery codes")
        .await;
    assert_eq!(b.text("#totp-state").await, "on");
    assert_eq!(b.eval(shown).await, serde_json::json!([false, true]));
    b.check_page("account-two-factor-on").await;

    // Turning it off asks first; Cancel keeps it on.
    b.click("#totp-off").await;
    b.wait_dialog().await;
    assert_eq!(
        b.eval("return document.activeElement.value").await,
        "cancel",
        "Enter alone destroys nothing"
    );
    b.check_page("account-confirm").await;
    b.answer_dialog(false).await;
    assert_eq!(b.text("#totp-state").await, "on");
    b.click("#totp-off").await;
    b.answer_dialog(true).await;
    b.wait_text("#totp-state", "off", "two-factor off").await;
    let message = b
        .eval("const m = document.getElementById('message'); return [m.className, m.textContent]")
        .await;
    assert!(
        !message[0].as_str().unwrap().contains("error"),
        "success is not red: {message}"
    );
    let me = d.admin_client().get("/api/v1/session").await.json();
    assert_eq!(me["two_factor"], false, "{me}");
    b.assert_no_severe_errors(&[]).await;
}

/// A token is made with an expiry and shown once with a copy button; the
/// password is changed on the account page.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_with_an_expiry_and_a_password_change() {
    let mut d = Daemon::start(Options::default());
    d.add_user("ann", PASSWORD, "viewer").await;
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), "ann", PASSWORD).await;
    assert_eq!(
        nav_links(&b).await,
        serde_json::json!(["Status", "Account"])
    );
    b.goto(&d.url("/account")).await;
    b.wait_text("#totp-state", "off", "the page loaded").await;
    let token = [("#token-name", "backup"), ("#token-expiry", "30")];
    b.submit_form("#new-token", &token).await;
    b.wait_text_starts("#token-value", "hth_", "the token shown once")
        .await;
    b.wait_present("#token-copy button", "a copy button").await;
    b.check_page("account-token").await;
    let mut ann = d.client();
    ann.session = Some(ann.login("ann", PASSWORD).await);
    let tokens = ann.get("/api/v1/tokens").await.json();
    let expires = tokens[0]["expires_ms"].as_u64().expect("an expiry");
    let in_30_days = hearth::clock::now_ms() + 30 * 86_400_000;
    assert!(
        expires.abs_diff(in_30_days) < 3_600_000,
        "expires in 30 days: {tokens}"
    );

    // A wrong current password is marked on its field.
    let fresh = "a brand new passphrase now";
    let change = [
        ("#current-password", "not my password at all"),
        ("#new-password", fresh),
        ("#new-password2", fresh),
    ];
    b.submit_form("#change-password", &change).await;
    b.wait_invalid("#current-password", "the wrong current password marked")
        .await;
    b.check_page("account-password-error").await;
    b.submit_form("#change-password", &[("#current-password", PASSWORD)])
        .await;
    b.wait_for(
        "const m = document.getElementById('message'); return !m.hidden && m.classList.contains('ok')",
        "the password changed",
    )
    .await;
    assert_eq!(
        b.eval("return document.querySelectorAll('[aria-invalid=true]').length")
            .await,
        0,
        "old errors are cleared"
    );
    d.client().login("ann", fresh).await;
    let r = d
        .client()
        .post_session(&format!(r#"{{"username":"ann","password":"{PASSWORD}"}}"#))
        .await;
    assert_eq!(r.status, 401, "the old password no longer works");

    // The box gone: the page says so in people's words.
    d.stop();
    b.submit_form("#new-token", &[("#token-name", "offline")])
        .await;
    b.wait_text_starts(
        "#new-token .form-message",
        "Can't reach the box",
        "the box unreachable, in words",
    )
    .await;
    // The refused current password (400) is how the page learns.
    b.assert_no_severe_errors(&["400 ()", "ERR_CONNECTION_REFUSED"])
        .await;
}

/// Defects 3, 8 and 9: the audit log showed the oldest records first; the
/// admin page offered Disable and Delete on the admin's own account and
/// deleted without asking; a viewer saw the whole form; at 390 px the page
/// scrolled sideways.
#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_newest_first_with_confirmation() {
    let d = Daemon::start(Options::default());
    // More than one page of audit records (50 a page).
    for i in 0..30 {
        d.add_user(&format!("user{i}"), PASSWORD, "viewer").await;
    }
    for i in 0..29 {
        let r = d
            .admin_client()
            .call("DELETE", &format!("/api/v1/users/user{i}"), "")
            .await;
        assert_eq!(r.status, 204);
    }
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), "admin", ADMIN_PASSWORD).await;
    b.goto(&d.url("/admin")).await;
    b.wait_count("#audit tr", 50, "the first page of the audit log")
        .await;
    let first = b.text("#audit tr td").await;
    assert_eq!(
        first, "admin signed in",
        "the newest record comes first (the browser's own sign-in)"
    );
    let second = b.text("#audit tr:nth-child(2) td").await;
    assert_eq!(second, "admin deleted the user user28");
    b.click("#audit-more").await;
    b.wait_for(
        "return document.querySelectorAll('#audit tr').length > 50",
        "older entries",
    )
    .await;
    let ids: Vec<u64> = b
        .eval(
            "return Array.from(document.querySelectorAll('#audit tr'), r => Number(r.dataset.id))",
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, older on request, no repeats: {ids:?}"
    );

    // A new record appears at the top, live.
    d.add_user("kid", PASSWORD, "viewer").await;
    b.wait_text(
        "#audit tr td",
        "admin added the user kid",
        "the new record, live",
    )
    .await;

    // Neither the admin's own account nor the only admin can be disabled
    // or deleted; another user asks before it is deleted.
    b.goto(&d.url("/admin")).await;
    b.wait_for(
        "return Array.from(document.querySelectorAll('#users th')).some(e => e.textContent === 'kid')",
        "kid listed",
    )
    .await;
    let own_buttons = b
        .eval("const r = Array.from(document.querySelectorAll('#users tr')).find(r => r.querySelector('th').textContent === 'admin'); return r.querySelectorAll('button').length")
        .await;
    assert_eq!(own_buttons, 0, "no Disable or Delete on one's own account");
    b.check_page("admin").await;

    // A role changed and a password reset from the page, each confirmed
    // by a message that is not red.
    b.set_value("select[aria-label='Role of kid']", "member")
        .await;
    b.wait_ok_message("kid is now a member", "the role changed")
        .await;
    let users = d.admin_client().get("/api/v1/users").await.json();
    let kid = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "kid")
        .unwrap()
        .clone();
    assert_eq!(kid["role"], "member", "{kid}");
    let reset = [("#reset-user", "kid"), ("#reset-new", "short")];
    b.submit_form("#reset-password", &reset).await;
    b.wait_invalid("#reset-new", "a short password marked")
        .await;
    let fresh = "a brand new passphrase now";
    b.submit_form("#reset-password", &[("#reset-new", fresh)])
        .await;
    b.wait_ok_message("password was reset", "the password reset")
        .await;
    d.client().login("kid", fresh).await;
    b.click("button[aria-label='Delete kid']").await;
    b.answer_dialog(false).await;
    let users = d.admin_client().get("/api/v1/users").await.json();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "kid"),
        "cancel keeps the user"
    );
    b.click("button[aria-label='Delete kid']").await;
    b.answer_dialog(true).await;
    b.wait_for(
        "return !Array.from(document.querySelectorAll('#users th')).some(e => e.textContent === 'kid')",
        "kid gone",
    )
    .await;
    let message = b
        .eval("const m = document.getElementById('message'); return [m.className, m.textContent]")
        .await;
    assert!(
        message[0].as_str().unwrap().contains("ok"),
        "feedback that it worked: {message}"
    );
    b.assert_no_severe_errors(&[]).await;
}

/// The root shell on the box's console: the checkbox shows the setting as
/// stored, and a click changes it at once, audited and said in words.
#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_turns_the_console_shell_on_and_off() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let console_shell =
        || async { d.admin_client().get("/api/v1/settings").await.json()["console_shell"].clone() };
    let r = admin.patch_settings(r#"{"console_shell":true}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), "admin", ADMIN_PASSWORD).await;
    b.goto(&d.url("/admin")).await;
    b.wait_for(
        "return document.getElementById('console-shell').checked",
        "the checkbox showing the stored setting (on)",
    )
    .await;
    assert_eq!(
        b.eval("return document.getElementById('public-status').checked")
            .await,
        false,
        "the public status, off, is its own checkbox"
    );
    let described = b
        .eval("const i = document.getElementById('console-shell'); return [i.labels[0].textContent.trim(), document.getElementById(i.getAttribute('aria-describedby')).textContent]")
        .await;
    assert_eq!(
        described[0], "Root shell on the box's console (tty1 and serial)",
        "{described}"
    );
    assert!(
        described[1].as_str().unwrap().contains("root shell"),
        "{described}"
    );

    b.click("#console-shell").await;
    b.wait_ok_message("no longer offers a root shell", "the setting turned off")
        .await;
    assert_eq!(console_shell().await, false);
    b.wait_text(
        "#audit tr td",
        "admin set the root shell on the box's console off",
        "the change in the audit log, in words, live",
    )
    .await;

    b.click("#console-shell").await;
    b.wait_ok_message("now offers a root shell", "the setting turned on again")
        .await;
    assert_eq!(console_shell().await, true);
    assert_eq!(
        b.eval("return document.getElementById('console-shell').checked")
            .await,
        true
    );
    b.assert_no_severe_errors(&[]).await;
}

/// Defect 8: a viewer got the whole admin form with an error on top.
#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_is_told_the_admin_page_is_not_for_their_role() {
    let d = Daemon::start(Options::default());
    d.add_user("vic", PASSWORD, "viewer").await;
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), "vic", PASSWORD).await;
    b.goto(&d.url("/admin")).await;
    b.wait_shown("#no-access", "the no-access notice").await;
    let state = b
        .eval("return [document.getElementById('admin').hidden, document.getElementById('your-role').textContent, document.querySelectorAll('#users tr').length]")
        .await;
    assert_eq!(state, serde_json::json!([true, "viewer", 0]));
    b.check_page("admin-viewer").await;
    b.assert_no_severe_errors(&[]).await;
}

/// After sign-in the page goes back where the visitor came from, but only
/// on this box: `next` values that a browser would follow elsewhere
/// (a backslash, a tab, a scheme) lead to the status page.
#[tokio::test(flavor = "multi_thread")]
async fn sign_in_never_leads_off_the_box() {
    let d = Daemon::start(Options::default());
    let b = d.browser().await;
    for (next, expect) in [
        ("/account", "/account"),
        ("/admin?x=1#y", "/admin?x=1#y"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/\t/evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let q: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        b.goto(&d.url(&format!("/login?next={q}"))).await;
        b.wait_loaded("the sign-in page").await;
        assert_eq!(b.eval("return target()").await, expect, "next={next}");
    }

    // Wrong passwords, until the box says how long to wait.
    for attempt in 1..=6 {
        b.submit_sign_in("admin", "not the password at all").await;
        b.wait_for(
            "return document.getElementById('login').querySelector('button[type=submit]').disabled === false && document.querySelector('[aria-invalid=true], #login-message:not(:empty)') !== null",
            "the refusal",
        )
        .await;
        let said = b.text("#login-message").await;
        if said.starts_with("Too many tries. Wait ") {
            assert!(said.contains("second"), "{said}");
            b.check_page("login-throttled").await;
            return;
        }
        assert!(attempt < 6, "never told to wait: {said}");
    }
}
