//! The control socket, `/run/hearth/control.sock`: how the recovery
//! console (root, on tty1 and the serial port) asks the running daemon to
//! do what [`crate::recovery`] does, on the store the daemon holds.
//!
//! - [`protocol`]: the closed set of requests and answers, one JSON line
//!   each way per connection;
//! - [`server`]: the daemon's side; only root is answered, by the kernel's
//!   word (`SO_PEERCRED`), whatever the file's mode;
//! - [`client`]: the console's side.

pub mod boot_check;
pub mod carry_out;
pub mod client;
pub mod protocol;
pub mod server;
pub mod start;

/// The socket's file name in the runtime dir.
pub const SOCKET_FILE: &str = "control.sock";
