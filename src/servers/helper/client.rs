//! hearth's side of the helper: one request per connection, its answer
//! awaited within a limit (making a file system takes seconds, never
//! minutes: the image is sparse and its inode tables are made lazily).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::protocol::{Reply, Request};
use crate::helper_socket::{SendError, send};

/// The longest a request may take, the reply included.
pub const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the helper at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the helper connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the helper did not answer within {}s", TIMEOUT.as_secs())]
    TimedOut,
    #[error("the helper's answer is not one: {0}")]
    BadReply(String),
    /// The helper tried and failed, or refused: its own words.
    #[error("the helper could not {what}: {error}")]
    Failed { what: String, error: String },
}

impl ClientError {
    fn sending(socket: &Path, e: SendError) -> ClientError {
        match e {
            SendError::Connect(source) => ClientError::Connect {
                path: socket.to_path_buf(),
                source,
            },
            SendError::Write(e) => ClientError::Io(e),
        }
    }
}

/// A client of the helper at `socket`.
#[derive(Debug, Clone)]
pub struct HelperClient {
    socket: PathBuf,
}

impl HelperClient {
    pub fn new(socket: &Path) -> HelperClient {
        HelperClient {
            socket: socket.to_path_buf(),
        }
    }

    pub async fn ask(&self, request: &Request) -> Result<(), ClientError> {
        match tokio::time::timeout(TIMEOUT, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::TimedOut),
        }
    }

    async fn exchange(&self, request: &Request) -> Result<(), ClientError> {
        let stream = send(&self.socket, request)
            .await
            .map_err(|e| ClientError::sending(&self.socket, e))?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).await?;
        match serde_json::from_str::<Reply>(answer.trim_end()) {
            Ok(Reply::Done) => Ok(()),
            Ok(Reply::Failed { error }) => Err(ClientError::Failed {
                what: request.describe(),
                error,
            }),
            Err(e) => Err(ClientError::BadReply(e.to_string())),
        }
    }
}
