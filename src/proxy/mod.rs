//! The members' domains, served by Caddy with automatic HTTPS: hearth
//! keeps the records and drives Caddy through its admin API.
//!
//! - `model`: a domain record, validated at the boundary;
//! - `render`: the pure function from the records to Caddy's JSON config;
//! - `adapter`: Caddy's admin API behind a trait, and a recording fake;
//! - `error`: what can fail;
//! - `stored`: the records in the store;
//! - `service`: what the API asks (list, add, replace, remove), by role,
//!   and what the on-demand ask endpoint answers from;
//! - `run`: the manager that `reconcile::run` drives;
//! - `ask`: the loopback endpoint Caddy asks before an on-demand
//!   certificate;
//! - `probe` and `health`: each domain's DNS and certificate, checked.
//! - `upstream`: hearth itself as an upstream (the `hearth` target).

pub mod adapter;
pub mod ask;
pub mod checker;
pub mod error;
pub mod health;
pub mod model;
pub mod plan;
pub mod probe;
pub mod render;
pub mod run;
pub mod service;
pub mod start;
pub mod stored;
pub mod upstream;

#[cfg(test)]
pub(crate) mod testkit;
