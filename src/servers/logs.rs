//! A server's log: its unit's journal, followed with `journalctl` (the
//! tool that reads the journal's files: their format is systemd's own),
//! as one JSON object per entry. The `journalctl` process lives as long
//! as the stream that reads it: dropping the stream kills it.

use std::path::Path;
use std::process::Stdio;

use futures_util::Stream;
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::adapter::unit_name;
use super::model::ServerId;

/// How many past entries a new stream starts with.
pub const BACKLOG: u32 = 200;

/// One entry, as the API sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// When it was written, ms since the epoch.
    pub at_ms: u64,
    /// syslog priority: 0 (emergency) to 7 (debug).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    pub message: String,
}

/// One line of `journalctl --output=json`; `None` if it is not an entry.
pub fn parse(line: &str) -> Option<LogLine> {
    let v: Value = serde_json::from_str(line).ok()?;
    let at_us: u64 = v.get("__REALTIME_TIMESTAMP")?.as_str()?.parse().ok()?;
    let message = match v.get("MESSAGE")? {
        Value::String(s) => s.clone(),
        // Not UTF-8: the journal gives the bytes.
        Value::Array(bytes) => {
            let raw: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => return None,
    };
    let priority = v
        .get("PRIORITY")
        .and_then(Value::as_str)
        .and_then(|p| p.parse().ok());
    Some(LogLine {
        at_ms: at_us / 1000,
        priority,
        message,
    })
}

#[derive(Debug, thiserror::Error)]
#[error("cannot run journalctl: {0}")]
pub struct LogsError(#[from] std::io::Error);

/// The journal of `id`'s unit: the last [`BACKLOG`] entries, then each
/// new one. `directory`: a journal folder instead of the system's.
pub fn follow(
    directory: Option<&Path>,
    id: &ServerId,
) -> Result<impl Stream<Item = LogLine> + Send + 'static, LogsError> {
    let mut command = journalctl(directory, id, BACKLOG);
    command.arg("--follow").kill_on_drop(true);
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let lines = BufReader::new(stdout).lines();
    Ok(futures_util::stream::unfold(
        (child, lines),
        |(child, mut lines)| async move {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if let Some(entry) = parse(&line) {
                            return Some((entry, (child, lines)));
                        }
                    }
                    _ => return None,
                }
            }
        },
    ))
}

/// `journalctl` for the last `lines` entries of `id`'s unit, as JSON.
fn journalctl(directory: Option<&Path>, id: &ServerId, lines: u32) -> Command {
    let mut command = Command::new("journalctl");
    if let Some(d) = directory {
        command.arg("--directory").arg(d);
    }
    command
        .arg("--unit")
        .arg(unit_name(id))
        .args(["--output=json", "--no-pager", "--lines"])
        .arg(lines.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// How long [`tail`] waits for `journalctl`.
const TAIL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The last `lines` entries of `id`'s unit: what its engine said before
/// it failed or stopped answering.
pub async fn tail(
    directory: Option<&Path>,
    id: &ServerId,
    lines: u32,
) -> Result<Vec<LogLine>, LogsError> {
    let mut command = journalctl(directory, id, lines);
    command.kill_on_drop(true);
    let out = tokio::time::timeout(TAIL_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "journalctl took too long")
        })??;
    if !out.status.success() {
        return Err(LogsError(std::io::Error::other(format!(
            "journalctl {}",
            out.status
        ))));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(parse)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entries_become_lines() {
        let e = parse(r#"{"__REALTIME_TIMESTAMP":"1764770000123456","PRIORITY":"6","MESSAGE":"API listen on /run/x/docker.sock","_SYSTEMD_UNIT":"hearth-server@0a1b2c3d.service"}"#).unwrap();
        assert_eq!(
            e,
            LogLine {
                at_ms: 1_764_770_000_123,
                priority: Some(6),
                message: "API listen on /run/x/docker.sock".into()
            }
        );
        let bytes = parse(r#"{"__REALTIME_TIMESTAMP":"1000","MESSAGE":[104,105,255]}"#).unwrap();
        assert_eq!(bytes.message, "hi\u{fffd}");
        assert!(parse("not json").is_none());
        assert!(parse(r#"{"MESSAGE":"no time"}"#).is_none());
    }
}
