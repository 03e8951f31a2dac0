//! The update helper, for real, as root: a GPT disk image on a loop
//! device with an ESP-ish partition and the two root slots, a temp
//! folder as the ESP with slot a's entry, bundles built and signed here
//! with `tar` and `minisign` and the test key; the helper's serve loop
//! in a thread on a socket of its own, asked through the real client.
//! Each test's loop device is detached when it ends, whatever happens.

use hearth_testkit as common;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth::update::slots::client::{ClientError, UpdateHelperClient};
use hearth::update::slots::host::RealHost;
use hearth::update::slots::layout::{Layout, RootDisk};
use hearth::update::slots::protocol::{BundleId, Progress, Slot, Step};
use hearth::update::slots::serve::{self, UpdateHelperConfig};

const MIB: usize = 1 << 20;
/// Each slot's partition.
const SLOT_MIB: usize = 24;
const COMMIT: &str = "2222222222222222222222222222222222222222";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn require_tools() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the update helper test writes partitions of a loop device: run it as root (make test does)"
    );
    common::require("losetup", "mount");
    common::require("partx", "util-linux");
    common::require("sfdisk", "fdisk");
    common::require("blkid", "util-linux");
    common::require("minisign", "minisign");
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A sparse disk image with a GPT, attached to a loop device with its
/// partitions; detached on drop.
struct LoopDisk {
    device: String,
}

impl LoopDisk {
    fn new(dir: &Path) -> LoopDisk {
        let image = dir.join("disk.img");
        File::create(&image)
            .unwrap()
            .set_len(((2 * SLOT_MIB + 10) * MIB) as u64)
            .unwrap();
        let table = format!(
            "label: gpt\nsize=8MiB, type=U, name=\"hearth-esp\"\n\
             size={SLOT_MIB}MiB, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, name=\"hearth-root-a\"\n\
             size={SLOT_MIB}MiB, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, name=\"hearth-root-b\"\n"
        );
        let mut sfdisk = Command::new("sfdisk")
            .arg("-q")
            .arg(&image)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut sfdisk.stdin.take().unwrap(), table.as_bytes()).unwrap();
        assert!(sfdisk.wait().unwrap().success());
        let device = run(Command::new("losetup").args(["-f", "--show"]).arg(&image));
        let disk = LoopDisk { device };
        // `losetup -P` makes no partitions in a container; partx does.
        run(Command::new("partx").arg("-a").arg(&disk.device));
        disk
    }

    /// Kernel name of the disk (`loop3`) and of partition `n`.
    fn name(&self) -> String {
        self.device.trim_start_matches("/dev/").to_string()
    }

    fn partition(&self, n: u32) -> String {
        format!("{}p{n}", self.name())
    }

    fn uuid(&self, n: u32) -> String {
        run(Command::new("blkid")
            .args(["-p", "-o", "value", "-s", "PART_ENTRY_UUID"])
            .arg(format!("/dev/{}", self.partition(n))))
    }

    fn read(&self, n: u32, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        File::open(format!("/dev/{}", self.partition(n)))
            .unwrap()
            .read_exact_at(&mut bytes, 0)
            .unwrap();
        bytes
    }

    fn fill(&self, n: u32, byte: u8) {
        let device = File::options()
            .write(true)
            .open(format!("/dev/{}", self.partition(n)))
            .unwrap();
        device.write_all_at(&vec![byte; MIB], 0).unwrap();
        device.sync_all().unwrap();
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = Command::new("partx").arg("-d").arg(&self.device).status();
        let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
    }
}

/// A helper serving in a thread, slot `running` running.
struct Lab {
    dir: tempfile::TempDir,
    disk: LoopDisk,
    layout: Layout,
    client: UpdateHelperClient,
}

impl Lab {
    fn start(running: Slot) -> Lab {
        Lab::serving(running, 0)
    }

    /// A helper that serves only `client_uid` (this test runs as root).
    fn serving(running: Slot, client_uid: u32) -> Lab {
        require_tools();
        let dir = tempfile::tempdir().unwrap();
        let disk = LoopDisk::new(dir.path());
        let at = |p: &str| dir.path().join(p);
        for d in ["esp/loader/entries", "staging", "keys", "state", "efivars"] {
            std::fs::create_dir_all(at(d)).unwrap();
        }
        std::fs::copy(repo("image/keys/hearth-TEST-ONLY.pub"), at("keys/test.pub")).unwrap();
        let layout = Layout::under(
            dir.path(),
            Path::new("/dev"),
            RootDisk::Given {
                disk: disk.name(),
                running: disk.partition(part_number(running)),
            },
        );
        let uuid = disk.uuid(part_number(running));
        std::fs::write(
            layout.entries().join(format!("hearth-0001-{running}.conf")),
            format!(
                "title hearth 0.1.0\nversion 0.1.0\nlinux /hearth/{running}/vmlinuz\n\
                 initrd /hearth/{running}/initrd.img\n\
                 options root=PARTUUID={uuid} rootfstype=erofs ro panic=30\n"
            ),
        )
        .unwrap();
        let socket = at("update-helper.sock");
        let listener = serve::bind(&socket, 0).unwrap();
        let config = UpdateHelperConfig {
            client_uid,
            layout: layout.clone(),
        };
        std::thread::spawn(move || serve::serve(&listener, &config, &RealHost));
        Lab {
            client: UpdateHelperClient::new(&socket),
            dir,
            disk,
            layout,
        }
    }

    /// Stages a bundle of `root` (and small boot files) signed with
    /// `key`; its id.
    fn stage(&self, version: &str, root: &[u8], key: &Path) -> (BundleId, Bundle) {
        let bundle = Bundle::new(version, root);
        let id = BundleId::try_from(format!(
            "{:016x}",
            rand(8).iter().fold(0u64, |a, b| a << 8 | *b as u64)
        ))
        .unwrap();
        bundle.write(&self.layout.bundle(&id), key, self.dir.path());
        (id, bundle)
    }

    /// The slots' entries on the ESP, by name.
    fn entries(&self) -> Vec<String> {
        let entries = hearth::update::slots::esp::read_entries(&self.layout.entries()).unwrap();
        entries.iter().map(|e| e.name.file_name()).collect()
    }

    fn install(
        &self,
        id: BundleId,
    ) -> (
        Result<hearth::update::slots::protocol::Installed, ClientError>,
        Vec<Progress>,
    ) {
        let mut seen = Vec::new();
        let result = block_on(self.client.install(id, &mut |p| seen.push(p)));
        (result, seen)
    }
}

fn part_number(slot: Slot) -> u32 {
    match slot {
        Slot::A => 2,
        Slot::B => 3,
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn rand(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A bundle's contents.
struct Bundle {
    version: String,
    root: Vec<u8>,
    kernel: Vec<u8>,
    initrd: Vec<u8>,
}

impl Bundle {
    fn new(version: &str, root: &[u8]) -> Bundle {
        Bundle {
            version: version.into(),
            root: root.to_vec(),
            kernel: rand(70_000),
            initrd: rand(300_000),
        }
    }

    /// The manifest over the parts as they are, signed with `key` by
    /// minisign with the trusted comment hearth checks; `spoil` then
    /// changes the root's bytes after signing.
    fn write(&self, path: &Path, key: &Path, work: &Path) {
        let manifest = serde_json::json!({
            "format": 1,
            "version": self.version,
            "commit": COMMIT,
            "min_version": "0.1.0",
            "created": 1_796_668_800u64,
            "parts": [
                {"name": "root", "size": self.root.len(), "sha256": sha256(&self.root)},
                {"name": "kernel", "size": self.kernel.len(), "sha256": sha256(&self.kernel)},
                {"name": "initrd", "size": self.initrd.len(), "sha256": sha256(&self.initrd)},
            ],
        });
        let manifest_path = work.join("manifest.json");
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        let signature_path = work.join("manifest.json.minisig");
        let _ = std::fs::remove_file(&signature_path);
        run(Command::new("minisign")
            .arg("-S")
            .arg("-s")
            .arg(key)
            .arg("-m")
            .arg(&manifest_path)
            .arg("-x")
            .arg(&signature_path)
            .arg("-t")
            .arg(format!("hearth {} {COMMIT}", self.version))
            .stdin(std::process::Stdio::null()));
        let mut builder = tar::Builder::new(File::create(path).unwrap());
        for (name, bytes) in [
            ("manifest.json", std::fs::read(&manifest_path).unwrap()),
            (
                "manifest.json.minisig",
                std::fs::read(&signature_path).unwrap(),
            ),
            ("root.erofs", self.root.clone()),
            ("vmlinuz", self.kernel.clone()),
            ("initrd.img", self.initrd.clone()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            builder
                .append_data(&mut header, name, bytes.as_slice())
                .unwrap();
        }
        builder.into_inner().unwrap().sync_all().unwrap();
    }
}

fn test_key() -> PathBuf {
    repo("image/keys/hearth-TEST-ONLY.key")
}

#[test]
fn an_install_from_slot_a_writes_slot_b_its_files_and_its_entry() {
    let lab = Lab::start(Slot::A);
    let root = rand(4 * MIB + 12345);
    let (id, bundle) = lab.stage("0.2.0", &root, &test_key());

    let (installed, progress) = lab.install(id);
    let installed = installed.expect("the install goes");
    assert_eq!(installed.slot, Slot::B);
    assert_eq!(installed.generation, 2);
    assert_eq!(installed.entry, "hearth-0002-b+3.conf");
    assert_eq!(installed.version, "0.2.0");
    assert_eq!(installed.root_sha256, sha256(&root));

    // The partition holds the root's bytes, read back independently.
    assert_eq!(lab.disk.read(3, root.len()), root);
    let boot = lab.layout.boot_dir(Slot::B);
    assert_eq!(std::fs::read(boot.join("vmlinuz")).unwrap(), bundle.kernel);
    assert_eq!(
        std::fs::read(boot.join("initrd.img")).unwrap(),
        bundle.initrd
    );
    assert_eq!(
        lab.entries(),
        ["hearth-0001-a.conf", "hearth-0002-b+3.conf"]
    );
    let entry = std::fs::read_to_string(lab.layout.entries().join("hearth-0002-b+3.conf")).unwrap();
    assert_eq!(
        entry,
        format!(
            "title hearth 0.2.0\nversion 0.2.0\nlinux /hearth/b/vmlinuz\ninitrd /hearth/b/initrd.img\n\
             options root=PARTUUID={} rootfstype=erofs ro panic=30 hearth.slot=b\n",
            lab.disk.uuid(3)
        )
    );
    // Progress of each step, the root's counted to its end.
    for step in Step::ALL {
        assert!(
            progress.iter().any(|p| p.step == step),
            "{step:?}: {progress:?}"
        );
    }
    let last = progress
        .iter()
        .rfind(|p| p.step == Step::WriteRoot)
        .unwrap();
    assert_eq!(
        (last.bytes, last.total),
        (root.len() as u64, root.len() as u64)
    );

    let status = block_on(lab.client.status()).unwrap();
    assert_eq!(status.running, Slot::A);
    let b = status.b.entry.expect("slot b has an entry");
    assert_eq!(
        (b.generation, b.tries_left, b.blessed, b.bad),
        (2, Some(3), false, false)
    );
    assert_eq!(b.version.as_deref(), Some("0.2.0"));
    assert!(status.a.entry.unwrap().blessed);
}

#[test]
fn a_spoiled_part_is_refused_and_leaves_no_entry_for_the_slot() {
    let lab = Lab::start(Slot::A);
    let (id, bundle) = lab.stage("0.2.0", &rand(2 * MIB), &test_key());
    // One byte of the root changed after signing, in the staged file.
    let path = lab.layout.bundle(&id);
    let raw = std::fs::read(&path).unwrap();
    let at = raw
        .windows(64)
        .position(|w| w == &bundle.root[MIB..MIB + 64])
        .unwrap();
    let file = File::options().write(true).open(&path).unwrap();
    file.write_all_at(&[raw[at] ^ 0x01], at as u64).unwrap();

    let e = lab.install(id).0.unwrap_err();
    match &e {
        ClientError::Failed { step, error, .. } => {
            assert_eq!(*step, Some(Step::WriteRoot), "{e}");
            assert!(error.contains("root.erofs"), "{e}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(lab.entries(), ["hearth-0001-a.conf"]);
    assert!(block_on(lab.client.status()).unwrap().b.entry.is_none());
}

#[test]
fn a_bundle_of_another_key_or_too_large_is_refused_before_a_byte_is_written() {
    let lab = Lab::start(Slot::A);
    lab.disk.fill(3, 0x5a);
    // A key pair of its own, which the helper does not trust.
    let other = lab.dir.path().join("other.key");
    run(Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(lab.dir.path().join("other.pub"))
        .arg("-s")
        .arg(&other)
        .stdin(std::process::Stdio::null()));
    let (id, _) = lab.stage("0.2.0", &rand(MIB), &other);
    let e = lab.install(id).0.unwrap_err();
    assert!(e.to_string().contains("does not trust"), "{e}");
    assert!(
        matches!(
            e,
            ClientError::Failed {
                step: Some(Step::Verify),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(lab.disk.read(3, MIB), vec![0x5a; MIB]);

    let (id, _) = lab.stage("0.2.0", &rand((SLOT_MIB + 1) * MIB), &test_key());
    let e = lab.install(id).0.unwrap_err();
    assert!(e.to_string().contains("partition holds"), "{e}");
    assert_eq!(lab.disk.read(3, MIB), vec![0x5a; MIB]);
    assert_eq!(lab.entries(), ["hearth-0001-a.conf"]);
}

#[test]
fn from_slot_b_an_install_goes_to_a_and_leaves_b_alone() {
    let lab = Lab::start(Slot::B);
    lab.disk.fill(3, 0xb0);
    let root = rand(3 * MIB);
    let (id, _) = lab.stage("0.3.0", &root, &test_key());
    let installed = lab.install(id).0.expect("the install goes");
    assert_eq!(installed.slot, Slot::A);
    assert_eq!(installed.entry, "hearth-0002-a+3.conf");
    assert_eq!(lab.disk.read(2, root.len()), root);
    assert_eq!(lab.disk.read(3, MIB), vec![0xb0; MIB]);
    assert_eq!(
        lab.entries(),
        ["hearth-0001-b.conf", "hearth-0002-a+3.conf"]
    );
    assert!(!lab.layout.boot_dir(Slot::B).exists());
}

#[test]
fn a_failed_slot_is_marked_bad_and_never_booted_once() {
    let lab = Lab::start(Slot::A);
    let (id, _) = lab.stage("0.2.0", &rand(MIB), &test_key());
    lab.install(id).0.unwrap();

    let once = block_on(lab.client.boot_once(Slot::B)).unwrap();
    assert_eq!(once.entry, "hearth-0002-b*");
    let var = lab.layout.one_shot();
    let mut expected = vec![7, 0, 0, 0];
    for unit in "hearth-0002-b*".encode_utf16().chain([0]) {
        expected.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(std::fs::read(&var).unwrap(), expected);

    // Three failed boots later, as the boot loader renames it.
    let dir = lab.layout.entries();
    std::fs::rename(
        dir.join("hearth-0002-b+3.conf"),
        dir.join("hearth-0002-b+0-3.conf"),
    )
    .unwrap();
    let e = block_on(lab.client.boot_once(Slot::B)).unwrap_err();
    assert!(e.to_string().contains("is bad"), "{e}");
    let e = block_on(lab.client.mark_bad(Slot::A)).unwrap_err();
    assert!(e.to_string().contains("runs"), "{e}");
    let status = block_on(lab.client.mark_bad(Slot::B)).unwrap();
    assert!(status.b.entry.unwrap().bad);
    assert_eq!(
        lab.entries(),
        ["hearth-0001-a.conf", "hearth-0002-b+0-3.conf.bad"]
    );
    // The running slot may still be booted once.
    assert_eq!(
        block_on(lab.client.boot_once(Slot::A)).unwrap().entry,
        "hearth-0001-a*"
    );
}

#[test]
fn only_the_client_user_is_served() {
    // This test runs as root; the helper serves nobody's uid only.
    let lab = Lab::serving(Slot::A, 65534);
    let e = block_on(lab.client.status()).unwrap_err();
    assert!(
        e.to_string().contains("refused a connection from uid 0"),
        "{e}"
    );
}
