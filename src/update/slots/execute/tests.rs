//! The requests against a recording host: the slots are plain files,
//! the ESP and the efivars plain folders, and the host's privileged
//! calls are recorded, so the order of an install is checked without
//! root.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::*;
use crate::update::bundle::tests::{MANIFEST, SIGNATURE, part};
use crate::update::slots::efivar;
use crate::update::slots::host::Partition;
use crate::update::slots::layout::RootDisk;
use crate::update::slots::protocol::{BundleId, Step};

struct RecordingHost {
    partitions: Vec<Partition>,
    calls: Mutex<Vec<String>>,
    free: u64,
}

impl RecordingHost {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Host for RecordingHost {
    fn root_partition(&self) -> Result<(String, String), SlotError> {
        Err(SlotError::RootDevice("a test names its disk".into()))
    }
    fn partitions(&self, _disk: &str, _dev: &Path) -> Result<Vec<Partition>, SlotError> {
        Ok(self.partitions.clone())
    }
    fn open_device(&self, path: &Path, write: bool) -> Result<File, SlotError> {
        self.record(format!("open {} write={write}", name(path)));
        std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .open(path)
            .map_err(|source| SlotError::Open {
                path: path.to_path_buf(),
                source,
            })
    }
    fn drop_cache(&self, _device: &File, path: &Path) -> Result<(), SlotError> {
        self.record(format!("drop_cache {}", name(path)));
        Ok(())
    }
    fn sync_fs(&self, dir: &Path) -> Result<(), SlotError> {
        self.record(format!("sync_fs {}", name(dir)));
        Ok(())
    }
    fn make_mutable(&self, path: &Path) -> Result<(), SlotError> {
        self.record(format!("make_mutable {}", name(path)));
        Ok(())
    }
    fn free_bytes(&self, _dir: &Path) -> Result<u64, SlotError> {
        Ok(self.free)
    }
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

const ID: &str = "0123456789abcdef";
const RUNNING_OPTIONS: &str = "root=PARTUUID=aaaa ro hearth.slot=a";

struct Lab {
    _dir: tempfile::TempDir,
    layout: Layout,
    host: RecordingHost,
}

impl Lab {
    /// Slot a runs; each slot a file of `slot_size` bytes.
    fn new(running: &str, slot_size: u64) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p);
        for d in [
            "esp/loader/entries",
            "staging",
            "keys",
            "state",
            "efivars",
            "dev",
        ] {
            std::fs::create_dir_all(at(d)).unwrap();
        }
        std::fs::write(at("keys/test.pub"), crate::update::keys::TEST_KEY).unwrap();
        for p in ["p2", "p3"] {
            let f = File::create(at(&format!("dev/{p}"))).unwrap();
            f.set_len(slot_size).unwrap();
        }
        let layout = Layout::under(
            dir.path(),
            &at("dev"),
            RootDisk::Given {
                disk: "d".into(),
                running: running.into(),
            },
        );
        let letter = if running == "p2" { 'a' } else { 'b' };
        std::fs::write(
            layout.entries().join(format!("hearth-0001-{letter}.conf")),
            format!("title hearth 0.1.0\nversion 0.1.0\noptions {RUNNING_OPTIONS}\n"),
        )
        .unwrap();
        let partition = |device: &str, name: &str, uuid: &str| Partition {
            device: device.into(),
            name: name.into(),
            uuid: uuid.into(),
        };
        Lab {
            host: RecordingHost {
                partitions: vec![
                    partition("p2", "hearth-root-a", "aaaa"),
                    partition("p3", "hearth-root-b", "bbbb"),
                ],
                calls: Mutex::new(Vec::new()),
                free: 1 << 30,
            },
            layout,
            _dir: dir,
        }
    }

    fn stage(&self, root: Vec<u8>) {
        let mut builder = tar::Builder::new(Vec::new());
        let members: [(&str, Vec<u8>); 5] = [
            ("manifest.json", MANIFEST.to_vec()),
            ("manifest.json.minisig", SIGNATURE.to_vec()),
            ("root.erofs", root),
            ("vmlinuz", part(2, 3000)),
            ("initrd.img", part(3, 5000)),
        ];
        for (name, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, name, bytes.as_slice())
                .unwrap();
        }
        std::fs::write(self.bundle(), builder.into_inner().unwrap()).unwrap();
    }

    fn bundle(&self) -> PathBuf {
        self.layout.staging.join(format!("{ID}.bundle"))
    }

    fn run(&self, request: Request) -> (Result<Answer, Failure>, Vec<Progress>) {
        let mut seen = Vec::new();
        let result = execute(&request, &self.host, &self.layout, &mut |p| {
            seen.push(p);
            Ok(())
        });
        (result, seen)
    }

    fn install(&self) -> (Result<Answer, Failure>, Vec<Progress>) {
        self.run(Request::Install {
            bundle: BundleId::try_from(ID).unwrap(),
        })
    }

    /// The slots' entries on the ESP, by name.
    fn entries(&self) -> Vec<String> {
        let entries = esp::read_entries(&self.layout.entries()).unwrap();
        entries.iter().map(|e| e.name.file_name()).collect()
    }

    fn calls(&self) -> Vec<String> {
        self.host.calls.lock().unwrap().clone()
    }
}

#[test]
fn an_install_writes_the_other_slot_then_its_files_then_its_entry() {
    let lab = Lab::new("p2", 1 << 20);
    lab.stage(part(1, 200_000));
    // A leftover of slot b, and its old files: gone.
    std::fs::write(lab.layout.entries().join("hearth-0005-b+0-3.conf.bad"), "").unwrap();
    std::fs::create_dir_all(lab.layout.boot_dir(Slot::B)).unwrap();
    std::fs::write(lab.layout.boot_dir(Slot::B).join("vmlinuz.new"), "old").unwrap();

    let (result, progress) = lab.install();
    let Ok(Answer::Installed(installed)) = result else {
        panic!("{:?}", result.err().map(|f| f.error.to_string()));
    };
    assert_eq!(installed.slot, Slot::B);
    assert_eq!(installed.generation, 6);
    assert_eq!(installed.entry, "hearth-0006-b+3.conf");
    assert_eq!(installed.version, "0.3.0");

    let written = std::fs::read(lab.layout.device("p3")).unwrap();
    assert_eq!(&written[..200_000], part(1, 200_000).as_slice());
    assert_eq!(
        std::fs::read(lab.layout.device("p2")).unwrap(),
        vec![0; 1 << 20],
        "the running slot is untouched"
    );
    let boot = lab.layout.boot_dir(Slot::B);
    assert_eq!(std::fs::read(boot.join("vmlinuz")).unwrap(), part(2, 3000));
    assert_eq!(
        std::fs::read(boot.join("initrd.img")).unwrap(),
        part(3, 5000)
    );
    assert!(!boot.join("vmlinuz.new").exists());
    assert_eq!(
        lab.entries(),
        ["hearth-0001-a.conf", "hearth-0006-b+3.conf"]
    );
    assert_eq!(
        std::fs::read_to_string(lab.layout.entries().join("hearth-0006-b+3.conf")).unwrap(),
        "title hearth 0.3.0\nversion 0.3.0\nlinux /hearth/b/vmlinuz\ninitrd /hearth/b/initrd.img\noptions root=PARTUUID=bbbb ro hearth.slot=b\n"
    );
    // The entries' removal on the disk before the slot is opened for
    // writing; the new entry's last.
    assert_eq!(
        lab.calls(),
        [
            "open p3 write=false",
            "sync_fs entries",
            "sync_fs b",
            "open p3 write=true",
            "drop_cache p3",
            "open p3 write=false",
            "sync_fs b",
            "sync_fs entries",
        ]
    );
    let steps: Vec<Step> = progress.iter().map(|p| p.step).collect();
    for step in Step::ALL {
        assert!(steps.contains(&step), "{step:?} in {steps:?}");
    }
    let last_write = progress
        .iter()
        .rfind(|p| p.step == Step::WriteRoot)
        .unwrap();
    assert_eq!((last_write.bytes, last_write.total), (200_000, 200_000));

    // The status says so.
    let (Ok(Answer::Status(status)), _) = lab.run(Request::Status {}) else {
        panic!()
    };
    assert_eq!(status.running, Slot::A);
    let b = status.b.entry.unwrap();
    assert_eq!((b.generation, b.tries_left, b.blessed), (6, Some(3), false));
    assert_eq!(b.version.as_deref(), Some("0.3.0"));
}

#[test]
fn a_spoiled_root_leaves_the_slot_without_an_entry() {
    let lab = Lab::new("p2", 1 << 20);
    let mut root = part(1, 200_000);
    root[150_000] ^= 1;
    lab.stage(root);
    let (result, _) = lab.install();
    let failure = result.unwrap_err();
    assert_eq!(failure.step, Some(Step::WriteRoot));
    assert!(
        failure.error.to_string().contains("root.erofs"),
        "{}",
        failure.error
    );
    assert_eq!(lab.entries(), ["hearth-0001-a.conf"]);
}

#[test]
fn refusals_come_before_a_byte_is_written() {
    // Too small a slot.
    let lab = Lab::new("p2", 100_000);
    lab.stage(part(1, 200_000));
    let failure = lab.install().0.unwrap_err();
    assert_eq!(failure.step, Some(Step::Verify));
    assert!(
        matches!(failure.error, SlotError::RootTooLarge { .. }),
        "{}",
        failure.error
    );
    untouched(&lab);
    // Too little room on the ESP.
    let lab = Lab::new("p2", 1 << 20);
    lab.stage(part(1, 200_000));
    let lab = Lab {
        host: RecordingHost {
            free: 1000,
            ..lab.host
        },
        ..lab
    };
    assert!(matches!(
        lab.install().0.unwrap_err().error,
        SlotError::NoRoom { .. }
    ));
    // A bundle signed with a key the helper does not trust (hearth's
    // word is not enough).
    std::fs::remove_file(lab.layout.builtin_keys.join("test.pub")).unwrap();
    std::fs::write(
        lab.layout.builtin_keys.join("other.pub"),
        include_str!("../../testdata/other-TEST-ONLY.pub"),
    )
    .unwrap();
    let failure = lab.install().0.unwrap_err();
    assert!(
        failure.error.to_string().contains("does not trust"),
        "{}",
        failure.error
    );
    // A link where the bundle goes.
    std::fs::rename(lab.bundle(), lab.layout.staging.join("real")).unwrap();
    std::os::unix::fs::symlink(lab.layout.staging.join("real"), lab.bundle()).unwrap();
    assert!(matches!(
        lab.install().0.unwrap_err().error,
        SlotError::Open { .. }
    ));
    untouched(&lab);
}

/// Nothing was written: no device opened to write, slot a's entry alone.
fn untouched(lab: &Lab) {
    assert_eq!(lab.entries(), ["hearth-0001-a.conf"]);
    let calls = lab.calls();
    assert!(calls.iter().all(|c| !c.contains("write=true")), "{calls:?}");
}

#[test]
fn from_slot_b_the_install_goes_to_a() {
    let lab = Lab::new("p3", 1 << 20);
    lab.stage(part(1, 200_000));
    let (Ok(Answer::Installed(installed)), _) = lab.install() else {
        panic!()
    };
    assert_eq!(installed.slot, Slot::A);
    assert_eq!(installed.entry, "hearth-0002-a+3.conf");
    assert_eq!(
        lab.entries(),
        ["hearth-0001-b.conf", "hearth-0002-a+3.conf"]
    );
    assert_eq!(
        std::fs::read(lab.layout.device("p3")).unwrap(),
        vec![0; 1 << 20]
    );
}

#[test]
fn mark_bad_and_boot_once_refuse_what_would_boot_a_bad_slot() {
    let lab = Lab::new("p2", 1 << 20);
    let dir = lab.layout.entries();
    // The running slot is never marked bad; a good entry neither.
    let refused = lab.run(Request::MarkBad { slot: Slot::A }).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::Running { .. }));
    std::fs::write(dir.join("hearth-0002-b.conf"), "version 0.2.0\n").unwrap();
    let refused = lab.run(Request::MarkBad { slot: Slot::B }).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::GoodEntry { .. }));
    // Boot once: a glob on what survives the boot loader's renames.
    let (Ok(Answer::BootOnce(once)), _) = lab.run(Request::BootOnce { slot: Slot::B }) else {
        panic!()
    };
    assert_eq!(once.entry, "hearth-0002-b*");
    let var = lab.layout.one_shot();
    assert_eq!(
        std::fs::read(&var).unwrap(),
        efivar::encode("hearth-0002-b*")
    );
    // Set again: the old one made mutable, replaced.
    lab.run(Request::BootOnce { slot: Slot::A }).0.unwrap();
    assert_eq!(
        std::fs::read(&var).unwrap(),
        efivar::encode("hearth-0001-a*")
    );
    assert!(lab.calls().iter().any(|c| c.starts_with("make_mutable")));

    // A failed slot: marked bad, then never booted once either.
    std::fs::rename(
        dir.join("hearth-0002-b.conf"),
        dir.join("hearth-0002-b+0-3.conf"),
    )
    .unwrap();
    let refused = lab.run(Request::BootOnce { slot: Slot::B }).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::BadEntry { .. }));
    let (Ok(Answer::Status(status)), _) = lab.run(Request::MarkBad { slot: Slot::B }) else {
        panic!()
    };
    assert_eq!(
        lab.entries(),
        ["hearth-0001-a.conf", "hearth-0002-b+0-3.conf.bad"]
    );
    assert!(status.b.entry.unwrap().bad);
    let refused = lab.run(Request::BootOnce { slot: Slot::B }).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::BadEntry { .. }));
    // No entry at all.
    std::fs::remove_file(dir.join("hearth-0002-b+0-3.conf.bad")).unwrap();
    let refused = lab.run(Request::BootOnce { slot: Slot::B }).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::NoEntry { .. }));
}

#[test]
fn a_next_key_is_trusted_only_once_its_generation_runs_blessed() {
    let lab = Lab::new("p2", 1 << 20);
    let key = crate::update::keys::TEST_KEY.lines().nth(1).unwrap();
    next_key::keep_pending(&lab.layout, 2, key).unwrap();
    // Slot a runs generation 1: the key of generation 2 waits.
    let refused = lab.run(Request::TrustNextKey {}).0.unwrap_err();
    assert!(
        matches!(refused.error, SlotError::NoPendingKey { generation: 1 }),
        "{}",
        refused.error
    );
    // Generation 2 runs, not judged good yet.
    let dir = lab.layout.entries();
    std::fs::rename(
        dir.join("hearth-0001-a.conf"),
        dir.join("hearth-0002-a+2-1.conf"),
    )
    .unwrap();
    let refused = lab.run(Request::TrustNextKey {}).0.unwrap_err();
    assert!(matches!(refused.error, SlotError::NotBlessed { .. }));
    // Blessed: trusted, and asked again, still.
    std::fs::rename(
        dir.join("hearth-0002-a+2-1.conf"),
        dir.join("hearth-0002-a.conf"),
    )
    .unwrap();
    for _ in 0..2 {
        let (Ok(Answer::KeyTrusted(trusted)), _) = lab.run(Request::TrustNextKey {}) else {
            panic!()
        };
        assert_eq!((trusted.generation, trusted.key.as_str()), (2, key));
    }
    assert!(next_key::pending(&lab.layout).unwrap().is_empty());
    assert!(Layout::key_file(&lab.layout.adopted_keys(), 2).exists());
    next_key::trusted(&lab.layout).unwrap();
}
