//! The test fixture `common::fake_systemd` itself, seen by a zbus client as
//! hearth will see it: a private bus, the fake's names, a unit restarted
//! with its JobRemoved and PropertiesChanged, a failing job, a refused
//! unit, the hostname, timezone and reboot calls recorded, and the bus
//! restarted under a client.

use hearth_testkit as common;

use std::collections::HashMap;
use std::time::Duration;

use common::fake_systemd::{
    ACCESS_DENIED, FakeSystemd, INVALID_ARGS, NO_SUCH_UNIT, PrivateBus, unit_path,
};
use futures_util::StreamExt;
use hearth::system::dbus::{
    HostnameProxy, JobRemovedStream, LoginProxy, ManagerProxy, ServiceProxy, TimedateProxy,
    UnitProxy,
};
use zbus::{Connection, OwnedObjectPath};

const WAIT: Duration = Duration::from_secs(5);

async fn client(bus: &PrivateBus) -> Connection {
    zbus::connection::Builder::address(bus.address().as_str())
        .build()
        .await
        .expect("a client connects to the private bus")
}

async fn unit_proxies(
    conn: &Connection,
    path: &str,
) -> (UnitProxy<'static>, ServiceProxy<'static>) {
    let unit = UnitProxy::builder(conn)
        .path(path.to_string())
        .build()
        .await
        .unwrap();
    let service = ServiceProxy::builder(conn)
        .path(path.to_string())
        .build()
        .await
        .unwrap();
    (unit, service)
}

/// A private bus, the fake serving on it and knowing `units` (name,
/// active state, sub-state), and a client connected to the bus.
async fn fake_with(units: &[(&str, &str, &str)]) -> (PrivateBus, FakeSystemd, Connection) {
    let bus = PrivateBus::start();
    let fake = FakeSystemd::serve(&bus);
    for (name, active, sub) in units {
        fake.add_unit(name, active, sub);
    }
    let conn = client(&bus).await;
    (bus, fake, conn)
}

/// The systemd manager on `conn`, subscribed, and its JobRemoved signals.
async fn subscribed(conn: &Connection) -> (ManagerProxy<'static>, JobRemovedStream) {
    let manager = ManagerProxy::new(conn).await.unwrap();
    manager.subscribe().await.unwrap();
    let removed = manager.receive_job_removed().await.unwrap();
    (manager, removed)
}

/// `GetUnit`, which hearth never calls (it loads units): the path of a
/// unit the manager knows, or NoSuchUnit.
async fn get_unit(manager: &ManagerProxy<'_>, name: &str) -> zbus::Result<OwnedObjectPath> {
    manager.inner().call("GetUnit", &(name,)).await
}

/// A property hearth's proxies do not declare (it does not read it), read
/// through the generic proxy under `typed` (a unit's or service's).
async fn property<T>(typed: &zbus::Proxy<'_>, name: &str) -> T
where
    T: serde::de::DeserializeOwned + zbus::zvariant::Type,
{
    typed
        .get_property(name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The name of the D-Bus error a call failed with.
fn error_name(e: &zbus::Error) -> String {
    use zbus::DBusError;
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        zbus::Error::FDO(e) => e.name().to_string(),
        zbus::Error::DBus(e) => e.name().to_string(),
        other => panic!("not an error reply: {other:?}"),
    }
}

/// Waits for the JobRemoved of `job`: `(unit, result)`.
async fn job_removed(stream: &mut JobRemovedStream, job: &OwnedObjectPath) -> (String, String) {
    tokio::time::timeout(WAIT, async {
        while let Some(signal) = stream.next().await {
            let args = signal.args().unwrap();
            if args.job().as_str() == job.as_str() {
                return (args.unit().to_string(), args.result().to_string());
            }
        }
        panic!("the JobRemoved stream ended");
    })
    .await
    .unwrap_or_else(|_| panic!("no JobRemoved for {job} in {WAIT:?}"))
}

/// Collects PropertiesChanged by interface until `iface` has said
/// `ActiveState` = `want` (and, for a service, the Service one came too).
async fn changes_until(
    stream: &mut zbus::fdo::PropertiesChangedStream,
    want: &str,
) -> HashMap<String, HashMap<String, String>> {
    let mut seen: HashMap<String, HashMap<String, String>> = HashMap::new();
    tokio::time::timeout(WAIT, async {
        while let Some(signal) = stream.next().await {
            let args = signal.args().unwrap();
            let entry = seen.entry(args.interface_name().to_string()).or_default();
            for (k, v) in args.changed_properties() {
                entry.insert(k.to_string(), format!("{v}"));
            }
            let unit_done = seen
                .get("org.freedesktop.systemd1.Unit")
                .and_then(|m| m.get("ActiveState"))
                .is_some_and(|s| s.trim_matches('"') == want);
            if unit_done && seen.contains_key("org.freedesktop.systemd1.Service") {
                return;
            }
        }
        panic!("the PropertiesChanged stream ended");
    })
    .await
    .unwrap_or_else(|_| panic!("no PropertiesChanged to {want} in {WAIT:?}: {seen:?}"));
    seen
}

#[test]
fn unit_paths_are_escaped_as_systemd_does() {
    assert_eq!(
        unit_path("caddy.service"),
        "/org/freedesktop/systemd1/unit/caddy_2eservice"
    );
    assert_eq!(
        unit_path("hearth-console@tty1.service"),
        "/org/freedesktop/systemd1/unit/hearth_2dconsole_40tty1_2eservice"
    );
    assert_eq!(
        unit_path("1x.target"),
        "/org/freedesktop/systemd1/unit/_31x_2etarget"
    );
}

#[tokio::test]
async fn restart_gives_job_removed_done_and_properties_changed() {
    let (bus, fake, conn) = fake_with(&[("caddy.service", "active", "running")]).await;
    assert!(bus.address().starts_with("unix:path=/tmp/"));
    let before = fake.unit("caddy.service").unwrap();
    let (manager, mut removed) = subscribed(&conn).await;
    let path = get_unit(&manager, "caddy.service").await.unwrap();
    assert_eq!(path.as_str(), unit_path("caddy.service"));
    let (unit, service) = unit_proxies(&conn, path.as_str()).await;
    assert_eq!(unit.id().await.unwrap(), "caddy.service");
    assert_eq!(unit.load_state().await.unwrap(), "loaded");
    assert_eq!(unit.active_state().await.unwrap(), "active");
    assert_eq!(unit.sub_state().await.unwrap(), "running");
    let first_pid = property::<u32>(service.inner(), "MainPID").await;
    assert_ne!(first_pid, 0);

    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination("org.freedesktop.systemd1")
        .path(path.clone())
        .build()
        .await
        .unwrap();
    let mut changed = props.receive_properties_changed().await.unwrap();

    let job = manager
        .restart_unit("caddy.service", "replace")
        .await
        .unwrap();
    assert!(
        job.as_str().starts_with("/org/freedesktop/systemd1/job/"),
        "{job}"
    );
    let seen = changes_until(&mut changed, "active").await;
    let (unit_name, result) = job_removed(&mut removed, &job).await;
    assert_eq!(
        (unit_name.as_str(), result.as_str()),
        ("caddy.service", "done")
    );

    let unit_props = &seen["org.freedesktop.systemd1.Unit"];
    for p in [
        "ActiveState",
        "SubState",
        "StateChangeTimestamp",
        "ActiveEnterTimestamp",
        "InactiveEnterTimestamp",
    ] {
        assert!(unit_props.contains_key(p), "{p} missing: {seen:?}");
    }
    let service_props = &seen["org.freedesktop.systemd1.Service"];
    for p in ["ExecMainStatus", "ExecMainCode"] {
        assert!(service_props.contains_key(p), "{p} missing: {seen:?}");
    }

    assert_eq!(unit.active_state().await.unwrap(), "active");
    assert_eq!(unit.sub_state().await.unwrap(), "running");
    assert!(
        property::<u64>(unit.inner(), "ActiveEnterTimestamp").await > before.active_enter_timestamp
    );
    assert!(unit.state_change_timestamp().await.unwrap() > before.state_change_timestamp);
    assert!(property::<u64>(unit.inner(), "InactiveEnterTimestamp").await > 0);
    assert_eq!(service.exec_main_status().await.unwrap(), 0);
    assert_ne!(
        property::<u32>(service.inner(), "MainPID").await,
        first_pid,
        "a new process"
    );

    // Stop: inactive/dead.
    let job = manager.stop_unit("caddy.service", "replace").await.unwrap();
    assert_eq!(job_removed(&mut removed, &job).await.1, "done");
    assert_eq!(unit.active_state().await.unwrap(), "inactive");
    assert_eq!(unit.sub_state().await.unwrap(), "dead");
    assert_eq!(property::<u32>(service.inner(), "MainPID").await, 0);

    let calls = fake.calls();
    for call in [
        "Subscribe",
        "GetUnit caddy.service",
        "RestartUnit caddy.service replace",
        "StopUnit caddy.service replace",
    ] {
        assert!(calls.iter().any(|c| c == call), "{call} in {calls:?}");
    }
}

#[tokio::test]
async fn a_failing_job_gives_failed_and_a_unit_that_failed() {
    let (_bus, fake, conn) = fake_with(&[("docker.service", "inactive", "dead")]).await;
    fake.fail_next_job("docker.service");
    let (manager, mut removed) = subscribed(&conn).await;
    let job = manager
        .start_unit("docker.service", "replace")
        .await
        .unwrap();
    assert_eq!(
        job_removed(&mut removed, &job).await,
        ("docker.service".to_string(), "failed".to_string())
    );
    let path = get_unit(&manager, "docker.service").await.unwrap();
    let (unit, service) = unit_proxies(&conn, path.as_str()).await;
    assert_eq!(unit.active_state().await.unwrap(), "failed");
    assert_eq!(unit.sub_state().await.unwrap(), "failed");
    assert_ne!(service.exec_main_status().await.unwrap(), 0);
    assert_eq!(service.exec_main_code().await.unwrap(), 1, "CLD_EXITED");

    // Only the next one: the one after it succeeds.
    let job = manager
        .start_unit("docker.service", "replace")
        .await
        .unwrap();
    assert_eq!(job_removed(&mut removed, &job).await.1, "done");
    assert_eq!(unit.active_state().await.unwrap(), "active");
    assert_eq!(service.exec_main_status().await.unwrap(), 0);
}

#[tokio::test]
async fn a_unit_crashing_by_itself_emits_properties_changed() {
    let (_bus, fake, conn) = fake_with(&[("caddy.service", "active", "running")]).await;
    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination("org.freedesktop.systemd1")
        .path(unit_path("caddy.service"))
        .build()
        .await
        .unwrap();
    let mut changed = props.receive_properties_changed().await.unwrap();
    fake.crash("caddy.service", 2);
    let seen = changes_until(&mut changed, "failed").await;
    assert_eq!(
        seen["org.freedesktop.systemd1.Service"]["ExecMainStatus"],
        "2"
    );
    fake.set_state("caddy.service", "active", "running");
    changes_until(&mut changed, "active").await;
}

#[tokio::test]
async fn refusals_are_systemds_errors() {
    let (_bus, fake, conn) = fake_with(&[("ssh.service", "active", "running")]).await;
    fake.deny("ssh.service");
    let manager = ManagerProxy::new(&conn).await.unwrap();

    let e = manager
        .restart_unit("ssh.service", "replace")
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), ACCESS_DENIED, "{e:?}");
    assert_eq!(fake.unit("ssh.service").unwrap().active_state, "active");
    // Reading is not refused.
    get_unit(&manager, "ssh.service").await.unwrap();

    let e = get_unit(&manager, "nope.service").await.unwrap_err();
    assert_eq!(error_name(&e), NO_SUCH_UNIT, "{e:?}");
    let e = manager
        .start_unit("nope.service", "replace")
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), NO_SUCH_UNIT, "{e:?}");
    let e = manager
        .start_unit("ssh.service", "whenever")
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), INVALID_ARGS, "{e:?}");

    // LoadUnit of an unknown unit gives a not-found one, as systemd does.
    let path = manager.load_unit("nope.service").await.unwrap();
    let (unit, _) = unit_proxies(&conn, path.as_str()).await;
    assert_eq!(unit.load_state().await.unwrap(), "not-found");
    assert_eq!(unit.active_state().await.unwrap(), "inactive");

    fake.deny_method("Reboot");
    let e = LoginProxy::new(&conn)
        .await
        .unwrap()
        .reboot(false)
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), ACCESS_DENIED, "{e:?}");
    assert_eq!(fake.reboots(), 0);
}

#[tokio::test]
async fn host_settings_and_reboot_are_recorded() {
    let (_bus, fake, conn) = fake_with(&[]).await;

    let hostnamed = HostnameProxy::new(&conn).await.unwrap();
    hostnamed.set_static_hostname("mybox", false).await.unwrap();
    assert_eq!(fake.hostname(), "mybox");
    assert_eq!(fake.static_hostname(), "mybox");
    assert_eq!(hostnamed.static_hostname().await.unwrap(), "mybox");
    assert_eq!(hostnamed.hostname().await.unwrap(), "mybox");

    let timedated = TimedateProxy::new(&conn).await.unwrap();
    timedated.set_timezone("Europe/Paris", false).await.unwrap();
    timedated.set_ntp(false, false).await.unwrap();
    assert_eq!(fake.timezone(), "Europe/Paris");
    assert!(!fake.ntp());
    assert_eq!(timedated.timezone().await.unwrap(), "Europe/Paris");
    assert!(!timedated.ntp().await.unwrap());

    LoginProxy::new(&conn)
        .await
        .unwrap()
        .reboot(false)
        .await
        .unwrap();
    assert_eq!(fake.reboots(), 1);
    assert_eq!(
        fake.calls(),
        [
            "SetStaticHostname mybox",
            "SetTimezone Europe/Paris",
            "SetNTP false",
            "Reboot false"
        ]
    );
}

#[tokio::test]
async fn the_bus_restarts_and_the_fake_comes_back() {
    let (mut bus, fake, conn) = fake_with(&[("caddy.service", "active", "running")]).await;
    let hostnamed = HostnameProxy::new(&conn).await.unwrap();
    hostnamed
        .set_static_hostname("before", false)
        .await
        .unwrap();

    bus.restart();
    tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("the client's connection closes with the bus");
    fake.wait_ready();
    // A unit added while reconnecting, or after, is served too.
    fake.add_unit("docker.service", "inactive", "dead");

    let conn = client(&bus).await;
    let (manager, mut removed) = subscribed(&conn).await;
    let job = manager
        .start_unit("docker.service", "replace")
        .await
        .unwrap();
    assert_eq!(job_removed(&mut removed, &job).await.1, "done");
    let path = get_unit(&manager, "caddy.service").await.unwrap();
    let (unit, _) = unit_proxies(&conn, path.as_str()).await;
    assert_eq!(unit.active_state().await.unwrap(), "active");
    // The fake's state outlives the bus.
    let hostnamed = HostnameProxy::new(&conn).await.unwrap();
    assert_eq!(hostnamed.static_hostname().await.unwrap(), "before");
}
