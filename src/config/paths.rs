//! The box's fixed paths and file names. They live here, below every
//! module that reads them, so that the config's defaults, the managers,
//! the console and the recovery actions name one place, and no low module
//! imports a manager for a string.

/// The servers' disks and homes (the root helper's storage).
pub const SERVERS_STORAGE: &str = "/var/lib/hearth-servers";

/// The servers' runtime folders (their engines' sockets).
pub const SERVERS_RUN: &str = "/run/hearth-servers";

/// The servers' base image, a `docker save` tar the image ships.
pub const SERVER_BASE_IMAGE: &str = "/usr/share/hearth/server-base.tar";

/// The first-boot setup code, in the runtime folder, read by the console
/// (root-only: the runtime folder is hearth's).
pub const SETUP_CODE_FILE: &str = "setup-code";
