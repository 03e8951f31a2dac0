//! The helper service (`hearth helper`, a root unit): it takes an already
//! bound listener, so that tests run it in a thread on a socket of their
//! own, and answers one request per connection, one connection at a time
//! (requests are rare, and serial execution means no two of them ever
//! edit `/etc/subuid` or one server's storage at once).
//!
//! Each request is logged with the peer's pid and its outcome: the
//! journal is the helper's audit trail; hearth audits what it asked in its
//! own store.

use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use super::execute::execute;
use super::host::Host;
use super::layout::Layout;
use super::protocol::{self, MAX_LINE, Reply};
use crate::helper_socket::{read_line, write_line};
use crate::peer;

pub use crate::helper_socket::bind;

/// One request at a time in this process: the helper is serial by
/// design, and tests that run several helpers in one process (or edit
/// the account files around them) must not interleave `useradd` and the
/// subordinate ID files' read-modify-write either.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` while no request of this process runs.
pub fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// How long a peer may take to send its line or read the answer.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// Who may ask, and where things go.
#[derive(Debug, Clone)]
pub struct HelperConfig {
    /// hearth's uid: the only peer served, and the user granted each
    /// engine's socket.
    pub client_uid: u32,
    pub layout: Layout,
}

/// Serves until the listener fails.
pub fn serve(
    listener: &UnixListener,
    config: &HelperConfig,
    host: &dyn Host,
) -> std::io::Result<()> {
    crate::helper_socket::serve_each(listener, "helper", |stream| answer(stream, config, host))
}

/// One connection: the peer checked, one line read, executed, answered.
pub fn answer(stream: UnixStream, config: &HelperConfig, host: &dyn Host) -> std::io::Result<()> {
    stream.set_read_timeout(Some(PEER_TIMEOUT))?;
    stream.set_write_timeout(Some(PEER_TIMEOUT))?;
    let pid = match peer::check(&stream, config.client_uid) {
        Ok(peer) => peer.pid,
        Err(e) => {
            tracing::warn!(error = %e, "helper: refused");
            return write_line(
                &stream,
                &Reply::Failed {
                    error: e.to_string(),
                },
            );
        }
    };
    let request = match protocol::parse(&read_line(&stream, MAX_LINE)?) {
        Ok(r) => r,
        Err(error) => {
            tracing::warn!(pid, %error, "helper: not a request");
            return write_line(&stream, &Reply::Failed { error });
        }
    };
    let what = request.describe();
    let outcome = match exclusive(|| execute(&request, host, &config.layout, config.client_uid)) {
        Ok(()) => {
            tracing::info!(pid, request = %what, "helper: done");
            Reply::Done
        }
        Err(e) => {
            tracing::warn!(pid, request = %what, error = %e, "helper: failed");
            Reply::Failed {
                error: e.to_string(),
            }
        }
    };
    write_line(&stream, &outcome)
}
