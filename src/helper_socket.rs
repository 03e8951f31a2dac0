//! The socket side shared by hearth's root helpers (the servers' and the
//! update slots'): a listening socket only root and hearth's group can
//! reach, the peer checked by the kernel's word before a byte is read,
//! one bounded request line in, JSON lines out. What the lines mean is
//! each helper's own.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use serde::Serialize;

/// Binds the socket at `path` for root and `group` only (0660), replacing
/// a stale one.
pub fn bind(path: &Path, group: u32) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::os::unix::fs::chown(path, Some(0), Some(group))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}

/// Answers each connection of `listener` with `answer`, one after the
/// other, until the listener fails; a failed connection is logged.
pub fn serve_each(
    listener: &UnixListener,
    who: &str,
    mut answer: impl FnMut(UnixStream) -> std::io::Result<()>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept()?;
        if let Err(e) = answer(stream) {
            tracing::warn!(error = %e, "{who}: a connection failed");
        }
    }
}

/// A client's side: connects to `socket` and sends `request` as one
/// line; the stream, to read the answer from.
pub async fn send(
    socket: &Path,
    request: &impl Serialize,
) -> Result<tokio::net::UnixStream, SendError> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(SendError::Connect)?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    Ok(stream)
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("cannot send the request: {0}")]
    Write(#[from] std::io::Error),
}

/// One request line of at most `max` bytes (a longer one comes back cut,
/// longer than `max`, for the parser to refuse), without its newline.
pub fn read_line(stream: &UnixStream, max: usize) -> std::io::Result<String> {
    let mut line = Vec::new();
    BufReader::new(stream)
        .take(max as u64 + 1)
        .read_until(b'\n', &mut line)?;
    let text = String::from_utf8_lossy(&line);
    Ok(text.trim_end_matches('\n').to_string())
}

/// Writes `value` as one JSON line.
pub fn write_line(mut stream: &UnixStream, value: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_read_bounded_and_written_as_json() {
        let (a, b) = UnixStream::pair().unwrap();
        write_line(&a, &serde_json::json!({"op": "status"})).unwrap();
        assert_eq!(read_line(&b, 100).unwrap(), r#"{"op":"status"}"#);
        (&a).write_all(&[b'x'; 50]).unwrap();
        drop(a);
        assert_eq!(read_line(&b, 10).unwrap().len(), 11);
    }
}
