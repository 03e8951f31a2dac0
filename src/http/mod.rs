//! The HTTPS interface: TLS and certificates, the accept loop and its
//! limits, the router, the error type, and the API handlers.
//!
//! Handlers are thin: they parse and validate into typed values, call a
//! module through [`context::AppContext`], and encode the reply.

pub mod access_changes;
pub mod activity;
pub mod api;
mod blocking;
pub mod context;
pub mod error;
pub mod forwarded;
pub mod guard;
pub mod limits;
pub mod openapi;
pub mod origin;
pub mod pages;
mod prefixed;
pub mod request;
pub mod response;
pub mod router;
pub mod routes;
pub mod server;
mod stream_h1;
pub mod user_agent;

pub use blocking::{blocking, blocking_with};
pub use context::AppContext;
pub use server::serve;
