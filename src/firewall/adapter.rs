//! The seam to the kernel: the `nft` binary behind [`Nft`], and
//! [`RecordingNft`], which records typed calls, keeps the last applied
//! script as its "kernel", and can be told to fail, for the manager's
//! unit tests (the real binary is tested in network namespaces).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::error::NftError;
use super::render::{BASE_TABLE, TABLE};

/// How long one `nft` run may take before it counts as failed: a pass
/// must stay short (see `reconcile`); 2,000 rules load in well under it.
const NFT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the kernel holds of hearth's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The boot-time table is loaded.
    pub base_present: bool,
    /// hearth's table, if loaded.
    pub hearth: Option<TableState>,
}

/// hearth's table as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableState {
    /// Its sets, chains and rules without counters or handles: what is
    /// compared with the state right after an apply to notice drift.
    pub shape: Value,
    /// Each counted rule's packets and bytes, by its comment.
    pub counters: Vec<RuleCounter>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleCounter {
    pub chain: String,
    /// The rule's comment (`allow 3`, `dropped`, ...).
    pub rule: String,
    pub packets: u64,
    pub bytes: u64,
}

/// The firewall's kernel interface.
pub trait Nft: Send + Sync + 'static {
    /// Whether nftables can be driven here; the reason when not.
    fn present(&self) -> Result<(), String>;
    /// `nft -c -f -`: would the kernel take this script? Changes nothing.
    fn check<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>>;
    /// `nft -f -`: applies the script as one transaction.
    fn apply<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>>;
    /// Reads hearth's tables back.
    fn list(&self) -> BoxFuture<'_, Result<Listing, NftError>>;
}

/// The real `nft`, run as a child process.
pub struct NftBinary {
    /// The program and the arguments before nft's own, e.g. `["nft"]`, or
    /// `["ip", "netns", "exec", "lab", "nft"]` for a test's namespace.
    argv: Vec<String>,
}

impl NftBinary {
    /// `nft` from the PATH (`/usr/sbin` under systemd).
    pub fn system() -> NftBinary {
        NftBinary {
            argv: vec!["nft".into()],
        }
    }

    /// `nft` run through a prefix, such as `ip netns exec NAME nft`.
    pub fn with_argv(argv: Vec<String>) -> NftBinary {
        NftBinary { argv }
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Vec<u8>, NftError> {
        let mut cmd = tokio::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .args(args)
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| NftError::Spawn {
            program: self.argv[0].clone(),
            source,
        })?;
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let text = text.to_owned();
            // Written beside the wait, so a full pipe cannot deadlock.
            tokio::spawn(async move {
                let _ = pipe.write_all(text.as_bytes()).await;
            });
        }
        let out = tokio::time::timeout(NFT_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| NftError::TimedOut {
                seconds: NFT_TIMEOUT.as_secs(),
            })?
            .map_err(|source| NftError::Spawn {
                program: self.argv[0].clone(),
                source,
            })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(NftError::Refused {
                message: refusal(&String::from_utf8_lossy(&out.stderr)),
            })
        }
    }
}

/// nft's complaint, shortened to what a person reads: its first lines.
fn refusal(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(6)
        .collect();
    if lines.is_empty() {
        "nft failed without a message".to_string()
    } else {
        lines.join("\n")
    }
}

impl Nft for NftBinary {
    fn present(&self) -> Result<(), String> {
        let program = &self.argv[0];
        if program.contains('/') {
            return if std::path::Path::new(program).exists() {
                Ok(())
            } else {
                Err(format!("{program} is not installed"))
            };
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/sbin".into()]);
        for dir in dirs {
            if dir.join(program).exists() {
                return Ok(());
            }
        }
        Err(format!(
            "the {program} program is not installed (Debian package nftables)"
        ))
    }

    fn check<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>> {
        Box::pin(async move { self.run(&["-c", "-f", "-"], Some(script)).await.map(drop) })
    }

    fn apply<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>> {
        Box::pin(async move { self.run(&["-f", "-"], Some(script)).await.map(drop) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Listing, NftError>> {
        Box::pin(async move {
            let tables = self.run(&["-j", "list", "tables", "inet"], None).await?;
            let tables: Value = serde_json::from_slice(&tables).map_err(NftError::Json)?;
            let names: Vec<&str> = items(&tables)
                .filter_map(|i| i.get("table")?.get("name")?.as_str())
                .collect();
            let base_present = names.contains(&BASE_TABLE);
            let hearth = if names.contains(&TABLE) {
                let json = self
                    .run(&["-j", "list", "table", "inet", TABLE], None)
                    .await?;
                let json: Value = serde_json::from_slice(&json).map_err(NftError::Json)?;
                Some(table_state(&json))
            } else {
                None
            };
            Ok(Listing {
                base_present,
                hearth,
            })
        })
    }
}

fn items(json: &Value) -> impl Iterator<Item = &Value> {
    json.get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Splits `nft -j list table` output into its shape and its counters.
pub fn table_state(json: &Value) -> TableState {
    let mut shape = Vec::new();
    let mut counters = Vec::new();
    for item in items(json) {
        if item.get("metainfo").is_some() {
            continue;
        }
        let mut item = item.clone();
        if let Some(rule) = item.get_mut("rule").and_then(Value::as_object_mut) {
            rule.remove("handle");
            let comment = rule
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let chain = rule
                .get("chain")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            for expr in rule
                .get_mut("expr")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(counter) = expr.get_mut("counter").and_then(Value::as_object_mut) {
                    let take = |k: &str| counter.get(k).and_then(Value::as_u64).unwrap_or(0);
                    if let Some(rule) = &comment {
                        counters.push(RuleCounter {
                            chain: chain.clone(),
                            rule: rule.clone(),
                            packets: take("packets"),
                            bytes: take("bytes"),
                        });
                    }
                    counter.insert("packets".into(), 0.into());
                    counter.insert("bytes".into(), 0.into());
                }
            }
        } else if let Some(obj) = item
            .as_object_mut()
            .and_then(|o| o.values_mut().next())
            .and_then(Value::as_object_mut)
        {
            obj.remove("handle");
        }
        shape.push(item);
    }
    TableState {
        shape: Value::Array(shape),
        counters,
    }
}

/// One call the manager made, as [`RecordingNft`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NftCall {
    Check(String),
    Apply(String),
    List,
}

/// A fake kernel for unit tests: an applied script becomes the table's
/// "shape"; [`RecordingNft::tamper`] changes it as a hand edit would.
#[derive(Default)]
pub struct RecordingNft {
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<NftCall>,
    table: Option<String>,
    base_present: bool,
    fail_apply: Option<String>,
    fail_check: Option<String>,
    absent: Option<String>,
}

impl RecordingNft {
    pub fn new() -> Arc<RecordingNft> {
        Arc::new(RecordingNft::default())
    }

    pub fn calls(&self) -> Vec<NftCall> {
        self.lock().calls.clone()
    }

    /// The applies so far, as their scripts.
    pub fn applied(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                NftCall::Apply(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Every apply from now on fails with `message` (None: succeeds).
    pub fn fail_apply(&self, message: Option<&str>) {
        self.lock().fail_apply = message.map(str::to_owned);
    }

    pub fn fail_check(&self, message: Option<&str>) {
        self.lock().fail_check = message.map(str::to_owned);
    }

    /// As if nftables were not installed.
    pub fn set_absent(&self, reason: Option<&str>) {
        self.lock().absent = reason.map(str::to_owned);
    }

    /// A hand edit: the table now holds `table` (None: deleted).
    pub fn tamper(&self, table: Option<&str>) {
        self.lock().table = table.map(str::to_owned);
    }

    /// `systemctl restart nftables`: the boot-time table is back.
    pub fn load_base(&self) {
        self.lock().base_present = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Nft for RecordingNft {
    fn present(&self) -> Result<(), String> {
        match &self.lock().absent {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    fn check<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>> {
        let mut s = self.lock();
        s.calls.push(NftCall::Check(script.to_owned()));
        let result = match &s.fail_check {
            Some(m) => Err(NftError::Refused { message: m.clone() }),
            None => Ok(()),
        };
        Box::pin(std::future::ready(result))
    }

    fn apply<'a>(&'a self, script: &'a str) -> BoxFuture<'a, Result<(), NftError>> {
        let mut s = self.lock();
        s.calls.push(NftCall::Apply(script.to_owned()));
        let result = match &s.fail_apply {
            Some(m) => Err(NftError::Refused { message: m.clone() }),
            None => {
                s.table = Some(script.to_owned());
                s.base_present = false;
                Ok(())
            }
        };
        Box::pin(std::future::ready(result))
    }

    fn list(&self) -> BoxFuture<'_, Result<Listing, NftError>> {
        let mut s = self.lock();
        s.calls.push(NftCall::List);
        let listing = Listing {
            base_present: s.base_present,
            hearth: s.table.as_ref().map(|t| TableState {
                shape: Value::String(t.clone()),
                counters: Vec::new(),
            }),
        };
        Box::pin(std::future::ready(Ok(listing)))
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_leaves_out_counters_and_handles_and_keeps_the_counts() {
        let json = serde_json::json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "hearth", "handle": 8}},
            {"rule": {"family": "inet", "table": "hearth", "chain": "input", "handle": 21,
                "comment": "allow 0",
                "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}},
                         {"counter": {"packets": 7, "bytes": 420}}, {"accept": null}]}}
        ]});
        let state = table_state(&json);
        assert_eq!(
            state.counters,
            [RuleCounter {
                chain: "input".into(),
                rule: "allow 0".into(),
                packets: 7,
                bytes: 420
            }]
        );
        let text = state.shape.to_string();
        assert!(
            !text.contains("handle") && !text.contains("metainfo"),
            "{text}"
        );
        assert!(text.contains("\"packets\":0"), "{text}");
        // The same rules with other counts and handles have the same shape.
        let mut later = json.clone();
        later["nftables"][2]["rule"]["handle"] = 99.into();
        later["nftables"][2]["rule"]["expr"][1]["counter"]["packets"] = 1000.into();
        assert_eq!(table_state(&later).shape, state.shape);
    }

    #[test]
    fn a_refusal_keeps_the_first_lines() {
        let text = "Error: syntax error\nline 2\n\n\nline3\nl4\nl5\nl6\nl7\n";
        assert_eq!(refusal(text).lines().count(), 6);
        assert_eq!(refusal(""), "nft failed without a message");
    }
}
