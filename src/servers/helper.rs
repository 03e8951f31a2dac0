//! The privileged helper's side of the servers: what needs root (making a
//! server's Linux user and subordinate ID ranges, preparing and erasing
//! its storage) is asked of a small root service over a unix socket, never
//! done by giving hearth root. This module owns the closed set of
//! requests ([`protocol`]) and who may ask ([`peer`]); the service that
//! carries them out comes with the servers' manager.

pub mod peer;
pub mod protocol;
