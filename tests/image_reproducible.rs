//! The image is reproducible: building it again from the same commit (the
//! same package lock, hearth binary and SOURCE_DATE_EPOCH) gives the same
//! bytes as the image `make image` built.

use hearth_testkit as common;

use std::io::Write;
use std::process::Command;

use common::vm::ImageBuild;

#[test]
fn a_second_build_of_the_same_commit_is_bit_for_bit_identical() {
    let build = ImageBuild::from_env();
    let first = build.recorded_sha256();
    let out = tempfile::Builder::new()
        .prefix("hearth-image-again.")
        .tempdir_in("/var/tmp")
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/image/build.sh");
    let status = Command::new(script)
        .arg(out.path())
        .arg(&build.binary)
        .arg(&build.version)
        .env("SOURCE_DATE_EPOCH", &build.source_date_epoch)
        .env("HEARTH_COMMIT", &build.commit)
        .env("HEARTH_IMAGE_NO_ZSTD", "1")
        // The lock the first build used (image/packages.lock, or a fresh
        // resolution when the mirror has moved past it).
        .env("HEARTH_IMAGE_LOCK", build.image.with_extension("lock"))
        .status()
        .expect("running image/build.sh");
    assert!(status.success(), "the second build failed: {status}");

    let name = build.image.file_name().unwrap();
    let again = ImageBuild {
        image: out.path().join(name),
        ..build
    };
    if again.recorded_sha256() != first {
        let kept = out.keep();
        panic!(
            "two builds of one commit differ: compare {} with {} (diffoscope shows where)",
            build.image.display(),
            kept.join(name).display()
        );
    }
    let manifest = |image: &std::path::Path| {
        std::fs::read_to_string(image.with_extension("manifest")).unwrap()
    };
    assert_eq!(manifest(&again.image), manifest(&build.image));
    // Past the harness's capture of println!, so `make test` shows it.
    writeln!(std::io::stderr(), "image: both builds have sha256 {first}").unwrap();
}
