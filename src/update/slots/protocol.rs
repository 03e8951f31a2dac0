//! What hearth may ask of the update helper: a closed set of typed
//! requests, one JSON object per line, naming a slot only as `a` or `b`
//! and a staged bundle only by a [`BundleId`] (the helper derives every
//! path), and the typed replies: progress lines during an install, then
//! one `done` carrying the answer, or `failed` naming the step.

use serde::{Deserialize, Serialize};

/// One of the two root slots (GPT names `hearth-root-a`, `hearth-root-b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    A,
    B,
}

impl Slot {
    pub const BOTH: [Slot; 2] = [Slot::A, Slot::B];

    pub fn letter(self) -> char {
        match self {
            Slot::A => 'a',
            Slot::B => 'b',
        }
    }

    pub fn from_letter(c: char) -> Option<Slot> {
        match c {
            'a' => Some(Slot::A),
            'b' => Some(Slot::B),
            _ => None,
        }
    }

    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// Its partition's GPT name.
    pub fn partition_name(self) -> String {
        format!("hearth-root-{}", self.letter())
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// A staged bundle's name, which hearth chose: 16 to 32 lowercase hex
/// digits, so that `<staging>/<id>.bundle` can name nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BundleId(String);

impl BundleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BundleId {
    type Error = String;

    fn try_from(id: String) -> Result<BundleId, String> {
        let hex = id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if (16..=32).contains(&id.len()) && hex {
            Ok(BundleId(id))
        } else {
            Err("a bundle id is 16 to 32 lowercase hex digits".into())
        }
    }
}

impl TryFrom<&str> for BundleId {
    type Error = String;

    fn try_from(id: &str) -> Result<BundleId, String> {
        BundleId::try_from(id.to_string())
    }
}

impl From<BundleId> for String {
    fn from(id: BundleId) -> String {
        id.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Which slot runs, and each slot's boot entry. (Variants without
    /// data are written `{}` so that a stray field is refused too.)
    Status {},
    /// Writes the staged bundle `<staging>/<bundle>.bundle`, checked
    /// against the helper's own keys, into the slot that does not run,
    /// and its boot entry with three tries.
    Install { bundle: BundleId },
    /// Takes a failed slot's entry out of the boot loader's sight
    /// (renamed `….conf.bad`); refused for the running slot.
    MarkBad { slot: Slot },
    /// Boots `slot` once at the next boot (`LoaderEntryOneShot`);
    /// refused when its entry is bad or missing.
    BootOnce { slot: Slot },
    /// Trusts the next key the running slot's bundle named, once that
    /// slot was judged good.
    TrustNextKey {},
}

impl Request {
    /// The audit text.
    pub fn describe(&self) -> String {
        match self {
            Request::Status {} => "read the slots' status".into(),
            Request::Install { bundle } => format!("install bundle {}", bundle.as_str()),
            Request::MarkBad { slot } => format!("mark slot {slot} bad"),
            Request::BootOnce { slot } => format!("boot slot {slot} once"),
            Request::TrustNextKey {} => "trust the next update key".into(),
        }
    }
}

/// The steps of an install, named in its progress and its failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The bundle's signature, sizes and room; the slot cleared.
    Verify,
    WriteRoot,
    ReadBack,
    BootFiles,
    Entry,
}

impl Step {
    /// In the install's order.
    pub const ALL: [Step; 5] = [
        Step::Verify,
        Step::WriteRoot,
        Step::ReadBack,
        Step::BootFiles,
        Step::Entry,
    ];
}

/// How far a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub step: Step,
    pub bytes: u64,
    pub total: u64,
}

/// One line of the helper's reply: progress lines, then `done` or
/// `failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Progress(Progress),
    Done {
        #[serde(flatten)]
        answer: Answer,
    },
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<Step>,
        error: String,
    },
}

/// What a request that was carried out answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// To `status` and `mark_bad`.
    Status(Status),
    Installed(Installed),
    BootOnce(OneShot),
    KeyTrusted(KeyTrusted),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub running: Slot,
    pub a: SlotStatus,
    pub b: SlotStatus,
    /// The generation whose bundle named a next key not trusted yet.
    pub pending_key: Option<u32>,
}

impl Status {
    pub fn slot(&self, slot: Slot) -> &SlotStatus {
        match slot {
            Slot::A => &self.a,
            Slot::B => &self.b,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotStatus {
    /// Its current entry (the highest generation; a bad one only when
    /// there is no other); none when nothing boots it.
    pub entry: Option<EntryStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryStatus {
    /// Its file name in `loader/entries`.
    pub file: String,
    pub generation: u32,
    /// Boots left before the boot loader gives up on it; none once blessed.
    pub tries_left: Option<u32>,
    pub tries_done: Option<u32>,
    /// Judged good (no counter left).
    pub blessed: bool,
    /// No tries left, or taken out of sight (`.bad`).
    pub bad: bool,
    /// Its `version` line.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub slot: Slot,
    pub generation: u32,
    /// The entry's file name, `hearth-<generation>-<slot>+3.conf`.
    pub entry: String,
    pub version: String,
    /// Of the root file system as read back from the partition.
    pub root_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneShot {
    pub slot: Slot,
    /// The glob the boot loader matches its entries with.
    pub entry: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyTrusted {
    pub generation: u32,
    /// minisign's base64 line.
    pub key: String,
}

/// At most this long a request line may be.
pub const MAX_LINE: usize = 512;

/// Parses one request line; anything outside the set is an error.
pub fn parse(line: &str) -> Result<Request, String> {
    if line.len() > MAX_LINE {
        return Err(format!("a request is at most {MAX_LINE} bytes"));
    }
    serde_json::from_str(line).map_err(|e| format!("not a request: {e}"))
}

#[cfg(test)]
mod tests;
