use std::sync::{Arc, Mutex};

use super::*;

fn entry(actor: &str, action: AuditAction) -> AuditEntry {
    AuditEntry {
        actor: actor.into(),
        action,
        target: "t".into(),
        source: "127.0.0.1".into(),
        outcome: Outcome::Success,
    }
}

/// A change of the setting `key` by `actor`, with its audit record.
fn set(store: &Store, actor: &str, key: &str, value: &str) {
    store
        .change(entry(actor, AuditAction::SettingsPublicStatus), |c| {
            c.set_setting(key, value)
        })
        .unwrap();
}

/// An audit record of `actor` signing in, with no change.
fn log_in(store: &Store, actor: &str) {
    store
        .audit(entry(actor, AuditAction::SessionLogin))
        .unwrap();
}

#[test]
fn first_open_creates_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state")).unwrap();
    assert!(dir.path().join("state").join(STORE_FILE).exists());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn change_writes_value_and_audit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    set(&store, "alice", "name", "box");
    assert_eq!(store.setting("name").unwrap().as_deref(), Some("box"));
    let audit = store.audit_records(0, 100).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].id, 1);
    assert_eq!(audit[0].actor, "alice");
    assert_eq!(audit[0].action, "settings.public_status");
    assert!(audit[0].time_ms > 0);
}

#[test]
fn failed_change_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let result: Result<(), _> =
        store.change(entry("bob", AuditAction::SettingsPublicStatus), |c| {
            c.set_setting("name", "half")?;
            Err(StoreError::SchemaTooNew {
                path: "x".into(),
                found: 0,
                supported: 0,
            })
        });
    assert!(result.is_err());
    assert_eq!(store.setting("name").unwrap(), None);
    assert!(store.audit_records(0, 100).unwrap().is_empty());
}

/// A new store with `n` sign-in records: the `i`th by "a" where `i` is a
/// multiple of `every`, by "b" otherwise.
fn with_logins(n: usize, every: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..n {
        log_in(&store, if i % every == 0 { "a" } else { "b" });
    }
    (dir, store)
}

#[test]
fn audit_ids_grow_and_page() {
    let (_dir, store) = with_logins(5, 2);
    let page = store.audit_records(2, 2).unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(actor_ids(&store, "b"), vec![4, 2]);
}

/// The ids of `actor`'s records, newest first.
fn actor_ids(store: &Store, actor: &str) -> Vec<u64> {
    let query = AuditQuery {
        actor: Some(actor),
        ..AuditQuery::newest(usize::MAX)
    };
    ids(&store.audit_newest_first(&query).unwrap())
}

fn ids(records: &[AuditRecord]) -> Vec<u64> {
    records.iter().map(|r| r.id).collect()
}

#[test]
fn the_log_reads_backwards_in_pages_with_filters() {
    let (_dir, store) = with_logins(10, 3);
    let page = |before, actor, limit| {
        let query = AuditQuery {
            before,
            actor,
            limit,
            ..AuditQuery::newest(0)
        };
        ids(&store.audit_newest_first(&query).unwrap())
    };
    assert_eq!(page(u64::MAX, None, 4), vec![10, 9, 8, 7]);
    assert_eq!(page(7, None, 4), vec![6, 5, 4, 3]);
    assert_eq!(page(3, None, 4), vec![2, 1]);
    assert_eq!(page(1, None, 4), Vec::<u64>::new());
    assert_eq!(page(u64::MAX, None, 0), Vec::<u64>::new());
    // Actor "a" wrote 1, 4, 7 and 10.
    assert_eq!(page(u64::MAX, Some("a"), 2), vec![10, 7]);
    assert_eq!(page(7, Some("a"), 2), vec![4, 1]);
    assert_eq!(page(1, Some("a"), 2), Vec::<u64>::new());
    assert_eq!(page(u64::MAX, Some("nobody"), 2), Vec::<u64>::new());

    // The time filter: every record of this test has a time; one window
    // that holds all of them and one after all of them.
    let all = store.audit_newest_first(&AuditQuery::newest(100)).unwrap();
    let (oldest, newest) = (all.last().unwrap().time_ms, all[0].time_ms);
    let window = |since_ms, until_ms| {
        let query = AuditQuery {
            since_ms,
            until_ms,
            ..AuditQuery::newest(100)
        };
        store.audit_newest_first(&query).unwrap().len()
    };
    assert_eq!(window(oldest, newest), 10);
    assert_eq!(window(newest + 1, u64::MAX), 0);
    assert_eq!(window(0, oldest.saturating_sub(1)), 0);
}

#[test]
fn reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        set(&store, "a", "k", "v");
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.setting("k").unwrap().as_deref(), Some("v"));
    assert_eq!(store.audit_records(0, 10).unwrap().len(), 1);
}

#[test]
fn second_open_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path())
        .err()
        .expect("second open must fail");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("in use by another process"));
}

#[test]
fn garbage_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    let garbage = b"this is not a redb database, it is a text file that must survive".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(dir.path()).err().expect("garbage must fail");
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("move it away"));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn store_from_schema_v1_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    // Write a store exactly as a version-1 hearth left it: version-1
    // tables, audit records, and no actor index.
    {
        let db = Database::create(&path).unwrap();
        schema::step(&db, 0).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut audit = txn.open_table(AUDIT).unwrap();
            for (id, actor) in [(1u64, "alice"), (2, "bob"), (3, "alice")] {
                // An action no current version writes: old logs keep theirs.
                let stored = AuditRecord {
                    id,
                    time_ms: 1_700_000_000_000,
                    actor: actor.into(),
                    action: "old.action".into(),
                    target: "t".into(),
                    source: "127.0.0.1".into(),
                    outcome: Outcome::Success,
                    count: 1,
                    last_ms: None,
                };
                audit
                    .insert(id, serde_json::to_vec(&stored).unwrap().as_slice())
                    .unwrap();
            }
            txn.open_table(SETTINGS)
                .unwrap()
                .insert("installed_at", "1700000000000")
                .unwrap();
        }
        txn.commit().unwrap();
        assert_eq!(schema::read_version(&db).unwrap(), 1);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        store.setting("installed_at").unwrap().as_deref(),
        Some("1700000000000")
    );
    assert_eq!(actor_ids(&store, "alice"), vec![3, 1]);
    assert_eq!(store.audit_records(0, 1).unwrap()[0].action, "old.action");
    // New records continue the old sequence and are indexed too.
    log_in(&store, "alice");
    assert_eq!(actor_ids(&store, "alice"), vec![4, 3, 1]);
    assert_eq!(store.audit_records(3, 10).unwrap()[0].id, 4);
}

#[test]
fn installed_at_written_in_seconds_becomes_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    {
        let db = Database::create(&path).unwrap();
        for from in 0..6 {
            schema::step(&db, from).unwrap();
        }
        let txn = db.begin_write().unwrap();
        txn.open_table(SETTINGS)
            .unwrap()
            .insert("installed_at", "1700000000")
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.installed_at_ms().unwrap(), Some(1_700_000_000_000));
    // A later start keeps the first start's time.
    store
        .change(entry("hearth", AuditAction::DaemonStart), |c| {
            c.keep_installed_at(1_800_000_000_000)
        })
        .unwrap();
    assert_eq!(store.installed_at_ms().unwrap(), Some(1_700_000_000_000));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert("schema_version", 99)
            .unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(dir.path())
        .err()
        .expect("newer schema must fail");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn permission_denied_is_not_called_corrupt() {
    use std::os::unix::fs::PermissionsExt;
    if nix::unistd::geteuid().is_root() {
        // root ignores file modes; use a path that cannot be a file instead.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(STORE_FILE)).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(!err.to_string().contains("corrupt"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let path = dir.path().join(STORE_FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[test]
fn truncated_store_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        for i in 0..50 {
            set(&store, "a", &format!("k{i}"), "v");
        }
    }
    let path = dir.path().join(STORE_FILE);
    let bytes = std::fs::read(&path).unwrap();
    let truncated = &bytes[..bytes.len() / 3];
    std::fs::write(&path, truncated).unwrap();
    let err = Store::open(dir.path())
        .err()
        .expect("truncated store must fail");
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), truncated);
}

#[test]
fn history_points_are_kept_pruned_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = |minute: u32, v: f32| MinutePoint {
        minute,
        min: v - 1.0,
        avg: v,
        max: v + 1.0,
    };
    let batch: Vec<(String, MinutePoint)> = (100..110)
        .flat_map(|m| {
            [
                ("cpu.total_pct".to_string(), p(m, m as f32)),
                ("load.1".to_string(), p(m, 0.5)),
            ]
        })
        .collect();
    store.append_history(&batch, 0).unwrap();
    store
        .append_history(&[("cpu.total_pct".into(), p(110, 1.0))], 105)
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let cpu: Vec<u32> = store
        .load_history(0)
        .unwrap()
        .into_iter()
        .filter(|(s, _)| s == "cpu.total_pct")
        .map(|(_, p)| p.minute)
        .collect();
    assert_eq!(cpu, (105..=110).collect::<Vec<_>>());
    let all = store.load_history(108).unwrap();
    assert!(all.iter().all(|(_, p)| p.minute >= 108));
    assert!(all.contains(&("load.1".to_string(), p(108, 0.5))));
    // History is telemetry: no audit records.
    assert!(store.audit_records(0, 10).unwrap().is_empty());
}

#[test]
fn users_are_stored_with_their_audit_record() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct U {
        role: String,
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .change(entry("system", AuditAction::UserCreate), |c| {
            c.put_record(
                Records::Users,
                "alice",
                &U {
                    role: "admin".into(),
                },
            )
        })
        .unwrap();
    assert_eq!(
        store.record::<U>(Records::Users, "alice").unwrap(),
        Some(U {
            role: "admin".into()
        })
    );
    assert_eq!(store.records::<U>(Records::Users).unwrap().len(), 1);
    let removed = store
        .change(entry("alice", AuditAction::UserDelete), |c| {
            c.remove_record(Records::Users, "alice")
        })
        .unwrap();
    assert!(removed);
    assert_eq!(store.record::<U>(Records::Users, "alice").unwrap(), None);
    assert_eq!(store.audit_records(0, 10).unwrap().len(), 2);
}

#[test]
fn watchers_wake_after_a_commit_to_their_table_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut users = store.watch(Table::Users);
    let mut settings = store.watch(Table::Settings);
    let mut audit = store.watch(Table::Audit);
    store
        .change(entry("alice", AuditAction::UserCreate), |c| {
            c.put_record(
                Records::Users,
                "bob",
                &serde_json::json!({"role": "viewer"}),
            )
        })
        .unwrap();
    assert!(users.has_changed().unwrap(), "the users table changed");
    assert!(audit.has_changed().unwrap(), "so did the audit log");
    assert!(!settings.has_changed().unwrap(), "settings did not");
    assert_eq!(*users.borrow_and_update(), 1);
    audit.borrow_and_update();

    // Refused: nothing was written, nobody wakes.
    let refused = store.change(entry("alice", AuditAction::UserCreate), |c| {
        c.put_record(Records::Users, "carol", &serde_json::json!({}))?;
        Err::<(), StoreError>(StoreError::Locked {
            path: "refused".into(),
        })
    });
    assert!(refused.is_err());
    assert!(!users.has_changed().unwrap());
    assert!(!audit.has_changed().unwrap());

    // A burst of commits: one wake, and the count says how many.
    for i in 0..3 {
        set(&store, "alice", "n", &i.to_string());
    }
    assert!(settings.has_changed().unwrap());
    assert_eq!(*settings.borrow_and_update(), 3);
    assert!(!users.has_changed().unwrap());
}

#[test]
fn every_audit_listener_hears_each_record_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let heard: Arc<Mutex<Vec<(u8, String)>>> = Arc::default();
    for n in [1u8, 2] {
        let heard = heard.clone();
        store.on_audit(move |r| heard.lock().unwrap().push((n, r.action.clone())));
    }
    log_in(&store, "alice");
    let _ = store.change(entry("alice", AuditAction::UserDelete), |_| {
        Err::<(), StoreError>(StoreError::Locked {
            path: "refused".into(),
        })
    });
    assert_eq!(
        *heard.lock().unwrap(),
        [
            (1, "session.login".to_string()),
            (2, "session.login".to_string())
        ],
        "both listeners, and only for what committed"
    );
}

/// What a new audit listener of `store` hears, each record as `heard`
/// makes it.
fn listen<T: Send + 'static>(
    store: &Store,
    heard: impl Fn(&AuditRecord) -> T + Send + Sync + 'static,
) -> Arc<Mutex<Vec<T>>> {
    let all: Arc<Mutex<Vec<T>>> = Arc::default();
    let sink = all.clone();
    store.on_audit(move |r| sink.lock().unwrap().push(heard(r)));
    all
}

#[test]
fn audit_listeners_hear_of_concurrent_changes_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let heard = listen(&store, |r| r.id);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    log_in(&store, "alice");
                }
            });
        }
    });
    let heard = heard.lock().unwrap();
    assert_eq!(*heard, (1..=200).collect::<Vec<u64>>());
}

#[test]
fn also_audited_entries_come_with_the_change_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let heard = listen(&store, |r| r.action.clone());

    // Refused: neither the change's entry nor the extra ones are written.
    let refused = store.change(entry("boss", AuditAction::UserUpdate), |c| {
        c.also_audit(entry("boss", AuditAction::ServerCertRevoke));
        c.put_record(Records::Users, "ann", &serde_json::json!({}))?;
        Err::<(), StoreError>(StoreError::Locked {
            path: "refused".into(),
        })
    });
    assert!(refused.is_err());
    assert!(store.audit_records(0, 100).unwrap().is_empty());
    assert!(heard.lock().unwrap().is_empty());

    // Committed: the extra entries first, in order, then the change's own.
    store
        .change(entry("boss", AuditAction::UserUpdate), |c| {
            for target in ["cert-1", "cert-2"] {
                c.also_audit(AuditEntry {
                    target: target.into(),
                    ..entry("boss", AuditAction::ServerCertRevoke)
                });
            }
            c.put_record(Records::Users, "ann", &serde_json::json!({}))
        })
        .unwrap();
    let audit = store.audit_records(0, 100).unwrap();
    let shape: Vec<(u64, &str, &str)> = audit
        .iter()
        .map(|r| (r.id, r.action.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            (1, "server.cert_revoke", "cert-1"),
            (2, "server.cert_revoke", "cert-2"),
            (3, "user.update", "t"),
        ]
    );
    assert_eq!(actor_ids(&store, "boss"), vec![3, 2, 1]);
    assert_eq!(
        *heard.lock().unwrap(),
        ["server.cert_revoke", "server.cert_revoke", "user.update"],
        "the listeners hear every record of the change, in order"
    );
}

#[test]
fn a_missing_or_empty_store_beside_the_setup_marker_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A new box: no marker, an empty file (a crash on first start) is
    // initialized.
    std::fs::write(dir.path().join(STORE_FILE), b"").unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.mark_set_up().unwrap();
    store.mark_set_up().unwrap();
    drop(store);
    assert!(dir.path().join(SETUP_MARKER).exists());
    // Set up, and intact: opens.
    drop(Store::open(dir.path()).unwrap());
    std::fs::write(dir.path().join(STORE_FILE), b"").unwrap();
    match Store::open(dir.path()) {
        Err(StoreError::SetUpStateMissing { what, .. }) => assert_eq!(what, "empty"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    std::fs::remove_file(dir.path().join(STORE_FILE)).unwrap();
    match Store::open(dir.path()) {
        Err(e @ StoreError::SetUpStateMissing { .. }) => {
            assert!(
                e.to_string()
                    .contains("is missing, but this box was set up"),
                "{e}"
            )
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(
        !dir.path().join(STORE_FILE).exists(),
        "nothing made in its place"
    );
}

fn refused(actor: &str, source: &str) -> AuditEntry {
    AuditEntry {
        actor: actor.into(),
        action: AuditAction::SessionLogin,
        target: "session".into(),
        source: source.into(),
        outcome: Outcome::Denied,
    }
}

#[test]
fn refused_attempts_are_counted_in_one_record_per_address_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let heard = listen(&store, |r| (r.id, r.count));
    for _ in 0..500 {
        store.audit_refused(refused("admin", "192.0.2.1")).unwrap();
    }
    store.audit_refused(refused("admin", "192.0.2.2")).unwrap();
    let (_, size_after_500) = store.audit_attempts_kept().unwrap();
    for _ in 0..500 {
        store.audit_refused(refused("admin", "192.0.2.1")).unwrap();
    }

    let records = store.audit_records(0, 100).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        (records[0].source.as_str(), records[0].count),
        ("192.0.2.1", 1000)
    );
    assert!(records[0].last_ms.is_some());
    assert_eq!(
        (records[1].source.as_str(), records[1].count),
        ("192.0.2.2", 1)
    );
    // The size does not grow with the count.
    let (kept, size) = store.audit_attempts_kept().unwrap();
    assert_eq!(kept, 2);
    assert!(size <= size_after_500 + 2, "{size} vs {size_after_500}");
    // The audit stream hears each count, under the record's id.
    let heard = heard.lock().unwrap();
    assert_eq!(heard.len(), 1001);
    assert_eq!(heard.last(), Some(&(1, 1000)));

    // Counts survive a restart (the last ones were written durably when
    // the store was closed cleanly), and a new window starts a new record.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.audit_records(0, 10).unwrap()[0].count, 1000);
    store.audit_refused(refused("admin", "192.0.2.1")).unwrap();
    assert_eq!(store.audit_records(0, 10).unwrap().len(), 3);
}

#[test]
fn refused_attempts_naming_several_users_are_filed_under_several() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.audit_refused(refused("alice", "192.0.2.9")).unwrap();
    store.audit_refused(refused("bob", "192.0.2.9")).unwrap();
    let records = store.audit_records(0, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].actor.as_str(), records[0].count), (SEVERAL, 2));
    let by = |actor| {
        store
            .audit_newest_first(&AuditQuery {
                actor: Some(actor),
                ..AuditQuery::newest(10)
            })
            .unwrap()
            .len()
    };
    assert_eq!(by("alice"), 0, "moved from the first actor's index");
    assert_eq!(by(SEVERAL), 1);
}

#[test]
fn the_retention_prunes_old_and_surplus_attempts_and_keeps_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .change(entry("boss", AuditAction::SettingsAuditRetention), |c| {
            c.set_audit_retention(Retention::new(1, 1).unwrap())
        })
        .unwrap();
    // ~2.4 MiB of failed attempts (each its own record: a wrong password
    // costs a hash and is kept one by one), changes in between.
    let failure = |n: usize| AuditEntry {
        outcome: Outcome::Failure,
        source: format!("198.51.100.{}", n % 250),
        target: "t".repeat(500),
        ..refused(&format!("user{n:06}"), "x")
    };
    let mut changes = 1;
    for n in 0..4_000 {
        store.audit(failure(n)).unwrap();
        if n % 200 == 0 {
            store.audit(entry("boss", AuditAction::UserCreate)).unwrap();
            changes += 1;
        }
    }
    let (kept, bytes) = store.audit_attempts_kept().unwrap();
    assert!(bytes <= 1 << 20, "{bytes} bytes kept");
    assert!(kept > 1000 && kept < 4_000, "{kept}");
    let all = store.audit_records(0, usize::MAX).unwrap();
    let kept_changes = all.iter().filter(|r| r.is_change()).count();
    assert_eq!(kept_changes, changes, "every change is kept");
    // The newest attempts are the ones kept.
    assert_eq!(all.last().unwrap().actor, "user003999");
    assert_eq!(all.iter().filter(|r| !r.is_change()).count() as u64, kept);
    // The actor index lost the pruned ones too.
    let first = store
        .audit_newest_first(&AuditQuery {
            actor: Some("user000001"),
            ..AuditQuery::newest(10)
        })
        .unwrap();
    assert!(first.is_empty());

    // A day and more later, the next write prunes by age (at most a batch
    // per write).
    let db = store.inner.db.get().unwrap();
    let txn = db.begin_write().unwrap();
    let later = crate::clock::now_ms() + 2 * 24 * 60 * 60 * 1000;
    let mut gone = 0;
    loop {
        let n = retention::prune(&txn, later).unwrap();
        if n == 0 {
            break;
        }
        gone += n;
    }
    txn.commit().unwrap();
    drop(db);
    assert_eq!(gone as u64, kept);
    assert_eq!(store.audit_attempts_kept().unwrap(), (0, 0));
    let all = store.audit_records(0, usize::MAX).unwrap();
    assert_eq!(all.len(), changes, "only the changes are left");
}

#[test]
fn a_version_11_log_is_indexed_for_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.audit(refused("ann", "192.0.2.3")).unwrap();
    store.audit(entry("ann", AuditAction::UserCreate)).unwrap();
    let expected = store.audit_attempts_kept().unwrap();
    assert_eq!(expected.0, 1);
    // Back to version 11: no index.
    {
        let db = store.inner.db.get().unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(schema::AUDIT_ATTEMPTS).unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert("schema_version", 11)
            .unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .remove(schema::ATTEMPT_BYTES)
            .unwrap();
        txn.commit().unwrap();
    }
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::CURRENT_VERSION);
    assert_eq!(store.audit_attempts_kept().unwrap(), expected);
}
