//! Errors of reading and validating the config.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// toml's message already names the key and the line.
    #[error("invalid config: {0}")]
    Syntax(String),
    #[error("invalid config: `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl ConfigError {
    pub(super) fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key,
            reason: reason.into(),
        }
    }
}
