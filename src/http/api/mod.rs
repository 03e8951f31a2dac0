//! The JSON API under `/api/v1`, one file per resource, and `/metrics`.
//! Each handler is given what the route table parsed out of the request
//! (see [`crate::http::routes`]), calls a service, and encodes the answer.

pub use crate::http::router::{Actor, Reply};

pub mod audit;
pub mod box_info;
pub mod domains;
pub mod events;
pub mod firewall;
pub mod health;
pub mod metrics;
pub mod password;
pub mod power;
pub mod process;
pub mod server_certs;
pub mod server_logs;
pub mod servers;
pub mod services;
pub mod session;
pub mod settings;
pub mod setup;
pub mod status;
pub mod timezones;
pub mod tokens;
pub mod two_factor;
pub mod users;
