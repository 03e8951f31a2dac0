//! The update manager's pass without I/O: what the store says
//! ([`Desired`]), what the helper and the install job say ([`Observed`]),
//! and what follows ([`Plan`]), with the status a pass that needed
//! nothing publishes.
//!
//! The walk of one update: asked → written (by the helper, in a job that
//! the manager follows) → reboot (when the admin says) → on trial (the
//! new slot runs, its entry counted) → judged: blessed (installed) or,
//! back on the old slot with the new entry out of tries, fallen back.
//! A box that starts with an install under way whose slot was never
//! written was cut off mid-write: interrupted.

use super::model::status::{Available, OtherSlot, OtherState, Phase, UpdateStatus};
use super::model::{Asked, HistoryEntry, Underway};
use super::slots::protocol::{EntryStatus, Installed, Progress, Slot, Status, Step};

/// What the store says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub asked: Option<Asked>,
    pub underway: Option<Underway>,
    pub last: Option<HistoryEntry>,
}

/// What the helper, the job and the staging folder say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub slots: Status,
    /// The running OS's version (`/usr/lib/hearth/version`).
    pub os_version: String,
    pub job: Job,
    pub available: Option<Available>,
    pub trusts_test_key: bool,
}

/// The install job of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// None started since hearth started (or its end was recorded).
    Idle,
    Running(Option<Progress>),
    Done(Installed),
    Failed {
        step: Option<Step>,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Nothing,
    /// Ask the helper to write `target` from the asked bundle.
    Start {
        asked: Asked,
        target: Slot,
    },
    /// The job wrote the slot: record it.
    Written(Installed),
    /// The job failed: record it; the running slot was not touched.
    Failed {
        step: Option<Step>,
        error: String,
    },
    /// The admin said "reboot now": keep a copy of the store, reboot.
    Reboot,
    /// The new slot runs and was judged good.
    Blessed {
        trust_next_key: bool,
    },
    /// Back on the old slot, the new entry out of tries.
    FellBack {
        target: Slot,
        tries: u32,
    },
    /// The install ended without a judgement: why.
    Lost {
        interrupted: bool,
        reason: String,
    },
}

impl crate::reconcile::Plan for Plan {
    fn is_noop(&self) -> bool {
        *self == Plan::Nothing
    }
}

pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    match &observed.job {
        Job::Running(_) => return Plan::Nothing,
        Job::Done(installed) if desired.underway.is_some() => {
            return Plan::Written(installed.clone());
        }
        Job::Failed { step, error } if desired.underway.is_some() => {
            return Plan::Failed {
                step: *step,
                error: error.clone(),
            };
        }
        _ => {}
    }
    let Some(underway) = &desired.underway else {
        return match &desired.asked {
            Some(asked) => Plan::Start {
                asked: asked.clone(),
                target: observed.slots.running.other(),
            },
            None => Plan::Nothing,
        };
    };
    let Some(written) = &underway.written else {
        // The job of this process is gone (Idle): hearth, or the box,
        // stopped while the slot was written.
        return Plan::Lost {
            interrupted: true,
            reason: format!(
                "the box stopped while slot {} was written; nothing boots it: install again",
                underway.target
            ),
        };
    };
    let entry = observed.slots.slot(underway.target).entry.as_ref();
    let ours = entry.filter(|e| e.generation == written.generation);
    let Some(entry) = ours else {
        return Plan::Lost {
            interrupted: false,
            reason: format!(
                "the boot entry {} of slot {} is gone",
                written.entry, underway.target
            ),
        };
    };
    if observed.slots.running == underway.target {
        return if entry.blessed {
            Plan::Blessed {
                trust_next_key: observed.slots.pending_key == Some(written.generation),
            }
        } else {
            Plan::Nothing
        };
    }
    if entry.bad {
        return Plan::FellBack {
            target: underway.target,
            tries: entry.tries_done.unwrap_or(0),
        };
    }
    if underway.reboot_asked && entry.tries_done.unwrap_or(0) == 0 {
        return Plan::Reboot;
    }
    Plan::Nothing
}

/// The status of a pass: what runs, the other slot, the phase.
pub fn status(desired: &Desired, observed: &Observed) -> UpdateStatus {
    let running = observed.slots.running;
    let other = running.other();
    UpdateStatus {
        running_slot: running,
        running_version: observed.os_version.clone(),
        other: other_slot(other, observed.slots.slot(other).entry.as_ref()),
        available: observed.available.clone(),
        phase: phase(desired, observed),
        last: desired.last.clone(),
        trusts_test_key: observed.trusts_test_key,
    }
}

fn other_slot(slot: Slot, entry: Option<&EntryStatus>) -> OtherSlot {
    let state = match entry {
        None => OtherState::Empty,
        Some(e) if e.bad => OtherState::Bad,
        Some(e) if e.blessed => OtherState::Good,
        Some(_) => OtherState::Waiting,
    };
    OtherSlot {
        slot,
        version: entry.and_then(|e| e.version.clone()),
        state,
    }
}

fn phase(desired: &Desired, observed: &Observed) -> Phase {
    let Some(underway) = &desired.underway else {
        return Phase::Idle;
    };
    let version = underway.version.clone();
    match (&observed.job, &underway.written) {
        (Job::Running(progress), _) => {
            let (step, bytes, total) = match progress {
                Some(p) => (Some(p.step), p.bytes, p.total),
                None => (None, 0, 0),
            };
            Phase::Installing {
                version,
                step,
                bytes,
                total,
                percent: percent(progress.as_ref()),
            }
        }
        (_, Some(_)) if observed.slots.running == underway.target => {
            let entry = observed.slots.slot(underway.target).entry.as_ref();
            Phase::OnTrial {
                version,
                tries_left: entry.and_then(|e| e.tries_left).unwrap_or(0),
            }
        }
        (_, Some(_)) => {
            let entry = observed.slots.slot(underway.target).entry.as_ref();
            if entry.is_some_and(|e| !e.bad) {
                Phase::ReadyToReboot { version }
            } else {
                // Fallen back, or its entry gone: the pass records it.
                Phase::Idle
            }
        }
        (_, None) => Phase::Installing {
            version,
            step: None,
            bytes: 0,
            total: 0,
            percent: 0,
        },
    }
}

/// How far the whole install is: each step's share of the work, the
/// root's write and read-back being most of it.
fn percent(progress: Option<&Progress>) -> u8 {
    let Some(p) = progress else { return 0 };
    let (before, share) = match p.step {
        Step::Verify => (0, 2),
        Step::WriteRoot => (2, 60),
        Step::ReadBack => (62, 30),
        Step::BootFiles => (92, 6),
        Step::Entry => (98, 2),
    };
    let within = (p.bytes.min(p.total) * share)
        .checked_div(p.total)
        .unwrap_or(0) as u8;
    (before as u8 + within).min(100)
}

#[cfg(test)]
mod tests;
