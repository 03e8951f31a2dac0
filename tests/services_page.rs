//! The Services card of the status page in headless Chromium (Debian's
//! chromium and chromium-driver), against a daemon that follows a fake
//! systemd on a private D-Bus (`common::fake_systemd`): the states as the
//! stream tells them, live (a crash shows without a reload), an admin's
//! Start / Stop / Restart on the units of the allow-list with the job's
//! progress and outcome, a failing job's error, no buttons for members
//! and viewers, and no accessibility violation that axe-core finds.
//! Needs dbus-daemon, chromium and chromium-driver.

use hearth_testkit as common;

use std::time::Duration;

use serde_json::{Value, json};

use common::fake_systemd::{FakeSystemd, PrivateBus};
use common::webdriver::{Browser, sign_in_and_open_status};
use common::{ADMIN_PASSWORD, Daemon};

const MEMBER: (&str, &str) = ("mia", "a long enough password 1");
const VIEWER: (&str, &str) = ("vic", "a long enough password 2");

/// `ROW(name)`: what the card shows of unit `name`'s row, or null.
const ROW: &str = r#"
const ROW = (name) => {
  const tr = Array.from(document.querySelectorAll('#services tr')).find(t => t.dataset.unit === name);
  if (!tr) return null;
  const s = tr.querySelector('.svc-state'), t = tr.querySelector('td time');
  return {
    name: tr.querySelector('th[scope=row]').textContent,
    state: s.textContent, level: s.dataset.level, color: getComputedStyle(s).color,
    exit: tr.querySelector('.svc-exit').textContent,
    since: t.firstChild.textContent, title: t.title, datetime: t.dateTime,
    hidden: t.querySelector('.visually-hidden').textContent,
    busy: tr.getAttribute('aria-busy'),
    buttons: Array.from(tr.querySelectorAll('button'), b => ({text: b.textContent,
      label: b.getAttribute('aria-label'), disabled: b.disabled, hidden: b.hidden})),
  };
};
"#;

/// The colours of style.css's light scheme (headless Chromium's).
const OK: &str = "rgb(21, 128, 61)";
const BAD: &str = "rgb(185, 28, 28)";
const MUTED: &str = "rgb(87, 83, 78)";

async fn row(b: &Browser, unit: &str) -> Value {
    b.eval_with(&format!("{ROW}\nreturn ROW(arguments[0]);"), &[json!(unit)])
        .await
}

/// Waits until unit `unit`'s row satisfies `test` (an expression on `r`).
async fn wait_row(b: &Browser, unit: &str, test: &str, what: &str) {
    let script = format!(
        "{ROW}\nconst r = ROW({}); return r !== null && ({test});",
        json!(unit)
    );
    b.wait_for(&script, what).await;
}

async fn message(b: &Browser) -> Value {
    b.eval("const m = document.getElementById('services-message'); return [m.textContent, m.className, m.getAttribute('role')]")
        .await
}

async fn signed_in(d: &Daemon, user: &str, password: &str) -> Browser {
    let b = d.browser().await;
    sign_in_and_open_status(&b, d.addr().port(), user, password).await;
    b
}

fn labels(unit: &str) -> Value {
    json!([
        {"text": "Start", "label": format!("Start {unit}"), "disabled": false, "hidden": false},
        {"text": "Stop", "label": format!("Stop {unit}"), "disabled": false, "hidden": false},
        {"text": "Restart", "label": format!("Restart {unit}"), "disabled": false, "hidden": false},
    ])
}

/// One test, so that one browser at a time competes for the CPU; the
/// parts run one after another on one daemon and one fake systemd.
#[tokio::test(flavor = "multi_thread")]
async fn services_card_in_chromium() {
    let bus = PrivateBus::start();
    let fake = FakeSystemd::serve(&bus);
    fake.add_unit("caddy.service", "active", "running");
    fake.add_unit("nftables.service", "active", "exited");
    fake.add_unit("ssh.service", "active", "running");
    // docker.service, hearth.service and the consoles are followed but
    // not on this box.
    let d = Daemon::start(bus.system_options());
    d.add_user(MEMBER.0, MEMBER.1, "member").await;
    d.add_user(VIEWER.0, VIEWER.1, "viewer").await;

    let b = signed_in(&d, "admin", ADMIN_PASSWORD).await;
    the_admin_sees_the_states_and_buttons_on_the_allow_list(&b).await;
    a_crash_shows_live(&b, &fake).await;
    a_restart_shows_its_progress_and_the_state_comes_from_the_stream(&b, &fake).await;
    a_failing_job_shows_its_error(&b, &fake).await;
    b.eval("document.getElementById('h-services').scrollIntoView(); return true")
        .await;
    b.check_page("status-services-admin").await;
    // The failed job's answer (422) is how the page learns of it.
    b.assert_no_severe_errors(&["422 ()"]).await;
    drop(b);

    for (user, password, role) in [
        (VIEWER.0, VIEWER.1, "viewer"),
        (MEMBER.0, MEMBER.1, "member"),
    ] {
        let b = signed_in(&d, user, password).await;
        others_see_the_states_but_no_buttons(&b, role).await;
        if role == "viewer" {
            b.eval("document.getElementById('h-services').scrollIntoView(); return true")
                .await;
            b.check_page("status-services-viewer").await;
        }
        b.assert_no_severe_errors(&[]).await;
    }
}

async fn the_admin_sees_the_states_and_buttons_on_the_allow_list(b: &Browser) {
    wait_row(
        b,
        "caddy.service",
        "r.state === 'active (running)'",
        "caddy.service active on the card",
    )
    .await;
    let caddy = row(b, "caddy.service").await;
    assert_eq!(caddy["name"], "caddy.service");
    assert_eq!(caddy["level"], "ok", "{caddy}");
    assert_eq!(caddy["color"], OK, "{caddy}");
    assert_eq!(caddy["exit"], "", "no exit status while it runs: {caddy}");
    // Since when: relative, the time itself in a title (and for screen
    // readers in hidden text).
    let since = caddy["since"].as_str().unwrap();
    assert!(
        since.ends_with(" s ago") || since.ends_with(" min ago"),
        "{caddy}"
    );
    let title = caddy["title"].as_str().unwrap();
    assert!(!title.is_empty(), "{caddy}");
    assert_eq!(caddy["hidden"], format!(" ({title})"), "{caddy}");
    assert!(
        caddy["datetime"].as_str().unwrap().ends_with('Z'),
        "{caddy}"
    );
    assert_eq!(caddy["buttons"], labels("caddy.service"), "{caddy}");
    assert_eq!(caddy["busy"], "false");
    assert_eq!(
        row(b, "nftables.service").await["buttons"],
        labels("nftables.service")
    );

    // Followed, not on the allow-list: the state, no buttons.
    let ssh = row(b, "ssh.service").await;
    assert_eq!(ssh["state"], "active (running)", "{ssh}");
    assert_eq!(ssh["buttons"], json!([]), "{ssh}");
    let hearth = row(b, "hearth.service").await;
    assert_eq!(hearth["buttons"], json!([]), "{hearth}");
    // On the allow-list but not on this box: muted, nothing to press.
    let docker = row(b, "docker.service").await;
    assert_eq!(docker["state"], "not found", "{docker}");
    assert_eq!(docker["level"], "muted", "{docker}");
    assert_eq!(docker["color"], MUTED, "{docker}");
    assert!(
        docker["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["hidden"] == true),
        "{docker}"
    );

    // Table semantics: a header per column, the unit heads its row.
    let headers = b
        .eval("return Array.from(document.querySelectorAll('#services-table thead th'), th => [th.textContent, th.scope, th.hidden])")
        .await;
    assert_eq!(
        headers,
        json!([
            ["Service", "col", false],
            ["State", "col", false],
            ["Since", "col", false],
            ["Actions", "col", false]
        ])
    );
}

async fn a_crash_shows_live(b: &Browser, fake: &FakeSystemd) {
    assert_eq!(b.eval("window.notReloaded = true; return true").await, true);
    fake.crash("caddy.service", 3);
    wait_row(
        b,
        "caddy.service",
        "r.state === 'failed' && r.exit === ' · exit status 3'",
        "caddy.service failed with exit status 3",
    )
    .await;
    let caddy = row(b, "caddy.service").await;
    assert_eq!(caddy["level"], "bad", "{caddy}");
    assert_eq!(caddy["color"], BAD, "{caddy}");
    assert_eq!(
        b.eval("return window.notReloaded === true").await,
        true,
        "seen without a reload"
    );
}

async fn a_restart_shows_its_progress_and_the_state_comes_from_the_stream(
    b: &Browser,
    fake: &FakeSystemd,
) {
    fake.set_job_delay(Duration::from_millis(2000));
    b.click("button[aria-label='Restart caddy.service']").await;
    // At once: the button says what runs, the unit's buttons wait, and
    // the state is still what systemd last said.
    let caddy = row(b, "caddy.service").await;
    assert_eq!(
        caddy["buttons"],
        json!([
            {"text": "Start", "label": "Start caddy.service", "disabled": true, "hidden": false},
            {"text": "Stop", "label": "Stop caddy.service", "disabled": true, "hidden": false},
            {"text": "Restarting…", "label": "Restarting caddy.service…", "disabled": true, "hidden": false},
        ]),
        "{caddy}"
    );
    assert_eq!(caddy["busy"], "true", "{caddy}");
    assert_eq!(caddy["state"], "failed", "{caddy}");
    // Other units' buttons stay usable.
    assert_eq!(
        row(b, "nftables.service").await["buttons"],
        labels("nftables.service")
    );

    wait_row(
        b,
        "caddy.service",
        "r.state === 'active (running)' && r.exit === '' && r.buttons[2].text === 'Restart' && !r.buttons[2].disabled",
        "caddy.service active again, its buttons back",
    )
    .await;
    b.wait_text(
        "#services-message",
        "Restarted caddy.service.",
        "the restart's outcome",
    )
    .await;
    assert_eq!(
        message(b).await,
        json!(["Restarted caddy.service.", "message ok", "status"])
    );
    assert_eq!(row(b, "caddy.service").await["level"], "ok");
    assert!(
        fake.calls()
            .contains(&"RestartUnit caddy.service replace".to_string()),
        "{:?}",
        fake.calls()
    );
    // The clicked button has the focus back.
    assert_eq!(
        b.eval("return document.activeElement.getAttribute('aria-label')")
            .await,
        "Restart caddy.service"
    );
    fake.set_job_delay(Duration::from_millis(50));
}

async fn a_failing_job_shows_its_error(b: &Browser, fake: &FakeSystemd) {
    fake.fail_next_job("nftables.service");
    b.click("button[aria-label='Restart nftables.service']")
        .await;
    b.wait_for(
        "return document.getElementById('services-message').classList.contains('error')",
        "the failed job's error",
    )
    .await;
    assert_eq!(
        message(b).await,
        json!([
            "The restart job of nftables.service ended with \"failed\".",
            "message error",
            "status"
        ])
    );
    wait_row(
        b,
        "nftables.service",
        "r.state === 'failed' && r.exit === ' · exit status 1' && !r.buttons[2].disabled",
        "nftables.service failed, its buttons back",
    )
    .await;
    assert!(
        fake.calls()
            .contains(&"RestartUnit nftables.service replace".to_string()),
        "{:?}",
        fake.calls()
    );
}

async fn others_see_the_states_but_no_buttons(b: &Browser, role: &str) {
    assert!(!b.text("#whoami").await.is_empty());
    wait_row(
        b,
        "caddy.service",
        "r.state === 'active (running)'",
        "caddy.service active on the card",
    )
    .await;
    let nft = row(b, "nftables.service").await;
    assert_eq!(nft["state"], "failed", "{role}: {nft}");
    assert_eq!(nft["exit"], " · exit status 1", "{role}: {nft}");
    let seen = b
        .eval("return [document.querySelectorAll('#card-services button').length, document.getElementById('services-actions').hidden, document.querySelectorAll('#services tr').length, document.querySelectorAll('#services td.actions').length]")
        .await;
    assert_eq!(seen[0], 0, "{role} gets no buttons: {seen}");
    assert_eq!(seen[1], true, "{role}: no Actions column: {seen}");
    assert_eq!(seen[2], 7, "{role}: every followed unit: {seen}");
    assert_eq!(seen[3], 0, "{role}: {seen}");
}
