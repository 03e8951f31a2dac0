//! What can go wrong in the update helper: each variant names the
//! operation and the path or slot; the helper sends its text to hearth.

use std::path::PathBuf;

use super::protocol::{Slot, Step};
use crate::update::bundle::BundleError;
use crate::update::keys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("cannot tell which partition holds /: {0}")]
    RootDevice(String),
    #[error("cannot list the partitions of {disk}: {source}")]
    ListPartitions {
        disk: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the running partition {partition} is not a root slot (hearth-root-a or -b)")]
    RunningNotASlot { partition: String },
    #[error("no partition named {name} on {disk}")]
    NoSlot { name: String, disk: String },
    #[error("the target slot {slot} is the running one")]
    TargetRuns { slot: Slot },
    #[error("slot {slot} runs: it is never {what}")]
    Running { slot: Slot, what: &'static str },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove {path}: {source}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot rename {path}: {source}")]
    Rename {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot sync {path}: {source}")]
    Sync {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot drop the cached blocks of {path}: {source}")]
    FlushCache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot clear the immutable flag of {path}: {source}")]
    Immutable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the update keys: {0}")]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("the root file system is {size} bytes; slot {slot}'s partition holds {room}")]
    RootTooLarge { slot: Slot, size: u64, room: u64 },
    #[error(
        "the boot partition {path} has {free} bytes free for the kernel and initramfs; they need {need}"
    )]
    NoRoom { path: PathBuf, free: u64, need: u64 },
    #[error("no boot entry for the running slot {slot} in {path}")]
    NoRunningEntry { slot: Slot, path: PathBuf },
    #[error("the running entry {file} has no root=PARTUUID= option to carry over")]
    NoRootOption { file: String },
    #[error("{path} reads back otherwise than written (SHA-256 {found})")]
    ReadBack { path: PathBuf, found: String },
    #[error("slot {slot} has no boot entry")]
    NoEntry { slot: Slot },
    #[error("slot {slot}'s entry {file} is bad: it is not booted")]
    BadEntry { slot: Slot, file: String },
    #[error("slot {slot}'s entry {file} was judged good: only a failed one is marked bad")]
    GoodEntry { slot: Slot, file: String },
    #[error("the running entry {file} is not judged good yet: its next key waits")]
    NotBlessed { file: String },
    #[error("no next key is pending for generation {generation}")]
    NoPendingKey { generation: u32 },
    #[error("the peer went away: {0}")]
    PeerGone(#[source] std::io::Error),
}

/// A failed request: the error, and the install's step it failed in.
#[derive(Debug)]
pub struct Failure {
    pub step: Option<Step>,
    pub error: SlotError,
}

impl From<SlotError> for Failure {
    fn from(error: SlotError) -> Failure {
        Failure { step: None, error }
    }
}

/// Names the step a result failed in.
pub trait AtStep<T> {
    fn at(self, step: Step) -> Result<T, Failure>;
}

impl<T, E: Into<SlotError>> AtStep<T> for Result<T, E> {
    fn at(self, step: Step) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            step: Some(step),
            error: e.into(),
        })
    }
}
