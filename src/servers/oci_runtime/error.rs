//! What can stop the runtime from putting a container's limits in place:
//! one variant per failed step, with the path it was at.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OciRuntimeError {
    #[error("the engine's data root is unknown: {0} is not set")]
    DataRootUnset(&'static str),
    #[error("container id {0:?} is not a plain name")]
    ContainerId(String),
    #[error("cannot read the container's limits from {path}: {source}")]
    ReadLimits {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse the container's limits in {path}: {source}")]
    ParseLimits {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the container's limits in {path} are not valid: {reason}")]
    InvalidLimits { path: PathBuf, reason: String },
    #[error("cannot read the process's cgroup from {path}: {source}")]
    ReadCgroup {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the engine is not in its own cgroup: {found:?} in {path} (the server's unit moves it to \"{expected}\")"
    )]
    EngineCgroup {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    #[error("cannot read the container's spec {path}: {source}")]
    ReadSpec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse the container's spec {path}: {source}")]
    ParseSpec {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the container's spec {path} has no linux object")]
    SpecNotLinux { path: PathBuf },
    #[error("cannot write the container's spec {path}: {source}")]
    WriteSpec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {program}: {source}")]
    Exec {
        program: &'static str,
        source: std::io::Error,
    },
}
