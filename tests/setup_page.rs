//! The setup wizard in headless Chromium, as the owner uses it on first
//! boot: a username with capitals and a space is told exactly that,
//! beside the field; the time zone comes from the box's own zones; Back
//! works; on the summary Enter finishes (defect 6: the focus was on
//! "Change the domain"); finishing signs the owner in and opens the
//! status page; afterwards `/setup` and unknown pages answer a browser
//! with pages, not JSON. Every step has zero axe-core violations.

use hearth_testkit as common;

use common::webdriver::Browser;
use common::{ADMIN_PASSWORD, Daemon, Options};

/// Waits until `id` is the one wizard step shown, as the person sees it
/// (computed style, not the attribute).
async fn wait_step(b: &Browser, id: &str) {
    let script = format!(
        "const shown = Array.from(document.querySelectorAll('main [id^=step-].card')).filter(e => getComputedStyle(e).display !== 'none').map(e => e.id); return shown.length === 1 && shown[0] === '{id}';"
    );
    b.wait_for(&script, &format!("the step {id}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_from_code_to_the_status_page() {
    let d = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    let b = d.browser().await;
    let port = d.addr().port();
    b.goto(&format!("https://localhost:{port}/setup")).await;
    wait_step(&b, "step-claim").await;
    assert_eq!(
        b.eval("return document.getElementById('step-announce').textContent")
            .await,
        "Step 1 of 5: Prove you are at the box.",
        "the step is announced"
    );
    b.check_page("setup-claim").await;
    b.submit_form("#step-claim", &[("#code", "AAAA-BBBB-CCCC")])
        .await;
    b.wait_invalid("#code", "the wrong code marked on its field")
        .await;
    b.check_page("setup-claim-wrong").await;
    b.submit_form("#step-claim", &[("#code", &d.setup_code())])
        .await;
    wait_step(&b, "step-admin").await;
    assert!(
        b.text("#username-hint").await.contains("Lower-case"),
        "the rules are shown before any error"
    );

    // "Admin User": told about the capitals and the space, not its "A".
    let admin = [
        ("#username", "Admin User"),
        ("#password", ADMIN_PASSWORD),
        ("#password2", ADMIN_PASSWORD),
    ];
    b.submit_form("#step-admin", &admin).await;
    b.wait_invalid("#username", "the username marked").await;
    let said = b.text("#username-error").await;
    assert!(
        said.contains("capital letters") && said.contains("space"),
        "names the real problems: {said}"
    );
    assert_eq!(
        b.eval("return document.activeElement.id").await,
        "username",
        "the focus is on the field to fix"
    );
    b.check_page("setup-admin-error").await;
    b.click("#show-password").await;
    assert_eq!(
        b.eval("return [document.getElementById('password').type, document.getElementById('show-password').getAttribute('aria-pressed')]")
            .await,
        serde_json::json!(["text", "true"])
    );
    b.submit_form("#step-admin", &[("#username", "owner")])
        .await;
    wait_step(&b, "step-host").await;
    assert_eq!(
        b.eval("return document.querySelectorAll('[aria-invalid=true]').length")
            .await,
        0,
        "old errors are cleared"
    );

    // The time zones are the box's own.
    b.wait_for(
        "return document.querySelectorAll('#zones option').length > 100",
        "the box's time zones",
    )
    .await;
    let has_berlin = b
        .eval("return Array.from(document.querySelectorAll('#zones option'), o => o.value).includes('Europe/Berlin')")
        .await;
    assert_eq!(has_berlin, true);
    b.check_page("setup-host").await;
    b.click("#back-host").await;
    wait_step(&b, "step-admin").await;
    b.click("#step-admin button[type=submit]").await;
    wait_step(&b, "step-host").await;
    let host = [("#hostname", "mybox"), ("#timezone", "Europe/Berlin")];
    b.submit_form("#step-host", &host).await;
    wait_step(&b, "step-domain").await;
    b.click("#step-domain button[type=submit]").await;
    wait_step(&b, "step-summary").await;
    assert_eq!(b.text("#sum-hostname").await, "mybox");
    assert_eq!(b.text("#sum-timezone").await, "Europe/Berlin");
    assert_eq!(
        b.eval("return document.activeElement.id").await,
        "finish",
        "Enter on the summary finishes"
    );
    b.check_page("setup-summary").await;

    // Enter, as a person would press it, on what has the focus.
    b.eval("document.activeElement.click(); return true;").await;
    b.wait_path("/", "the status page, signed in").await;
    b.wait_for(
        "const w = document.getElementById('whoami'); return w !== null && w.textContent === 'owner'",
        "the owner signed in",
    )
    .await;
    b.wait_text("#box-name", "mybox", "the box's name in the header")
        .await;

    // After setup, a browser asking for /setup or a page that does not
    // exist gets a page.
    b.goto(&format!("https://localhost:{port}/setup")).await;
    b.wait_path("/", "sent from /setup to the status page")
        .await;
    b.goto(&format!("https://localhost:{port}/no-such-page"))
        .await;
    b.wait_loaded("the not-found page").await;
    assert_eq!(b.text("h1").await, "Page not found");
    b.check_page("not-found").await;

    let severe: Vec<_> = b
        .severe_log()
        .await
        .into_iter()
        .filter(|e| {
            let m = e["message"].as_str().unwrap_or("");
            // The refused code and name, the signed-out first calls, and
            // the page that does not exist are how the pages learn.
            !["400 ()", "401 ()", "403 ()", "404 ()", "410 ()"]
                .iter()
                .any(|s| m.contains(s))
        })
        .collect();
    assert!(severe.is_empty(), "browser errors: {severe:?}");
}
