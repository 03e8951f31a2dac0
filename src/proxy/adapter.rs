//! The seam to Caddy: its admin API behind [`CaddyAdmin`], spoken over
//! its unix socket by [`CaddySocket`], and [`RecordingCaddy`], which
//! records the loads, keeps the last good config as its "running" one
//! and can be told to refuse or to be down, for the manager's unit tests
//! (the real Caddy is tested in `tests/proxy_caddy.rs`).
//!
//! Caddy 2.6.2 over a unix socket accepts only an empty `Host` header
//! (its allowed origins there are `[""]`; `localhost` gets 403 "host not
//! allowed"), so every request sends `Host:` with nothing after it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::error::CaddyError;

/// How long one admin call may take: a load of 1,000 sites takes well
/// under a second; a pass must stay short (see `reconcile`).
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Caddy's admin API.
pub trait CaddyAdmin: Send + Sync + 'static {
    /// `POST /load`: replaces Caddy's whole config. On a refusal Caddy
    /// keeps running its previous one.
    fn load<'a>(&'a self, config: &'a Value) -> BoxFuture<'a, Result<(), CaddyError>>;
    /// `GET /config/`: the config Caddy runs.
    fn config(&self) -> BoxFuture<'_, Result<Value, CaddyError>>;
}

/// The real admin API, over its unix socket.
pub struct CaddySocket {
    path: PathBuf,
}

impl CaddySocket {
    pub fn new(path: impl Into<PathBuf>) -> CaddySocket {
        CaddySocket { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One request on a connection of its own (Caddy closes after a
    /// load anyway); returns the status and the body.
    async fn call(
        &self,
        method: &'static str,
        path: &'static str,
        body: Option<Vec<u8>>,
        what: &'static str,
    ) -> Result<(u16, Bytes), CaddyError> {
        let exchange = async {
            let stream = tokio::net::UnixStream::connect(&self.path)
                .await
                .map_err(|source| CaddyError::Connect {
                    path: self.path.clone(),
                    source,
                })?;
            let failed = |message: String| CaddyError::Exchange {
                path: self.path.clone(),
                what,
                message,
            };
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| failed(e.to_string()))?;
            // Drives the connection until the exchange is done; it ends
            // with it (or when the sender is dropped).
            tokio::spawn(connection);
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, "");
            if body.is_some() {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| failed(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| failed(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| CaddyError::TimedOut(CALL_TIMEOUT.as_secs()))?
    }
}

/// Caddy's error text: `{"error": "..."}`, or the body as it is.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

impl CaddyAdmin for CaddySocket {
    fn load<'a>(&'a self, config: &'a Value) -> BoxFuture<'a, Result<(), CaddyError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(config).map_err(|e| CaddyError::Exchange {
                path: self.path.clone(),
                what: "the load",
                message: e.to_string(),
            })?;
            let (status, body) = self.call("POST", "/load", Some(body), "the load").await?;
            if status == 200 {
                Ok(())
            } else {
                Err(CaddyError::Refused {
                    what: "the config",
                    status,
                    message: error_message(&body),
                })
            }
        })
    }

    fn config(&self) -> BoxFuture<'_, Result<Value, CaddyError>> {
        Box::pin(async move {
            let what = "the config read-back";
            let (status, body) = self.call("GET", "/config/", None, what).await?;
            if status != 200 {
                return Err(CaddyError::Refused {
                    what,
                    status,
                    message: error_message(&body),
                });
            }
            serde_json::from_slice(&body).map_err(|e| CaddyError::Exchange {
                path: self.path.clone(),
                what,
                message: format!("not JSON: {e}"),
            })
        })
    }
}

/// A typed call the fake saw.
#[derive(Debug, Clone, PartialEq)]
pub enum CaddyCall {
    Load(Value),
    Config,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<CaddyCall>,
    /// What "Caddy" runs: its boot config is `null`.
    running: Value,
    refuse: Option<String>,
    down: bool,
    /// Takes a load but runs something else (as if another client loaded
    /// right after it).
    swap_after_load: Option<Value>,
}

/// A Caddy in memory, for unit tests.
#[derive(Clone, Default)]
pub struct RecordingCaddy {
    state: Arc<Mutex<FakeState>>,
}

impl RecordingCaddy {
    pub fn new() -> RecordingCaddy {
        RecordingCaddy::default()
    }

    pub fn calls(&self) -> Vec<CaddyCall> {
        self.lock().calls.clone()
    }

    pub fn loads(&self) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| matches!(c, CaddyCall::Load(_)))
            .count()
    }

    pub fn running(&self) -> Value {
        self.lock().running.clone()
    }

    /// Every load from now on is refused with `message` (None: taken).
    pub fn refuse(&self, message: Option<&str>) {
        self.lock().refuse = message.map(str::to_owned);
    }

    /// Every load from now on is taken, and then `other` runs instead.
    pub fn swap_after_load(&self, other: Option<Value>) {
        self.lock().swap_after_load = other;
    }

    /// As if Caddy were stopped (true) or started again (false), back on
    /// its boot config.
    pub fn set_down(&self, down: bool) {
        let mut s = self.lock();
        s.down = down;
        s.running = Value::Null;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn down_error() -> CaddyError {
        CaddyError::Connect {
            path: PathBuf::from("/fake/admin.sock"),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        }
    }
}

impl CaddyAdmin for RecordingCaddy {
    fn load<'a>(&'a self, config: &'a Value) -> BoxFuture<'a, Result<(), CaddyError>> {
        Box::pin(async move {
            let mut s = self.lock();
            if s.down {
                return Err(Self::down_error());
            }
            s.calls.push(CaddyCall::Load(config.clone()));
            if let Some(message) = s.refuse.clone() {
                return Err(CaddyError::Refused {
                    what: "the config",
                    status: 400,
                    message,
                });
            }
            s.running = s.swap_after_load.clone().unwrap_or_else(|| config.clone());
            Ok(())
        })
    }

    fn config(&self) -> BoxFuture<'_, Result<Value, CaddyError>> {
        Box::pin(async move {
            let mut s = self.lock();
            if s.down {
                return Err(Self::down_error());
            }
            s.calls.push(CaddyCall::Config);
            Ok(s.running.clone())
        })
    }
}

#[cfg(test)]
mod props;
