//! The console's side of the control socket: one request, one answer.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::protocol::{Answer, Ask};

/// How long the daemon may take to answer an action (a password hash, a
/// new key, an `nft` transaction).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to say how it is (the banner asks every 3 s).
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon listening: the socket is not there or nobody accepts.
    #[error("hearth is not running (nothing answers on {})", .0.display())]
    NotRunning(std::path::PathBuf),
    #[error("cannot talk to hearth on its control socket")]
    Io(#[source] std::io::Error),
    #[error("hearth's answer is not one: {0}")]
    BadAnswer(String),
}

/// Sends `ask` to the daemon at `socket` and reads its answer, waiting at
/// most `timeout` for either.
pub fn ask(socket: &Path, ask: &Ask, timeout: Duration) -> Result<Answer, ClientError> {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ClientError::NotRunning(socket.to_path_buf()));
        }
        Err(e) => return Err(ClientError::Io(e)),
    };
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(ClientError::Io)?;
    let mut line = serde_json::to_vec(ask).expect("requests serialize");
    line.push(b'\n');
    // A refusal may be answered before the request is read, and the
    // write then fails: the answer says why.
    let written = stream.write_all(&line);
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    match (written, read) {
        (_, Ok(n)) if n > 0 => {}
        (Err(e), _) | (Ok(()), Err(e)) => return Err(ClientError::Io(e)),
        (Ok(()), Ok(_)) => return Err(ClientError::BadAnswer("no answer".into())),
    }
    serde_json::from_str(answer.trim_end()).map_err(|e| ClientError::BadAnswer(e.to_string()))
}
