//! Members' access to their servers' engines with the standard tools: a
//! certificate authority ([`ca`]), members' client certificates
//! ([`certs`]: issued once, listed, revoked), and the TLS front
//! ([`front`]) that checks them before it joins a connection to the
//! engine's socket.

pub mod ca;
pub mod certs;
pub mod front;
