//! hearth's side of the update helper: one request per connection, its
//! progress handed to a callback as it comes, each line awaited at most
//! [`LINE_TIMEOUT`] and the whole request at most its kind's limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helper_socket::{SendError, send};

use super::protocol::{
    Answer, BundleId, Installed, KeyTrusted, OneShot, Progress, Reply, Request, Slot, Status, Step,
};

/// The longest the helper may stay silent: it says progress at least
/// every 16 MiB written.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest an install may take (a 1 GiB slot on a slow stick).
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The longest any other request may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the update helper at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the update helper connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the update helper said nothing for {}s", LINE_TIMEOUT.as_secs())]
    Silent,
    #[error("the update helper did not finish within {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("the update helper's answer is not one: {0}")]
    BadReply(String),
    /// The helper tried and failed, or refused: its own words.
    #[error("the update helper could not {what}{}: {error}", step_text(.step))]
    Failed {
        what: String,
        step: Option<Step>,
        error: String,
    },
}

impl ClientError {
    /// The install step the helper failed at, if it said.
    pub fn step(&self) -> Option<Step> {
        match self {
            ClientError::Failed { step, .. } => *step,
            _ => None,
        }
    }
}

fn step_text(step: &Option<Step>) -> String {
    step.map(|s| format!(" (at {s:?})")).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct UpdateHelperClient {
    socket: PathBuf,
}

impl UpdateHelperClient {
    pub fn new(socket: &Path) -> UpdateHelperClient {
        UpdateHelperClient {
            socket: socket.to_path_buf(),
        }
    }

    pub async fn status(&self) -> Result<Status, ClientError> {
        match self.ask(&Request::Status {}, &mut |_| {}).await? {
            Answer::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn install(
        &self,
        bundle: BundleId,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Installed, ClientError> {
        match self.ask(&Request::Install { bundle }, progress).await? {
            Answer::Installed(i) => Ok(i),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn mark_bad(&self, slot: Slot) -> Result<Status, ClientError> {
        match self.ask(&Request::MarkBad { slot }, &mut |_| {}).await? {
            Answer::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn boot_once(&self, slot: Slot) -> Result<OneShot, ClientError> {
        match self.ask(&Request::BootOnce { slot }, &mut |_| {}).await? {
            Answer::BootOnce(o) => Ok(o),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn trust_next_key(&self) -> Result<KeyTrusted, ClientError> {
        match self.ask(&Request::TrustNextKey {}, &mut |_| {}).await? {
            Answer::KeyTrusted(k) => Ok(k),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends `request`, hands each progress line to `progress`, and
    /// returns the answer.
    pub async fn ask(
        &self,
        request: &Request,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Answer, ClientError> {
        let limit = match request {
            Request::Install { .. } => INSTALL_TIMEOUT,
            _ => TIMEOUT,
        };
        tokio::time::timeout(limit, self.exchange(request, progress))
            .await
            .unwrap_or(Err(ClientError::TimedOut(limit)))
    }

    async fn exchange(
        &self,
        request: &Request,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Answer, ClientError> {
        let stream = send(&self.socket, request).await.map_err(|e| match e {
            SendError::Connect(source) => ClientError::Connect {
                path: self.socket.clone(),
                source,
            },
            SendError::Write(e) => ClientError::Io(e),
        })?;
        let mut lines = BufReader::new(stream);
        loop {
            let mut answer = String::new();
            let read = tokio::time::timeout(LINE_TIMEOUT, lines.read_line(&mut answer))
                .await
                .map_err(|_| ClientError::Silent)??;
            if read == 0 {
                return Err(ClientError::BadReply("the helper hung up".into()));
            }
            match serde_json::from_str::<Reply>(answer.trim_end()) {
                Ok(Reply::Progress(p)) => progress(p),
                Ok(Reply::Done { answer }) => return Ok(answer),
                Ok(Reply::Failed { step, error }) => {
                    return Err(ClientError::Failed {
                        what: request.describe(),
                        step,
                        error,
                    });
                }
                Err(e) => return Err(ClientError::BadReply(e.to_string())),
            }
        }
    }
}

fn unexpected(answer: &Answer) -> ClientError {
    ClientError::BadReply(format!("an answer to another request: {answer:?}"))
}
