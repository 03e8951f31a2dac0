//! One server's engine, as hearth reaches it: bollard over the engine's
//! unix socket (`/run/hearth-servers/<id>/docker.sock`, hearth's through
//! an ACL the helper set).
//!
//! # The API version
//!
//! Debian 12's engine is Docker 20.10, which answers API 1.41 at most.
//! bollard 0.21.1 builds every request path without the version prefix
//! (its issue #736: `Url::join` with an absolute path drops the
//! `/v1.53` it put in front), whatever version it is given; an
//! unversioned request is served at the engine's own default version,
//! which for 20.10 is 1.41. So hearth gets 1.41 answers, and reads only
//! fields 1.41 has. A test records what bollard sends
//! (`unversioned_paths_are_what_bollard_sends`): a bollard that starts
//! sending `/v1.53/...` fails it, before an engine refuses hearth in the
//! field. [`Engine::version`] refuses an engine older than [`MIN_API`].

use std::path::{Path, PathBuf};

use futures_util::{Stream, StreamExt};
use serde::Serialize;

/// The oldest API hearth speaks: Docker 20.10's.
pub const MIN_API: (u32, u32) = (1, 41);

/// How long one engine call may take (bollard's own limit, in seconds).
const CALL_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the engine at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: bollard::errors::Error,
    },
    #[error("the engine at {path} failed to {what}: {source}")]
    Call {
        path: PathBuf,
        what: &'static str,
        source: bollard::errors::Error,
    },
    #[error("the engine at {path} refused to {what}: {detail}")]
    Refused {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
    #[error("cannot read the image {path}: {source}")]
    ReadImage {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the engine at {path} speaks API {api}; hearth needs {}.{} or later", MIN_API.0, MIN_API.1)]
    TooOld { path: PathBuf, api: String },
}

/// What the engine says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineVersion {
    /// Docker's version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// The API version it answers at, e.g. `1.41`.
    pub api: String,
}

/// A container inside a server, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `created`, `running`, `exited`, ...
    pub state: String,
    /// The engine's words, e.g. `Up 3 minutes`.
    pub status: String,
}

/// Something that happened in the engine (a container started, died, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineEvent {
    /// `container`, `image`, `network`, `volume`, ...
    pub kind: String,
    /// `start`, `die`, `destroy`, ...
    pub action: String,
    /// The object's id.
    pub id: String,
}

/// A client of one engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: bollard::Docker,
    path: PathBuf,
}

impl Engine {
    /// A client for the engine at `socket`; fails when there is no socket.
    pub fn connect(socket: &Path) -> Result<Engine, EngineError> {
        let docker = bollard::Docker::connect_with_unix(
            &socket.to_string_lossy(),
            CALL_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|source| EngineError::Connect {
            path: socket.to_path_buf(),
            source,
        })?;
        Ok(Engine {
            docker,
            path: socket.to_path_buf(),
        })
    }

    /// Imports the root file system tar at `tar` as `repo:tag` (`docker
    /// import`), streamed from the file; with a client of its own whose
    /// limit is `timeout_secs`, as a large image takes longer than a call.
    pub async fn import(
        &self,
        tar: &Path,
        repo: &str,
        tag: &str,
        timeout_secs: u64,
    ) -> Result<(), EngineError> {
        let docker = bollard::Docker::connect_with_unix(
            &self.path.to_string_lossy(),
            timeout_secs,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|source| EngineError::Connect {
            path: self.path.clone(),
            source,
        })?;
        let file = tokio::fs::File::open(tar)
            .await
            .map_err(|source| EngineError::ReadImage {
                path: tar.to_path_buf(),
                source,
            })?;
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
        let options = bollard::query_parameters::CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        let mut progress = docker.create_image(Some(options), Some(body), None);
        while let Some(step) = progress.next().await {
            let step = step.map_err(self.call("import an image"))?;
            if let Some(detail) = step.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Refused {
                    path: self.path.clone(),
                    what: "import an image",
                    detail,
                });
            }
        }
        Ok(())
    }

    /// Gives the image `image` the name `repo:tag` too.
    pub async fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        let options = bollard::query_parameters::TagImageOptionsBuilder::new()
            .repo(repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(self.call("tag an image"))
    }

    /// Whether it has an image named `name` (`repo:tag`).
    pub async fn has_image(&self, name: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_image(name).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(self.call("look up an image")(e)),
        }
    }

    /// The bollard client, for what this module does not wrap (tests).
    pub fn docker(&self) -> &bollard::Docker {
        &self.docker
    }

    fn call(&self, what: &'static str) -> impl FnOnce(bollard::errors::Error) -> EngineError + '_ {
        move |source| EngineError::Call {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// Whether it answers at all.
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.docker
            .ping()
            .await
            .map_err(self.call("answer a ping"))?;
        Ok(())
    }

    /// Its version, refused when older than [`MIN_API`].
    pub async fn version(&self) -> Result<EngineVersion, EngineError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(self.call("tell its version"))?;
        let api = v.api_version.unwrap_or_default();
        if !at_least(&api, MIN_API) {
            return Err(EngineError::TooOld {
                path: self.path.clone(),
                api,
            });
        }
        Ok(EngineVersion {
            version: v.version.unwrap_or_default(),
            api,
        })
    }

    /// Every container, running or not.
    pub async fn containers(&self) -> Result<Vec<Container>, EngineError> {
        let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
            .all(true)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(self.call("list its containers"))?;
        Ok(list
            .into_iter()
            .map(|c| Container {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
            })
            .collect())
    }

    /// The engine's events since `since` (whole seconds of the Unix
    /// epoch): the stream asks only when first polled, so a caller that
    /// looks at the engine and then follows it passes the time it looked,
    /// and misses nothing in between. Ends when the engine goes away.
    pub fn events(
        &self,
        since: std::time::SystemTime,
    ) -> impl Stream<Item = Result<EngineEvent, EngineError>> + '_ {
        let since = since
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let options = bollard::query_parameters::EventsOptionsBuilder::new()
            .since(&since)
            .build();
        self.docker.events(Some(options)).map(move |e| {
            let e = e.map_err(self.call("stream its events"))?;
            Ok(EngineEvent {
                kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
                action: e.action.unwrap_or_default(),
                id: e.actor.and_then(|a| a.id).unwrap_or_default(),
            })
        })
    }
}

/// Whether `api` ("1.41") is at least `min`.
fn at_least(api: &str, min: (u32, u32)) -> bool {
    let mut parts = api.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= min,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn api_versions_compare_by_number() {
        assert!(at_least("1.41", (1, 41)));
        assert!(at_least("1.53", (1, 41)));
        assert!(!at_least("1.40", (1, 41)));
        assert!(!at_least("1.9", (1, 41)));
        assert!(!at_least("", (1, 41)));
        assert!(!at_least("one.two", (1, 41)));
    }

    /// What bollard writes on the socket: the request line of `/version`.
    async fn request_line_of_version(api: &str) -> (String, Result<EngineVersion, EngineError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let body = format!(r#"{{"Version":"20.10.24","ApiVersion":"{api}"}}"#);
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(reply.as_bytes()).await.unwrap();
            head.lines().next().unwrap_or_default().to_string()
        });
        let engine = Engine::connect(&path).unwrap();
        let version = engine.version().await;
        (server.await.unwrap(), version)
    }

    #[tokio::test]
    async fn unversioned_paths_are_what_bollard_sends() {
        let (line, version) = request_line_of_version("1.41").await;
        // See the module doc: if this becomes `/v1.53/version`, Docker
        // 20.10 refuses it ("client version 1.53 is too new"); pin 1.41.
        assert_eq!(line, "GET /version HTTP/1.1");
        assert_eq!(
            version.unwrap(),
            EngineVersion {
                version: "20.10.24".into(),
                api: "1.41".into()
            }
        );
    }

    #[tokio::test]
    async fn an_engine_older_than_1_41_is_refused() {
        let (_, version) = request_line_of_version("1.40").await;
        let err = version.unwrap_err();
        assert!(matches!(err, EngineError::TooOld { ref api, .. } if api == "1.40"));
        assert!(err.to_string().contains("docker.sock"), "{err}");
    }

    #[test]
    fn no_socket_is_an_error_naming_the_path() {
        let err = Engine::connect(Path::new("/nonexistent/docker.sock")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/docker.sock"),
            "{err}"
        );
    }
}
