//! The update manager's plan for every state of an update, without a
//! helper: one golden file lists each state and what follows from it.

use super::*;
use crate::golden::assert_golden;
use crate::update::slots::protocol::SlotStatus;
use crate::update::testing::{asked, installed, underway};

fn entry(generation: u32, slot: Slot, tries: Option<(u32, u32)>, bad: bool) -> EntryStatus {
    let counter = match tries {
        Some((left, 0)) => format!("+{left}"),
        Some((left, done)) => format!("+{left}-{done}"),
        None => String::new(),
    };
    EntryStatus {
        file: format!("hearth-{generation:04}-{slot}{counter}.conf"),
        generation,
        tries_left: tries.map(|t| t.0),
        tries_done: tries.map(|t| t.1),
        blessed: tries.is_none() && !bad,
        bad: bad || tries.is_some_and(|t| t.0 == 0),
        version: Some(if generation == 1 { "0.1.0" } else { "0.2.0" }.into()),
    }
}

fn slots(running: Slot, a: Option<EntryStatus>, b: Option<EntryStatus>) -> Status {
    Status {
        running,
        a: SlotStatus { entry: a },
        b: SlotStatus { entry: b },
        pending_key: None,
    }
}

fn observed(slots: Status, job: Job) -> Observed {
    Observed {
        slots,
        os_version: "0.1.0".into(),
        job,
        available: None,
        trusts_test_key: true,
    }
}

fn desired(asked_: bool, underway_: Option<Underway>) -> Desired {
    Desired {
        asked: asked_.then(asked),
        underway: underway_,
        last: None,
    }
}

fn progress(step: Step, bytes: u64, total: u64) -> Job {
    Job::Running(Some(Progress { step, bytes, total }))
}

#[test]
fn the_plan_for_each_state_of_an_update() {
    let a1 = || Some(entry(1, Slot::A, None, false));
    let b2 = |tries, bad| Some(entry(2, Slot::B, tries, bad));
    let cases: Vec<(&str, Desired, Observed)> = vec![
        (
            "nothing asked",
            desired(false, None),
            observed(slots(Slot::A, a1(), None), Job::Idle),
        ),
        (
            "asked, from slot a",
            desired(true, None),
            observed(slots(Slot::A, a1(), None), Job::Idle),
        ),
        (
            "asked, from slot b",
            desired(true, None),
            observed(slots(Slot::B, a1(), b2(None, false)), Job::Idle),
        ),
        (
            "writing",
            desired(true, Some(underway(false, false))),
            observed(
                slots(Slot::A, a1(), None),
                progress(Step::WriteRoot, 1 << 28, 1 << 29),
            ),
        ),
        (
            "written by the job",
            desired(true, Some(underway(false, false))),
            observed(
                slots(Slot::A, a1(), b2(Some((3, 0)), false)),
                Job::Done(installed()),
            ),
        ),
        (
            "the job failed",
            desired(true, Some(underway(false, false))),
            observed(
                slots(Slot::A, a1(), None),
                Job::Failed {
                    step: Some(Step::ReadBack),
                    error: "the root read back differs".into(),
                },
            ),
        ),
        (
            "cut off mid-write",
            desired(false, Some(underway(false, false))),
            observed(slots(Slot::A, a1(), None), Job::Idle),
        ),
        (
            "written, waiting for the word",
            desired(false, Some(underway(true, false))),
            observed(slots(Slot::A, a1(), b2(Some((3, 0)), false)), Job::Idle),
        ),
        (
            "written, reboot asked",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::A, a1(), b2(Some((3, 0)), false)), Job::Idle),
        ),
        (
            "on trial",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::B, a1(), b2(Some((2, 1)), false)), Job::Idle),
        ),
        (
            "blessed",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::B, a1(), b2(None, false)), Job::Idle),
        ),
        (
            "blessed, its bundle named the next key",
            desired(false, Some(underway(true, true))),
            observed(
                Status {
                    pending_key: Some(2),
                    ..slots(Slot::B, a1(), b2(None, false))
                },
                Job::Idle,
            ),
        ),
        (
            "fell back after three tries",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::A, a1(), b2(Some((0, 3)), false)), Job::Idle),
        ),
        (
            "fell back, already marked bad",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::A, a1(), b2(None, true)), Job::Idle),
        ),
        (
            "the new entry is gone",
            desired(false, Some(underway(true, true))),
            observed(slots(Slot::A, a1(), None), Job::Idle),
        ),
        (
            "another generation in the slot",
            desired(false, Some(underway(true, true))),
            observed(
                slots(Slot::A, a1(), Some(entry(5, Slot::B, None, false))),
                Job::Idle,
            ),
        ),
    ];
    let mut text = String::new();
    for (name, desired, observed) in &cases {
        let plan = plan(desired, observed);
        let status = status(desired, observed);
        text.push_str(&format!(
            "## {name}\nplan: {plan:?}\nphase: {}\nother: {}\n\n",
            serde_json::to_string(&status.phase).unwrap(),
            serde_json::to_string(&status.other).unwrap(),
        ));
    }
    assert_golden("update-plan.txt", &text);
}

#[test]
fn the_percent_runs_through_the_steps() {
    let at = |step, bytes, total| percent(Some(&Progress { step, bytes, total }));
    assert_eq!(percent(None), 0);
    assert_eq!(at(Step::Verify, 0, 0), 0);
    assert_eq!(at(Step::WriteRoot, 0, 100), 2);
    assert_eq!(at(Step::WriteRoot, 50, 100), 32);
    assert_eq!(at(Step::ReadBack, 100, 100), 92);
    assert_eq!(at(Step::Entry, 1, 1), 100);
    assert_eq!(at(Step::WriteRoot, 500, 100), 62, "never past its share");
}
