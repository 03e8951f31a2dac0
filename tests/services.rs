//! hearth follows and controls the box's services through systemd's
//! D-Bus API, against a fake systemd on a private `dbus-daemon`: the
//! `services` topic shows each state as it changes (no polling), an
//! admin's restart answers from the job's end, a failing job and a
//! refusal are reported, a unit outside the allow-list is refused before
//! systemd is asked, every action is audited, and a dropped bus is
//! connected again (the component `system` degraded meanwhile).

use hearth_testkit as common;

use std::time::Duration;

use common::fake_systemd::{FakeSystemd, PrivateBus};
use common::sse::{self, SseStream};
use common::{Daemon, Protocol, Reply, TlsClient};
use common::{eventually, when};

/// A private bus, a fake systemd on it with `units` (name, active, sub),
/// and hearth following it.
fn with_units(units: &[(&str, &str, &str)]) -> (PrivateBus, FakeSystemd, Daemon) {
    let bus = PrivateBus::start();
    let fake = FakeSystemd::serve(&bus);
    for (name, active, sub) in units {
        fake.add_unit(name, active, sub);
    }
    let d = Daemon::start(bus.system_options());
    (bus, fake, d)
}

/// `POST /api/v1/services/{unit}/{verb}` as `client`.
async fn act(client: &TlsClient, unit: &str, verb: &str) -> Reply {
    client
        .call("POST", &format!("/api/v1/services/{unit}/{verb}"), "")
        .await
}

/// The `services` topic, followed by `client`.
async fn follow(client: &TlsClient) -> SseStream {
    sse::open(
        client,
        Protocol::Http2,
        "/api/v1/events?topics=services",
        None,
    )
    .await
}

/// The next `services` report (or a snapshot's) satisfying `done`.
async fn services(
    stream: &mut SseStream,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    stream
        .until("services", Duration::from_secs(20), done)
        .await
}

fn unit<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["units"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["unit"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

async fn system_state(client: &TlsClient) -> String {
    client.get("/api/v1/health").await.json()["components"]["system"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn states_are_followed_as_they_change() {
    let (_bus, fake, d) = with_units(&[
        ("caddy.service", "active", "running"),
        ("nftables.service", "active", "exited"),
    ]);
    let admin = d.admin_client();
    let mut stream = follow(&admin).await;
    let report = services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "active"
    })
    .await;
    assert_eq!(unit(&report, "nftables.service")["sub"], "exited");
    // Which units admins may control, from the box's allow-list.
    assert_eq!(unit(&report, "caddy.service")["controllable"], true);
    // Followed though absent on this box, and the configured extra one.
    assert_eq!(unit(&report, "docker.service")["load"], "not-found");
    assert!(unit(&report, "ssh.service").is_object(), "{report}");
    assert_eq!(unit(&report, "ssh.service")["controllable"], false);

    // Caddy crashes by itself: seen without anyone asking.
    fake.crash("caddy.service", 3);
    let report = services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "failed"
    })
    .await;
    let caddy = unit(&report, "caddy.service");
    assert_eq!(caddy["exit_status"], 3);
    assert!(
        caddy["since_ms"].as_u64().unwrap() > 1_700_000_000_000,
        "{caddy}"
    );
    assert_eq!(system_state(&admin).await, "ok");
    let listed = admin.get("/api/v1/services").await.json();
    assert_eq!(listed["managed"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_control_units_on_the_allow_list_and_every_action_is_audited() {
    let (_bus, fake, d) = with_units(&[
        ("caddy.service", "failed", "failed"),
        ("nftables.service", "active", "exited"),
        ("docker.service", "active", "running"),
        ("ssh.service", "active", "running"),
    ]);
    let admin = d.admin_client();
    let mut stream = follow(&admin).await;
    services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "failed"
    })
    .await;

    // A restart answers once the job is done; the stream shows it.
    let r = act(&admin, "caddy.service", "restart").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["result"], "done");
    assert!(
        fake.calls()
            .contains(&"RestartUnit caddy.service replace".to_string()),
        "{:?}",
        fake.calls()
    );
    services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "active"
    })
    .await;

    // A job that fails says so.
    fake.fail_next_job("nftables.service");
    let r = act(&admin, "nftables.service", "restart").await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.error_message().contains("failed"));

    // systemd (polkit) refuses: said, not hidden.
    fake.deny("docker.service");
    let r = act(&admin, "docker.service", "stop").await;
    assert_eq!(r.status, 422, "{:?}", r.body);

    // Outside the allow-list: refused before systemd is asked.
    let before = fake.calls().len();
    let r = act(&admin, "ssh.service", "stop").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert!(
        !fake.calls()[before..]
            .iter()
            .any(|c| c.contains("ssh.service")),
        "{:?}",
        fake.calls()
    );
    let r = act(&admin, "caddy.service", "explode").await;
    assert_eq!(r.status, 404);

    // Members may not.
    let member = d.signed_in("mia", "member").await;
    let r = act(&member, "caddy.service", "restart").await;
    assert_eq!(r.status, 403);

    let audit = admin.get("/api/v1/audit").await.json().to_string();
    for (action, outcome) in [
        ("service.restart", "success"),
        ("service.restart", "failure"),
        ("service.stop", "failure"),
        ("service.stop", "denied"),
    ] {
        assert!(
            audit.contains(action) && audit.contains(outcome),
            "{action} {outcome} in {audit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_bus_is_connected_again() {
    let (mut bus, fake, d) = with_units(&[("caddy.service", "active", "running")]);
    let admin = d.admin_client();
    eventually(Duration::from_secs(20), "the system ok", || async {
        when(system_state(&admin).await, |s| s == "ok")
    })
    .await;
    bus.stop();
    eventually(
        Duration::from_secs(30),
        "the system degraded without its bus",
        || async { when(system_state(&admin).await, |s| s == "degraded") },
    )
    .await;
    bus.restart();
    fake.wait_ready();
    fake.set_state("caddy.service", "activating", "start");
    eventually(
        Duration::from_secs(60),
        "the system back after the bus came back",
        || async { when(system_state(&admin).await, |s| s == "ok") },
    )
    .await;
    let mut stream = follow(&admin).await;
    services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "activating"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_name_and_time_zone_from_setup_reach_hostnamed_and_timedated() {
    let (_bus, fake, d) = with_units(&[]);
    // The harness's setup chose `testbox` in UTC.
    let admin = d.admin_client();
    eventually(
        Duration::from_secs(20),
        "hostnamed with testbox and timedated with UTC",
        || async {
            let (name, zone) = (fake.static_hostname(), fake.timezone());
            if name == "testbox" && zone == "UTC" {
                Ok(())
            } else {
                Err(format!(
                    "hostnamed has {name:?}, timedated {zone:?}; calls {:?}",
                    fake.calls()
                ))
            }
        },
    )
    .await;
    assert_eq!(fake.hostname(), "testbox", "the running name too");
    let health = admin.get("/api/v1/health").await.json();
    assert_eq!(health["components"]["host"]["state"], "ok", "{health}");
    // In step: nothing is set again.
    let calls = fake.calls().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !fake.calls()[calls..]
            .iter()
            .any(|c| c.starts_with("SetStaticHostname") || c.starts_with("SetTimezone")),
        "{:?}",
        fake.calls()
    );
}

/// The status of the next `host` report (or a snapshot's) satisfying `done`.
async fn host_status(
    stream: &mut SseStream,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let report = stream
        .until("host", Duration::from_secs(20), |r| done(&r["status"]))
        .await;
    report["status"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settings_change_the_host_name_time_zone_and_ntp_and_the_host_topic_shows_them() {
    let (_bus, fake, d) = with_units(&[]);
    let admin = d.admin_client();
    let mut stream = sse::open(&admin, Protocol::Http2, "/api/v1/events?topics=host", None).await;
    // Setup's `testbox` in UTC, applied; the fake's NTP is on.
    let status = host_status(&mut stream, |s| s["hostname"] == "testbox").await;
    assert_eq!(status["timezone"], "UTC", "{status}");
    assert_eq!(status["ntp"], true, "{status}");

    let body = r#"{"hostname":"attic","timezone":"Europe/Vienna","ntp":false}"#;
    let r = admin.patch_settings(body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json()["hostname"], "attic");
    assert_eq!(r.json()["ntp"], false);
    let status = host_status(&mut stream, |s| {
        s["hostname"] == "attic" && s["timezone"] == "Europe/Vienna" && s["ntp"] == false
    })
    .await;
    assert_eq!(status["running_hostname"], "attic", "{status}");
    assert_eq!(
        (
            fake.static_hostname(),
            fake.hostname(),
            fake.timezone(),
            fake.ntp()
        ),
        (
            "attic".into(),
            "attic".into(),
            "Europe/Vienna".into(),
            false
        )
    );
    let audit = admin.get("/api/v1/audit").await.json().to_string();
    assert!(
        audit.contains("settings.host")
            && audit.contains("hostname=attic timezone=Europe/Vienna ntp=false"),
        "{audit}"
    );

    // One bad field: a 400 naming it, and nothing of the request stored.
    for (body, field) in [
        (
            r#"{"hostname":"cellar","timezone":"Mars/Olympus"}"#,
            "timezone",
        ),
        (r#"{"hostname":"-cellar-","ntp":true}"#, "hostname"),
        (r#"{"ntp":"yes"}"#, "ntp"),
    ] {
        let r = admin.patch_settings(body).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{body}: {:?}", r.body);
    }
    let settings = admin.get("/api/v1/settings").await.json();
    assert_eq!(settings["hostname"], "attic", "{settings}");
    assert_eq!(settings["ntp"], false, "{settings}");

    // Admins only, the topic too.
    let member = d.signed_in("mia", "member").await;
    let r = member.patch_settings(r#"{"hostname":"mine"}"#).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = member.get("/api/v1/events?topics=host").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(fake.static_hostname(), "attic");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reboot_is_announced_audited_and_asked_of_logind_seconds_later() {
    let (_bus, fake, d) = with_units(&[("caddy.service", "active", "running")]);
    let admin = d.admin_client();
    let mut stream = follow(&admin).await;
    services(&mut stream, |r| {
        unit(r, "caddy.service")["active"] == "active"
    })
    .await;

    let member = d.signed_in("mia", "member").await;
    let r = member.call("POST", "/api/v1/system/reboot", "").await;
    assert_eq!(r.status, 403, "members may not");

    let r = admin.call("POST", "/api/v1/system/reboot", "").await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let at_ms = r.json()["at_ms"].as_u64().unwrap();
    let notice = services(&mut stream, |r| r["power"].is_object()).await;
    assert_eq!(notice["power"]["action"], "reboot");
    assert_eq!(notice["power"]["at_ms"], at_ms);
    assert_eq!(fake.reboots(), 0, "announced before it happens");
    eventually(
        Duration::from_secs(15),
        "logind asked to reboot",
        || async {
            if fake.reboots() > 0 {
                Ok(())
            } else {
                Err(format!("calls {:?}", fake.calls()))
            }
        },
    )
    .await;
    assert!(fake.calls().contains(&"Reboot false".to_string()));
    let audit = admin.get("/api/v1/audit").await.json().to_string();
    assert!(audit.contains("system.reboot"), "{audit}");
}
