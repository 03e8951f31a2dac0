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

/// Runs image/bundle.sh (what `make bundle` runs) on `parts`, with the
/// environment given; its output and whether it succeeded.
fn bundle_sh(parts: &Path, out: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(repo("image/bundle.sh"));
    command
        .arg(parts)
        .args(["0.2.0", "0.1.0"])
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1796668800")
        .env("HEARTH_COMMIT", "0d35549a6c8225d5741be36ec206c29221348bd7")
        .env_remove("HEARTH_SIGNING_KEY")
        .env_remove("HEARTH_ALLOW_TEST_KEY");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("image/bundle.sh runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn make_bundle_writes_what_the_box_reads_and_a_person_can_check() {
    common::require("minisign", "minisign");
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for (name, len) in [
        ("root.erofs", 3 << 20),
        ("vmlinuz", 70_001),
        ("initrd.img", 200_003),
    ] {
        let bytes: Vec<u8> = (0..len).map(|i: usize| (i * 7 + len) as u8).collect();
        std::fs::write(parts.join(name), bytes).unwrap();
    }
    let bundle = dir.path().join("hearth-0.2.0-x86_64.bundle");

    // No key, or the test key, without being told: refused.
    let (ok, said) = bundle_sh(&parts, &bundle, &[]);
    assert!(!ok && said.contains("HEARTH_SIGNING_KEY"), "{said}");
    let test_key = repo("image/keys/hearth-TEST-ONLY.key");
    let (ok, said) = bundle_sh(
        &parts,
        &bundle,
        &[("HEARTH_SIGNING_KEY", test_key.to_str().unwrap())],
    );
    assert!(!ok && said.contains("HEARTH_ALLOW_TEST_KEY"), "{said}");
    assert!(!bundle.exists());

    let (ok, said) = bundle_sh(&parts, &bundle, &[("HEARTH_ALLOW_TEST_KEY", "1")]);
    assert!(ok, "{said}");
    let first = std::fs::read(&bundle).unwrap();

    // The box reads it: signature, members, every part's hash.
    let keys =
        TrustedKeys::parse([("hearth-TEST-ONLY.pub", hearth::update::keys::TEST_KEY)]).unwrap();
    let file = std::fs::File::open(&bundle).unwrap();
    let opened = hearth::update::bundle::Bundle::open(&file, &keys).expect("the box reads it");
    assert_eq!(opened.manifest().version.to_string(), "0.2.0");
    assert_eq!(opened.parts_size(), (3 << 20) + 70_001 + 200_003);
    opened
        .check(&file, &mut |_| Ok(()))
        .expect("every part's hash");

    // A person checks the whole file with the public key.
    let (ok, said) = minisign_verifies(
        &bundle,
        &dir.path().join("hearth-0.2.0-x86_64.bundle.minisig"),
    );
    assert!(ok, "minisign -V: {said}");

    // The same parts give the same bytes.
    let (ok, said) = bundle_sh(&parts, &bundle, &[("HEARTH_ALLOW_TEST_KEY", "1")]);
    assert!(ok, "{said}");
    assert!(std::fs::read(&bundle).unwrap() == first, "two runs differ");
}
