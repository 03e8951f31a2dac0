//! An install: a staged bundle written into the slot that does not run,
//! in an order a power cut at any point survives. Nothing ever points at
//! a half-written slot: the slot's entries go first (and that is on the
//! disk before a byte of it changes), its new entry comes last (written
//! by a temporary name the boot loader does not read, then renamed), and
//! the running slot's partition, files and entry are never touched.
//!
//! Every byte used was hashed as it was read, by the helper, against a
//! manifest whose signature the helper checked with its own keys: hearth
//! (or whoever wrote the staged file, even while it is read) cannot get
//! anything else booted.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ring::digest::{Context, SHA256};

use super::disk::Slots;
use super::entry::{self, EntryName, Kind};
use super::error::{AtStep, Failure, SlotError};
use super::esp;
use super::host::Host;
use super::layout::Layout;
use super::next_key;
use super::protocol::{BundleId, Installed, Progress, Step};
use crate::update::bundle::{self, Bundle, PartName};

/// Progress is said at least this often.
pub const PROGRESS_EVERY: u64 = 16 << 20;
/// Room kept on the boot partition beyond the two files (the entry, FAT
/// clusters' rounding).
const ESP_SLACK: u64 = 1 << 20;
const CHUNK: usize = 1 << 20;

/// Says progress: at the start of a step, every [`PROGRESS_EVERY`]
/// bytes, and at its end.
pub struct Reporter<'a> {
    report: &'a mut dyn FnMut(Progress) -> std::io::Result<()>,
    last: u64,
}

impl<'a> Reporter<'a> {
    pub fn new(report: &'a mut dyn FnMut(Progress) -> std::io::Result<()>) -> Reporter<'a> {
        Reporter { report, last: 0 }
    }

    pub fn say(&mut self, step: Step, bytes: u64, total: u64) -> std::io::Result<()> {
        if bytes == 0 || bytes == total || bytes >= self.last + PROGRESS_EVERY {
            self.last = bytes;
            (self.report)(Progress { step, bytes, total })?;
        }
        if bytes == total {
            self.last = 0;
        }
        Ok(())
    }
}

pub fn install(
    id: &BundleId,
    host: &dyn Host,
    layout: &Layout,
    reporter: &mut Reporter,
) -> Result<Installed, Failure> {
    let plan = check(id, host, layout).at(Step::Verify)?;
    let total = plan.file.metadata().map(|m| m.len()).unwrap_or(0);
    reporter
        .say(Step::Verify, total, total)
        .map_err(SlotError::PeerGone)
        .at(Step::Verify)?;
    clear(&plan, host, layout).at(Step::Verify)?;
    let root_sha256 = write_root(&plan, host, reporter)?;
    write_boot_files(&plan, host, layout, reporter).at(Step::BootFiles)?;
    write_entry(&plan, host, layout, reporter).at(Step::Entry)?;
    Ok(Installed {
        slot: plan.slot,
        generation: plan.entry.generation,
        entry: plan.entry.file_name(),
        version: plan.bundle.manifest().version.to_string(),
        root_sha256: bundle::hex(&root_sha256),
    })
}

/// What was checked before anything is written.
struct Plan {
    file: File,
    bundle: Bundle,
    slot: super::protocol::Slot,
    device: PathBuf,
    entry: EntryName,
    options: String,
}

/// Every refusal comes here, before a byte is written.
fn check(id: &BundleId, host: &dyn Host, layout: &Layout) -> Result<Plan, SlotError> {
    let slots = Slots::find(host, layout)?;
    let slot = slots.running.other();
    let target = slots.partition(slot);
    if target.device == slots.partition(slots.running).device {
        return Err(SlotError::TargetRuns { slot });
    }
    let file = open_staged(&layout.bundle(id))?;
    let bundle = Bundle::open(&file, &next_key::trusted(layout)?)?;
    let manifest = bundle.manifest();

    let entries = esp::read_entries(&layout.entries())?;
    let running = entries
        .iter()
        .filter(|e| e.name.slot == slots.running && e.name.kind == Kind::Live)
        .max_by_key(|e| e.name.generation)
        .ok_or_else(|| SlotError::NoRunningEntry {
            slot: slots.running,
            path: layout.entries(),
        })?;
    let options = entry::options_for(
        &running.value("options").unwrap_or_default(),
        &target.uuid,
        slot,
    )
    .ok_or_else(|| SlotError::NoRootOption {
        file: running.name.file_name(),
    })?;

    let device = layout.device(&target.device);
    let room = host
        .open_device(&device, false)?
        .seek(SeekFrom::End(0))
        .map_err(|source| SlotError::Read {
            path: device.clone(),
            source,
        })?;
    if manifest.root.size > room {
        return Err(SlotError::RootTooLarge {
            slot,
            size: manifest.root.size,
            room,
        });
    }
    let boot_dir = layout.boot_dir(slot);
    let old: u64 = old_boot_files(&boot_dir)
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let free = host.free_bytes(&layout.esp)? + old;
    let need = manifest.kernel.size + manifest.initrd.size + ESP_SLACK;
    if free < need {
        return Err(SlotError::NoRoom {
            path: layout.esp.clone(),
            free,
            need,
        });
    }
    Ok(Plan {
        file,
        bundle,
        slot,
        device,
        entry: EntryName::new(entry::next_generation(&entries), slot),
        options,
    })
}

/// The staged bundle: hearth's folder, so never a link followed.
fn open_staged(path: &Path) -> Result<File, SlotError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| SlotError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let meta = file.metadata().map_err(|source| SlotError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(SlotError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

fn old_boot_files(dir: &Path) -> [PathBuf; 4] {
    [
        dir.join("vmlinuz"),
        dir.join("initrd.img"),
        dir.join("vmlinuz.new"),
        dir.join("initrd.img.new"),
    ]
}

/// (1) Nothing boots the target slot any more, and that is on the disk;
/// then its old files go (room for the new ones), and the keys pending
/// for generations now gone.
fn clear(plan: &Plan, host: &dyn Host, layout: &Layout) -> Result<(), SlotError> {
    esp::remove_entries(host, &layout.entries(), plan.slot)?;
    let boot_dir = layout.boot_dir(plan.slot);
    if boot_dir.is_dir() {
        for path in old_boot_files(&boot_dir) {
            esp::remove(&path)?;
        }
        esp::durable(host, &boot_dir)?;
    }
    next_key::prune(layout, &esp::read_entries(&layout.entries())?)
}

/// (2) The root file system into the partition, hashed as read from the
/// bundle, synced, then read back from the device itself.
fn write_root(plan: &Plan, host: &dyn Host, reporter: &mut Reporter) -> Result<[u8; 32], Failure> {
    let total = plan.bundle.manifest().root.size;
    let mut device = host.open_device(&plan.device, true).at(Step::WriteRoot)?;
    reporter
        .say(Step::WriteRoot, 0, total)
        .map_err(SlotError::PeerGone)
        .at(Step::WriteRoot)?;
    plan.bundle
        .copy_part(&plan.file, PartName::Root, &mut device, &mut |n| {
            reporter.say(Step::WriteRoot, n, total)
        })
        .at(Step::WriteRoot)?;
    let sync = |source| SlotError::Sync {
        path: plan.device.clone(),
        source,
    };
    device.sync_data().map_err(sync).at(Step::WriteRoot)?;
    host.drop_cache(&device, &plan.device).at(Step::ReadBack)?;
    drop(device);
    let device = host.open_device(&plan.device, false).at(Step::ReadBack)?;
    let expected = plan.bundle.manifest().root.sha256;
    read_back(&device, &plan.device, total, expected, &mut |n| {
        reporter.say(Step::ReadBack, n, total)
    })
    .at(Step::ReadBack)
}

/// Hashes the first `size` bytes of `file`, which must be `expected`.
fn read_back(
    file: &File,
    path: &Path,
    size: u64,
    expected: [u8; 32],
    progress: &mut dyn FnMut(u64) -> std::io::Result<()>,
) -> Result<[u8; 32], SlotError> {
    let mut hash = Context::new(&SHA256);
    let mut buffer = vec![0u8; CHUNK];
    let mut done = 0;
    while done < size {
        let want = (size - done).min(CHUNK as u64) as usize;
        let read = bundle::read_fully(file, &mut buffer[..want], done).map_err(|e| match e {
            bundle::BundleError::Read(source) => SlotError::Read {
                path: path.to_path_buf(),
                source,
            },
            other => SlotError::Bundle(other),
        })?;
        if read < want {
            return Err(SlotError::Read {
                path: path.to_path_buf(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        hash.update(&buffer[..want]);
        done += want as u64;
        progress(done).map_err(SlotError::PeerGone)?;
    }
    let found = bundle::digest(hash);
    if found != expected {
        return Err(SlotError::ReadBack {
            path: path.to_path_buf(),
            found: bundle::hex(&found),
        });
    }
    Ok(found)
}

/// (3) The kernel and initramfs, each by a temporary name, synced,
/// renamed, the folder synced; then read back past the page cache.
fn write_boot_files(
    plan: &Plan,
    host: &dyn Host,
    layout: &Layout,
    reporter: &mut Reporter,
) -> Result<(), SlotError> {
    let dir = layout.boot_dir(plan.slot);
    std::fs::create_dir_all(&dir).map_err(|source| SlotError::Write {
        path: dir.clone(),
        source,
    })?;
    let manifest = plan.bundle.manifest();
    let total = manifest.kernel.size + manifest.initrd.size;
    let mut before = 0;
    for part in [PartName::Kernel, PartName::Initrd] {
        let path = dir.join(part.member());
        let new = dir.join(format!("{}.new", part.member()));
        let write = |source| SlotError::Write {
            path: new.clone(),
            source,
        };
        let mut file = File::create(&new).map_err(write)?;
        plan.bundle
            .copy_part(&plan.file, part, &mut file, &mut |n| {
                reporter.say(Step::BootFiles, before + n, total)
            })?;
        file.sync_all().map_err(write)?;
        drop(file);
        esp::rename(&new, &path)?;
        esp::fsync_dir(&dir)?;
        before += part.in_manifest(manifest).size;
    }
    host.sync_fs(&dir)?;
    for part in [PartName::Kernel, PartName::Initrd] {
        let path = dir.join(part.member());
        let file = File::open(&path).map_err(|source| SlotError::Read {
            path: path.clone(),
            source,
        })?;
        // What the disk holds, not what the page cache kept.
        let _ = nix::fcntl::posix_fadvise(
            &file,
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
        let expected = part.in_manifest(manifest);
        read_back(
            &file,
            &path,
            expected.size,
            expected.sha256,
            &mut |_| Ok(()),
        )?;
    }
    Ok(())
}

/// (4) The entry, last: from now on the boot loader boots the slot
/// (the highest generation sorts first), three tries.
fn write_entry(
    plan: &Plan,
    host: &dyn Host,
    layout: &Layout,
    reporter: &mut Reporter,
) -> Result<(), SlotError> {
    let manifest = plan.bundle.manifest();
    if let Some(key) = &manifest.next_public_key {
        next_key::keep_pending(layout, plan.entry.generation, key)?;
    }
    let text = entry::render(&manifest.version.to_string(), plan.slot, &plan.options);
    let dir = layout.entries();
    let tmp = EntryName {
        kind: Kind::Temporary,
        ..plan.entry.clone()
    };
    esp::write_entry(
        host,
        &dir.join(plan.entry.file_name()),
        &dir.join(tmp.file_name()),
        &text,
    )?;
    reporter.say(Step::Entry, 1, 1).map_err(SlotError::PeerGone)
}
