use std::path::Path;

use super::mark::Mark;
use super::restore::{STAGING_DIR, Step, open_after_fallback};
use super::*;
use crate::store::schema::{CURRENT_VERSION, META};
use crate::store::{AuditAction, AuditEntry, STORE_FILE};

const TAKEN_AT_MS: u64 = 1_700_000_000_000;

fn update() -> UpdateMark {
    UpdateMark {
        installing: "9.9.9".into(),
        target_slot: "b".into(),
        at_ms: TAKEN_AT_MS,
    }
}

fn plenty(_: &Path) -> std::io::Result<Room> {
    Ok(Room {
        available: 1 << 40,
        total: 1 << 41,
    })
}

fn audit(store: &Store, target: &str) {
    store
        .audit(AuditEntry::system(AuditAction::UserCreate, target))
        .unwrap();
}

/// A store with some records, and the pair kept of it before an update;
/// the store is closed, as by the reboot.
fn kept() -> (tempfile::TempDir, Kept) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for n in 0..5 {
        audit(&store, &format!("before{n}"));
    }
    let kept = store.keep_with_room(&update(), plenty).unwrap();
    (dir, kept)
}

/// Plays the newer hearth: it writes audit records with `targets`, then
/// migrates the store to a schema this hearth does not know.
fn migrate_as_newer(dir: &Path, targets: &[&str]) {
    let store = Store::open(dir).unwrap();
    for target in targets {
        audit(&store, target);
    }
    drop(store);
    let db = redb::Database::open(dir.join(STORE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert("schema_version", CURRENT_VERSION + 1)
        .unwrap();
    txn.commit().unwrap();
}

fn store_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(STORE_FILE)).unwrap()
}

/// What the redb file at `path` holds (its schema version and audit log),
/// read without changing it. Not its bytes: every open of a store with
/// the integrity check, the failed one too, may rewrite its header.
fn held_by(path: &Path) -> (u64, Vec<(u64, Vec<u8>)>) {
    use redb::{ReadableDatabase, ReadableTable};
    let db = redb::ReadOnlyDatabase::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let version = txn
        .open_table(META)
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap()
        .value();
    let audit = txn
        .open_table(crate::store::schema::AUDIT)
        .unwrap()
        .iter()
        .unwrap()
        .map(|row| {
            let (id, value) = row.unwrap();
            (id.value(), value.value().to_vec())
        })
        .collect();
    (version, audit)
}

fn newer_in(dir: &Path) -> (u64, Vec<(u64, Vec<u8>)>) {
    held_by(&dir.join(STORE_FILE))
}

/// The files named `state.from-*` in `dir`.
fn set_aside_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("state.from-")
        })
        .collect();
    found.sort();
    found
}

fn restore_records(store: &Store) -> Vec<crate::store::AuditRecord> {
    store
        .audit_records(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "store.restore")
        .collect()
}

/// `err` is `NotRestored` over the newer-schema error, with a reason
/// containing `says`.
fn assert_not_restored(err: StoreError, says: &str) {
    match &err {
        StoreError::NotRestored { reason, source, .. } => {
            assert!(reason.contains(says), "{reason}");
            assert!(
                matches!(**source, StoreError::SchemaTooNew { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected NotRestored, got {other:?}"),
    }
}

#[test]
fn the_mark_is_written_after_the_copy_and_names_what_it_holds() {
    let (dir, kept) = kept();
    assert_eq!(kept.copy, dir.path().join(COPY_FILE));
    assert_eq!(kept.mark, dir.path().join(MARK_FILE));
    let mark = Mark::read(&kept.mark).unwrap().unwrap();
    assert_eq!(mark.contents(), kept.contents);
    assert_eq!(mark.installing, "9.9.9");
    assert_eq!(mark.target_slot, "b");
    assert_eq!(mark.taken_at_ms, TAKEN_AT_MS);
    assert_eq!(mark.hearth_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(mark.schema_version, CURRENT_VERSION);
    assert_eq!(mark.last_audit_id, 5);
    assert_eq!(
        mark.copy_bytes,
        std::fs::metadata(&kept.copy).unwrap().len()
    );
    assert_eq!(mark.restored_at_ms, None);
    // No temporary file of either is left.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".tmp") && !n.ends_with(".partial")),
        "{names:?}"
    );
}

#[test]
fn keeping_again_replaces_the_pair_and_dropping_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    audit(&store, "a");
    let first = store.keep_with_room(&update(), plenty).unwrap();
    audit(&store, "b");
    let second = store.keep_with_room(&update(), plenty).unwrap();
    assert_eq!(
        second.contents.last_audit_id,
        first.contents.last_audit_id + 1
    );
    let mark = Mark::read(&second.mark).unwrap().unwrap();
    assert_eq!(mark.contents(), second.contents);
    assert!(store.drop_pre_update().unwrap());
    assert!(!second.mark.exists() && !second.copy.exists());
    assert!(!store.drop_pre_update().unwrap(), "nothing left to drop");
}

#[test]
fn no_room_for_the_copy_is_refused_with_the_path_and_the_figures() {
    fn cramped(_: &Path) -> std::io::Result<Room> {
        Ok(Room {
            available: 10 * 1024,
            total: 1 << 30,
        })
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let err = store.keep_with_room(&update(), cramped).unwrap_err();
    let store_kib = std::fs::metadata(store.path())
        .unwrap()
        .len()
        .div_ceil(1024);
    match &err {
        StoreError::PreUpdateNoRoom {
            path,
            needed_kib,
            available_kib,
            store_kib: told,
        } => {
            assert_eq!(path, dir.path());
            assert_eq!(*available_kib, 10);
            assert_eq!(*told, store_kib);
            assert!(*needed_kib > store_kib, "the margin is counted");
        }
        other => panic!("expected PreUpdateNoRoom, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("10 KiB are free"), "{message}");
    assert!(!dir.path().join(COPY_FILE).exists());
    assert!(!dir.path().join(MARK_FILE).exists());
}

#[test]
fn a_newer_store_is_set_aside_and_the_copy_restored_saying_what_was_lost() {
    let (dir, kept) = kept();
    migrate_as_newer(dir.path(), &["after1", "after2", "after3"]);
    let newer = newer_in(dir.path());

    let (store, restored) = Store::open_after_fallback(dir.path()).unwrap();
    let restored = restored.expect("the copy was restored");

    assert_eq!(restored.from_version, "9.9.9");
    assert_eq!(restored.copy_taken_at_ms, TAKEN_AT_MS);
    let Lost::Records {
        since_ms,
        count,
        first,
    } = &restored.lost
    else {
        panic!("{:?}", restored.lost);
    };
    assert_eq!((*since_ms, *count), (TAKEN_AT_MS, 3));
    let lost: Vec<(u64, &str, &str, &str)> = first
        .iter()
        .map(|r| (r.id, r.actor.as_str(), r.action.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        lost,
        [
            (6, "system", "user.create", "after1"),
            (7, "system", "user.create", "after2"),
            (8, "system", "user.create", "after3"),
        ]
    );

    // The newer store is kept whole, in the state folder, by name.
    assert_eq!(
        set_aside_in(dir.path()),
        std::slice::from_ref(&restored.set_aside)
    );
    let name = restored.set_aside.file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with("state.from-9.9.9-") && name.ends_with("Z.redb"),
        "{name}"
    );
    assert!(
        held_by(&restored.set_aside) == newer,
        "the newer store is intact"
    );

    // The store is the copy, and its log says what happened.
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    let records = store.audit_records(0, 1000).unwrap();
    let targets: Vec<&str> = records.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        &targets[..5],
        ["before0", "before1", "before2", "before3", "before4"]
    );
    assert_eq!(records.len(), 6);
    assert_eq!(records[5].action, "store.restore");
    assert!(records[5].target.contains(&*name), "{}", records[5].target);
    assert!(
        records[5].target.contains("the 3 audit record(s)"),
        "{}",
        records[5].target
    );

    // The pair stays, noted as restored; the staging folder is gone.
    assert!(kept.copy.exists());
    let mark = Mark::read(&kept.mark).unwrap().unwrap();
    assert!(mark.restored_at_ms.is_some());
    assert!(!dir.path().join(STAGING_DIR).exists());
    assert!(restored.to_string().contains(&*name), "{restored}");

    // The next start opens the restored store as any other.
    drop(store);
    let (store, again) = Store::open_after_fallback(dir.path()).unwrap();
    assert_eq!(again, None);
    assert_eq!(restore_records(&store).len(), 1);
}

#[test]
fn without_a_mark_the_newer_schema_error_stands() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    migrate_as_newer(dir.path(), &["after"]);
    let err = Store::open_after_fallback(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
}

/// The error of a start after a fallback, once `spoil` has been done to
/// the pair kept before the update and the newer hearth has run: the
/// newer store is still in place, and nothing was set aside.
fn refused_after(spoil: impl FnOnce(&Kept)) -> StoreError {
    let (dir, kept) = kept();
    spoil(&kept);
    migrate_as_newer(dir.path(), &["after"]);
    let newer = newer_in(dir.path());
    let err = Store::open_after_fallback(dir.path()).err().unwrap();
    assert!(newer_in(dir.path()) == newer, "the newer store is in place");
    assert!(set_aside_in(dir.path()).is_empty());
    err
}

#[test]
fn a_copy_without_its_mark_is_a_copy_cut_short_and_not_used() {
    // A power cut between the copy and its mark.
    let err = refused_after(|kept| std::fs::remove_file(&kept.mark).unwrap());
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
}

#[test]
fn a_mark_without_its_copy_is_not_used_and_says_so() {
    let err = refused_after(|kept| std::fs::remove_file(&kept.copy).unwrap());
    assert_not_restored(err, "is missing");
}

#[test]
fn a_copy_cut_short_is_not_used_and_says_so() {
    let err = refused_after(|kept| {
        let bytes = std::fs::read(&kept.copy).unwrap();
        std::fs::write(&kept.copy, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert_not_restored(err, "cut short");
}

#[test]
fn a_damaged_copy_of_the_right_size_is_not_used_and_says_so() {
    let err = refused_after(|kept| {
        let size = std::fs::metadata(&kept.copy).unwrap().len() as usize;
        std::fs::write(&kept.copy, vec![0x5a; size]).unwrap();
    });
    assert_not_restored(err, "cannot be used");
}

#[test]
fn a_copy_that_holds_other_records_than_its_mark_is_not_used() {
    let err = refused_after(|kept| Mark::edit(&kept.mark, |m| m.last_audit_id += 1));
    assert_not_restored(err, "does not hold what its mark says");
}

#[test]
fn a_copy_taken_by_another_hearth_version_is_not_used() {
    let err = refused_after(|kept| Mark::edit(&kept.mark, |m| m.hearth_version = "0.0.1".into()));
    assert_not_restored(err, "taken by hearth 0.0.1");
}

#[test]
fn a_copy_of_a_schema_this_hearth_does_not_write_is_not_used() {
    let err =
        refused_after(|kept| Mark::edit(&kept.mark, |m| m.schema_version = CURRENT_VERSION + 1));
    assert_not_restored(err, &format!("schema version {}", CURRENT_VERSION + 1));
}

#[test]
fn a_malformed_mark_is_not_used_and_says_so() {
    let err =
        refused_after(|kept| std::fs::write(&kept.mark, b"{\"format\": 1, \"hearth_ver").unwrap());
    assert_not_restored(err, "malformed");
}

#[test]
fn a_copy_is_restored_once_never_over_a_store_that_came_of_it() {
    let (dir, _kept) = kept();
    migrate_as_newer(dir.path(), &["after"]);
    let (store, restored) = Store::open_after_fallback(dir.path()).unwrap();
    assert!(restored.is_some());
    drop(store);
    migrate_as_newer(dir.path(), &["again"]);
    let err = Store::open_after_fallback(dir.path()).err().unwrap();
    assert_not_restored(err, "restored once already");
}

#[test]
fn an_unreadable_store_with_a_good_mark_is_restored_and_everything_since_is_lost() {
    let (dir, _kept) = kept();
    let garbage = b"a store in a redb format from the future".repeat(100);
    std::fs::write(dir.path().join(STORE_FILE), &garbage).unwrap();
    let (store, restored) = Store::open_after_fallback(dir.path()).unwrap();
    let restored = restored.unwrap();
    match &restored.lost {
        Lost::Everything { since_ms, why } => {
            assert_eq!(*since_ms, TAKEN_AT_MS);
            assert!(why.contains("cannot read the newer store"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        restored
            .lost
            .to_string()
            .starts_with("everything done since 2023-11-14T22:13:20Z")
    );
    assert_eq!(std::fs::read(&restored.set_aside).unwrap(), garbage);
    assert_eq!(store.audit_records(0, 100).unwrap().len(), 6);
    assert_eq!(restore_records(&store).len(), 1);
}

#[test]
fn an_unreadable_store_without_a_mark_stays_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"not a database".repeat(100);
    std::fs::write(dir.path().join(STORE_FILE), &garbage).unwrap();
    let err = Store::open_after_fallback(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
    assert_eq!(store_bytes(dir.path()), garbage);
}

#[test]
fn many_lost_records_are_counted_and_the_first_listed() {
    let (dir, _kept) = kept();
    let targets: Vec<String> = (0..lost::LISTED + 20).map(|n| format!("t{n}")).collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    migrate_as_newer(dir.path(), &targets);
    let (_store, restored) = Store::open_after_fallback(dir.path()).unwrap();
    let Lost::Records { count, first, .. } = restored.unwrap().lost else {
        panic!("records expected");
    };
    assert_eq!(count, (lost::LISTED + 20) as u64);
    assert_eq!(first.len(), lost::LISTED);
    assert_eq!(first[0].target, "t0");
}

#[test]
fn a_version_that_is_no_file_name_stays_in_the_state_folder() {
    let (dir, kept) = kept();
    Mark::edit(&kept.mark, |m| m.installing = "../../etc/9 9".into());
    migrate_as_newer(dir.path(), &["after"]);
    let (_store, restored) = Store::open_after_fallback(dir.path()).unwrap();
    let set_aside = restored.unwrap().set_aside;
    assert_eq!(set_aside.parent().unwrap(), dir.path());
    let name = set_aside
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("state.from-_.._etc_9_9-"), "{name}");
}

#[test]
fn a_power_cut_at_any_step_of_the_restore_leaves_a_store_the_next_start_opens() {
    for step in [Step::Staged, Step::Audited, Step::SetAside, Step::Placed] {
        let (dir, _kept) = kept();
        migrate_as_newer(dir.path(), &["after1", "after2"]);
        let newer = newer_in(dir.path());

        assert!(
            open_after_fallback(dir.path(), Some(step)).is_err(),
            "{step:?}"
        );

        // In place: the newer store whole, or the restored one.
        let placed = step == Step::Placed;
        if placed {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(restore_records(&store).len(), 1, "{step:?}");
        } else {
            assert!(
                newer_in(dir.path()) == newer,
                "{step:?}: the newer store is in place"
            );
        }

        let (store, restored) = open_after_fallback(dir.path(), None).unwrap();
        // A restore cut short is done again; one placed is opened as is.
        assert_eq!(restored.is_some(), !placed, "{step:?}");
        if let Some(restored) = &restored {
            assert!(
                matches!(restored.lost, Lost::Records { count: 2, .. }),
                "{step:?}: {:?}",
                restored.lost
            );
        }
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        assert_eq!(store.audit_records(0, 100).unwrap().len(), 6, "{step:?}");
        assert_eq!(restore_records(&store).len(), 1, "{step:?}");
        // The newer store is kept under one name, however often the
        // restore began.
        let aside = set_aside_in(dir.path());
        assert_eq!(aside.len(), 1, "{step:?}: {aside:?}");
        assert!(
            held_by(&aside[0]) == newer,
            "{step:?}: the newer store is intact"
        );
        assert!(!dir.path().join(STAGING_DIR).exists(), "{step:?}");
    }
}
