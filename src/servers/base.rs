//! The base image every new server starts with: a Debian 12 root file
//! system built into the appliance image from the image's own pinned
//! packages (image/build.sh, image/server-base.list), imported into the
//! server's engine once, after the engine first answers, as `debian:12`
//! and `debian:bookworm`, so that a member's `FROM debian:12` and
//! `docker run debian:12` work offline on the first boot. A member who
//! removes it keeps it removed: the record remembers the import.

use std::path::Path;

use super::engine::{Engine, EngineError};

/// Where the appliance image has it.
pub const IMAGE_FILE: &str = crate::config::paths::SERVER_BASE_IMAGE;

/// The names it gets in each server (`repo`, `tag`); the first is the
/// import's.
pub const TAGS: [(&str, &str); 2] = [("debian", "12"), ("debian", "bookworm")];

/// How long an import may take (the tar is about 100 MiB).
const IMPORT_TIMEOUT_SECS: u64 = 600;

/// Imports `tar` into `engine` under [`TAGS`].
pub async fn load(engine: &Engine, tar: &Path) -> Result<(), EngineError> {
    let (repo, tag) = TAGS[0];
    engine.import(tar, repo, tag, IMPORT_TIMEOUT_SECS).await?;
    let first = format!("{repo}:{tag}");
    for (repo, tag) in &TAGS[1..] {
        engine.tag(&first, repo, tag).await?;
    }
    Ok(())
}
