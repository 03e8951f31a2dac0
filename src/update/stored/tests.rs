use super::*;
use crate::store::AuditAction;
use crate::update::model::Outcome;

fn entry(action: AuditAction) -> AuditEntry {
    AuditEntry::system(action, "hearth 0.2.0")
}

fn ended(at_ms: u64, outcome: Outcome) -> HistoryEntry {
    HistoryEntry {
        at_ms,
        version: "0.2.0".into(),
        from_version: "0.1.0".into(),
        outcome,
        detail: "why".into(),
        failed_boots: vec![],
    }
}

#[test]
fn an_update_goes_from_asked_to_under_way_to_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let asked_ = crate::update::testing::asked();
    ask(&store, entry(AuditAction::UpdateAsk), &asked_).unwrap();
    assert_eq!(asked(&store).unwrap(), Some(asked_));
    let underway_ = crate::update::testing::underway(false, false);
    begin(&store, entry(AuditAction::UpdateAsk), &underway_).unwrap();
    assert_eq!(asked(&store).unwrap(), None);
    assert_eq!(underway(&store).unwrap(), Some(underway_));
    end(
        &store,
        entry(AuditAction::UpdateInstalled),
        &ended(3, Outcome::Installed),
    )
    .unwrap();
    assert_eq!(underway(&store).unwrap(), None);
    assert_eq!(history(&store).unwrap(), vec![ended(3, Outcome::Installed)]);
    let audited: Vec<_> = store
        .audit_newest_first(&crate::store::AuditQuery::newest(10))
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert!(
        audited.iter().any(|a| a == "update.installed"),
        "{audited:?}"
    );
}

#[test]
fn the_history_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for at in 0..(HISTORY_KEPT as u64 + 5) {
        end(
            &store,
            entry(AuditAction::UpdateFailed),
            &ended(1000 + at, Outcome::Failed),
        )
        .unwrap();
    }
    let kept = history(&store).unwrap();
    assert_eq!(kept.len(), HISTORY_KEPT);
    assert_eq!(kept.first().unwrap().at_ms, 1005, "the oldest went");
    assert_eq!(kept.last().unwrap().at_ms, 1000 + HISTORY_KEPT as u64 + 4);
}
