//! The judge of a trial boot (`hearth boot-check`, run by
//! `hearth-boot-check.service` before `boot-complete.target`): a root
//! slot that an update just wrote is marked good by systemd-bless-boot
//! only once this says so, and a slot it finds wanting is rebooted out of
//! (the unit's `FailureAction=reboot`), which spends one of the boot
//! entry's tries; after the last one the boot loader goes back to the
//! old slot (see `crate::update`).
//!
//! Good means: hearth answered on its control socket (so it said READY:
//! the socket is bound after the store opened and the HTTPS listener was
//! bound), and no component was `down` for a settle time without a
//! break. Bad means: that did not happen before the deadline, or hearth
//! was restarted too often meanwhile (a hearth that exits at start need
//! not be waited for). The verdict is reached from samples by a pure
//! state machine ([`Judge`]); [`run`] takes the samples.

use std::path::Path;
use std::time::{Duration, Instant};

use super::client::{self, STATUS_TIMEOUT};
use super::protocol::{Answer, Ask, HealthLine, Request};

/// What the judge waits for, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long everything must stay up, without a break, to be good.
    pub settle: Duration,
    /// How long after the start the slot is judged bad if it was not
    /// good by then.
    pub deadline: Duration,
    /// How many restarts of hearth.service make the slot bad at once.
    pub max_restarts: u32,
}

/// One look at hearth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample {
    /// The control socket did not answer (hearth not up, or gone).
    NoAnswer(String),
    /// hearth answered; these components were `down`.
    Answered { down: Vec<String> },
}

impl Sample {
    /// The sample of a status answer's health lines.
    pub fn of_health(health: &[HealthLine]) -> Sample {
        Sample::Answered {
            down: health
                .iter()
                .filter(|line| line.state == "down")
                .map(|line| format!("{} ({})", line.component, line.detail))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Good,
    Bad(String),
    /// Not yet: look again.
    Wait,
}

/// The verdict from the samples taken so far, time measured from the
/// start of the check.
#[derive(Debug)]
pub struct Judge {
    limits: Limits,
    /// Since when every sample was up, if the last one was.
    up_since: Option<Duration>,
    /// What the last bad sample said, for the verdict at the deadline.
    last_problem: String,
}

impl Judge {
    pub fn new(limits: Limits) -> Judge {
        Judge {
            limits,
            up_since: None,
            last_problem: "hearth has not answered yet".into(),
        }
    }

    /// Takes the sample made at `at`, with hearth.service's restart count.
    pub fn observe(&mut self, at: Duration, sample: &Sample, restarts: u32) -> Verdict {
        if restarts >= self.limits.max_restarts {
            return Verdict::Bad(format!(
                "hearth.service was restarted {restarts} times (it keeps failing); {}",
                self.last_problem
            ));
        }
        match sample {
            Sample::Answered { down } if down.is_empty() => {
                let since = *self.up_since.get_or_insert(at);
                if at.saturating_sub(since) >= self.limits.settle {
                    return Verdict::Good;
                }
            }
            Sample::Answered { down } => {
                self.up_since = None;
                self.last_problem = format!("down: {}", down.join(", "));
            }
            Sample::NoAnswer(why) => {
                self.up_since = None;
                self.last_problem = format!("hearth does not answer: {why}");
            }
        }
        if at >= self.limits.deadline {
            return Verdict::Bad(format!(
                "not up for {}s without a break within {}s; last: {}",
                self.limits.settle.as_secs(),
                self.limits.deadline.as_secs(),
                self.last_problem
            ));
        }
        Verdict::Wait
    }
}

/// How often hearth is looked at.
const EVERY: Duration = Duration::from_secs(2);

/// Looks at hearth on the control socket at `socket` until a verdict;
/// `restarts` reads hearth.service's restart count.
pub fn run(socket: &Path, limits: Limits, restarts: impl Fn() -> u32) -> Result<(), String> {
    let start = Instant::now();
    let mut judge = Judge::new(limits);
    loop {
        let sample = look(socket);
        match judge.observe(start.elapsed(), &sample, restarts()) {
            Verdict::Good => return Ok(()),
            Verdict::Bad(why) => return Err(why),
            Verdict::Wait => std::thread::sleep(EVERY),
        }
    }
}

fn look(socket: &Path) -> Sample {
    let ask = Ask {
        terminal: "boot-check".into(),
        request: Request::Status,
    };
    match client::ask(socket, &ask, STATUS_TIMEOUT) {
        Ok(Answer::Status { health, .. }) => Sample::of_health(&health),
        Ok(other) => Sample::NoAnswer(format!("an answer that is not a status: {other:?}")),
        Err(e) => Sample::NoAnswer(e.to_string()),
    }
}

/// hearth.service's restart count, as systemd tells it (0 when it
/// cannot: the deadline still holds).
pub fn restarts_of_hearth() -> u32 {
    std::process::Command::new("systemctl")
        .args(["show", "--property=NRestarts", "--value", "hearth.service"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
