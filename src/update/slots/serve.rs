//! The update helper's service: it takes an already bound listener (so
//! tests run it in a thread on a socket of their own) and answers one
//! request per connection, one at a time in this process, under a lock
//! of its own: never the servers' helper's, so an install of minutes
//! holds up no server and no server holds up an install.
//!
//! Each request is logged with the peer's pid and its outcome: the
//! journal is the helper's audit trail.

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Mutex;
use std::time::Duration;

use super::execute::execute;
use super::host::Host;
use super::layout::Layout;
use super::protocol::{self, MAX_LINE, Reply};
use crate::helper_socket::{read_line, write_line};
use crate::peer;

pub use crate::helper_socket::bind;

/// One update request at a time in this process: two installs into one
/// slot would interleave their writes.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long the peer may take to send its line, and to take each line
/// of the answer: a peer gone quiet ends an install (whose slot then
/// has no entry: nothing boots it).
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct UpdateHelperConfig {
    /// hearth's uid: the only peer served.
    pub client_uid: u32,
    pub layout: Layout,
}

/// Serves until the listener fails.
pub fn serve(
    listener: &UnixListener,
    config: &UpdateHelperConfig,
    host: &dyn Host,
) -> std::io::Result<()> {
    crate::helper_socket::serve_each(listener, "update helper", |stream| {
        answer(stream, config, host)
    })
}

/// One connection: the peer checked, one line read, executed with its
/// progress sent as it goes, answered.
pub fn answer(
    stream: UnixStream,
    config: &UpdateHelperConfig,
    host: &dyn Host,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(PEER_TIMEOUT))?;
    stream.set_write_timeout(Some(PEER_TIMEOUT))?;
    let pid = match peer::check(&stream, config.client_uid) {
        Ok(peer) => peer.pid,
        Err(e) => {
            tracing::warn!(error = %e, "update helper: refused");
            let error = e.to_string();
            return write_line(&stream, &Reply::Failed { step: None, error });
        }
    };
    let request = match protocol::parse(&read_line(&stream, MAX_LINE)?) {
        Ok(r) => r,
        Err(error) => {
            tracing::warn!(pid, %error, "update helper: not a request");
            return write_line(&stream, &Reply::Failed { step: None, error });
        }
    };
    let what = request.describe();
    tracing::info!(pid, request = %what, "update helper: asked");
    let outcome = {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        execute(&request, host, &config.layout, &mut |progress| {
            write_line(&stream, &Reply::Progress(progress))
        })
    };
    let reply = match outcome {
        Ok(answer) => {
            tracing::info!(pid, request = %what, "update helper: done");
            Reply::Done { answer }
        }
        Err(failure) => {
            let step = failure.step;
            tracing::warn!(pid, request = %what, ?step, error = %failure.error, "update helper: failed");
            Reply::Failed {
                step,
                error: failure.error.to_string(),
            }
        }
    };
    write_line(&stream, &reply)
}
