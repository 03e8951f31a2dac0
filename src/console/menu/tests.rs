use std::sync::Mutex;

use super::*;
use crate::auth::Role;
use crate::console::machine::Recording;
use crate::console::screen::Banner;
use crate::console::term::Scripted;

/// A daemon that answers from a script and records what it was asked.
struct FakeBox {
    asked: Mutex<Vec<Request>>,
    shell: bool,
    firewall: bool,
}

impl FakeBox {
    fn new() -> FakeBox {
        FakeBox {
            asked: Mutex::new(Vec::new()),
            shell: false,
            firewall: true,
        }
    }

    /// What was asked, leaving out the status and shell look-ups.
    fn actions(&self) -> Vec<Request> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !matches!(r, Request::ShellAllowed | Request::Users))
            .cloned()
            .collect()
    }
}

impl Backend for FakeBox {
    fn terminal(&self) -> String {
        "ttyS0".into()
    }

    fn manages_firewall(&self) -> bool {
        self.firewall
    }

    fn exclusive(&self) -> Result<Box<dyn std::any::Any>, String> {
        Ok(Box::new(()))
    }

    fn ask(&self, request: Request) -> Answer {
        self.asked.lock().unwrap().push(request.clone());
        match request {
            Request::Users => Answer::Users {
                users: vec![
                    ConsoleUser {
                        username: "admin".into(),
                        role: Role::Admin,
                        disabled: false,
                        two_factor: true,
                    },
                    ConsoleUser {
                        username: "bob".into(),
                        role: Role::Member,
                        disabled: false,
                        two_factor: false,
                    },
                ],
            },
            Request::ShellAllowed => Answer::ShellAllowed {
                allowed: self.shell,
            },
            Request::NewCertificate => Answer::Done {
                message: "AB:CD".into(),
            },
            _ => Answer::Done {
                message: "ok".into(),
            },
        }
    }

    fn banner(&self) -> Banner {
        Banner {
            hostname: super::super::hostname(),
            version: "0.1.0".into(),
            terminal: "ttyS0".into(),
            daemon: Daemon::Ready { health: Vec::new() },
            urls: vec!["https://127.0.0.1:8443/".into()],
            fingerprint: None,
            setup_code: None,
            problem: None,
        }
    }
}

fn keys(text: &str) -> Vec<Key> {
    text.chars()
        .map(|c| match c {
            '\n' => Key::Enter,
            '^' => Key::Interrupt,
            '~' => Key::EndOfInput,
            '!' => Key::HungUp,
            '<' => Key::Backspace,
            c => Key::Char(c),
        })
        .collect()
}

/// Runs the console on `typed` (then the terminal closes).
fn run(typed: &str, fake: &FakeBox, machine: &Recording) -> String {
    let mut term = Scripted::typing(&keys(typed));
    Console::new(&mut term, fake, machine).run();
    term.text()
}

#[test]
fn three_keys_reset_a_password_to_a_new_one_shown_once() {
    let fake = FakeBox::new();
    let text = run("p1g ", &fake, &Recording::default());
    let [Request::ResetPassword { username, password }] = &fake.actions()[..] else {
        panic!("{:?}", fake.actions());
    };
    assert_eq!(username, "admin");
    assert_eq!(password.len(), 19);
    assert!(
        text.contains(&format!("New password for admin: {password}")),
        "{text}"
    );
    assert_eq!(text.matches(password.as_str()).count(), 1, "shown once");
    assert!(text.contains(screen::ERASE_ALL));
}

#[test]
fn a_typed_password_is_asked_twice_and_never_drawn() {
    let fake = FakeBox::new();
    let text = run(
        "p2tlong words here\nlong words here\n",
        &fake,
        &Recording::default(),
    );
    let [Request::ResetPassword { username, password }] = &fake.actions()[..] else {
        panic!("{:?}", fake.actions());
    };
    assert_eq!(
        (username.as_str(), password.as_str()),
        ("bob", "long words here")
    );
    assert!(!text.contains("long words"), "{text}");
    // Two that differ change nothing.
    let fake = FakeBox::new();
    let text = run(
        "p2tone thing here\nanother thing\n",
        &fake,
        &Recording::default(),
    );
    assert!(fake.actions().is_empty(), "{:?}", fake.actions());
    assert!(
        text.contains("The two passwords differ: nothing changed."),
        "{text}"
    );
}

#[test]
fn interrupts_end_of_input_and_hang_ups_change_nothing() {
    for typed in ["p^", "p1^", "p~", "p1!", "t1~", "f^", "x^", "xab^", "r!"] {
        let fake = FakeBox::new();
        let machine = Recording::default();
        let text = run(typed, &fake, &machine);
        assert!(fake.actions().is_empty(), "{typed}: {:?}", fake.actions());
        assert!(machine.calls().is_empty(), "{typed}: {:?}", machine.calls());
        // Back at the menu afterwards.
        assert!(
            text.ends_with("Choice: ") || text.contains("Choice: "),
            "{typed}"
        );
    }
}

#[test]
fn unknown_choices_ask_again() {
    let fake = FakeBox::new();
    let text = run("z?p7z1g ", &fake, &Recording::default());
    assert!(text.contains("Unknown choice"), "{text}");
    // 7 and z are no user: the list asks again, then 1 is taken.
    assert_eq!(fake.actions().len(), 1, "{:?}", fake.actions());
}

#[test]
fn destructive_actions_wait_for_yes() {
    let fake = FakeBox::new();
    let machine = Recording::default();
    run("fnt1nrnbnon", &fake, &machine);
    assert!(fake.actions().is_empty(), "{:?}", fake.actions());
    assert!(machine.calls().is_empty(), "{:?}", machine.calls());

    run("fyt1ycy ry", &fake, &machine);
    let actions: Vec<String> = fake.actions().iter().map(|r| format!("{r:?}")).collect();
    assert_eq!(
        actions,
        [
            "ResetFirewall",
            "TurnOffTwoFactor { username: \"admin\" }",
            "NewCertificate",
            "Record { what: Restart, outcome: Success }",
        ]
    );
    assert_eq!(machine.calls(), ["systemctl restart hearth.service"]);
}

#[test]
fn the_firewall_key_says_so_at_once_when_hearth_does_not_manage_it() {
    let mut fake = FakeBox::new();
    fake.firewall = false;
    let machine = Recording::default();
    // No confirmation is asked: the next key is a menu choice again.
    let text = run("fy", &fake, &machine);
    assert!(
        text.contains("does not manage this box's firewall"),
        "{text}"
    );
    assert!(!text.contains("Reset the firewall now?"), "{text}");
    assert!(fake.actions().is_empty(), "{:?}", fake.actions());
}

#[test]
fn the_factory_reset_takes_the_host_name_and_then_runs_in_order() {
    let fake = FakeBox::new();
    let machine = Recording::default();
    let text = run("xnot-the-name\n", &fake, &machine);
    assert!(machine.calls().is_empty(), "{:?}", machine.calls());
    assert!(text.contains("not the host name"), "{text}");

    let name = super::super::hostname();
    run(&format!("x{name}\n "), &fake, &machine);
    assert_eq!(
        machine.calls(),
        [
            "systemctl stop hearth.service",
            "systemctl stop hearth-server@*.service",
            "erase ttyS0",
            "systemctl start hearth.service",
        ]
    );
}

#[test]
fn the_shell_is_there_only_when_an_admin_allowed_it() {
    let machine = Recording::default();
    let fake = FakeBox::new();
    let text = run("s", &fake, &machine);
    assert!(!text.contains("root shell"), "{text}");
    assert!(machine.calls().is_empty());

    let fake = FakeBox {
        shell: true,
        ..FakeBox::new()
    };
    run("s", &fake, &machine);
    assert_eq!(machine.calls(), ["shell"]);
    assert!(fake.actions().iter().any(|r| matches!(
        r,
        Request::Record {
            what: Recorded::Shell,
            ..
        }
    )));
}

#[test]
fn the_log_is_shown_and_recorded() {
    let fake = FakeBox::new();
    let machine = Recording::default();
    let text = run("l ", &fake, &machine);
    assert_eq!(machine.calls(), ["log 20"]);
    assert!(text.contains("a log line"), "{text}");
    assert!(fake.actions().iter().any(|r| matches!(
        r,
        Request::Record {
            what: Recorded::Log,
            ..
        }
    )));
}
