//! hearth's update signatures are minisign's: Debian's `minisign -V`
//! verifies what hearth verifies, with the same public key, and refuses
//! what hearth refuses (issue 30: a person can check a bundle by hand).

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth::update::keys::TrustedKeys;
use hearth_testkit as common;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `minisign -V` of `file` with `signature` against the test key:
/// whether it verified, and what it printed.
fn minisign_verifies(file: &Path, signature: &Path) -> (bool, String) {
    let minisign = common::require("minisign", "minisign");
    let out = Command::new(minisign)
        .arg("-V")
        .arg("-p")
        .arg(repo("image/keys/hearth-TEST-ONLY.pub"))
        .arg("-m")
        .arg(file)
        .arg("-x")
        .arg(signature)
        .output()
        .expect("minisign runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn minisign_and_hearth_agree_on_a_signed_manifest_and_a_spoiled_one() {
    let manifest = repo("src/update/testdata/manifest.json");
    let signature = repo("src/update/testdata/manifest.json.minisig");
    let keys =
        TrustedKeys::parse([("hearth-TEST-ONLY.pub", hearth::update::keys::TEST_KEY)]).unwrap();
    let text = std::fs::read(&manifest).unwrap();
    let sig = std::fs::read_to_string(&signature).unwrap();

    let (ok, said) = minisign_verifies(&manifest, &signature);
    assert!(ok, "minisign -V refused the fixture: {said}");
    assert!(said.contains("hearth 0.2.0"), "the trusted comment: {said}");
    keys.verify_manifest(&text, &sig)
        .expect("hearth accepts what minisign accepts");

    let dir = tempfile::tempdir().unwrap();
    let spoiled = dir.path().join("manifest.json");
    let mut bytes = text.clone();
    bytes[text.len() / 3] ^= 0x20;
    std::fs::write(&spoiled, &bytes).unwrap();
    let (ok, said) = minisign_verifies(&spoiled, &signature);
    assert!(!ok, "minisign -V accepted a spoiled manifest: {said}");
    assert!(keys.verify_manifest(&bytes, &sig).is_err());
}
