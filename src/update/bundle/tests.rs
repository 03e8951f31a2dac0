use std::io::Write;

use super::*;
use crate::update::keys::TEST_KEY;

/// A manifest over the parts [`part`] makes, signed with the test key
/// (`minisign -S -t "hearth 0.3.0 1111…"`).
pub(crate) const MANIFEST: &[u8] = include_bytes!("../testdata/bundle-manifest.json");
pub(crate) const SIGNATURE: &[u8] = include_bytes!("../testdata/bundle-manifest.json.minisig");
const OTHER_KEY: &str = include_str!("../testdata/other-TEST-ONLY.pub");

/// The parts the fixture manifest was made over: (seed, size) of root,
/// kernel, initrd; the bytes of a small linear congruential generator.
const PARTS: [(u32, usize); 3] = [(1, 200_000), (2, 3000), (3, 5000)];

pub(crate) fn part(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn keys() -> TrustedKeys {
    TrustedKeys::parse([("hearth-TEST-ONLY.pub", TEST_KEY)]).unwrap()
}

/// The fixture's members in the bundle's order.
pub(crate) fn members() -> Vec<(String, Vec<u8>)> {
    let mut all = vec![
        ("manifest.json".to_string(), MANIFEST.to_vec()),
        ("manifest.json.minisig".to_string(), SIGNATURE.to_vec()),
    ];
    for (name, (seed, len)) in ["root.erofs", "vmlinuz", "initrd.img"].iter().zip(PARTS) {
        all.push((name.to_string(), part(seed, len)));
    }
    all
}

/// A tar of `members` (GNU headers, as `tar --format=gnu`), in a file.
fn tar_file(members: &[(String, Vec<u8>)]) -> File {
    file_of(&tar_bytes(members))
}

/// A tar of `members` (GNU headers, as `tar --format=gnu`).
pub(crate) fn tar_bytes(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn file_of(bytes: &[u8]) -> File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn bytes_of(file: &File) -> Vec<u8> {
    let mut bytes = vec![0u8; file.metadata().unwrap().len() as usize];
    file.read_exact_at(&mut bytes, 0).unwrap();
    bytes
}

#[test]
fn a_good_bundle_opens_and_each_part_copies_out_as_signed() {
    let file = tar_file(&members());
    let bundle = Bundle::open(&file, &keys()).unwrap();
    assert_eq!(bundle.manifest().version.to_string(), "0.3.0");
    assert_eq!(bundle.signed.key, "hearth-TEST-ONLY.pub");
    let raw = bytes_of(&file);
    for (name, (seed, len)) in PartName::ALL.into_iter().zip(PARTS) {
        let span = bundle.span(name);
        assert_eq!(span.size, len as u64);
        assert_eq!(span.offset % 512, 0);
        let expected = part(seed, len);
        assert_eq!(
            &raw[span.offset as usize..][..len],
            expected.as_slice(),
            "{name:?}"
        );
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let hash = bundle
            .copy_part(&file, name, &mut out, &mut |n| {
                seen.push(n);
                Ok(())
            })
            .unwrap();
        assert_eq!(out, expected);
        assert_eq!(hash, name.in_manifest(bundle.manifest()).sha256);
        assert_eq!(seen.last(), Some(&(len as u64)));
    }
    let mut last = 0;
    bundle
        .check(&file, &mut |n| {
            assert!(n > last);
            last = n;
            Ok(())
        })
        .unwrap();
    assert_eq!(last, bundle.parts_size());
}

#[test]
fn a_flipped_byte_in_a_part_fails_its_copy_and_the_check() {
    let file = tar_file(&members());
    let bundle = Bundle::open(&file, &keys()).unwrap();
    for name in PartName::ALL {
        let mut raw = bytes_of(&file);
        let span = bundle.span(name);
        raw[(span.offset + span.size / 2) as usize] ^= 0x04;
        let spoiled = file_of(&raw);
        // The headers and the signature are untouched: it opens.
        let reopened = Bundle::open(&spoiled, &keys()).unwrap();
        let e = reopened
            .copy_part(&spoiled, name, &mut std::io::sink(), &mut |_| Ok(()))
            .unwrap_err();
        assert!(
            matches!(e, BundleError::Hash { member, .. } if member == name.member()),
            "{e}"
        );
        let e = reopened.check(&spoiled, &mut |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains(name.member()), "{e}");
    }
}

#[test]
fn a_bundle_cut_short_anywhere_names_the_member() {
    let file = tar_file(&members());
    let raw = bytes_of(&file);
    let bundle = Bundle::open(&file, &keys()).unwrap();
    let root = bundle.span(PartName::Root);
    let initrd = bundle.span(PartName::Initrd);
    for (at, member, what) in [
        (100, "manifest.json", "the header"),
        (600, "manifest.json", "the data"),
        (1536 + 10, "manifest.json.minisig", "the header"),
        (root.offset as usize - 1, "root.erofs", "the header"),
        (root.offset as usize + 1, "root.erofs", "the data"),
        (root.offset as usize + 4096, "root.erofs", "the data"),
        (initrd.offset as usize + 1, "initrd.img", "the data"),
        // In the padding of the last member's last block.
        (
            (initrd.offset + initrd.size) as usize + 1,
            "initrd.img",
            "the data",
        ),
        (
            (initrd.offset + initrd.size).next_multiple_of(512) as usize,
            "the archive",
            "the end blocks",
        ),
    ] {
        let cut = file_of(&raw[..at]);
        match Bundle::open(&cut, &keys()) {
            Err(BundleError::Truncated { member: m, what: w }) => {
                assert_eq!((m.as_str(), w), (member, what), "cut at {at}")
            }
            other => panic!("cut at {at}: {other:?}"),
        }
    }
    // A copy from a file cut after it was opened names the part too.
    let cut = file_of(&raw[..(root.offset + root.size / 2) as usize]);
    let e = bundle
        .copy_part(&cut, PartName::Root, &mut std::io::sink(), &mut |_| Ok(()))
        .unwrap_err();
    assert!(
        matches!(&e, BundleError::Truncated { member, .. } if member == "root.erofs"),
        "{e}"
    );
}

#[test]
fn members_out_of_order_missing_or_extra_are_refused() {
    let mut swapped = members();
    swapped.swap(3, 4);
    match Bundle::open(&tar_file(&swapped), &keys()) {
        Err(BundleError::Member {
            index: 3,
            expected: "vmlinuz",
            found,
        }) => assert_eq!(found, "initrd.img"),
        other => panic!("{other:?}"),
    }
    let mut extra = members();
    extra.push(("notes.txt".into(), b"hello".to_vec()));
    assert!(matches!(
        Bundle::open(&tar_file(&extra), &keys()),
        Err(BundleError::Extra)
    ));
    let mut missing = members();
    missing.pop();
    assert!(matches!(
        Bundle::open(&tar_file(&missing), &keys()),
        Err(BundleError::Member { index: 4, .. })
    ));
    let mut renamed = members();
    renamed[2].0 = "sub/root.erofs".into();
    assert!(matches!(
        Bundle::open(&tar_file(&renamed), &keys()),
        Err(BundleError::Member { index: 2, .. })
    ));
}

#[test]
fn a_member_of_another_type_or_size_is_refused() {
    // A symbolic link where the root file system goes.
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in &members()[..2] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder
        .append_link(&mut link, "root.erofs", "/dev/sda")
        .unwrap();
    let file = file_of(&builder.into_inner().unwrap());
    assert!(matches!(
        Bundle::open(&file, &keys()),
        Err(BundleError::NotAFile {
            member: "root.erofs"
        })
    ));

    // A part longer than its manifest says.
    let mut longer = members();
    longer[3].1.push(0);
    assert!(matches!(
        Bundle::open(&tar_file(&longer), &keys()),
        Err(BundleError::Size {
            member: "vmlinuz",
            expected: 3000,
            found: 3001
        })
    ));

    // A manifest over its limit is not read.
    let mut big = members();
    big[0].1 = vec![b' '; MAX_MANIFEST as usize + 1];
    assert!(matches!(
        Bundle::open(&tar_file(&big), &keys()),
        Err(BundleError::TooLarge {
            member: "manifest.json",
            ..
        })
    ));
}

#[test]
fn a_spoiled_header_is_refused() {
    let mut raw = bytes_of(&tar_file(&members()));
    raw[0] = b'M';
    match Bundle::open(&file_of(&raw), &keys()) {
        Err(BundleError::Header { index: 0, why }) => assert!(why.contains("checksum"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bundle_signed_with_a_key_not_trusted_or_changed_is_refused() {
    let file = tar_file(&members());
    let other = TrustedKeys::parse([("release.pub", OTHER_KEY)]).unwrap();
    assert!(matches!(
        Bundle::open(&file, &other),
        Err(BundleError::Signature(SignatureError::NotTrusted))
    ));
    let mut changed = members();
    let at = changed[0].1.len() / 2;
    changed[0].1[at] ^= 0x01;
    assert!(matches!(
        Bundle::open(&tar_file(&changed), &keys()),
        Err(BundleError::Signature(_))
    ));
}
