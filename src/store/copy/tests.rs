use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{MultimapTableHandle, ReadableDatabase, TableHandle};

use super::*;
use crate::store::{AuditAction, AuditEntry, SCHEMA_VERSION};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// The names of every table in `db`.
fn tables_of(db: &Database) -> BTreeSet<String> {
    let txn = db.begin_read().unwrap();
    let plain = txn.list_tables().unwrap().map(|t| t.name().to_string());
    let multi = txn
        .list_multimap_tables()
        .unwrap()
        .map(|t| t.name().to_string());
    plain.chain(multi).collect()
}

#[test]
fn the_copy_opens_as_a_store_with_the_same_records() {
    let (dir, store) = store();
    store
        .change(AuditEntry::system(AuditAction::SettingsHost, "name"), |c| {
            c.set_setting("box_name", "attic")
        })
        .unwrap();
    for n in 0..25 {
        store
            .audit(AuditEntry::system(
                AuditAction::UserCreate,
                &format!("user{n}"),
            ))
            .unwrap();
    }
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("state.redb");
    let copied = store.copy_to(&dest).unwrap();
    assert_eq!(copied.path, dest);
    assert!(!temporary_beside(&dest).exists(), "no partial file left");
    let audits = store.audit_records(0, 1000).unwrap();
    assert_eq!(copied.contents.records["audit"], audits.len() as u64);
    assert_eq!(
        copied.contents.records["audit_by_actor"],
        audits.len() as u64
    );
    assert_eq!(copied.contents.last_audit_id, audits.last().unwrap().id);
    assert_eq!(copied.contents.schema_version, SCHEMA_VERSION);
    // Counted alone, the store holds what its copy holds.
    assert_eq!(store.contents().unwrap(), copied.contents);
    drop(dir);
    let copy = Store::open(target.path()).unwrap();
    assert_eq!(copy.setting("box_name").unwrap().as_deref(), Some("attic"));
    let ids = |records: Vec<crate::store::AuditRecord>| -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(copy.audit_records(0, 1000).unwrap()), ids(audits));
    assert_eq!(
        copy.schema_version().unwrap(),
        crate::store::schema::CURRENT_VERSION
    );
}

#[test]
fn every_table_of_the_store_is_copied() {
    let (dir, store) = store();
    store
        .audit(AuditEntry::system(AuditAction::UserCreate, "ann"))
        .unwrap();
    let dest = dir.path().join("copy.redb");
    let copied = store.copy_to(&dest).unwrap();
    let source = tables_of(&store.inner.db.get().unwrap());
    // A table the schema gained and the copy forgot fails here.
    assert_eq!(tables_of(&Database::open(&dest).unwrap()), source);
    assert_eq!(
        copied
            .contents
            .records
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        source
    );
}

#[test]
fn a_copy_made_while_the_store_is_written_is_consistent() {
    let (dir, store) = store();
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (store, writing) = (store.clone(), writing.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while writing.load(Ordering::Relaxed) {
                store
                    .audit(AuditEntry::system(
                        AuditAction::UserCreate,
                        &format!("u{n}"),
                    ))
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    // Wait until the writer is under way, then copy in the middle of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.audit_records(0, 10).unwrap().len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never wrote"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut copies = Vec::new();
    for i in 0..5 {
        copies.push(
            store
                .copy_to(&dir.path().join(format!("copy{i}.redb")))
                .unwrap(),
        );
    }
    writing.store(false, Ordering::Relaxed);
    let written = writer.join().unwrap();
    for copied in copies {
        // An audit record and its index entry are one transaction: a
        // torn copy would count them apart.
        assert_eq!(
            copied.contents.records["audit"],
            copied.contents.records["audit_by_actor"]
        );
        assert!(
            copied.contents.records["audit"] >= 10
                && copied.contents.records["audit"] <= written + 1
        );
    }
}

#[test]
fn a_partial_file_left_by_a_crash_is_replaced_and_the_old_copy_kept_until_then() {
    let (dir, store) = store();
    let dest = dir.path().join("pre-update.redb");
    std::fs::write(
        temporary_beside(&dest),
        b"half a copy from before a power cut",
    )
    .unwrap();
    store.copy_to(&dest).unwrap();
    assert!(!temporary_beside(&dest).exists());
    assert!(Database::open(&dest).is_ok());
}
