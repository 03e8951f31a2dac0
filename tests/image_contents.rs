//! What is inside the image `make image` built, read straight from its
//! partitions: the layout, the boot entry, hearth and its configs, and
//! nothing that belongs to one machine (no machine-id, key or state) or
//! that would let someone in (no SSH server, no root password).

use hearth_testkit as common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::require;
use common::vm::ImageBuild;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MIB: u64 = 1 << 20;

struct Partition {
    name: String,
    part_type: String,
    start: u64,
    size: u64,
}

fn partitions(image: &Path) -> Vec<Partition> {
    let out = Command::new(require("sfdisk", "fdisk"))
        .arg("--json")
        .arg(image)
        .output()
        .unwrap();
    assert!(out.status.success(), "sfdisk --json {}", image.display());
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(table["partitiontable"]["label"], "gpt");
    table["partitiontable"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Partition {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            part_type: p["type"].as_str().unwrap().to_ascii_lowercase(),
            start: p["start"].as_u64().unwrap() * 512,
            size: p["size"].as_u64().unwrap() * 512,
        })
        .collect()
}

/// Copies one partition out of the image into `dir`.
fn extract(image: &Path, part: &Partition, dir: &Path) -> PathBuf {
    let path = dir.join(&part.name);
    let status = Command::new("dd")
        .arg(format!("if={}", image.display()))
        .arg(format!("of={}", path.display()))
        .args(["bs=1M", "conv=sparse", "status=none"])
        .arg(format!("skip={}", part.start / MIB))
        .arg(format!("count={}", part.size / MIB))
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn the_image_holds_the_appliance_and_nothing_of_any_one_machine() {
    let build = ImageBuild::from_env();
    let image = &build.image;
    let raw = std::fs::metadata(image).unwrap().len();
    // Slot B is made on the box (the first boot), not shipped as zeros.
    assert!(raw <= 1536 * MIB, "the image is {} MiB raw", raw / MIB);

    let parts = partitions(image);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hearth-esp", "hearth-root-a", "hearth-var"]);
    let work = tempfile::Builder::new()
        .prefix("hearth-image-contents.")
        .tempdir_in("/var/tmp")
        .unwrap();

    the_esp_boots_on_the_serial_console(image, &parts[0], work.path());
    let root = unpacked_root(image, &parts[1], work.path());
    the_configs_are_this_repositorys(&root);
    the_boxs_units_are_enabled(&root);
    the_module_policy_refuses_what_a_server_could_ask_for(&root);
    no_login_prompt_competes_with_the_console(&root);
    the_etc_overlay_and_the_manifest(&root, &build.commit);
    the_servers_base_image_is_clean(&root);
    the_modes_are_standard(&root);
    nothing_machine_specific(&root);
    the_state_partition_is_empty(image, &parts[2], work.path());
}

/// The text of `path` in the unpacked root.
fn read_in(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("/{path}: {e}"))
}

/// The EFI system partition: systemd-boot, slot A's entry (generation 1,
/// blessed: no counter) and its kernel and initramfs, serial console; the
/// loader's default a glob over every entry (see src/update/mod.rs).
fn the_esp_boots_on_the_serial_console(image: &Path, part: &Partition, work: &Path) {
    let esp = extract(image, part, work);
    let mtype = |path: &str| {
        let out = Command::new(require("mtype", "mtools"))
            .arg("-i")
            .arg(&esp)
            .arg(format!("::{path}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{path} on the ESP");
        out.stdout
    };
    let text = |path: &str| String::from_utf8(mtype(path)).unwrap();
    let entry = text("/loader/entries/hearth-0001-a.conf");
    assert!(entry.contains("linux /hearth/a/vmlinuz\n"), "{entry}");
    assert!(entry.contains("initrd /hearth/a/initrd.img\n"), "{entry}");
    assert!(entry.contains(" hearth.slot=a"), "{entry}");
    assert!(
        entry.contains("root=PARTUUID=6c1d0d1e-8a4f-4b52-9d2e-000000000002 "),
        "{entry}"
    );
    assert!(mtype("/hearth/a/vmlinuz").len() > 1 << 20);
    assert!(mtype("/hearth/a/initrd.img").len() > 1 << 20);
    assert!(entry.contains("console=ttyS0,115200"), "{entry}");
    assert!(
        entry.contains("loglevel=4"),
        "kernel chatter on the console: {entry}"
    );
    assert!(entry.contains("rootfstype=erofs ro"), "{entry}");
    let loader = text("/loader/loader.conf");
    assert!(loader.contains("editor no"), "{loader}");
    assert!(loader.contains("default hearth-*\n"), "{loader}");
    // A PE executable: the UEFI fallback path OVMF and PCs boot from.
    assert!(mtype("/EFI/BOOT/BOOTX64.EFI").starts_with(b"MZ"));
}

/// The OS partition, unpacked into `work`.
fn unpacked_root(image: &Path, part: &Partition, work: &Path) -> PathBuf {
    let root_fs = extract(image, part, work);
    let root = work.join("root");
    let mut extract = Command::new(require("fsck.erofs", "erofs-utils"));
    extract
        .arg(format!("--extract={}", root.display()))
        .arg(&root_fs);
    common::run_ok(&mut extract, "fsck.erofs");
    root
}

/// hearth and the configs from this repository, as they are here.
fn the_configs_are_this_repositorys(root: &Path) {
    let read = |path: &str| read_in(root, path);
    assert!(root.join("usr/bin/hearth").is_file());
    for (installed, source) in [
        (
            "usr/lib/systemd/system/hearth.service",
            "systemd/hearth.service",
        ),
        (
            "usr/lib/systemd/system/hearth-console@.service",
            "systemd/hearth-console@.service",
        ),
        (
            "usr/lib/sysusers.d/hearth.conf",
            "systemd/sysusers.d/hearth.conf",
        ),
        (
            "usr/lib/tmpfiles.d/hearth.conf",
            "systemd/tmpfiles.d/hearth.conf",
        ),
        ("etc/nftables.conf", "nftables/hearth-base.nft"),
        (
            "etc/systemd/system/nftables.service.d/hearth.conf",
            "nftables/nftables.service.d/hearth.conf",
        ),
        ("etc/caddy/Caddyfile", "caddy/Caddyfile"),
        (
            "etc/systemd/system/caddy.service.d/hearth.conf",
            "caddy/caddy.service.d/hearth.conf",
        ),
        (
            "etc/polkit-1/rules.d/50-hearth.rules",
            "systemd/polkit-1/rules.d/50-hearth.rules",
        ),
        (
            "usr/lib/systemd/system/hearth-helper.service",
            "systemd/hearth-helper.service",
        ),
        (
            "usr/lib/systemd/system/hearth-server@.service",
            "systemd/hearth-server@.service",
        ),
        (
            "usr/lib/systemd/system/hearth-update-helper.service",
            "systemd/hearth-update-helper.service",
        ),
        (
            "usr/lib/systemd/system/hearth-boot-check.service",
            "systemd/hearth-boot-check.service",
        ),
        (
            "usr/lib/systemd/system/hearth-end-try.service",
            "systemd/hearth-end-try.service",
        ),
    ] {
        let here = std::fs::read_to_string(Path::new(ROOT).join(source)).unwrap();
        assert_eq!(read(installed), here, "/{installed} differs from {source}");
    }
}

/// The units the box runs are enabled.
fn the_boxs_units_are_enabled(root: &Path) {
    let enabled = |unit: &str| {
        [
            "multi-user.target.wants",
            "sysinit.target.wants",
            "getty.target.wants",
        ]
        .iter()
        // Links to absolute paths inside the image: check the link itself.
        .any(|wants| {
            root.join("etc/systemd/system")
                .join(wants)
                .join(unit)
                .symlink_metadata()
                .is_ok()
        })
    };
    for unit in [
        "hearth.service",
        "nftables.service",
        "systemd-networkd.service",
        // The recovery console on the screen and the serial port (the VM
        // test reads the readiness line and the setup code from it).
        "hearth-console@tty1.service",
        "hearth-console@ttyS0.service",
        // NTP on until the owner says otherwise (timedated's SetNTP).
        "systemd-timesyncd.service",
        // The servers' privileged helper.
        "hearth-helper.service",
        // The updates' privileged helper.
        "hearth-update-helper.service",
    ] {
        assert!(enabled(unit), "{unit} is not enabled");
    }
    // A trial boot of a new root slot is judged (and only then blessed),
    // and ended when it lands in emergency or rescue mode.
    let wanted = |dir: &str, unit: &str| {
        root.join("etc/systemd/system")
            .join(dir)
            .join(unit)
            .symlink_metadata()
            .is_ok()
    };
    assert!(wanted(
        "boot-complete.target.requires",
        "hearth-boot-check.service"
    ));
    assert!(wanted("emergency.target.wants", "hearth-end-try.service"));
    assert!(wanted("rescue.target.wants", "hearth-end-try.service"));
    for (path, what) in [
        ("lib/systemd/systemd-bless-boot", "systemd-bless-boot"),
        (
            "lib/systemd/system-generators/systemd-bless-boot-generator",
            "the bless-boot generator",
        ),
        ("efi", "the ESP's mount point"),
    ] {
        assert!(
            root.join(path).symlink_metadata().is_ok(),
            "no {what} at /{path}"
        );
    }
    let manager = read_in(root, "usr/lib/systemd/system.conf.d/hearth.conf");
    assert!(manager.contains("RuntimeWatchdogSec="), "{manager}");
    let journal = read_in(root, "usr/lib/systemd/journald.conf.d/hearth.conf");
    assert!(journal.contains("Storage=persistent"), "{journal}");
}

/// The kernel module policy (image/module-policy.sh): what a server
/// could ask the kernel for is refused, but what the box and the
/// engines in its servers load.
fn the_module_policy_refuses_what_a_server_could_ask_for(root: &Path) {
    let policy = read_in(root, "etc/modprobe.d/hearth-servers.conf");
    let refused = |module: &str| {
        policy.lines().any(|l| {
            l == format!("blacklist {module}") || l == format!("install {module} /bin/false")
        })
    };
    for module in [
        "dummy",
        "vxlan",
        "hfs",
        "squashfs",
        "appletalk",
        "sctp",
        "n_hdlc",
        "sch_qfq",
        "cls_route",
    ] {
        assert!(refused(module), "{module} is not refused:\n{policy}");
    }
    for module in [
        "bridge",
        "veth",
        "ext4",
        "vfat",
        "overlay",
        "fuse",
        "nfnetlink",
    ] {
        assert!(!refused(module), "{module} is refused:\n{policy}");
    }
}

/// No login prompt competes with the console for its terminals.
fn no_login_prompt_competes_with_the_console(root: &Path) {
    for unit in [
        "getty@tty1.service",
        "autovt@tty1.service",
        "serial-getty@ttyS0.service",
    ] {
        let link = std::fs::read_link(root.join("etc/systemd/system").join(unit));
        assert_eq!(
            link.ok().as_deref(),
            Some(Path::new("/dev/null")),
            "{unit} is not masked"
        );
    }
}

/// The /etc overlay keeps timedated's NTP switch by this link's path
/// (the initramfs script's etc_keep): it must be where the image has it;
/// the manifest names the commit and the packages.
fn the_etc_overlay_and_the_manifest(root: &Path, commit: &str) {
    let read = |path: &str| read_in(root, path);
    let script = read("etc/initramfs-tools/scripts/local-bottom/hearth-var");
    let ntp_link = "systemd/system/sysinit.target.wants/systemd-timesyncd.service";
    assert!(script.contains(ntp_link), "etc_keep lacks {ntp_link}");
    assert!(
        root.join("etc").join(ntp_link).symlink_metadata().is_ok(),
        "/etc/{ntp_link} is not where the image enables timesyncd"
    );
    assert!(
        read("etc/fstab").contains("hearth-etc  /etc  overlay"),
        "fstab orders the /etc overlay"
    );
    let manifest = read("usr/share/hearth-manifest");
    assert!(
        manifest.contains(&format!("# commit: {}\n", commit)),
        "the manifest does not name commit {}",
        commit
    );
    for package in [
        "systemd",
        "dbus",
        "polkitd",
        "systemd-timesyncd",
        "nftables",
        "caddy",
        "docker.io",
        // The members' rootless engines.
        "rootlesskit",
        "slirp4netns",
        "uidmap",
    ] {
        assert!(
            manifest
                .lines()
                .any(|l| l.starts_with(&format!("{package}="))),
            "{package} is not in the image"
        );
    }
}

/// The servers' base image: a Debian 12 root with apt, no machine's
/// identity, no package lists, and no pin of the image's own lock.
fn the_servers_base_image_is_clean(root: &Path) {
    let base = root.join(hearth::servers::base::IMAGE_FILE.trim_start_matches('/'));
    let listed = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&base)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{} is not a tar", base.display());
    let names = String::from_utf8_lossy(&listed.stdout);
    for wanted in ["./etc/debian_version", "./usr/bin/apt", "./usr/bin/bash"] {
        assert!(
            names.lines().any(|l| l == wanted),
            "the base image lacks {wanted}"
        );
    }
    for unwanted in ["./etc/machine-id", "./etc/apt/preferences.d/hearth-lock"] {
        assert!(
            !names.lines().any(|l| l == unwanted),
            "the base image holds {unwanted}"
        );
    }
    assert!(
        !names.lines().any(|l| l.starts_with("./var/lib/apt/lists/")
            && !l.ends_with('/')
            && l != "./var/lib/apt/lists/lock"),
        "the base image holds package lists"
    );
}

/// Standard modes, whatever the umask of the checkout it was built from.
fn the_modes_are_standard(root: &Path) {
    for (path, mode) in [
        ("etc", 0o755),
        ("usr/lib", 0o755),
        ("etc/initramfs-tools/hooks/hearth-var", 0o755),
        ("etc/fstab", 0o644),
    ] {
        let meta = std::fs::symlink_metadata(root.join(path)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "mode of /{path}");
    }
    let resolv = std::fs::read_link(root.join("etc/resolv.conf")).unwrap();
    assert_eq!(resolv, Path::new("/run/systemd/resolve/stub-resolv.conf"));
}

/// Nothing machine-specific, nothing that lets anyone in.
fn nothing_machine_specific(root: &Path) {
    let read = |path: &str| read_in(root, path);
    let machine_id = std::fs::read_link(root.join("etc/machine-id")).unwrap();
    assert_eq!(machine_id, Path::new("/var/lib/machine-id"));
    assert_eq!(std::fs::read_dir(root.join("var")).unwrap().count(), 0);
    let factory = root.join("usr/share/factory/var");
    assert!(!factory.join("lib/machine-id").exists());
    let hearth_state = factory.join("lib/hearth");
    assert!(
        !hearth_state.exists() || std::fs::read_dir(&hearth_state).unwrap().count() == 0,
        "hearth state in the image"
    );
    assert!(!root.join("usr/sbin/sshd").exists(), "an SSH server");
    let root_password = read("etc/shadow")
        .lines()
        .find(|l| l.starts_with("root:"))
        .map(|l| l.split(':').nth(1).unwrap().to_string())
        .unwrap();
    assert!(
        root_password == "*" || root_password.starts_with('!'),
        "root has a password"
    );
    let keys = Command::new("grep")
        .args(["-rlI", "--", "PRIVATE KEY-----"])
        .arg(root.join("etc"))
        .arg(&factory)
        .output()
        .unwrap();
    assert!(
        keys.stdout.is_empty(),
        "private keys in the image: {}",
        String::from_utf8_lossy(&keys.stdout)
    );
}

/// The state partition is empty and typed "not set up yet": the first
/// boot formats it and only then gives it the /var type.
fn the_state_partition_is_empty(image: &Path, var: &Partition, work: &Path) {
    assert_eq!(var.part_type, "6c1d0d1e-8a4f-4b52-9d2e-5641522d4e45");
    assert!(var.size >= 16 * MIB);
    let var_bytes = extract(image, var, work);
    let blkid = Command::new(require("blkid", "util-linux"))
        .args(["-p", "-s", "TYPE", "-o", "value"])
        .arg(&var_bytes)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&blkid.stdout).trim().is_empty(),
        "hearth-var has a file system in the image"
    );
}
