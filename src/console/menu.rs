//! The console's pages and keys: the banner with the menu, refreshed every
//! few seconds, and each action at most three keystrokes from it (a
//! letter, a user's number, a confirmation), with a confirmation wherever
//! something is destroyed. Ctrl-C, Ctrl-D and a hang-up go back to the
//! menu from anywhere, having changed nothing; a key the page does not
//! offer asks again; a resize or Ctrl-L draws the page again.

use std::time::{Duration, Instant};

use super::backend::Backend;
use super::machine::{Machine, MachineError, SERVER_UNITS, UNIT};
use super::screen::{self, Daemon};
use super::term::{Key, Terminal};
use crate::control::protocol::{Answer, Request};
use crate::logging::chain;
use crate::recovery::{ConsoleUser, Recorded, generate_password};
use crate::store::Outcome;

/// How often the banner is read again (and drawn, if it changed).
pub const REFRESH: Duration = Duration::from_secs(3);
/// How often the menu is drawn again even if nothing changed.
pub const REDRAW: Duration = Duration::from_secs(15);
/// How long a new password stays on the screen at most.
const PASSWORD_SHOWN: Duration = Duration::from_secs(300);
/// How many lines of hearth's log fit under the title.
const LOG_LINES: usize = 20;
/// The longest line a person may type.
const MAX_TYPED: usize = 256;

/// One step of the factory reset: what it says while it runs, and what
/// it does (its answer is shown after the step's name).
type FactoryStep = (
    &'static str,
    Box<dyn Fn(&dyn Machine) -> Result<String, MachineError>>,
);

/// A key as an action sees it.
enum Input {
    Char(char),
    Enter,
    Backspace,
    /// Ctrl-C, Ctrl-D or a hang-up: back to the menu.
    Back,
    /// The terminal is gone.
    Closed,
}

/// What the power keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    Restart,
    Reboot,
    Off,
}

/// How an action ended.
enum Step {
    /// Back to the menu, with a line to show there.
    Menu(Option<String>),
    Closed,
}

pub struct Console<'a> {
    pub term: &'a mut dyn Terminal,
    pub backend: &'a dyn Backend,
    pub machine: &'a dyn Machine,
    /// What the last page drew, for a redraw.
    last: String,
}

impl<'a> Console<'a> {
    pub fn new(
        term: &'a mut dyn Terminal,
        backend: &'a dyn Backend,
        machine: &'a dyn Machine,
    ) -> Console<'a> {
        Console {
            term,
            backend,
            machine,
            last: String::new(),
        }
    }

    /// Runs until the terminal is gone.
    pub fn run(&mut self) {
        let mut note: Option<String> = None;
        // The banner as last read, with when: read again every REFRESH,
        // not on every key (garbage on a serial line must not turn into
        // a busy loop of look-ups and redraws).
        let mut read: Option<(Instant, Vec<String>, Option<bool>)> = None;
        let mut drawn_at = Instant::now();
        let mut force = true;
        loop {
            let stale = read
                .as_ref()
                .is_none_or(|(at, _, _)| at.elapsed() >= REFRESH);
            if stale {
                read = Some(self.read_banner());
            }
            let (_, banner, shell) = read.clone().expect("read above");
            let mut lines = banner;
            lines.push(String::new());
            lines.extend(screen::menu(shell));
            if let Some(n) = &note {
                lines.push(n.clone());
            }
            let page = screen::page(&lines, "Choice: ");
            // Drawn when it changed, when asked, and every REDRAW anyway
            // (someone may have just plugged in a serial cable).
            if force || page != self.last || drawn_at.elapsed() >= REDRAW {
                self.last = page;
                let page = self.last.clone();
                self.term.draw(&page);
                drawn_at = Instant::now();
            }
            force = false;
            let step = match self.term.key(REFRESH) {
                Key::Closed => return,
                Key::Char(c) => self.choose(c.to_ascii_lowercase(), shell != Some(false)),
                Key::Resized | Key::Redraw => {
                    force = true;
                    continue;
                }
                Key::Timeout | Key::Enter | Key::Interrupt | Key::EndOfInput => continue,
                Key::HungUp => Step::Menu(None),
                Key::Backspace | Key::Other => Step::Menu(Some(unknown())),
            };
            match step {
                Step::Closed => return,
                Step::Menu(n) => {
                    note = n;
                    // After an action, what it changed shows at once.
                    read = None;
                    force = true;
                }
            }
        }
    }

    /// The banner's lines, and whether the shell is allowed (`None`: not
    /// known, hearth being down: asking would open the store every few
    /// seconds; it is checked when chosen).
    fn read_banner(&self) -> (Instant, Vec<String>, Option<bool>) {
        let banner = self.backend.banner();
        let online = matches!(banner.daemon, Daemon::Ready { .. });
        let shell = online.then(|| {
            matches!(
                self.backend.ask(Request::ShellAllowed),
                Answer::ShellAllowed { allowed: true }
            )
        });
        (Instant::now(), screen::banner(&banner), shell)
    }

    fn choose(&mut self, c: char, shell: bool) -> Step {
        match c {
            'p' => self.reset_password(),
            't' => self.turn_off_two_factor(),
            'f' => self.reset_firewall(),
            'c' => self.new_certificate(),
            'l' => self.show_log(),
            'r' => self.power(Power::Restart),
            'b' => self.power(Power::Reboot),
            'o' => self.power(Power::Off),
            'x' => self.factory_reset(),
            's' if shell => self.root_shell(),
            _ => Step::Menu(Some(unknown())),
        }
    }

    fn show(&mut self, lines: &[String], prompt: &str) {
        self.last = screen::page(lines, prompt);
        let page = self.last.clone();
        self.term.draw(&page);
    }

    /// The next key an action cares about; redraws on a resize.
    fn input(&mut self) -> Input {
        self.input_until(None)
    }

    /// [`Self::input`], giving up at `deadline` ([`Input::Back`]).
    fn input_until(&mut self, deadline: Option<Instant>) -> Input {
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Input::Back;
            }
            match self.term.key(REFRESH) {
                Key::Timeout | Key::Other => {}
                Key::Resized | Key::Redraw => {
                    let page = self.last.clone();
                    self.term.draw(&page);
                }
                Key::Interrupt | Key::EndOfInput | Key::HungUp => return Input::Back,
                Key::Closed => return Input::Closed,
                Key::Char(c) => return Input::Char(c),
                Key::Enter => return Input::Enter,
                Key::Backspace => return Input::Backspace,
            }
        }
    }

    /// A line typed after `prompt` (shown as `*` when `secret`); `None`
    /// when abandoned.
    fn line(&mut self, lines: &[String], prompt: &str, secret: bool) -> Result<Option<String>, ()> {
        let mut typed = String::new();
        loop {
            let shown: String = if secret {
                "*".repeat(typed.chars().count())
            } else {
                typed.clone()
            };
            self.show(lines, &format!("{prompt}{shown}"));
            match self.input() {
                Input::Closed => return Err(()),
                Input::Back => return Ok(None),
                Input::Enter => return Ok(Some(typed)),
                Input::Backspace => {
                    typed.pop();
                }
                Input::Char(c) => {
                    if typed.len() < MAX_TYPED {
                        typed.push(c);
                    }
                }
            }
        }
    }

    /// Waits for any key after a result.
    fn acknowledge(&mut self, lines: Vec<String>) -> Step {
        self.acknowledge_within(lines, None)
    }

    /// [`Self::acknowledge`], going back by itself at `deadline`.
    fn acknowledge_within(&mut self, mut lines: Vec<String>, deadline: Option<Instant>) -> Step {
        lines.push(String::new());
        self.show(&lines, "Press any key to go back to the menu.");
        match self.input_until(deadline) {
            Input::Closed => Step::Closed,
            _ => Step::Menu(None),
        }
    }

    /// Asks `question`: `Ok` only for `y`; otherwise the step to take
    /// instead (back to the menu with nothing changed, or closed).
    fn confirm(&mut self, mut lines: Vec<String>, question: &str) -> Result<(), Step> {
        lines.push(String::new());
        self.show(&lines, &format!("{question} [y/N] "));
        match self.input() {
            Input::Closed => Err(Step::Closed),
            Input::Char('y' | 'Y') => Ok(()),
            _ => Err(Step::Menu(Some("Nothing changed.".into()))),
        }
    }

    /// The numbered users; the chosen one, `None` when abandoned.
    fn pick_user(&mut self, title: &str) -> Result<Option<ConsoleUser>, Step> {
        let users = match self.backend.ask(Request::Users) {
            Answer::Users { users } => users,
            other => return Err(Step::Menu(Some(answer_text(&other)))),
        };
        if users.is_empty() {
            return Err(Step::Menu(Some("There are no users yet.".into())));
        }
        let mut lines = vec![title.to_string(), String::new()];
        for (i, u) in users.iter().take(9).enumerate() {
            let mut notes = vec![format!("{:?}", u.role).to_lowercase()];
            if u.two_factor {
                notes.push("two-factor on".into());
            }
            if u.disabled {
                notes.push("disabled".into());
            }
            lines.push(format!(
                " {}  {}  ({})",
                i + 1,
                u.username,
                notes.join(", ")
            ));
        }
        if users.len() > 9 {
            lines.push(" n  type a user name".into());
        }
        lines.push(String::new());
        lines.push("Press the user's number; Ctrl-C goes back.".into());
        loop {
            self.show(&lines, "User: ");
            match self.input() {
                Input::Closed => return Err(Step::Closed),
                Input::Back => return Ok(None),
                Input::Char(d @ '1'..='9') => {
                    let i = d as usize - '1' as usize;
                    if let Some(u) = users.get(i) {
                        return Ok(Some(u.clone()));
                    }
                }
                Input::Char('n') if users.len() > 9 => {
                    let name = match self.line(&lines, "User name: ", false) {
                        Err(()) => return Err(Step::Closed),
                        Ok(None) => return Ok(None),
                        Ok(Some(n)) => n,
                    };
                    if let Some(u) = users.iter().find(|u| u.username == name.trim()) {
                        return Ok(Some(u.clone()));
                    }
                    lines.push(format!("No user named {}.", screen::fit(name.trim())));
                }
                _ => {}
            }
        }
    }

    fn reset_password(&mut self) -> Step {
        let user = match self.pick_user("Reset whose password (and two-factor login)?") {
            Err(step) => return step,
            Ok(None) => return Step::Menu(None),
            Ok(Some(u)) => u,
        };
        let lines = vec![
            format!(
                "Reset the password of {} and turn off its two-factor login?",
                user.username
            ),
            "Its sessions end; its tokens stay.".into(),
            String::new(),
            " g  generate a new random password".into(),
            " t  type a new password".into(),
            " any other key: back, nothing changed".into(),
        ];
        self.show(&lines, "Choice: ");
        let (password, generated) = match self.input() {
            Input::Closed => return Step::Closed,
            Input::Char('g' | 'G') => (generate_password(), true),
            Input::Char('t' | 'T') => match self.typed_password(&lines) {
                Err(()) => return Step::Closed,
                Ok(Err(note)) => return Step::Menu(Some(note)),
                Ok(Ok(None)) => return Step::Menu(Some("Nothing changed.".into())),
                Ok(Ok(Some(p))) => (p, false),
            },
            _ => return Step::Menu(Some("Nothing changed.".into())),
        };
        let answer = self.backend.ask(Request::ResetPassword {
            username: user.username.clone(),
            password: password.clone(),
        });
        match answer {
            Answer::Done { .. } if generated => {
                let step = self.acknowledge_within(
                    vec![
                        format!("The password of {} is reset.", user.username),
                        "Two-factor login is off; sign in and turn it on again.".into(),
                        String::new(),
                        format!("New password for {}: {password}", user.username),
                        String::new(),
                        "Write it down now: it is not shown again.".into(),
                    ],
                    Some(Instant::now() + PASSWORD_SHOWN),
                );
                // Off the screen, then out of the scrollback (a terminal
                // may push what an erase took off the screen into it).
                self.term.draw(screen::ERASE_ALL);
                step
            }
            Answer::Done { .. } => Step::Menu(Some(format!(
                "The password of {} is reset; two-factor login is off.",
                user.username
            ))),
            other => Step::Menu(Some(answer_text(&other))),
        }
    }

    /// A password typed twice: `Ok(None)` when abandoned, and a note
    /// when the two differ.
    fn typed_password(&mut self, lines: &[String]) -> Result<Result<Option<String>, String>, ()> {
        let Some(first) = self.line(lines, "New password (not shown): ", true)? else {
            return Ok(Ok(None));
        };
        let Some(again) = self.line(lines, "The same again: ", true)? else {
            return Ok(Ok(None));
        };
        if first != again {
            return Ok(Err("The two passwords differ: nothing changed.".into()));
        }
        Ok(Ok(Some(first)))
    }

    fn turn_off_two_factor(&mut self) -> Step {
        let user = match self.pick_user("Turn off whose two-factor login?") {
            Err(step) => return step,
            Ok(None) => return Step::Menu(None),
            Ok(Some(u)) => u,
        };
        let question = format!("Turn off the two-factor login of {}?", user.username);
        if let Err(step) = self.confirm(vec!["Its password stays.".into()], &question) {
            return step;
        }
        match self.backend.ask(Request::TurnOffTwoFactor {
            username: user.username.clone(),
        }) {
            Answer::Done { .. } => Step::Menu(Some(format!(
                "Two-factor login of {} is off.",
                user.username
            ))),
            other => Step::Menu(Some(answer_text(&other))),
        }
    }

    fn reset_firewall(&mut self) -> Step {
        if !self.backend.manages_firewall() {
            return Step::Menu(Some(
                "hearth does not manage this box's firewall ([firewall] manage = false): nothing to reset."
                    .into(),
            ));
        }
        let lines = vec![
            "Reset the firewall to the boot policy: hearth's port and the web".into(),
            "ports open to everyone, nothing else. The admin's rules are replaced".into(),
            "by the default policy (the audit log keeps what they were).".into(),
        ];
        if let Err(step) = self.confirm(lines, "Reset the firewall now?") {
            return step;
        }
        match self.backend.ask(Request::ResetFirewall) {
            Answer::Done { .. } => {
                Step::Menu(Some("The firewall is reset to the boot policy.".into()))
            }
            other => Step::Menu(Some(answer_text(&other))),
        }
    }

    fn new_certificate(&mut self) -> Step {
        let lines = vec![
            "Make a new self-signed TLS certificate for hearth's own port.".into(),
            "Browsers warn about it once more: compare the new fingerprint.".into(),
        ];
        if let Err(step) = self.confirm(lines, "Make a new certificate?") {
            return step;
        }
        match self.backend.ask(Request::NewCertificate) {
            Answer::Done { message } => {
                let mut lines =
                    vec!["The new certificate's SHA-256 (compare with the browser's):".into()];
                lines.extend(screen::fingerprint_lines(&message));
                self.acknowledge(lines)
            }
            other => Step::Menu(Some(answer_text(&other))),
        }
    }

    fn show_log(&mut self) -> Step {
        let result = self.machine.log(LOG_LINES);
        let _ = self.record(Recorded::Log, result.is_ok());
        let mut lines = vec!["hearth's log, the last lines:".to_string()];
        match result {
            Ok(log) if log.is_empty() => lines.push("(empty)".into()),
            Ok(log) => lines.extend(log.iter().flat_map(|l| screen::wrap(l))),
            Err(e) => lines.extend(screen::wrap(&chain(&e))),
        }
        // Only the newest lines fit.
        let keep = screen::LINES - 3;
        if lines.len() > keep {
            lines.drain(1..lines.len() - keep + 1);
        }
        self.acknowledge(lines)
    }

    fn power(&mut self, what: Power) -> Step {
        let (question, args, recorded): (&str, &[&str], Recorded) = match what {
            Power::Restart => ("Restart hearth?", &["restart", UNIT], Recorded::Restart),
            Power::Reboot => ("Reboot the box?", &["reboot"], Recorded::Reboot),
            Power::Off => ("Power the box off?", &["poweroff"], Recorded::PowerOff),
        };
        if let Err(step) = self.confirm(Vec::new(), question) {
            return step;
        }
        if let Err(why) = self.backend.exclusive() {
            return Step::Menu(Some(why));
        }
        // A reboot or power-off is recorded first: afterwards there is
        // nobody to record it. A restart is recorded with its outcome.
        if what != Power::Restart {
            self.record(recorded, true);
        }
        let result = self.machine.systemctl(args);
        if what == Power::Restart || result.is_err() {
            self.record(recorded, result.is_ok());
        }
        match result {
            Ok(()) => Step::Menu(Some(format!("Done: systemctl {}", args.join(" ")))),
            Err(e) => Step::Menu(Some(chain(&e))),
        }
    }

    fn factory_reset(&mut self) -> Step {
        let hostname = super::hostname();
        let lines = vec![
            "FACTORY RESET".into(),
            String::new(),
            "This erases hearth's state (users, settings, domains, firewall rules,".into(),
            "certificates, the audit log) and every server's data, and returns".into(),
            "the box to setup mode with a new setup code. It cannot be undone.".into(),
            String::new(),
            format!("Type the host name ({hostname}) and Enter to confirm; Ctrl-C goes back."),
        ];
        let typed = match self.line(&lines, "Host name: ", false) {
            Err(()) => return Step::Closed,
            Ok(None) => return Step::Menu(Some("Nothing changed.".into())),
            Ok(Some(t)) => t,
        };
        if typed.trim() != hostname {
            return Step::Menu(Some("That is not the host name: nothing changed.".into()));
        }
        let mut done = vec!["FACTORY RESET".to_string(), String::new()];
        let mut steps: Vec<FactoryStep> = vec![
            (
                "stopping hearth",
                Box::new(|m: &dyn Machine| m.systemctl(&["stop", UNIT]).map(|()| String::new())),
            ),
            (
                "stopping the servers",
                Box::new(|m: &dyn Machine| {
                    m.systemctl(&["stop", SERVER_UNITS]).map(|()| String::new())
                }),
            ),
        ];
        let terminal = self.backend.terminal();
        steps.push((
            "erasing",
            Box::new(move |m: &dyn Machine| m.erase(&terminal)),
        ));
        steps.push((
            "starting hearth",
            Box::new(|m: &dyn Machine| m.systemctl(&["start", UNIT]).map(|()| String::new())),
        ));
        // One console at a time: the other terminal's console must not
        // start hearth, or act on the store, half-way through.
        let guard = match self.backend.exclusive() {
            Ok(guard) => guard,
            Err(why) => return Step::Menu(Some(why)),
        };
        let mut failed = false;
        for (what, step) in steps {
            self.show(&done, &format!("{what}..."));
            match step(self.machine) {
                Ok(said) => done.push(if said.is_empty() {
                    format!("{what}: done")
                } else {
                    format!("{what}: {said}")
                }),
                Err(e) => {
                    done.extend(screen::wrap(&format!("{what}: FAILED: {}", chain(&e))));
                    done.push("Nothing after this step was done; run the reset again.".into());
                    failed = true;
                    break;
                }
            }
        }
        drop(guard);
        if failed {
            self.record(Recorded::FactoryReset, false);
            return self.acknowledge(done);
        }
        done.push(String::new());
        done.push("hearth starts in setup mode: its new setup code shows on the menu.".into());
        self.acknowledge(done)
    }

    fn root_shell(&mut self) -> Step {
        match self.backend.ask(Request::ShellAllowed) {
            Answer::ShellAllowed { allowed: true } => {}
            Answer::ShellAllowed { allowed: false } => {
                return Step::Menu(Some(
                    "The root shell is off: an admin turns it on in the settings.".into(),
                ));
            }
            other => return Step::Menu(Some(answer_text(&other))),
        }
        // No root shell that the audit log does not show.
        if !self.record(Recorded::Shell, true) {
            return Step::Menu(Some(
                "The root shell could not be recorded: not opened.".into(),
            ));
        }
        self.term.draw(&screen::page(
            &["Root shell: `exit` comes back to the console.".into()],
            "",
        ));
        self.term.draw("\r\n");
        let machine = self.machine;
        let mut result = Ok(());
        self.term.suspended(&mut || result = machine.shell());
        match result {
            Ok(()) => Step::Menu(Some("The root shell ended.".into())),
            Err(e) => Step::Menu(Some(chain(&e))),
        }
    }

    /// Records what the console did; whether it was recorded.
    fn record(&self, what: Recorded, ok: bool) -> bool {
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        match self.backend.ask(Request::Record { what, outcome }) {
            Answer::Done { .. } => true,
            other => {
                tracing::warn!(answer = ?other, ?what, "console: cannot record the action");
                false
            }
        }
    }
}

fn unknown() -> String {
    "Unknown choice: press one of the letters shown.".into()
}

/// An answer that is not the one expected, in words.
fn answer_text(answer: &Answer) -> String {
    match answer {
        Answer::Failed { message } => format!("Failed: {message}"),
        Answer::Refused { message } => format!("Refused: {message}"),
        other => format!("Unexpected answer: {other:?}"),
    }
}

#[cfg(test)]
mod tests;
