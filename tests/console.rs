//! The recovery console (`hearth console`) on a pseudo-terminal, as the
//! owner meets it on tty1 or the serial port: the banner, every menu
//! action against a running daemon (over its control socket) and with the
//! daemon stopped (on the store directly), and bad input of every kind.
//! systemd's and the journal's tools are the configured `[console]`
//! paths: a recording `systemctl` (this machine must not reboot), the real
//! `journalctl` on journal files of the test's own.

use hearth_testkit as common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::console_pty::ConsolePty;
use common::fw_lab::{Lab, in_force};
use common::{ADMIN_PASSWORD, Daemon, Options, TlsClient, on_own_runtime, require};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A `systemctl` that records its arguments, and stops the daemon whose
/// pid is in `HEARTH_TEST_DAEMON_PID` when asked to stop hearth.
struct Tools {
    dir: tempfile::TempDir,
}

impl Tools {
    fn new() -> Tools {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("systemctl.log");
        let script = format!(
            r#"#!/bin/sh
echo "$*" >>{log:?}
if [ "$*" = "stop hearth.service" ] && [ -n "$HEARTH_TEST_DAEMON_PID" ]; then
    pid=$HEARTH_TEST_DAEMON_PID
    kill -TERM "$pid" 2>/dev/null
    # Until it is gone or a zombie (the test reaps it).
    while [ -e /proc/$pid ] && ! grep -q ') Z ' /proc/$pid/stat 2>/dev/null; do sleep 0.1; done
fi
"#
        );
        let path = dir.path().join("systemctl");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Tools { dir }
    }

    /// A daemon whose console runs these tools.
    fn daemon(&self) -> Daemon {
        Daemon::start(Options {
            config: self.config(),
            ..Options::default()
        })
    }

    /// The `[console]` lines of the config.
    fn config(&self) -> String {
        format!(
            "\n[console]\nsystemctl = {:?}\n",
            self.dir.path().join("systemctl").to_str().unwrap()
        )
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("systemctl.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn config_of(d: &Daemon) -> PathBuf {
    d.dir.path().join("hearth.toml")
}

/// The console on `d`'s config, at its menu.
fn console(d: &Daemon) -> ConsolePty {
    console_with(&config_of(d), None, &[])
}

fn console_with(config: &Path, netns: Option<&str>, env: &[(&str, &str)]) -> ConsolePty {
    let pty = ConsolePty::spawn(config, netns, env);
    pty.expect("Choice: ", WAIT);
    pty
}

/// Resets `user`'s password through the menu (p, the user's number, g);
/// answers the new password.
fn reset_password(pty: &mut ConsolePty, user: &str) -> String {
    pty.type_after_mark("p");
    let list = pty.expect("User: ", WAIT);
    let number = list
        .lines()
        .find(|l| l.contains(&format!("  {user}  (")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{user} is not in the list:\n{list}"))
        .to_string();
    pty.type_after_mark(&number);
    pty.expect(" g  generate a new random password", WAIT);
    pty.type_after_mark("g");
    let password = pty.line_after(&format!("New password for {user}: "), WAIT);
    pty.type_after_mark(" ");
    pty.expect("Choice: ", WAIT);
    password
}

/// Types each key and waits for what it should bring.
fn dialogue(pty: &mut ConsolePty, steps: &[(&str, &str)]) {
    for (keys, then) in steps {
        pty.type_after_mark(keys);
        pty.expect(then, WAIT);
    }
}

/// Turns the admin's (the first user's) two-factor login off (t, 1, y).
fn turn_off_two_factor(pty: &mut ConsolePty) {
    dialogue(
        pty,
        &[
            ("t", "User: "),
            ("1", "[y/N]"),
            ("y", "Two-factor login of admin is off."),
        ],
    );
}

async fn signs_in(client: &TlsClient, user: &str, password: &str) -> Option<String> {
    let r = client.try_login(user, password).await;
    if r.status == 200 {
        r.set_cookie(common::SESSION_COOKIE)
    } else {
        None
    }
}

/// The console's audit records, newest first.
async fn console_records(client: &TlsClient, session: &str) -> Vec<Value> {
    let r = client
        .as_user(session, "GET", "/api/v1/audit?actor=console&limit=50", "")
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()["records"].as_array().unwrap().clone()
}

#[test]
fn the_banner_shows_the_address_the_certificate_and_the_setup_code() {
    let d = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    let pty = console(&d);
    let text = pty.expect("hearth setup code: ", WAIT);
    assert!(text.contains("hearth is ready."), "{text}");
    assert!(
        text.contains(&format!("  https://127.0.0.1:{}/setup", d.addr().port())),
        "{text}"
    );
    assert!(
        text.contains(&format!("hearth setup code: {}", d.setup_code())),
        "{text}"
    );
    assert!(text.contains("Health: "), "{text}");
    // The fingerprint of the certificate the daemon really serves, over
    // two lines of 16 bytes.
    let served = on_own_runtime(async { d.client().peer_certificate().await });
    let fp = hearth::tls::fingerprint(&served);
    assert!(text.contains(&fp[..47]), "{fp} in\n{text}");
    assert!(text.contains(&fp[48..]), "{fp} in\n{text}");
    // Nothing wider than a VT100, no colour.
    for line in text.lines() {
        assert!(line.chars().count() < 80, "{line:?}");
    }
    assert!(
        !String::from_utf8_lossy(&pty.raw()).contains("\x1b[3"),
        "no colour"
    );
    // Drawn again without a key (for a terminal plugged in later).
    let mut pty = pty;
    pty.type_after_mark("");
    pty.expect("hearth is ready.", Duration::from_secs(25));
}

#[test]
fn a_password_reset_lets_the_owner_in_without_the_second_factor() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let session = d.session.clone().unwrap();
    on_own_runtime(async {
        client.enrol_two_factor(&session).await;
        assert_eq!(
            signs_in(&client, "admin", ADMIN_PASSWORD).await,
            None,
            "the password alone is not enough with two-factor on"
        );
    });
    let mut pty = console(&d);
    let password = reset_password(&mut pty, "admin");
    assert_eq!(password.len(), 19, "{password}");
    on_own_runtime(async {
        let new = signs_in(&client, "admin", &password)
            .await
            .expect("the new password alone signs in");
        assert_eq!(signs_in(&client, "admin", ADMIN_PASSWORD).await, None);
        // The old session ended with the reset.
        let r = client.as_user(&session, "GET", "/api/v1/session", "").await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        let records = console_records(&client, &new).await;
        let reset = records
            .iter()
            .find(|r| r["action"] == "console.password_reset")
            .unwrap_or_else(|| panic!("{records:?}"));
        assert_eq!(reset["actor"], "console");
        assert_eq!(reset["target"], "admin");
        assert_eq!(reset["source"], "pts-test");
        assert_eq!(reset["outcome"], "success");
    });
}

#[test]
fn two_factor_off_alone_keeps_the_password() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let session = d.session.clone().unwrap();
    on_own_runtime(client.enrol_two_factor(&session));
    let mut pty = console(&d);
    turn_off_two_factor(&mut pty);
    on_own_runtime(async {
        assert!(signs_in(&client, "admin", ADMIN_PASSWORD).await.is_some());
    });
}

#[test]
fn with_the_daemon_stopped_the_resets_work_on_the_store() {
    let mut d = Daemon::start(Options::default());
    let state = d.state_dir();
    let client = d.client();
    let session = d.session.clone().unwrap();
    on_own_runtime(client.enrol_two_factor(&session));
    d.stop();

    let mut pty = console(&d);
    pty.expect("hearth is not running", WAIT);
    turn_off_two_factor(&mut pty);
    let password = reset_password(&mut pty, "admin");
    drop(pty);

    // The daemon started afterwards lets the owner in with it.
    let d2 = Daemon::start(Options {
        state_dir: Some(state),
        ..Options::default()
    });
    let client = d2.client();
    on_own_runtime(async {
        let s = signs_in(&client, "admin", &password)
            .await
            .expect("the password set offline signs in");
        let records = console_records(&client, &s).await;
        let actions: Vec<&str> = records
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"console.password_reset"), "{actions:?}");
        assert!(actions.contains(&"console.two_factor_off"), "{actions:?}");
    });
}

#[test]
fn a_new_certificate_is_served_at_once() {
    let d = Daemon::start(Options::default());
    let before = on_own_runtime(async { d.client().peer_certificate().await });
    let mut pty = console(&d);
    pty.type_after_mark("c");
    pty.expect("[y/N]", WAIT);
    pty.type_after_mark("y");
    let page = pty.expect("Press any key", WAIT);
    let shown: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with("The new certificate's SHA-256"))
        .skip(1)
        .take(2)
        .map(str::trim)
        .collect();
    let shown = shown.join(":");
    let after = on_own_runtime(async {
        TlsClient::trusting(&d.cert_path(), d.addr())
            .peer_certificate()
            .await
    });
    assert_ne!(before, after, "the daemon serves the new certificate");
    let fp = hearth::tls::fingerprint(&after);
    assert_eq!(shown, fp, "the whole fingerprint, over two lines");
    // And the banner shows it.
    pty.type_after_mark(" ");
    pty.expect(&fp[48..], WAIT);
}

#[test]
fn restart_reboot_and_power_off_ask_systemd_after_a_yes() {
    let tools = Tools::new();
    let d = tools.daemon();
    let mut pty = console(&d);
    for key in ["r", "b", "o"] {
        pty.type_after_mark(key);
        pty.expect("[y/N]", WAIT);
        pty.type_after_mark("n");
        pty.expect("Nothing changed.", WAIT);
    }
    assert!(tools.calls().is_empty(), "{:?}", tools.calls());
    for key in ["r", "b", "o"] {
        pty.type_after_mark(key);
        pty.expect("[y/N]", WAIT);
        pty.type_after_mark("y");
        pty.expect("Done: systemctl", WAIT);
    }
    assert_eq!(
        tools.calls(),
        ["restart hearth.service", "reboot", "poweroff"]
    );
    let client = d.client();
    let session = d.session.clone().unwrap();
    on_own_runtime(async {
        let actions: Vec<String> = console_records(&client, &session)
            .await
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect();
        for a in ["console.restart", "console.reboot", "console.power_off"] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
    });
}

#[test]
fn the_log_shows_hearths_last_lines() {
    require("journalctl", "systemd");
    let journal = tempfile::tempdir().unwrap();
    common::journal::append(
        journal.path(),
        "hearth.service",
        1,
        6,
        "first line of the test",
    );
    common::journal::append(journal.path(), "other.service", 2, 6, "not hearth's");
    common::journal::append(
        journal.path(),
        "hearth.service",
        3,
        6,
        "hearth is ready here",
    );
    let d = Daemon::start(Options {
        config: format!(
            "[servers]\nmanage = false\njournal_dir = {:?}\n",
            journal.path().to_str().unwrap()
        ),
        ..Options::default()
    });
    let mut pty = console(&d);
    pty.type_after_mark("l");
    let text = pty.expect("Press any key", WAIT);
    assert!(text.contains("first line of the test"), "{text}");
    assert!(text.contains("hearth is ready here"), "{text}");
    assert!(!text.contains("not hearth's"), "{text}");
    pty.type_after_mark("x");
    pty.expect("Choice: ", WAIT);
}

#[test]
fn the_factory_reset_returns_the_box_to_setup_mode_with_a_new_code() {
    let tools = Tools::new();
    let d = tools.daemon();
    let state = d.state_dir();
    let old_code = std::fs::read_to_string(d.state_dir().join("tls/cert.pem")).unwrap();
    let pid = d.child.id().to_string();
    let mut pty = console_with(&config_of(&d), None, &[("HEARTH_TEST_DAEMON_PID", &pid)]);
    // The wrong name changes nothing.
    pty.type_after_mark("x");
    pty.expect("Host name: ", WAIT);
    pty.type_after_mark("not-this-box\r");
    pty.expect("That is not the host name: nothing changed.", WAIT);
    assert!(tools.calls().is_empty(), "{:?}", tools.calls());

    let hostname = hearth::console::hostname();
    pty.type_after_mark("x");
    pty.expect("Host name: ", WAIT);
    pty.type_after_mark(&format!("{hostname}\r"));
    let text = pty.expect("Press any key", Duration::from_secs(60));
    assert!(text.contains("erasing: hearth's state erased"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
    assert_eq!(
        tools.calls(),
        [
            "stop hearth.service",
            "stop hearth-server@*.service",
            "start hearth.service"
        ]
    );
    // The new store holds only the reset's record.
    {
        let store = hearth::store::Store::open(&state).unwrap();
        let records = store.audit_records(0, 10).unwrap();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].action, "console.factory_reset");
        assert_eq!(records[0].actor, "console");
    }
    assert!(!state.join("tls").exists(), "the certificate is gone");
    drop(pty);
    drop(d);
    // "systemd" starts hearth: in setup mode, with a new code.
    let d2 = Daemon::start(Options {
        state_dir: Some(state.clone()),
        pending_setup: true,
        ..Options::default()
    });
    let client = d2.client();
    on_own_runtime(async {
        let r = client.get("/api/v1/setup").await;
        assert_eq!(r.json()["complete"], false, "{:?}", r.body);
        assert_eq!(signs_in(&client, "admin", ADMIN_PASSWORD).await, None);
    });
    assert!(!d2.setup_code().is_empty());
    let new_cert = std::fs::read_to_string(state.join("tls/cert.pem")).unwrap();
    assert_ne!(new_cert, old_code, "a new certificate too");
}

#[test]
fn garbage_interrupts_end_of_input_and_hang_ups_are_survived() {
    let d = Daemon::start(Options::default());
    let mut pty = console(&d);
    // Garbage: unknown letters, escape sequences (arrows, F-keys), bytes.
    pty.type_after_mark("z9\x1b[A\x1b[15~\x1bOP\x07\x00\u{e9}");
    pty.expect("Unknown choice", WAIT);
    // Ctrl-C and Ctrl-D from within actions: back at the menu.
    for keys in ["p\x03", "p\x04", "f\x03", "x\x03", "xab\x04"] {
        pty.type_after_mark(keys);
        pty.expect("Choice: ", WAIT);
    }
    // A resize and a hang-up signal: drawn again, still answering.
    pty.signal(Signal::SIGWINCH);
    pty.type_after_mark("");
    pty.expect("Choice: ", WAIT);
    pty.type_after_mark("p");
    pty.expect("User: ", WAIT);
    pty.signal(Signal::SIGHUP);
    pty.type_after_mark("");
    pty.expect("Choice: ", WAIT);
    let text = pty.text();
    assert!(!text.contains("panicked"), "{text}");
    // Nothing was reset by any of it.
    let client = d.client();
    on_own_runtime(async {
        assert!(signs_in(&client, "admin", ADMIN_PASSWORD).await.is_some());
    });
    // The line itself gone: the console ends cleanly (systemd starts it
    // again).
    let status = pty.hang_up(Duration::from_secs(10));
    let status = status.expect("the console ends when its terminal is gone");
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_control_socket_refuses_anyone_but_root() {
    let d = Daemon::start(Options::default());
    let socket = d.dir.path().join("run/control.sock");
    let mode = std::fs::metadata(&socket).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    // Even with the file open to all, the kernel's word decides.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        d.dir.path().join("run"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let ask = |as_nobody: bool| {
        let python = require("python3", "python3");
        let script = format!(
            "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({socket:?})\ntry:\n    s.sendall(b'{{\"terminal\":\"t\",\"request\":{{\"do\":\"users\"}}}}\\n')\nexcept BrokenPipeError:\n    pass  # a refusal may come before the request is read\nprint(s.makefile().readline())",
            socket = socket.to_str().unwrap()
        );
        let mut cmd = std::process::Command::new(if as_nobody {
            require("setpriv", "util-linux")
        } else {
            python.clone()
        });
        if as_nobody {
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&python);
        }
        let out = cmd.arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let refused = ask(true);
    assert_eq!(refused["answer"], "refused", "{refused}");
    assert!(refused.get("users").is_none());
    let answered = ask(false);
    assert_eq!(answered["answer"], "users", "{answered}");
    assert_eq!(answered["users"][0]["username"], "admin");
    assert!(
        d.stderr().contains("control socket: refused"),
        "the refusal is logged"
    );
}

/// The firewall's reset, with hearth managing the firewall of a network
/// namespace of the test's own: at once, and kept.
#[tokio::test]
async fn the_firewall_reset_replaces_the_admins_rules_by_the_boot_policy() {
    let lab = Lab::from_lan("cons");
    let d = lab.start_hearth(600, None);
    let admin = d.admin_client();
    in_force(&admin, 0).await;
    let policy = json!({"policy": {"https_from": ["0.0.0.0/0", "::/0"], "web": true,
        "allow": [{"protocol": "tcp", "ports": 4711}]}});
    let r = admin
        .call("PUT", "/api/v1/firewall", &policy.to_string())
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = admin.post_json("/api/v1/firewall/confirm", "", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    in_force(&admin, 1).await;
    let ruleset = || lab.boxns.run("nft", &["list", "ruleset"]);
    assert!(ruleset().contains("4711"), "{}", ruleset());

    let config = config_of(&d);
    let boxns = lab.boxns.name().to_string();
    let (text, after) = tokio::task::spawn_blocking(move || {
        let mut pty = console_with(&config, Some(&boxns), &[]);
        pty.type_after_mark("f");
        pty.expect("[y/N]", WAIT);
        pty.type_after_mark("y");
        let text = pty.expect("The firewall is reset to the boot policy.", WAIT);
        (text, ())
    })
    .await
    .unwrap();
    let _ = (text, after);
    // hearth puts its table back with the default policy: no 4711.
    in_force(&admin, 2).await;
    let now = ruleset();
    assert!(!now.contains("4711"), "{now}");
    assert!(now.contains("table inet hearth"), "{now}");
    let view = admin.get("/api/v1/firewall").await.json();
    assert_eq!(view["policy"]["allow"], json!([]), "{view}");
    let records = console_records(&admin, admin.session.as_deref().unwrap()).await;
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "console.firewall_reset" && r["outcome"] == "success"),
        "{records:?}"
    );
}

/// With hearth stopped, the reset loads the boot-time table at once: what
/// `nft list ruleset` shows is that table alone.
#[tokio::test]
async fn offline_the_firewall_reset_loads_the_boot_table() {
    let lab = Lab::from_lan("consoff");
    let mut d = lab.start_hearth(600, None);
    let admin = d.admin_client();
    in_force(&admin, 0).await;
    d.stop();
    let ruleset = || lab.boxns.run("nft", &["list", "ruleset"]);
    assert!(ruleset().contains("table inet hearth {"), "{}", ruleset());
    let config = config_of(&d);
    let boxns = lab.boxns.name().to_string();
    tokio::task::spawn_blocking(move || {
        let mut pty = console_with(&config, Some(&boxns), &[]);
        pty.expect("hearth is not running", WAIT);
        pty.type_after_mark("f");
        pty.expect("[y/N]", WAIT);
        pty.type_after_mark("y");
        pty.expect("The firewall is reset to the boot policy.", WAIT);
    })
    .await
    .unwrap();
    let now = ruleset();
    assert!(!now.contains("table inet hearth {"), "{now}");
    assert!(now.contains("table inet hearth_base"), "{now}");
}

#[test]
fn the_root_shell_is_offered_only_once_an_admin_allowed_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("shell-ran");
    let shell = dir.path().join("shell");
    std::fs::write(
        &shell,
        format!("#!/bin/sh\necho \"$@\" >{:?}\n", marker.to_str().unwrap()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = Daemon::start(Options {
        config: format!("\n[console]\nshell = {:?}\n", shell.to_str().unwrap()),
        ..Options::default()
    });
    let mut pty = console(&d);
    let text = pty.expect("Choice: ", WAIT);
    assert!(!text.contains("root shell"), "{text}");
    pty.type_after_mark("s");
    pty.expect("Unknown choice", WAIT);
    assert!(!marker.exists());

    let client = d.client();
    let session = d.session.clone().unwrap();
    on_own_runtime(async {
        let r = client
            .as_user(
                &session,
                "PATCH",
                "/api/v1/settings",
                r#"{"console_shell":true}"#,
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    });
    pty.type_after_mark("");
    pty.expect(" s  root shell", WAIT);
    pty.type_after_mark("s");
    pty.expect("The root shell ended.", WAIT);
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "-l");
    on_own_runtime(async {
        let records = console_records(&client, &session).await;
        assert!(
            records.iter().any(|r| r["action"] == "console.shell"),
            "{records:?}"
        );
    });
}

#[test]
fn a_typed_password_is_asked_twice_and_must_meet_the_policy() {
    let d = Daemon::start(Options::default());
    let mut pty = console(&d);
    let typed = |pty: &mut ConsolePty, first: &str, again: &str| {
        dialogue(
            pty,
            &[
                ("p", "User: "),
                ("1", " t  type a new password"),
                ("t", "New password (not shown): "),
                (&format!("{first}\r"), "The same again: "),
            ],
        );
        pty.type_after_mark(&format!("{again}\r"));
    };
    typed(
        &mut pty,
        "saddle lantern quietly orbit",
        "saddle lantern quietly orbiT",
    );
    pty.expect("The two passwords differ: nothing changed.", WAIT);
    typed(&mut pty, "short", "short");
    pty.expect("the new password must be at least 12 characters", WAIT);
    typed(
        &mut pty,
        "saddle lantern quietly orbit",
        "saddle lantern quietly orbit",
    );
    pty.expect(
        "The password of admin is reset; two-factor login is off.",
        WAIT,
    );
    assert!(
        !pty.text().contains("saddle"),
        "a typed password is never drawn"
    );
    let client = d.client();
    on_own_runtime(async {
        assert!(
            signs_in(&client, "admin", "saddle lantern quietly orbit")
                .await
                .is_some()
        );
        assert_eq!(signs_in(&client, "admin", ADMIN_PASSWORD).await, None);
    });
}

/// The appliance's layout: hearth's state belongs to its own user, the
/// console is root. What the console writes offline stays hearth's, and
/// hearth, started again as its user, uses it.
#[test]
fn offline_what_the_console_writes_stays_hearths() {
    use std::os::unix::fs::MetadataExt;
    const NOBODY: u32 = 65534;
    let options = |state: Option<PathBuf>| Options {
        run_as: Some((NOBODY, "-all".into())),
        state_dir: state,
        ..Options::default()
    };
    let mut d = Daemon::start(options(None));
    let state = d.state_dir();
    let cert_before = std::fs::read(state.join("tls/cert.pem")).unwrap();
    d.stop();
    let mut pty = console(&d);
    pty.expect("hearth is not running", WAIT);
    let password = reset_password(&mut pty, "admin");
    pty.type_after_mark("c");
    pty.expect("[y/N]", WAIT);
    pty.type_after_mark("y");
    pty.expect("The new certificate's SHA-256", WAIT);
    drop(pty);
    for path in [
        state.join("state.redb"),
        state.join("tls"),
        state.join("tls/cert.pem"),
        state.join("tls/key.pem"),
    ] {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.uid(), NOBODY, "{} is not hearth's", path.display());
    }
    assert_ne!(
        std::fs::read(state.join("tls/cert.pem")).unwrap(),
        cert_before
    );
    // hearth's own user starts on it and lets the owner in.
    let d2 = Daemon::start(options(Some(state)));
    let client = d2.client();
    on_own_runtime(async {
        assert!(signs_in(&client, "admin", &password).await.is_some());
    });
}

/// A link where hearth's store should be is not followed by root.
#[test]
fn offline_a_link_in_place_of_the_store_is_refused() {
    let mut d = Daemon::start(Options::default());
    let state = d.state_dir();
    d.stop();
    let target = d.dir.path().join("elsewhere.redb");
    std::fs::rename(state.join("state.redb"), &target).unwrap();
    std::os::unix::fs::symlink(&target, state.join("state.redb")).unwrap();
    let before = std::fs::read(&target).unwrap();
    let mut pty = console(&d);
    pty.type_after_mark("p");
    pty.expect("is not a plain file of", WAIT);
    assert_eq!(std::fs::read(&target).unwrap(), before, "untouched");
}

/// While one console holds the box (a factory reset running, say), the
/// other console's actions are refused, not interleaved.
#[test]
fn one_console_at_a_time() {
    let tools = Tools::new();
    let mut d = Daemon::start(Options {
        config: tools.config(),
        ..Options::default()
    });
    d.stop();
    let held = nix::fcntl::Flock::lock(
        std::fs::File::open(d.state_dir()).unwrap(),
        nix::fcntl::FlockArg::LockExclusiveNonblock,
    )
    .unwrap();
    let mut pty = console(&d);
    pty.type_after_mark("p");
    pty.expect("Another console is busy with the box", WAIT);
    pty.type_after_mark("r");
    pty.expect("[y/N]", WAIT);
    pty.type_after_mark("y");
    pty.expect("Another console is busy with the box", WAIT);
    assert!(tools.calls().is_empty(), "{:?}", tools.calls());
    drop(held);
    pty.type_after_mark("p");
    pty.expect("User: ", WAIT);
}
