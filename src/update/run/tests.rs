//! The update manager's passes against a recording helper: an update
//! walked from the word to its end, the store's records and the helper's
//! calls checked at each step.

use super::*;
use crate::reconcile::once;
use crate::update::adapter::{Call, RecordingSlots};
use crate::update::model::FailedBoot;
use crate::update::model::status::Phase;
use crate::update::slots::protocol::{EntryStatus, Slot, SlotStatus, Status, Step};
use crate::update::testing::{asked, installed};

fn entry(generation: u32, slot: Slot, tries: Option<(u32, u32)>) -> EntryStatus {
    EntryStatus {
        file: format!("hearth-{generation:04}-{slot}.conf"),
        generation,
        tries_left: tries.map(|t| t.0),
        tries_done: tries.map(|t| t.1),
        blessed: tries.is_none(),
        bad: tries.is_some_and(|t| t.0 == 0),
        version: Some("0.2.0".into()),
    }
}

fn slots(running: Slot, b: Option<EntryStatus>) -> Status {
    Status {
        running,
        a: SlotStatus {
            entry: Some(entry(1, Slot::A, None)),
        },
        b: SlotStatus { entry: b },
        pending_key: None,
    }
}

struct Lab {
    _dir: tempfile::TempDir,
    store: Store,
    slots: RecordingSlots,
    manager: UpdateManager<RecordingSlots>,
}

fn lab(status: Status) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let slots = RecordingSlots::new(status);
    let (job, _) = watch::channel(Job::Idle);
    let manager = UpdateManager::new(
        store.clone(),
        slots.clone(),
        job,
        Arc::default(),
        Running {
            os_version: "0.1.0".into(),
            trusts_test_key: true,
        },
    );
    Lab {
        _dir: dir,
        store,
        slots,
        manager,
    }
}

fn ask(store: &Store) {
    let entry = AuditEntry::system(AuditAction::UpdateAsk, "t");
    stored::ask(store, entry, &asked()).unwrap();
}

fn last(store: &Store) -> HistoryEntry {
    stored::history(store)
        .unwrap()
        .pop()
        .expect("a history entry")
}

#[tokio::test]
async fn an_update_is_written_rebooted_into_and_judged_good() {
    let mut lab = lab(slots(Slot::A, None));
    ask(&lab.store);
    *lab.slots.install_ends.lock().unwrap() = Job::Done(installed());
    // The word: the helper is asked to write slot b.
    let status = once(&mut lab.manager).await.unwrap().expect("applied");
    assert_eq!(
        lab.slots.calls(),
        [Call::Install("0123456789abcdef".into())]
    );
    assert_eq!(stored::asked(&lab.store).unwrap(), None);
    assert!(
        matches!(status.phase, Phase::Installing { .. }),
        "{status:?}"
    );
    // The job ended: written, waiting for the word to reboot.
    *lab.slots.status.lock().unwrap() = slots(Slot::A, Some(entry(2, Slot::B, Some((3, 0)))));
    let status = once(&mut lab.manager).await.unwrap().expect("applied");
    assert_eq!(
        status.phase,
        Phase::ReadyToReboot {
            version: "0.2.0".into()
        }
    );
    let underway = stored::underway(&lab.store).unwrap().unwrap();
    assert_eq!(underway.written.as_ref().unwrap().generation, 2);
    assert_eq!(
        once(&mut lab.manager).await.unwrap(),
        None,
        "nothing until the word"
    );
    // "Reboot now": a copy of the store is kept, then the reboot.
    let mut asked = underway.clone();
    asked.reboot_asked = true;
    stored::put_underway(
        &lab.store,
        AuditEntry::system(AuditAction::UpdateReboot, "t"),
        &asked,
    )
    .unwrap();
    once(&mut lab.manager).await.unwrap();
    assert_eq!(lab.slots.calls().last(), Some(&Call::Reboot));
    assert!(
        lab.store
            .path()
            .with_file_name("state.pre-update.redb")
            .exists()
    );
    // The new slot runs, on trial; then judged good.
    *lab.slots.status.lock().unwrap() = slots(Slot::B, Some(entry(2, Slot::B, Some((2, 1)))));
    assert_eq!(once(&mut lab.manager).await.unwrap(), None);
    *lab.slots.status.lock().unwrap() = slots(Slot::B, Some(entry(2, Slot::B, None)));
    let status = once(&mut lab.manager).await.unwrap().expect("applied");
    assert_eq!(status.phase, Phase::Idle);
    let ended = last(&lab.store);
    assert_eq!(ended.outcome, Outcome::Installed);
    assert_eq!(ended.from_version, "0.1.0");
    assert!(
        !lab.store
            .path()
            .with_file_name("state.pre-update.redb")
            .exists()
    );
}

#[tokio::test]
async fn while_the_helper_writes_a_pass_does_not_ask_it() {
    let mut lab = lab(slots(Slot::A, None));
    ask(&lab.store);
    *lab.slots.install_ends.lock().unwrap() = Job::Running(None);
    once(&mut lab.manager).await.unwrap();
    // The real helper takes no other request while it installs.
    *lab.slots.busy.lock().unwrap() = true;
    lab.manager.job.send_replace(Job::Running(Some(
        crate::update::slots::protocol::Progress {
            step: Step::WriteRoot,
            bytes: 50,
            total: 100,
        },
    )));
    let status = once(&mut lab.manager).await.unwrap();
    assert_eq!(status, None, "nothing to do, and no error");
    // Once the job ends, the helper is asked again.
    lab.manager.job.send_replace(Job::Done(installed()));
    assert!(once(&mut lab.manager).await.is_err(), "asked while busy");
    *lab.slots.busy.lock().unwrap() = false;
    assert!(once(&mut lab.manager).await.unwrap().is_some());
}

#[tokio::test]
async fn a_failed_install_is_recorded_and_touches_nothing_else() {
    let mut lab = lab(slots(Slot::A, None));
    ask(&lab.store);
    *lab.slots.install_ends.lock().unwrap() = Job::Failed {
        step: Some(Step::WriteRoot),
        error: "the root part's hash is not the signed one".into(),
    };
    once(&mut lab.manager).await.unwrap();
    once(&mut lab.manager).await.unwrap();
    let ended = last(&lab.store);
    assert_eq!(ended.outcome, Outcome::Failed);
    assert!(
        ended.detail.contains("WriteRoot") && ended.detail.contains("hash"),
        "{}",
        ended.detail
    );
    assert_eq!(stored::underway(&lab.store).unwrap(), None);
    assert_eq!(
        lab.slots.calls(),
        [Call::Install("0123456789abcdef".into())]
    );
}

#[tokio::test]
async fn a_fallback_is_told_with_the_failed_boots_and_the_slot_marked_bad() {
    let mut lab = lab(slots(Slot::A, None));
    ask(&lab.store);
    *lab.slots.install_ends.lock().unwrap() = Job::Done(installed());
    lab.slots.boots = vec![FailedBoot {
        boot_id: "2".repeat(32),
        first_ms: 10,
        last_ms: 20,
        journal: vec!["hearth: cannot start".into()],
    }];
    // The recording's boots were set after the clone: use a fresh one.
    let slots_with_boots = lab.slots.clone();
    lab.manager.slots = slots_with_boots;
    once(&mut lab.manager).await.unwrap();
    *lab.slots.status.lock().unwrap() = slots(Slot::A, Some(entry(2, Slot::B, Some((3, 0)))));
    once(&mut lab.manager).await.unwrap();
    // Three tries later, back on slot a with b's entry out of tries.
    *lab.slots.status.lock().unwrap() = slots(Slot::A, Some(entry(2, Slot::B, Some((0, 3)))));
    let status = once(&mut lab.manager).await.unwrap().expect("applied");
    assert_eq!(lab.slots.calls().last(), Some(&Call::MarkBad(Slot::B)));
    let ended = last(&lab.store);
    assert_eq!(ended.outcome, Outcome::FellBack);
    assert!(ended.detail.contains("3 tries"), "{}", ended.detail);
    assert_eq!(ended.failed_boots.len(), 1);
    assert_eq!(status.last.as_ref(), Some(&ended));
    assert!(UpdateManager::<RecordingSlots>::trouble(&status).is_some());
}

#[tokio::test]
async fn an_install_cut_off_mid_write_is_said_so_after_the_restart() {
    let mut lab = lab(slots(Slot::A, None));
    ask(&lab.store);
    // The job never ends in this process (the box stopped).
    *lab.slots.install_ends.lock().unwrap() = Job::Running(None);
    once(&mut lab.manager).await.unwrap();
    // A new hearth: its job is idle, the store says "under way".
    lab.manager.job.send_replace(Job::Idle);
    once(&mut lab.manager).await.unwrap();
    let ended = last(&lab.store);
    assert_eq!(ended.outcome, Outcome::Interrupted);
    assert!(ended.detail.contains("install again"), "{}", ended.detail);
}
