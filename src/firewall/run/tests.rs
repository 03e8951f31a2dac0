//! The manager's passes against the recording fake kernel and a real
//! store; the loop around them is tested in `reconcile`.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::accounts::Caller;
use crate::auth::{Role, Secret};
use crate::connection_epoch::{AcceptedIn, ConnectionEpoch};
use crate::firewall::adapter::RecordingNft;
use crate::firewall::model::{AllowRule, Policy, PortRange, Protocol};
use crate::firewall::service::ChangeRequest;
use crate::store::Store;

struct Lab {
    _dir: tempfile::TempDir,
    store: Store,
    nft: Arc<RecordingNft>,
    epoch: ConnectionEpoch,
    service: Arc<FirewallService>,
    manager: FirewallManager,
}

fn lab(window: Duration) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let nft = RecordingNft::new();
    let epoch = ConnectionEpoch::new();
    let service = Arc::new(FirewallService::new(
        store.clone(),
        Observation::Present(nft.clone() as Arc<dyn Nft>),
        8443,
        window,
        epoch.clone(),
    ));
    Lab {
        _dir: dir,
        store,
        manager: FirewallManager::new(service.clone(), nft.clone()),
        nft,
        epoch,
        service,
    }
}

fn admin() -> Caller {
    Caller {
        username: "admin".into(),
        role: Role::Admin,
        session: Secret::from_client("t").hash(),
        created_ms: 0,
    }
}

fn with_port(port: u16) -> Policy {
    Policy {
        allow: vec![AllowRule {
            protocol: Protocol::Tcp,
            ports: PortRange::one(port),
            from: Vec::new(),
        }],
        ..Policy::default()
    }
}

/// One pass as `reconcile::run` makes it; answers whether it applied.
async fn pass(m: &mut FirewallManager) -> Result<bool, FirewallError> {
    Ok(crate::reconcile::once(m).await?.is_some())
}

/// Asks the service for `port` opened (with or without a confirm window)
/// while running the manager's passes, as the store would wake it in the
/// daemon, until the change answers.
async fn change_with_passes(
    l: &mut Lab,
    port: u16,
    confirm: bool,
) -> Result<crate::firewall::service::ChangeOutcome, FirewallError> {
    let service = l.service.clone();
    let change = tokio::spawn(async move {
        let request = ChangeRequest {
            policy: with_port(port),
            confirm,
            drop_my_access: false,
        };
        service
            .change(&admin(), request, "192.168.1.5".parse().unwrap())
            .await
    });
    while !change.is_finished() {
        let _ = pass(&mut l.manager).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    change.await.unwrap()
}

fn actions(store: &Store) -> Vec<String> {
    store.audit_actions(100).unwrap()
}

#[tokio::test]
async fn the_first_pass_applies_and_a_quiet_one_changes_nothing() {
    let mut l = lab(Duration::from_secs(60));
    assert!(pass(&mut l.manager).await.unwrap());
    assert_eq!(l.nft.applied().len(), 1);
    assert!(l.nft.applied()[0].contains("tcp dport 8443"));
    assert!(!pass(&mut l.manager).await.unwrap(), "nothing to do");
    assert_eq!(l.nft.applied().len(), 1);
}

#[tokio::test]
async fn a_hand_edit_a_lost_table_or_the_base_table_is_put_right_and_audited() {
    let mut l = lab(Duration::from_secs(60));
    pass(&mut l.manager).await.unwrap();
    l.nft.tamper(Some("a rule deleted by hand"));
    assert!(pass(&mut l.manager).await.unwrap());
    l.nft.tamper(None);
    assert!(pass(&mut l.manager).await.unwrap());
    l.nft.load_base();
    assert!(pass(&mut l.manager).await.unwrap());
    assert!(!pass(&mut l.manager).await.unwrap());
    let repairs = actions(&l.store)
        .into_iter()
        .filter(|a| a == "firewall.repair")
        .count();
    assert_eq!(repairs, 3);
    let applied = l.nft.applied();
    assert_eq!(applied.len(), 4);
    assert!(applied.iter().all(|s| *s == applied[0]), "the same ruleset");
}

#[tokio::test]
async fn a_change_without_confirmation_is_applied_and_kept() {
    let mut l = lab(Duration::from_secs(60));
    pass(&mut l.manager).await.unwrap();
    let outcome = change_with_passes(&mut l, 2222, false).await.unwrap();
    assert_eq!((outcome.version, outcome.applied), (1, true));
    assert_eq!(outcome.confirm_by_ms, None);
    assert!(l.nft.applied().last().unwrap().contains("tcp dport 2222"));
    // The kernel checked it before it was applied.
    use crate::firewall::adapter::NftCall;
    let calls = l.nft.calls();
    let new = l.nft.applied().last().unwrap().clone();
    let checked = calls.iter().position(|c| *c == NftCall::Check(new.clone()));
    let applied = calls.iter().position(|c| *c == NftCall::Apply(new.clone()));
    assert!(checked.unwrap() < applied.unwrap(), "{calls:?}");
    assert_eq!(actions(&l.store).last().unwrap(), "firewall.change");
}

async fn change_awaiting_confirmation(l: &mut Lab) -> u64 {
    let outcome = change_with_passes(l, 2222, true).await.unwrap();
    outcome.confirm_by_ms.expect("a confirm window")
}

#[tokio::test]
async fn a_confirmation_counts_only_over_a_connection_made_after_the_apply() {
    let mut l = lab(Duration::from_secs(60));
    pass(&mut l.manager).await.unwrap();
    let before = AcceptedIn(l.epoch.current());
    change_awaiting_confirmation(&mut l).await;
    let src = "192.168.1.5".parse().unwrap();
    let e = l.service.confirm(&admin(), src, before).unwrap_err();
    assert!(e.to_string().contains("new connection"), "{e}");
    let after = AcceptedIn(l.epoch.current());
    assert!(after > before, "the apply started a new epoch");
    assert_eq!(l.service.confirm(&admin(), src, after).unwrap(), 1);
    let e = l.service.confirm(&admin(), src, after).unwrap_err();
    assert!(e.to_string().contains("no change awaiting"), "{e}");
    assert_eq!(actions(&l.store).last().unwrap(), "firewall.confirm");
    // Kept: the next pass (woken by the store) has no window to end.
    assert!(!pass(&mut l.manager).await.unwrap());
    assert_eq!(l.manager.wake_at(), None);
}

#[tokio::test]
async fn an_unconfirmed_change_is_taken_back_when_its_window_ends() {
    let mut l = lab(Duration::from_millis(300));
    pass(&mut l.manager).await.unwrap();
    let first = l.nft.applied()[0].clone();
    change_awaiting_confirmation(&mut l).await;
    assert!(
        l.manager.wake_at().is_some(),
        "the loop is asked to look again"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(pass(&mut l.manager).await.unwrap());
    assert_eq!(
        *l.nft.applied().last().unwrap(),
        first,
        "the previous ruleset"
    );
    assert_eq!(stored::policy(&l.store).unwrap().version, 2);
    assert_eq!(stored::pending(&l.store).unwrap(), None);
    assert_eq!(actions(&l.store).last().unwrap(), "firewall.rollback");
}

#[tokio::test]
async fn a_ruleset_the_kernel_refuses_at_apply_is_taken_back_and_reported() {
    let mut l = lab(Duration::from_secs(60));
    pass(&mut l.manager).await.unwrap();
    l.nft.fail_apply(Some(
        "Error: Could not process rule: No such file or directory",
    ));
    let e = change_with_passes(&mut l, 2222, true).await.unwrap_err();
    assert!(e.to_string().contains("No such file"), "{e}");
    let now = stored::policy(&l.store).unwrap();
    assert_eq!(now.policy, Policy::default(), "the previous policy is back");
    assert_eq!(stored::pending(&l.store).unwrap(), None);
}

/// Why the service refuses, from 192.168.1.5, a change that lets only
/// 10.0.0.0/8 reach hearth; nothing is checked, applied or stored.
async fn cutting_off(confirm: bool, drop_my_access: bool) -> crate::invalid::Invalid {
    let l = lab(Duration::from_secs(60));
    let request = ChangeRequest {
        policy: Policy {
            https_from: vec!["10.0.0.0/8".parse().unwrap()],
            ..Policy::default()
        },
        confirm,
        drop_my_access,
    };
    let e = l
        .service
        .change(&admin(), request, "192.168.1.5".parse().unwrap())
        .await
        .unwrap_err();
    let FirewallError::Invalid(e) = e else {
        panic!("{e}")
    };
    assert_eq!(l.nft.calls(), [], "nothing checked, nothing applied");
    assert_eq!(stored::policy(&l.store).unwrap().version, 0);
    e
}

#[tokio::test]
async fn a_change_that_cuts_off_its_own_address_needs_saying_so() {
    let e = cutting_off(true, false).await;
    assert_eq!(e.field, "https_from");
    assert!(e.message.contains("192.168.1.5"), "{e}");
}

#[tokio::test]
async fn a_missing_nft_is_not_present_not_an_error() {
    let mut l = lab(Duration::from_secs(60));
    l.nft.set_absent(Some("nft is not installed"));
    let Observation::NotPresent { reason } = l.manager.observe().await.unwrap() else {
        panic!("not present")
    };
    assert_eq!(reason, "nft is not installed");
}

#[tokio::test]
async fn cutting_off_ones_own_address_is_never_kept_without_a_confirmation() {
    let e = cutting_off(false, true).await;
    assert_eq!(e.field, "confirm");
}
