//! The daemon's side of the control socket. It takes an already bound
//! listener and a shutdown token (so tests run it in-process), answers one
//! request per connection, and serves root only: the peer's uid comes from
//! the kernel (`SO_PEERCRED`), so a socket file whose mode went wrong still
//! lets nobody else in. A refusal is answered (the console says why) and
//! logged without anything the peer sent.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::protocol::{Answer, Ask, HealthLine, MAX_LINE, Request};
use crate::accounts::{Sessions, Setup};
use crate::control::carry_out::{carry_out, failed};
use crate::health::Health;
use crate::recovery::Recovery;
use crate::tls::{CertSlot, TlsMaterial};

/// How long a peer may take to send its line.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// The only uid answered.
const ROOT: u32 = 0;

/// What the daemon keeps in memory beside the store, which a console
/// action must also reach.
pub struct Live {
    pub recovery: Arc<Recovery>,
    pub health: Health,
    pub setup: Arc<Setup>,
    pub sessions: Arc<Sessions>,
    /// The certificate served now (the banner shows its fingerprint).
    pub slot: CertSlot,
    /// Puts a new certificate in force everywhere the daemon uses it
    /// (the listener, the health entry, Caddy's pin for the box's own
    /// domain), as a reload does.
    pub use_certificate: Arc<dyn Fn(&TlsMaterial) + Send + Sync>,
    /// The HTTPS listener's port, for the admin URLs the banner shows.
    pub https_port: u16,
}

/// Binds the socket at `path` (0600, the daemon's own; root passes by
/// privilege), replacing a stale one.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers connections until `shutdown`; each on a task of its own, so a
/// slow peer holds up nobody.
pub async fn serve(listener: UnixListener, live: Arc<Live>, shutdown: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let live = live.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, &live).await {
                tracing::debug!(error = %e, "control socket: connection ended early");
            }
        });
    }
}

async fn connection(mut stream: UnixStream, live: &Live) -> std::io::Result<()> {
    let answer = match crate::peer::check(&stream, ROOT) {
        Err(e) => {
            tracing::warn!(error = %e, "control socket: refused");
            Answer::Refused {
                message: "only root may use hearth's control socket".into(),
            }
        }
        Ok(_) => match read_ask(&mut stream).await {
            Ok(ask) => answer(live, ask).await,
            Err(message) => Answer::Failed { message },
        },
    };
    let mut line = serde_json::to_vec(&answer).expect("answers serialize");
    line.push(b'\n');
    stream.write_all(&line).await?;
    stream.shutdown().await
}

async fn read_ask(read: &mut UnixStream) -> Result<Ask, String> {
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64 + 1));
    match tokio::time::timeout(PEER_TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => return Err("no request within 10 s".into()),
        Ok(Err(e)) => return Err(format!("cannot read the request: {e}")),
        Ok(Ok(_)) => {}
    }
    if line.len() > MAX_LINE {
        return Err(format!("the request is longer than {MAX_LINE} bytes"));
    }
    // serde's message may quote what was sent: it goes back to the peer,
    // root, only, and is never logged.
    serde_json::from_str(line.trim_end()).map_err(|e| format!("not a request: {e}"))
}

/// Carries out `ask` with the daemon's own store and memory.
pub async fn answer(live: &Live, ask: Ask) -> Answer {
    match &ask.request {
        Request::Status => Answer::Status {
            setup_complete: live.setup.is_complete(),
            https_port: live.https_port,
            fingerprint: live
                .slot
                .current()
                .cert
                .first()
                .map(|der| crate::tls::fingerprint(der)),
            health: health_lines(&live.health),
        },
        Request::ResetPassword { username, .. } => {
            let username = username.clone();
            let answer = carry_out(live.recovery.clone(), ask).await;
            if matches!(answer, Answer::Done { .. }) {
                live.sessions.forgive(&username);
            }
            answer
        }
        Request::NewCertificate => {
            let recovery = live.recovery.clone();
            let terminal = ask.terminal.clone();
            let made = tokio::task::spawn_blocking(move || recovery.new_certificate(&terminal))
                .await
                .map_err(|e| Answer::Failed {
                    message: format!("the certificate task failed: {e}"),
                });
            match made {
                Err(answer) => answer,
                Ok(Ok(material)) => {
                    (live.use_certificate)(&material);
                    tracing::info!(fingerprint = %material.fingerprint, "the console made a new TLS certificate");
                    Answer::Done {
                        message: material.fingerprint,
                    }
                }
                Ok(Err(e)) => failed(&e),
            }
        }
        _ => carry_out(live.recovery.clone(), ask).await,
    }
}

fn health_lines(health: &Health) -> Vec<HealthLine> {
    health
        .snapshot()
        .into_iter()
        .map(|(component, h)| HealthLine {
            component: component.name().to_string(),
            state: serde_json::to_value(h.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            detail: h.detail,
        })
        .collect()
}
