//! Virtual servers: an isolated Docker host per member (issue 16).
//!
//! What exists so far is the model ([`model`]): a server's validated
//! shape and the per-member quota checked at create. The engines, the
//! privileged helper, the reconciler and the API come next; the spike
//! that decides their shape (a rootless engine per server, under a user
//! of its own) is recorded in the session note.

pub mod error;
pub mod model;
pub mod service;
pub mod stored;
