//! The privileged helper of the servers: what needs root (making a
//! server's Linux user and subordinate ID ranges, preparing, mounting and
//! erasing its storage) is asked of a small root service over a unix
//! socket, never done by giving hearth root.
//!
//! - [`protocol`]: the closed set of requests, naming servers by id only;
//! - who may ask: [`crate::peer`] (`SO_PEERCRED`), hearth's uid only;
//! - [`execute`]: what each request does, on a [`host::Host`];
//! - [`layout`]: where a server's storage and socket live;
//! - [`bind_guard`]: the ports a server's user may bind on the host;
//! - [`serve`]: the service (`hearth helper`), one request at a time;
//! - [`client`]: hearth's side.

mod acl;
pub mod bind_guard;
pub mod client;
pub mod error;
pub mod execute;
pub mod host;
pub mod layout;
pub mod protocol;
pub mod serve;

pub use error::HelperError;
pub use layout::Layout;
