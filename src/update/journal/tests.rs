use std::io::Write;
use std::process::Stdio;

use super::*;

#[test]
fn the_boots_since_the_install_but_the_running_one() {
    let listed = parse_boots(
        br#"[{"index":-3,"boot_id":"a","first_entry":1000000,"last_entry":1500000},
             {"index":-2,"boot_id":"b","first_entry":5000000,"last_entry":5500000},
             {"index":-1,"boot_id":"c","first_entry":6000000,"last_entry":6500000},
             {"index":0,"boot_id":"d","first_entry":7000000,"last_entry":7500000}]"#,
    )
    .unwrap();
    let ids: Vec<String> = boots_since(listed, 5000)
        .into_iter()
        .map(|b| b.boot_id)
        .collect();
    assert_eq!(ids, ["b", "c"]);
}

#[test]
fn at_most_the_last_few_boots() {
    let listed = (0..10)
        .map(|i| ListedBoot {
            index: i - 10,
            boot_id: format!("{i}"),
            first_entry: 1_000_000 * (i as u64 + 1),
            last_entry: 1_000_000 * (i as u64 + 1),
        })
        .collect();
    let ids: Vec<String> = boots_since(listed, 0)
        .into_iter()
        .map(|b| b.boot_id)
        .collect();
    assert_eq!(ids, ["5", "6", "7", "8", "9"]);
}

/// Appends one entry of boot `boot` to a journal file in `dir`.
fn append(dir: &Path, boot: &str, at_us: u64, message: &str) {
    let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("systemd-journal-remote is missing: install the Debian package systemd-journal-remote (make test does)");
    let mut child = Command::new(remote)
        .args(["--split-mode=none", "--output"])
        .arg(dir.join(format!("remote-{boot}.journal")))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    write!(
        child.stdin.take().unwrap(),
        "__REALTIME_TIMESTAMP={at_us}\n__MONOTONIC_TIMESTAMP=1000\n_BOOT_ID={boot}\n_SYSTEMD_UNIT=hearth.service\nPRIORITY=3\nMESSAGE={message}\n\n"
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_journal_folder_gives_each_failed_boot_with_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let before = "1".repeat(32);
    let failed = "2".repeat(32);
    let running = "3".repeat(32);
    append(
        dir.path(),
        &before,
        1_764_770_000_000_000,
        "the old slot, before",
    );
    append(
        dir.path(),
        &failed,
        1_764_771_000_000_000,
        "hearth: cannot start",
    );
    append(
        dir.path(),
        &running,
        1_764_772_000_000_000,
        "the old slot again",
    );
    let boots = failed_boots(Some(dir.path()), 1_764_770_500_000);
    assert_eq!(boots.len(), 1, "{boots:?}");
    assert_eq!(boots[0].boot_id, failed);
    assert_eq!(boots[0].first_ms, 1_764_771_000_000);
    assert!(
        boots[0]
            .journal
            .iter()
            .any(|l| l.contains("hearth: cannot start")),
        "{:?}",
        boots[0].journal
    );
}
