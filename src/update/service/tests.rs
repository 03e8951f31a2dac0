//! The upload, the word to install and the word to reboot, on a store
//! and a staging folder of their own, with the fixture bundle (hearth
//! 0.3.0 over 0.1.0, signed with the test key).

use super::*;
use crate::store::AuditAction;
use crate::update::bundle::tests::{members, tar_bytes};
use crate::update::keys::TEST_KEY;

fn plenty(_: &std::path::Path) -> std::io::Result<u64> {
    Ok(64 << 30)
}

struct Lab {
    _dir: tempfile::TempDir,
    store: Store,
    staging: Staging,
    service: UpdateService,
}

fn lab(os_version: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state")).unwrap();
    let staging = Staging::with_free_space(dir.path().join("updates"), plenty);
    let service = service(&store, &staging, os_version);
    Lab {
        _dir: dir,
        store,
        staging,
        service,
    }
}

fn service(store: &Store, staging: &Staging, os_version: &str) -> UpdateService {
    let keys = TrustedKeys::parse([("hearth-TEST-ONLY.pub", TEST_KEY)]).unwrap();
    UpdateService::new(
        store.clone(),
        staging.clone(),
        Some(keys),
        os_version.into(),
        Arc::default(),
    )
}

fn entry(action: AuditAction) -> AuditEntry {
    AuditEntry::system(action, "update")
}

/// Uploads `bytes` in two pieces, the second after a "broken connection".
async fn upload(service: &UpdateService, bytes: &[u8]) -> Result<Option<Available>, ServiceError> {
    let half = bytes.len() / 2;
    let mut writer = service.begin_upload(bytes.len() as u64).await?;
    writer.write(&bytes[..half]).await?;
    writer.finish().await?;
    let mut writer = service.resume_upload(half as u64).await?;
    writer.write(&bytes[half..]).await?;
    writer.finish().await?;
    service
        .finish_upload(entry(AuditAction::UpdateUpload))
        .await
}

#[tokio::test]
async fn a_bundle_uploaded_in_pieces_is_checked_offered_and_asked_for() {
    let lab = lab("0.1.0");
    let available = upload(&lab.service, &tar_bytes(&members()))
        .await
        .unwrap()
        .expect("whole");
    assert_eq!(available.version, "0.3.0");
    assert!(!available.downgrade);
    assert!(lab.staging.bundle_path(&available.bundle).exists());
    assert_eq!(lab.service.upload_progress().unwrap(), None);
    // Only the version offered.
    assert!(matches!(
        lab.service
            .ask_install("0.4.0", false, "ann", entry(AuditAction::UpdateAsk)),
        Err(ServiceError::WrongVersion { .. })
    ));
    let asked = lab
        .service
        .ask_install("0.3.0", false, "ann", entry(AuditAction::UpdateAsk))
        .unwrap();
    assert_eq!(asked.bundle, available.bundle);
    assert_eq!(stored::asked(&lab.store).unwrap(), Some(asked));
    // One update at a time.
    assert!(matches!(
        lab.service
            .ask_install("0.3.0", false, "ann", entry(AuditAction::UpdateAsk)),
        Err(ServiceError::Busy(_))
    ));
    assert!(matches!(
        lab.service.begin_upload(10).await,
        Err(ServiceError::Busy(_))
    ));
    // Nothing written yet: no reboot to ask for.
    assert!(matches!(
        lab.service.ask_reboot(entry(AuditAction::UpdateReboot)),
        Err(ServiceError::NothingToReboot)
    ));
}

#[tokio::test]
async fn a_spoiled_bundle_is_refused_and_nothing_is_kept() {
    let lab = lab("0.1.0");
    let mut bytes = tar_bytes(&members());
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let refused = upload(&lab.service, &bytes).await.unwrap_err();
    assert!(matches!(refused, ServiceError::Bundle(_)), "{refused}");
    assert!(
        refused.to_string().starts_with("the bundle is refused"),
        "{refused}"
    );
    let left = std::fs::read_dir(lab.staging.dir()).unwrap().count();
    assert_eq!(left, 0, "the staging folder keeps nothing");
    assert!(matches!(
        lab.service
            .ask_install("0.3.0", false, "ann", entry(AuditAction::UpdateAsk)),
        Err(ServiceError::NothingAvailable)
    ));
}

#[tokio::test]
async fn a_downgrade_only_when_named() {
    let lab = lab("0.4.0");
    let available = upload(&lab.service, &tar_bytes(&members()))
        .await
        .unwrap()
        .unwrap();
    assert!(available.downgrade);
    let refused = lab
        .service
        .ask_install("0.3.0", false, "ann", entry(AuditAction::UpdateAsk))
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ServiceError::Refused(InstallRefused::Downgrade { .. })
        ),
        "{refused}"
    );
    lab.service
        .ask_install("0.3.0", true, "ann", entry(AuditAction::UpdateAsk))
        .unwrap();
}

#[tokio::test]
async fn a_staged_bundle_is_offered_again_after_a_restart_and_cancel_drops_it() {
    let lab = lab("0.1.0");
    let available = upload(&lab.service, &tar_bytes(&members()))
        .await
        .unwrap()
        .unwrap();
    let again = service(&lab.store, &lab.staging, "0.1.0");
    assert_eq!(again.available.lock().unwrap().clone(), Some(available));
    assert!(again.cancel_upload().unwrap());
    assert_eq!(*again.available.lock().unwrap(), None);
    assert_eq!(std::fs::read_dir(lab.staging.dir()).unwrap().count(), 0);
}
