//! The appliance end to end: the image `make image` built boots under
//! qemu (UEFI, TCG) on a disk bigger than the image, survives a power cut
//! in the middle of its first boot, hearth comes up and the recovery
//! console shows its setup code on the serial port, the box is set up and
//! signed in to over the forwarded port, the admin's password is reset
//! by typing at the serial console, and after a power-off and a new boot
//! the admin account (with the console's password), the certificate and
//! the grown /var are all still there. Inside the booted image hearth
//! follows and restarts the real systemd's units over D-Bus, sets the
//! host name, time zone and NTP through hostnamed and timedated (kept
//! across the reboot in the /etc overlay on /var), and holds only what
//! the README's table says.

use hearth_testkit as common;
#[path = "vm/servers_contained.rs"]
mod servers_contained;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::docker_cli::{busybox_rootfs, docker, write_context};
use common::eventually_every;
use common::sse;
use common::vm::{
    AnsiStripper, Disk, FIRST_ENGINE_PORT, ImageBuild, Utf8Decoder, Vm, first_certificate,
    line_after,
};
use common::{ADMIN_PASSWORD, Protocol, TlsClient, complete_setup};

/// The recovery console's line while hearth answers on its control
/// socket (systemd/hearth-console@.service on ttyS0; until then it says
/// `hearth is not running`). Its first appearance times the boot, to
/// within the console's redraw (every 3 s).
const READY_LINE: &str = "hearth is ready.";
const SETUP_CODE_LINE: &str = "hearth setup code: ";
/// The console's answer to a password reset: `g`enerated, four groups of
/// four.
const NEW_PASSWORD_LINE: &str = "New password for admin: ";
/// The most a console screen may take to follow a key (it redraws every
/// 3 s; a reset may wait for the daemon's answer).
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Under TCG on two shared cores a boot takes 30 to 60 s; ten times that
/// before calling it hung.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);
/// Room for the image, root slot B (made by the first boot) and a /var
/// that takes a 1 GiB server with room to spare (a sparse file).
const DISK_SIZE: u64 = 5 << 30;
/// The Discoverable Partitions Specification's type for /var, which the
/// first boot gives hearth-var once it is set up.
const VAR_PARTITION_TYPE: &str = "4d21b016-b534-45c2-a9fb-5c16e091fd2d";

#[tokio::test(flavor = "multi_thread")]
async fn the_image_boots_is_set_up_and_keeps_its_state_across_a_reboot() {
    let build = ImageBuild::from_env();
    let disk = Disk::scratch_copy(&build.image, DISK_SIZE);

    // The power fails while the first boot is setting up /var.
    let mut vm = Vm::boot(&disk, "interrupted-first-boot");
    vm.wait_for("hearth-var: filling /var", BOOT_TIMEOUT);
    vm.power_cut();
    drop(vm);

    // First boot, again: hearth ready, the setup code on the console (on
    // a screen drawn once hearth answered: the code is hearth's).
    let mut vm = Vm::boot(&disk, "first-boot");
    let (code, first_ready) = setup_code_on_the_console(&mut vm);
    let cert = wait_for_certificate(&vm).await;
    let client = TlsClient::trusting_der(vec![cert.clone()], vm.addr());
    let health = client.get("/api/v1/health").await;
    assert_eq!(health.status, 200, "health: {:?}", health.body);

    let (session, var_size) = setup_grows_var_and_starts_the_firewall(&vm, &client, &code).await;
    caddy_serves_hearth_on_443(&vm, &client, &session).await;
    services_follow_the_real_systemd(&vm, &client, &session).await;
    hearth_holds_what_the_readme_says(&client, &session).await;
    let host = host_settings_reach_hostnamed_and_timedated(&client, &session).await;
    assert!(host["applied_since_start"].as_u64().unwrap() >= 3, "{host}");
    let (member, server) = a_members_server_runs(&vm, &client, &session).await;
    let context = the_member_runs_a_container_with_docker(&vm, &client, &member, &server).await;
    servers_contained::a_server_keeps_to_its_own(&vm, &client, &member, &server, context.path())
        .await;
    servers_contained::a_containers_own_limits_hold(&vm, &client, &member, &server, context.path())
        .await;
    drop(context);
    let password = the_console_resets_the_admins_password(&mut vm, &client).await;

    vm.power_off(Duration::from_secs(180));
    let first_serial = vm.serial();
    drop(vm);

    let machine_id = first_boot_left_its_state_on_var(&disk, &server);

    // Second boot: same disk, same state.
    let mut vm = Vm::boot(&disk, "second-boot");
    let (_, second_ready) = vm.wait_for(READY_LINE, BOOT_TIMEOUT);
    // Pinned to the first boot's certificate: a new one fails the handshake.
    wait_for_certificate(&vm).await;
    let client = TlsClient::trusting_der(vec![cert.clone()], vm.addr());
    assert_eq!(client.peer_certificate().await, cert.to_vec());
    // The password the console gave: the reset was kept in hearth's state.
    let session = client.login("admin", &password).await;
    let me = client.as_user(&session, "GET", "/api/v1/session", "").await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    let claim = client.claim_setup(&code).await;
    assert_eq!(claim.status, 410, "setup is over: {:?}", claim.body);
    let status = client.as_user(&session, "GET", "/api/v1/status", "").await;
    assert_eq!(var_size_bytes(&status.json()), var_size);
    host_settings_came_back(&client, &session).await;
    // The member's server came back by itself: its storage mounted again,
    // its engine started again.
    server_phase(
        &client,
        &member,
        &server,
        "running",
        Duration::from_secs(300),
        &vm,
    )
    .await;
    // No code is shown once the box is set up.
    assert!(!vm.serial().contains(SETUP_CODE_LINE));
    assert!(first_serial.contains(SETUP_CODE_LINE));
    vm.power_off(Duration::from_secs(180));
    assert_eq!(
        disk.var_partition().read("lib/machine-id"),
        machine_id,
        "the machine-id changed across a reboot"
    );

    report_times_and_sizes(&build, first_ready, second_ready);
}

/// First boot: hearth ready, the setup code on the console (on a screen
/// drawn once hearth answered: the code is hearth's). Answers the code
/// and how long hearth took to be ready.
fn setup_code_on_the_console(vm: &mut Vm) -> (String, Duration) {
    let (_, first_ready) = vm.wait_for(READY_LINE, BOOT_TIMEOUT);
    let ready = vm.mark();
    let (line, _) = vm.wait_for_after(ready, SETUP_CODE_LINE, Duration::from_secs(60));
    let code = line
        .split(SETUP_CODE_LINE)
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert!(
        hearth::auth::SetupCode::from_stored(&code).is_some(),
        "the console's setup code line is not a setup code: {line:?}"
    );
    (code, first_ready)
}

/// Setup through the API, as the owner would; the first boot grew /var
/// to the disk and hearth's firewall is in force. Answers the admin's
/// session and the size of /var.
async fn setup_grows_var_and_starts_the_firewall(
    vm: &Vm,
    client: &TlsClient,
    code: &str,
) -> (String, u64) {
    complete_setup(client, code).await;
    let session = client.login("admin", ADMIN_PASSWORD).await;
    let status = client.as_user(&session, "GET", "/api/v1/status", "").await;
    assert_eq!(status.status, 200);
    let var_size = var_size_bytes(&status.json());
    // The image's /var partition is 64 MiB; first boot grew it to the disk.
    assert!(
        var_size > DISK_SIZE / 2,
        "/var is {var_size} bytes on a {DISK_SIZE}-byte disk: it was not grown"
    );

    assert!(
        vm.serial().contains("Finished nftables.service"),
        "the base firewall ruleset was not loaded"
    );
    // hearth manages the firewall on the image: as user hearth, `nft` runs
    // with the unit's CAP_NET_ADMIN under its system call filter.
    eventually_every(
        Duration::from_secs(60),
        Duration::from_secs(1),
        "the firewall in force on the image",
        async || {
            let health = client.get("/api/v1/health").await.json();
            if health["components"]["firewall"]["state"] == "ok" {
                Ok(())
            } else {
                Err(format!("{health}\n{}", vm.serial()))
            }
        },
    )
    .await;
    (session, var_size)
}

/// The first boot made root slot B (partition 4) in front of /var, the
/// size and type of slot A, which the image ships alone.
fn root_slot_b_was_made(disk: &Disk) {
    let parts = disk.partitions();
    let named = |name: &str| {
        parts
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} partition: {parts:?}"))
    };
    let (a, b, var) = (
        named("hearth-root-a"),
        named("hearth-root-b"),
        named("hearth-var"),
    );
    assert!(
        parts[3]["name"] == "hearth-root-b",
        "slot B is not partition 4: {parts:?}"
    );
    assert_eq!(b["size"], a["size"], "slot B is not slot A's size");
    assert_eq!(b["type"], a["type"], "slot B is not a root partition");
    let end = |p: &serde_json::Value| p["start"].as_u64().unwrap() + p["size"].as_u64().unwrap();
    assert_eq!(
        b["start"].as_u64().unwrap(),
        end(a),
        "slot B is not right after slot A"
    );
    assert_eq!(
        var["start"].as_u64().unwrap(),
        end(b),
        "/var is not right after slot B"
    );
}

/// What the first boot left on hearth-var: marked set up, the factory
/// /var in full, a machine-id of its own (answered), the host settings
/// and the server's accounts and storage.
fn first_boot_left_its_state_on_var(disk: &Disk, server: &str) -> String {
    root_slot_b_was_made(disk);
    let var = disk.var_partition();
    assert_eq!(var.partition_type, VAR_PARTITION_TYPE);
    // The journal is kept on /var: a failed update's boots can be shown.
    assert!(
        !var.list("log/journal").is_empty(),
        "no persistent journal in /var/log/journal"
    );
    let machine_id = var.read("lib/machine-id");
    assert!(
        machine_id.trim().len() == 32 && machine_id.trim().bytes().all(|b| b.is_ascii_hexdigit()),
        "machine-id {machine_id:?}"
    );
    let lib = var.list("lib");
    for entry in [
        "dpkg",
        "caddy",
        "docker-etc",
        "hearth",
        "systemd",
        "hearth-etc",
    ] {
        assert!(
            lib.iter().any(|n| n == entry),
            "/var/lib/{entry} missing: {lib:?}"
        );
    }
    // What hostnamed and timedated wrote to /etc, kept on /var.
    assert_eq!(var.read("lib/hearth-etc/upper/hostname").trim(), "testbox");
    let localtime = var.link("lib/hearth-etc/upper/localtime");
    assert!(
        localtime.ends_with("zoneinfo/Europe/Berlin"),
        "/etc/localtime leads to {localtime}"
    );

    // The server's user and range, kept on /var with the OS's accounts;
    // its storage image beside.
    for file in ["passwd", "group", "shadow", "subuid", "subgid"] {
        let text = var.read(&format!("lib/hearth-etc/upper/{file}"));
        assert!(
            text.contains(&format!("hs-{server}:")),
            "/etc/{file} on /var lacks the server's line: {text}"
        );
    }
    let storage = var.list(&format!("lib/hearth-servers/{server}"));
    assert!(storage.iter().any(|n| n == "disk.img"), "{storage:?}");
    machine_id
}

/// The host settings came back with the machine: hostnamectl's and
/// timedatectl's view (the same D-Bus properties) without hearth
/// setting anything again.
async fn host_settings_came_back(client: &TlsClient, session: &str) {
    let mut admin = client.clone();
    admin.session = Some(session.to_string());
    let mut stream = sse::open(&admin, Protocol::Http2, "/api/v1/events?topics=host", None).await;
    let host = stream
        .until("host", Duration::from_secs(120), |r| {
            r["status"].is_object()
        })
        .await["status"]
        .clone();
    assert_eq!(host["hostname"], "testbox", "{host}");
    assert_eq!(host["running_hostname"], "testbox", "{host}");
    assert_eq!(host["timezone"], "Europe/Berlin", "{host}");
    assert_eq!(host["ntp"], false, "{host}");
    assert_eq!(host["applied_since_start"], 0, "{host}");
}

/// The boot times and the image's sizes, written to stderr directly, not
/// through println!, which the test harness captures: `make test` shows
/// these figures on every run.
fn report_times_and_sizes(build: &ImageBuild, first_ready: Duration, second_ready: Duration) {
    let meta = std::fs::metadata(&build.image).unwrap();
    let (raw, allocated) = (meta.len(), meta.blocks() * 512);
    let zst = std::fs::metadata(build.image.with_extension("img.zst"))
        .map(|m| m.len())
        .expect("make image writes the .img.zst beside the image");
    // Written to stderr directly, not through println!, which the test
    // harness captures: `make test` shows these figures on every run.
    let mut err = std::io::stderr();
    writeln!(
        err,
        "vm: qemu start to hearth READY: {:.1} s on first boot, {:.1} s on the second",
        first_ready.as_secs_f64(),
        second_ready.as_secs_f64()
    )
    .unwrap();
    writeln!(
        err,
        "vm: image {} MiB raw ({} MiB allocated), {} MiB zstd-compressed",
        raw >> 20,
        allocated >> 20,
        zst >> 20
    )
    .unwrap();
}

/// The recovery console on the serial port, as the owner at the box would
/// use it: `p`, the admin's number in the user list, `g` for a generated
/// password, the new password read off the screen, any key back to the
/// menu. Each screen is looked for in what the console printed after the
/// keys that lead to it (earlier screens hold the same lines). Through
/// the API, the new password then signs in, the old one no longer does,
/// and the audit log holds the console's reset. Answers the new password.
async fn the_console_resets_the_admins_password(vm: &mut Vm, client: &TlsClient) -> String {
    // The menu, drawn afresh: the console runs and hearth answers.
    let mark = vm.mark();
    vm.wait_for_after(mark, READY_LINE, CONSOLE_TIMEOUT);

    let mark = vm.mark();
    vm.type_keys("p");
    // A line such as ` 1  admin  (admin)`: the number to press, the name.
    let (line, _) = vm.wait_for_line_after(mark, "the user list's admin", CONSOLE_TIMEOUT, |l| {
        let mut words = l.split_whitespace();
        words.next().is_some_and(|n| n.parse::<u32>().is_ok()) && words.next() == Some("admin")
    });
    let number = line.split_whitespace().next().unwrap().to_string();

    let mark = vm.mark();
    vm.type_keys(&number);
    vm.wait_for_after(mark, " g  ", CONSOLE_TIMEOUT);

    let mark = vm.mark();
    vm.type_keys("g");
    let (line, _) = vm.wait_for_after(mark, NEW_PASSWORD_LINE, CONSOLE_TIMEOUT);
    let password = line
        .split(NEW_PASSWORD_LINE)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert!(
        is_generated_password(&password),
        "the console's new password is not four groups of four: {line:?}"
    );
    // The prompt ends the screen: its line ends with the next one.
    vm.wait_for_prompt_after(
        mark,
        "Press any key to go back to the menu.",
        CONSOLE_TIMEOUT,
    );
    let mark = vm.mark();
    vm.type_keys("\r");
    vm.wait_for_after(mark, READY_LINE, CONSOLE_TIMEOUT);

    let session = client.login("admin", &password).await;
    let old = client.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        old.status, 401,
        "the old password still signs in: {:?}",
        old.body
    );
    let audit = client
        .as_user(&session, "GET", "/api/v1/audit?actor=console", "")
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let audit = audit.json();
    assert!(
        audit["records"].as_array().is_some_and(|records| records
            .iter()
            .any(|r| r["action"] == "console.password_reset" && r["actor"] == "console")),
        "no console.password_reset by the console in the audit log: {audit}"
    );
    password
}

/// What the console generates: `XXXX-XXXX-XXXX-XXXX` of 0-9 and A-Z
/// without I, L, O and U (nothing to misread on a screen).
fn is_generated_password(password: &str) -> bool {
    let groups: Vec<&str> = password.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes().all(|b| {
                    (b.is_ascii_digit() || b.is_ascii_uppercase()) && !b"ILOU".contains(&b)
                })
        })
}

/// hearth drives the image's Caddy (through its admin socket, as user
/// hearth in the group caddy): a domain that leads to hearth itself is
/// served by Caddy on 443 with a certificate of Caddy's local CA, and
/// its requests reach hearth.
async fn caddy_serves_hearth_on_443(vm: &Vm, client: &TlsClient, session: &str) {
    let body = r#"{"name":"vm.test","target":{"kind":"hearth"}}"#;
    let r = client
        .as_user(session, "POST", "/api/v1/domains", body)
        .await;
    assert_eq!(r.status, 201, "add a domain: {:?}", r.body);
    let issuer = eventually_every(
        Duration::from_secs(90),
        Duration::from_secs(1),
        "Caddy serving vm.test on 443",
        async || {
            let health = client.get("/api/v1/health").await.json();
            let proxy_ok = health["components"]["proxy"]["state"] == "ok";
            match hearth::proxy::probe::certificate(vm.caddy_addr(), "vm.test").await {
                Ok(cert) if proxy_ok => Ok(cert.issuer),
                other => Err(format!("{other:?}; health {health}\n{}", vm.serial())),
            }
        },
    )
    .await;
    assert!(issuer.contains("Caddy Local Authority"), "issuer {issuer}");
    // Through Caddy to hearth: the client checks only that the issuer is
    // Caddy's (above); Caddy itself checks hearth's pinned certificate.
    let out = std::process::Command::new(common::require("curl", "curl"))
        .args(["-sk", "--max-time", "20", "--resolve"])
        .arg(format!("vm.test:{}:127.0.0.1", vm.caddy_addr().port()))
        .arg(format!(
            "https://vm.test:{}/api/v1/health",
            vm.caddy_addr().port()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"proxy\""),
        "hearth's health through Caddy: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real systemd over D-Bus: the `services` topic shows caddy and
/// nftables as systemd has them, and a restart of caddy through the API
/// answers once systemd's job is done and shows on the stream.
async fn services_follow_the_real_systemd(vm: &Vm, client: &TlsClient, session: &str) {
    let mut admin = client.clone();
    admin.session = Some(session.to_string());
    let mut stream = sse::open(
        &admin,
        Protocol::Http2,
        "/api/v1/events?topics=services",
        None,
    )
    .await;
    let report = stream
        .until("services", Duration::from_secs(60), |r| {
            unit(r, "caddy.service")["active"] == "active"
        })
        .await;
    let nft = unit(&report, "nftables.service");
    assert_eq!(nft["active"], "active", "{report}\n{}", vm.serial());
    assert_eq!(nft["sub"], "exited", "{report}");
    assert_eq!(
        unit(&report, "hearth.service")["sub"],
        "running",
        "{report}"
    );
    let before = unit(&report, "caddy.service")["since_ms"].as_u64().unwrap();

    let r = client
        .as_user(
            session,
            "POST",
            "/api/v1/services/caddy.service/restart",
            "",
        )
        .await;
    assert_eq!(r.status, 200, "restart caddy: {:?}", r.body);
    assert_eq!(r.json()["result"], "done");
    stream
        .until("services", Duration::from_secs(60), |r| {
            let caddy = unit(r, "caddy.service");
            caddy["active"] == "active" && caddy["since_ms"].as_u64().unwrap_or(0) > before
        })
        .await;
    let audit = client
        .as_user(session, "GET", "/api/v1/audit", "")
        .await
        .json()
        .to_string();
    assert!(audit.contains("service.restart"), "{audit}");
}

fn unit<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["units"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["unit"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

/// hearth's process in the image: not root, CAP_NET_ADMIN alone in every
/// set (the unit grants it; the README's table), no_new_privs, under the
/// unit's system call filter.
async fn hearth_holds_what_the_readme_says(client: &TlsClient, session: &str) {
    let r = client
        .as_user(session, "GET", "/api/v1/system/process", "")
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let held = r.json();
    assert_ne!(held["uid"], 0, "hearth runs as root: {held}");
    for set in [
        "effective",
        "permitted",
        "inheritable",
        "ambient",
        "bounding",
    ] {
        assert_eq!(
            held[set],
            serde_json::json!(["CAP_NET_ADMIN"]),
            "{set}: {held}"
        );
    }
    assert_eq!(held["no_new_privs"], true, "{held}");
    assert_eq!(held["seccomp"], 2, "{held}");
}

/// The settings API's time zone and NTP, and setup's host name, as
/// hostnamed and timedated then report them (what `hostnamectl` and
/// `timedatectl` show) on the `host` topic. Answers the last status.
async fn host_settings_reach_hostnamed_and_timedated(
    client: &TlsClient,
    session: &str,
) -> serde_json::Value {
    let body = r#"{"timezone":"Europe/Berlin","ntp":false}"#;
    let r = client
        .as_user(session, "PATCH", "/api/v1/settings", body)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut admin = client.clone();
    admin.session = Some(session.to_string());
    let mut stream = sse::open(&admin, Protocol::Http2, "/api/v1/events?topics=host", None).await;
    let report = stream
        .until("host", Duration::from_secs(90), |r| {
            let s = &r["status"];
            s["hostname"] == "testbox"
                && s["running_hostname"] == "testbox"
                && s["timezone"] == "Europe/Berlin"
                && s["ntp"] == false
        })
        .await["status"]
        .clone();
    let health = client.get("/api/v1/health").await.json();
    assert_eq!(health["components"]["host"]["state"], "ok", "{health}");
    report
}

/// A member's virtual server on the real systemd, helper and rootless
/// engine: created through the API, it reaches `running` on the member's
/// `servers` topic, and the component is healthy. Answers the member's
/// session and the server's id.
async fn a_members_server_runs(vm: &Vm, client: &TlsClient, session: &str) -> (String, String) {
    const PASSWORD: &str = "a long enough password 1";
    let body = serde_json::json!({"username": "mia", "password": PASSWORD, "role": "member"});
    let r = client
        .as_user(session, "POST", "/api/v1/users", &body.to_string())
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mia = client.login("mia", PASSWORD).await;
    let body = format!(
        r#"{{"name":"box1","limits":{{"disk_mib":1024,"memory_mib":512}},"ports":[{{"port":{}}}]}}"#,
        servers_contained::PUBLISHED_PORT
    );
    let r = client.as_user(&mia, "POST", "/api/v1/servers", &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    server_phase(client, &mia, &id, "running", Duration::from_secs(300), vm).await;
    let health = client.get("/api/v1/health").await.json();
    assert_eq!(health["components"]["servers"]["state"], "ok", "{health}");
    (mia, id)
}

/// The member's `docker` CLI on this machine, with a certificate hearth
/// issues, through the guest's firewall and hearth's TLS front: an image
/// imported from a tarball (no registry), a container run to its end,
/// and the server's usage, read from its cgroup, on the `servers` topic.
async fn the_member_runs_a_container_with_docker(
    vm: &Vm,
    client: &TlsClient,
    member: &str,
    server: &str,
) -> tempfile::TempDir {
    let r = client
        .as_user(member, "GET", &format!("/api/v1/servers/{server}"), "")
        .await;
    assert_eq!(
        r.json()["engine_port"].as_u64(),
        Some(u64::from(FIRST_ENGINE_PORT)),
        "{:?}",
        r.body
    );
    let r = client
        .as_user(member, "POST", "/api/v1/server-certificates", "")
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let dir = tempfile::tempdir().unwrap();
    write_context(dir.path(), &r.json());
    let port = u64::from(vm.front_port);
    let tar = busybox_rootfs(dir.path());
    let tar = tar.to_str().unwrap();
    let imported = docker(dir.path(), port, &["import", tar, "base:vm"]);
    assert!(imported.is_ok(), "{imported:?}\n{}", vm.serial());
    let hello = docker(
        dir.path(),
        port,
        &[
            "run",
            "--rm",
            "base:vm",
            "/bin/busybox",
            "echo",
            "hello from the vm",
        ],
    );
    assert_eq!(hello.as_deref().map(str::trim), Ok("hello from the vm"));
    // The base image every server starts with, offline: Debian 12, once
    // its import (in the background, the progress's last stage) is done.
    let (member_client, mut stream) = servers_stream(client, member).await;
    let loaded = stream
        .try_until("servers", Duration::from_secs(600), |r| {
            r["status"]["servers"].as_array().is_some_and(|l| {
                l.iter().any(|s| {
                    s["id"] == server && s["phase"] == "running" && s.get("progress").is_none()
                })
            })
        })
        .await;
    if let Err(last) = loaded {
        drop(stream);
        panic!(
            "the base image never went in: {last}\n{}\n{}",
            server_log(&member_client, server).await,
            vm.serial()
        );
    }
    let debian = docker(
        dir.path(),
        port,
        &["run", "--rm", "debian:12", "cat", "/etc/debian_version"],
    );
    assert!(
        debian.as_deref().is_ok_and(|v| v.starts_with("12.")),
        "{debian:?}"
    );
    // Names resolve in a container: its queries reach the box's own
    // resolver through the firewall (systemd-resolved knows the box's
    // host name without any network).
    let resolved = docker(
        dir.path(),
        port,
        &["run", "--rm", "debian:12", "getent", "hosts", "testbox"],
    );
    assert!(
        resolved.as_deref().is_ok_and(|v| v.contains("testbox")),
        "{resolved:?}\n{}",
        vm.serial()
    );

    let timeout = Duration::from_secs(60);
    let usage = stream
        .try_until("servers", timeout, |r| {
            r["status"]["servers"].as_array().is_some_and(|l| {
                l.iter().any(|s| {
                    s["id"] == server
                        && s["usage"]["memory_bytes"].as_u64().unwrap_or(0) > 0
                        && s["usage"]["cpu_millis"].is_u64()
                })
            })
        })
        .await;
    assert!(
        usage.is_ok(),
        "no usage of {server}: {usage:?}; serial:\n{}",
        vm.serial()
    );
    dir
}

/// Waits until the member's `servers` topic shows the server in `phase`.
pub(crate) async fn server_phase(
    client: &TlsClient,
    session: &str,
    id: &str,
    phase: &str,
    timeout: Duration,
    vm: &Vm,
) {
    let (member, mut stream) = servers_stream(client, session).await;
    let found = stream
        .try_until("servers", timeout, |r| {
            r["status"]["servers"]
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s["id"] == id && s["phase"] == phase))
        })
        .await;
    if let Err(last) = found {
        drop(stream);
        panic!(
            "server {id} not {phase}: {last}\nits engine's log:\n{}\nserial:\n{}",
            server_log(&member, id).await,
            vm.serial()
        );
    }
}

/// The member signed in with `session`, and its `servers` topic.
pub(crate) async fn servers_stream(
    client: &TlsClient,
    session: &str,
) -> (TlsClient, sse::SseStream) {
    let mut member = client.clone();
    member.session = Some(session.to_string());
    let stream = sse::open(
        &member,
        Protocol::Http2,
        "/api/v1/events?topics=servers",
        None,
    )
    .await;
    (member, stream)
}

/// The server's unit's journal as its owner reads it (the logs endpoint),
/// for a failure's message.
async fn server_log(member: &TlsClient, id: &str) -> String {
    let path = format!("/api/v1/servers/{id}/logs");
    let mut stream = sse::open(member, Protocol::Http2, &path, None).await;
    let mut lines = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(3)).await {
        lines.push(event.data);
    }
    lines.join("\n")
}

/// The certificate, once the forwarded port reaches hearth (the guest may
/// still be getting its address when systemd reports hearth ready).
async fn wait_for_certificate(vm: &Vm) -> rustls::pki_types::CertificateDer<'static> {
    eventually_every(
        Duration::from_secs(60),
        Duration::from_millis(500),
        &format!("TLS through the forwarded port {}", vm.port),
        async || {
            first_certificate(vm.addr())
                .await
                .map_err(|e| format!("{e:?}; the console printed:\n{}", vm.serial()))
        },
    )
    .await
}

fn var_size_bytes(status: &serde_json::Value) -> u64 {
    status["system"]["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fs| fs["mount"] == "/var")
        .unwrap_or_else(|| panic!("/var is not a mount in {status}"))["size_bytes"]
        .as_u64()
        .unwrap()
}

#[test]
fn strips_console_colours_split_across_reads() {
    let mut s = AnsiStripper::default();
    let mut out = s.strip(b"[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;");
    out.extend(s.strip(b"39mhearth.service\x1b[0m - hearth."));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "[  OK  ] Started hearth.service - hearth."
    );
}

#[test]
fn console_screens_read_as_lines() {
    let mut s = AnsiStripper::default();
    // Two redraws of the console; the second's clear is split across reads.
    let mut out =
        s.strip(b"\x1b[H\x1b[2Jhearth is ready.\r\n  https://10.0.2.15:8443/\r\nChoice: ");
    out.extend(s.strip(b"\x1b[H\x1b["));
    out.extend(s.strip(b"2Jhearth is ready.\r\n\x1b(B\x07Choice: "));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "hearth is ready.\n  https://10.0.2.15:8443/\nChoice: \nhearth is ready.\nChoice: "
    );
    // A status line overwritten in place: its carriage return goes.
    let out = s.strip(b"\n[  *** ] A start job\r\x1b[K[ OK ] Started\r\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\n[  *** ] A start job[ OK ] Started\n"
    );
}

#[test]
fn lines_are_found_after_the_mark_once_they_end() {
    let text = "Choice: \nhearth is ready.\n 1  admin  (admin)\nChoice: p\n 1  adm";
    let mark = text.find("p\n").unwrap();
    let has = |needle: &'static str| move |l: &str| l.contains(needle);
    // Before the mark, or in the mark's line before it: not seen.
    assert_eq!(line_after(text, mark, has("admin")), None);
    assert_eq!(line_after(text, mark, has("Choice")), None);
    assert_eq!(line_after(text, mark, has("p")), Some("Choice: p".into()));
    assert_eq!(
        line_after(text, 0, has("admin")),
        Some(" 1  admin  (admin)".into())
    );
    // A line still being printed is not a line yet.
    let more = format!("{text}in  (admin)\n");
    assert_eq!(
        line_after(&more, mark, has("admin")),
        Some(" 1  admin  (admin)".into())
    );
    assert_eq!(line_after(text, text.len() + 5, has("")), None);
}

#[test]
fn generated_passwords_are_recognised() {
    assert!(is_generated_password("7K2M-9QXA-R4TB-ZC3H"));
    for not in [
        "7K2M-9QXA-R4TB",
        "7K2M-9QXA-R4TB-ZC3I",
        "7k2m-9qxa-r4tb-zc3h",
        "7K2M9QXAR4TBZC3H",
        "",
    ] {
        assert!(!is_generated_password(not), "{not:?}");
    }
}

#[test]
fn keeps_characters_split_across_reads() {
    let mut utf8 = Utf8Decoder::default();
    let mut out = String::new();
    let ellipsis = "…".as_bytes();
    utf8.decode_into(&[b"containerd.servic", &ellipsis[..1]].concat(), &mut out);
    utf8.decode_into(&[&ellipsis[1..], b" \xff ok".as_slice()].concat(), &mut out);
    assert_eq!(out, "containerd.servic\u{2026} \u{fffd} ok");
}
