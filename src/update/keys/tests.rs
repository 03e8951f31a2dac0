use super::*;

const MANIFEST: &[u8] = include_bytes!("../testdata/manifest.json");
const SIGNED_BY_TEST_KEY: &str = include_str!("../testdata/manifest.json.minisig");
const SIGNED_BY_OTHER_KEY: &str = include_str!("../testdata/manifest.json.other.minisig");
const OTHER_COMMENT: &str = include_str!("../testdata/manifest.json.comment.minisig");
const OTHER_KEY: &str = include_str!("../testdata/other-TEST-ONLY.pub");

/// A box built to trust the test key (the tests' images).
fn test_build() -> TrustedKeys {
    TrustedKeys::parse([("hearth-TEST-ONLY.pub", TEST_KEY)]).unwrap()
}

/// A box built for real: its own key, never the test key.
fn real_build() -> TrustedKeys {
    TrustedKeys::parse([("release.pub", OTHER_KEY)]).unwrap()
}

#[test]
fn a_bundle_signed_with_a_trusted_key_is_accepted_and_says_which() {
    let signed = test_build()
        .verify_manifest(MANIFEST, SIGNED_BY_TEST_KEY)
        .unwrap();
    assert_eq!(signed.key, "hearth-TEST-ONLY.pub");
    assert_eq!(signed.manifest.version.to_string(), "0.2.0");
    // Either of several keys (a rotation) will do.
    let both = TrustedKeys::parse([("a.pub", OTHER_KEY), ("b.pub", TEST_KEY)]).unwrap();
    assert_eq!(
        both.verify_manifest(MANIFEST, SIGNED_BY_TEST_KEY)
            .unwrap()
            .key,
        "b.pub"
    );
}

#[test]
fn a_flipped_byte_anywhere_in_the_manifest_is_refused() {
    let keys = test_build();
    for at in [0, MANIFEST.len() / 2, MANIFEST.len() - 1] {
        let mut spoiled = MANIFEST.to_vec();
        spoiled[at] ^= 0x01;
        let e = keys
            .verify_manifest(&spoiled, SIGNED_BY_TEST_KEY)
            .unwrap_err();
        assert!(matches!(e, SignatureError::Mismatch(_)), "byte {at}: {e}");
    }
}

#[test]
fn a_truncated_manifest_or_signature_is_refused() {
    let keys = test_build();
    let e = keys
        .verify_manifest(&MANIFEST[..MANIFEST.len() - 10], SIGNED_BY_TEST_KEY)
        .unwrap_err();
    assert!(matches!(e, SignatureError::Mismatch(_)), "{e}");
    let cut = &SIGNED_BY_TEST_KEY[..SIGNED_BY_TEST_KEY.len() / 2];
    let e = keys.verify_manifest(MANIFEST, cut).unwrap_err();
    assert!(matches!(e, SignatureError::Decode(_)), "{e}");
}

#[test]
fn another_key_is_not_trusted() {
    let e = test_build()
        .verify_manifest(MANIFEST, SIGNED_BY_OTHER_KEY)
        .unwrap_err();
    assert!(matches!(e, SignatureError::NotTrusted), "{e}");
}

#[test]
fn a_real_build_refuses_the_test_key_and_a_test_build_says_it_trusts_it() {
    let real = real_build();
    assert!(!real.trusts_test_key());
    let e = real
        .verify_manifest(MANIFEST, SIGNED_BY_TEST_KEY)
        .unwrap_err();
    assert!(matches!(e, SignatureError::NotTrusted), "{e}");
    assert!(test_build().trusts_test_key());
}

#[test]
fn a_signature_whose_comment_names_another_version_is_refused() {
    let e = test_build()
        .verify_manifest(MANIFEST, OTHER_COMMENT)
        .unwrap_err();
    let SignatureError::Comment { found } = e else {
        panic!("{e}")
    };
    assert_eq!(
        found,
        "hearth 9.9.9 0d35549a6c8225d5741be36ec206c29221348bd7"
    );
}

#[test]
fn keys_load_from_a_folder_of_pub_files_and_an_empty_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = TrustedKeys::load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyError::NoKey { .. }), "{e}");
    std::fs::write(dir.path().join("release.pub"), OTHER_KEY).unwrap();
    std::fs::write(dir.path().join("README"), "not a key").unwrap();
    let keys = TrustedKeys::load(dir.path()).unwrap();
    assert!(!keys.trusts_test_key());
    std::fs::write(
        dir.path().join("broken.pub"),
        "untrusted comment: x\nnope\n",
    )
    .unwrap();
    let e = TrustedKeys::load(dir.path()).unwrap_err();
    assert!(e.to_string().contains("broken.pub"), "{e}");
}
