//! Acknowledged writes against SIGKILL at random moments, shared by
//! `tests/crash_safety.rs` (a few hundred kills) and `benches/crash.rs`
//! (more): one set-up box on one state dir, started again and again;
//! each round checks that the store opens and that every write ever
//! acknowledged is there, then fires writes through the real API from
//! several clients at once and kills the daemon after a random delay.
//!
//! The write is `POST /api/v1/tokens`: cheap (no password hash), and its
//! 201 comes only after the store's transaction committed (redb's
//! default durability syncs the file at commit), so an acknowledged token
//! that is missing after a restart is a lost write. Each token is named
//! after its round and writer, so what the daemon lists tells which
//! writes it has. A write whose answer never came may be there or not,
//! but never in half: its record and its audit record are one
//! transaction, so the token ids made since the last check and the
//! `token.create` records since then must be the same set.
//!
//! The delays come from a seeded generator whose seed is printed;
//! `HEARTH_CRASH_SEED=<seed>` replays a run's delays (the moments the
//! kills land at still depend on the machine).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use nix::sys::signal::Signal;
use serde_json::Value;

use super::{Daemon, Options, TlsClient};

/// The parameters of a run.
pub struct Plan {
    pub rounds: usize,
    /// Clients writing at once in each round.
    pub writers: usize,
    /// The kill comes this long at most after the writes begin.
    pub max_delay: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Figures {
    pub seed: u64,
    pub kills: usize,
    /// Writes answered 201 before the kill; every one found again.
    pub acknowledged: usize,
    /// Writes sent with no answer (the kill came first).
    pub unanswered: usize,
    /// Of those, found committed after the restart.
    pub unanswered_present: usize,
    /// Acknowledged writes missing after a restart (a run with any fails).
    pub lost: usize,
    /// From spawn to READY=1, one per start.
    pub starts: Vec<Duration>,
    /// One per round: start, checks, writes, kill.
    pub rounds: Vec<Duration>,
    pub store_bytes: u64,
    pub tokens_at_end: usize,
}

/// xorshift64*: enough to spread the kills, and reproducible by seed.
pub struct Rng(u64);

impl Rng {
    /// From `HEARTH_CRASH_SEED` if set, else from the clock.
    pub fn from_env() -> Rng {
        let seed = std::env::var("HEARTH_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed.max(1))
    }

    pub fn seed(&self) -> u64 {
        self.0
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..=max`, to the microsecond.
    pub fn delay(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.next_u64() % (max.as_micros() as u64 + 1))
    }
}

/// An acknowledged write: the token's name, id and secret.
#[derive(Clone)]
struct Acked {
    id: String,
    token: String,
}

#[derive(Default)]
struct RoundLog {
    acked: Vec<(String, Acked)>,
    unanswered: Vec<String>,
}

/// Runs `plan` on a fresh box; panics, with the seed, at the first round
/// whose restart loses a write, will not open the store, or shows half a
/// change. `progress` is called after each round with the figures so far.
pub fn run(plan: &Plan, progress: &mut dyn FnMut(usize, &Figures)) -> Figures {
    let mut rng = Rng::from_env();
    let seed = rng.seed();
    eprintln!(
        "crash_writes: seed {seed} (HEARTH_CRASH_SEED={seed} replays the delays), {} rounds",
        plan.rounds
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("state");
    let mut figures = Figures {
        seed,
        ..Figures::default()
    };

    // The box is set up once; a token of the admin's drives the rest (a
    // password sign-in per round would cost a hash and trip the guard).
    let driver = {
        let mut d = Daemon::start(options(&state_dir));
        let admin = d.admin_client();
        let token = rt.block_on(async {
            let r = admin
                .send("POST", "/api/v1/tokens", r#"{"name":"driver"}"#, &[], &[])
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.json()["token"].as_str().unwrap().to_string()
        });
        d.stop();
        token
    };

    let mut acked: BTreeMap<String, Acked> = BTreeMap::new();
    // Token ids and the newest audit record at the last check.
    let mut known_ids: BTreeSet<String> = BTreeSet::new();
    let mut audit_high = 0u64;
    let mut last_round = RoundLog::default();
    for round in 0..=plan.rounds {
        let began = Instant::now();
        let spawned = Instant::now();
        let mut d = Daemon::spawn(options(&state_dir));
        d.wait_for("READY=1", Duration::from_secs(30));
        figures.starts.push(spawned.elapsed());
        let client = d.client();
        let ctx = format!("seed {seed}, round {round}");
        rt.block_on(async {
            store_ok(&client, &driver, &ctx, &d).await;
            let listed = tokens(&client, &driver, &ctx).await;
            // Every write ever acknowledged, whole.
            let lost: Vec<&String> = acked
                .iter()
                .filter(|(name, a)| listed.get(*name).is_none_or(|(id, _)| *id != a.id))
                .map(|(name, _)| name)
                .collect();
            if !lost.is_empty() {
                figures.lost += lost.len();
                panic!(
                    "{ctx}: {} acknowledged writes lost after the restart, e.g. {:?}; {} tokens listed\nstderr:\n{}",
                    lost.len(),
                    &lost[..lost.len().min(10)],
                    listed.len(),
                    super::last_lines(&d.stderr(), 30)
                );
            }
            for (name, (id, record)) in &listed {
                for field in ["id", "username", "name", "created_ms"] {
                    assert!(
                        !record[field].is_null(),
                        "{ctx}: token {name} ({id}) has no {field}: {record}"
                    );
                }
            }
            // The last round's writes are there as acknowledged: the
            // newest acknowledged token signs in.
            if let Some((_, a)) = last_round.acked.last() {
                let (status, _) = request(&client, "GET", "/api/v1/tokens", "", &a.token)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert_eq!(status, 200, "{ctx}: an acknowledged token does not sign in");
            }
            // No half change: the tokens made since the last check and the
            // audit records of their creation since then are one set.
            let ids: BTreeSet<String> = listed.values().map(|(id, _)| id.clone()).collect();
            let new_ids: BTreeSet<String> = ids.difference(&known_ids).cloned().collect();
            let (audited, high) = token_creations_since(&client, &driver, audit_high, &ctx).await;
            assert_eq!(
                new_ids, audited,
                "{ctx}: the tokens made since the last check (left) and their audit records (right) differ"
            );
            let unanswered_present = last_round
                .unanswered
                .iter()
                .filter(|n| listed.contains_key(*n))
                .count();
            figures.unanswered_present += unanswered_present;
            known_ids = ids;
            audit_high = high;
        });
        if round == plan.rounds {
            // The last start only checks.
            figures.tokens_at_end = known_ids.len();
            d.stop();
            figures.rounds.push(began.elapsed());
            break;
        }

        let delay = rng.delay(plan.max_delay);
        let log = Arc::new(Mutex::new(RoundLog::default()));
        rt.block_on(async {
            let writers: Vec<_> = (0..plan.writers)
                .map(|w| {
                    let (client, driver, log) = (client.clone(), driver.clone(), log.clone());
                    tokio::spawn(writer(client, driver, format!("r{round}-w{w}"), log))
                })
                .collect();
            tokio::time::sleep(delay).await;
            d.signal(Signal::SIGKILL);
            for w in writers {
                // A writer ends at its first failed write, which the kill
                // brings at once: its socket is closed with the process.
                tokio::time::timeout(Duration::from_secs(30), w)
                    .await
                    .expect("a writer ends after the kill")
                    .unwrap();
            }
        });
        d.wait_exit(Duration::from_secs(10))
            .expect("the daemon dies of SIGKILL");
        figures.kills += 1;
        last_round = std::mem::take(&mut *log.lock().unwrap());
        figures.acknowledged += last_round.acked.len();
        figures.unanswered += last_round.unanswered.len();
        for (name, a) in &last_round.acked {
            acked.insert(name.clone(), a.clone());
        }
        figures.rounds.push(began.elapsed());
        progress(round, &figures);
    }
    figures.store_bytes = std::fs::metadata(state_dir.join("state.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    figures
}

fn options(state_dir: &std::path::Path) -> Options {
    Options {
        state_dir: Some(PathBuf::from(state_dir)),
        ..Options::default()
    }
}

/// Writes tokens `{prefix}-{n}` one after another, on one connection
/// while it lasts, noting each as acknowledged or unanswered, until the
/// daemon no longer takes a connection (it was killed).
async fn writer(client: TlsClient, driver: String, prefix: String, log: Arc<Mutex<RoundLog>>) {
    let mut conn = None;
    for n in 0.. {
        if conn.is_none() {
            match connect(&client).await {
                Ok(send) => conn = Some(send),
                Err(_) => return,
            }
        }
        let send = conn.as_mut().unwrap();
        let name = format!("{prefix}-{n}");
        let body = format!(r#"{{"name":"{name}"}}"#);
        let answer = tokio::time::timeout(
            Duration::from_secs(20),
            send_on(send, &client, "POST", "/api/v1/tokens", &body, &driver),
        )
        .await;
        let mut entry = log.lock().unwrap();
        match answer {
            Ok(Ok((201, json))) => entry.acked.push((
                name,
                Acked {
                    id: json["id"].as_str().unwrap().to_string(),
                    token: json["token"].as_str().unwrap().to_string(),
                },
            )),
            Ok(Ok((status, json))) => panic!("write {name}: {status} {json}"),
            // Sent or not, committed or not: the restart tells. A new
            // connection is tried, which fails once the daemon is dead.
            _ => {
                entry.unanswered.push(name);
                conn = None;
            }
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(client: &TlsClient) -> Result<Sender, String> {
    let tls = client
        .connect(&[b"http/1.1"])
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(send)
}

/// One request on `send`; any failure (the daemon killed) is an `Err`.
async fn send_on(
    send: &mut Sender,
    client: &TlsClient,
    method: &str,
    path: &str,
    body: &str,
    bearer: &str,
) -> Result<(u16, Value), String> {
    send.ready().await.map_err(|e| format!("ready: {e}"))?;
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", client.addr.port()))
        .header("authorization", format!("Bearer {bearer}"));
    if !body.is_empty() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let response = send
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|e| format!("{status} not JSON: {e}"))?
    };
    Ok((status, json))
}

/// One request on a connection of its own.
pub async fn request(
    client: &TlsClient,
    method: &str,
    path: &str,
    body: &str,
    bearer: &str,
) -> Result<(u16, Value), String> {
    let mut send = connect(client).await?;
    send_on(&mut send, client, method, path, body, bearer).await
}

/// Waits until the health says the store is ok.
async fn store_ok(client: &TlsClient, driver: &str, ctx: &str, d: &Daemon) {
    crate::eventually_every(
        Duration::from_secs(20),
        Duration::from_millis(20),
        &format!("{ctx}: the store ok after the restart"),
        async || {
            let health = request(client, "GET", "/api/v1/health", "", driver).await;
            if let Ok((200, h)) = &health
                && h["components"]["store"]["state"] == "ok"
            {
                return Ok(());
            }
            Err(format!(
                "{health:?}\nstderr:\n{}",
                super::last_lines(&d.stderr(), 30)
            ))
        },
    )
    .await
}

/// The admin's tokens by name: their ids and records.
async fn tokens(client: &TlsClient, driver: &str, ctx: &str) -> HashMap<String, (String, Value)> {
    let (status, list) = request(client, "GET", "/api/v1/tokens", "", driver)
        .await
        .unwrap_or_else(|e| panic!("{ctx}: list tokens: {e}"));
    assert_eq!(status, 200, "{ctx}: list tokens: {list}");
    let mut out = HashMap::new();
    for t in list.as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        let id = t["id"].as_str().unwrap().to_string();
        assert!(
            out.insert(name.clone(), (id, t.clone())).is_none(),
            "{ctx}: two tokens named {name}"
        );
    }
    out
}

/// The targets (token ids) of the admin's `token.create` audit records
/// newer than record `after`, and the newest record's id.
async fn token_creations_since(
    client: &TlsClient,
    driver: &str,
    after: u64,
    ctx: &str,
) -> (BTreeSet<String>, u64) {
    let mut out = BTreeSet::new();
    let mut high = after;
    let mut before: Option<u64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/api/v1/audit?actor=admin&limit=500&before={b}"),
            None => "/api/v1/audit?actor=admin&limit=500".to_string(),
        };
        let (status, page) = request(client, "GET", &path, "", driver)
            .await
            .unwrap_or_else(|e| panic!("{ctx}: audit: {e}"));
        assert_eq!(status, 200, "{ctx}: audit: {page}");
        let records = page["records"].as_array().unwrap();
        for r in records {
            let id = r["id"].as_u64().unwrap();
            if id <= after {
                return (out, high);
            }
            high = high.max(id);
            if r["action"] == "token.create" {
                out.insert(r["target"].as_str().unwrap().to_string());
            }
        }
        match page["next"].as_u64() {
            Some(next) if !records.is_empty() => before = Some(next),
            _ => return (out, high),
        }
    }
}
