//! The journal of a new slot's failed boots, as the old slot's hearth
//! shows it after a fallback: the boots the journal on /var lists
//! (`journalctl --list-boots`), those since the install was written but
//! the one running, each with its last lines. hearth reads the journal
//! as a member of `systemd-journal`.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use super::adapter::BOOTS_KEPT;
use super::model::{FailedBoot, JOURNAL_LINES};

/// One line of `journalctl --list-boots -o json`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct ListedBoot {
    /// 0 is the newest (the running boot on the box).
    pub index: i64,
    pub boot_id: String,
    /// Microseconds since the epoch.
    pub first_entry: u64,
    pub last_entry: u64,
}

/// Parses `journalctl --list-boots -o json`.
pub fn parse_boots(json: &[u8]) -> Result<Vec<ListedBoot>, serde_json::Error> {
    serde_json::from_slice(json)
}

/// The boots that began at or after `since_ms`, the newest (running)
/// one left out, at most [`BOOTS_KEPT`] of them (the last ones).
pub fn boots_since(listed: Vec<ListedBoot>, since_ms: u64) -> Vec<ListedBoot> {
    let mut boots: Vec<ListedBoot> = listed
        .into_iter()
        .filter(|b| b.index != 0 && b.first_entry / 1000 >= since_ms)
        .collect();
    boots.sort_by_key(|b| b.index);
    let skip = boots.len().saturating_sub(BOOTS_KEPT);
    boots.split_off(skip)
}

/// A boot id as journalctl gives it: 32 hex digits, nothing else.
fn is_boot_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn journalctl(dir: Option<&Path>) -> Command {
    let mut command = Command::new("journalctl");
    if let Some(dir) = dir {
        command.arg("-D").arg(dir);
    }
    command.args(["--no-pager", "-q"]);
    command
}

/// The failed boots since `since_ms` from the journal (the system's, or
/// the folder `dir`); none when the journal cannot be read (said in the
/// log: the fallback is reported all the same).
pub fn failed_boots(dir: Option<&Path>, since_ms: u64) -> Vec<FailedBoot> {
    let listed = journalctl(dir)
        .args(["--list-boots", "-o", "json"])
        .output();
    let listed = match listed {
        Ok(out) if out.status.success() => parse_boots(&out.stdout).unwrap_or_default(),
        Ok(out) => {
            tracing::warn!(stderr = %String::from_utf8_lossy(&out.stderr).trim(), "journalctl --list-boots failed");
            return Vec::new();
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot run journalctl");
            return Vec::new();
        }
    };
    boots_since(listed, since_ms)
        .into_iter()
        .filter(|b| is_boot_id(&b.boot_id))
        .map(|b| {
            let lines = journalctl(dir)
                .args(["-b", &b.boot_id, "-o", "short-iso", "-n"])
                .arg(JOURNAL_LINES.to_string())
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default();
            FailedBoot {
                boot_id: b.boot_id,
                first_ms: b.first_entry / 1000,
                last_ms: b.last_entry / 1000,
                journal: lines.lines().map(str::to_string).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
