//! hearth: the control daemon of a home-server appliance.
//!
//! # Layout
//!
//! The modules below depend only downwards:
//!
//! - [`accounts`]: the service layer for users and the first-boot setup.
//! - [`cli`]: argument parsing, exit codes; the only place that prints.
//! - [`auth`]: usernames, passwords, roles and permissions, secrets,
//!   session lifetimes, the setup code.
//! - [`daemon`]: wiring: opens the store, starts every component, serves,
//!   speaks sd-notify, handles signals, shuts down.
//! - [`http`]: the HTTPS server (hyper + rustls), limits, router, API
//!   handlers and the embedded pages (`src/web/`).
//! - [`metrics`]: readers of /proc and /sys, rates, history, Prometheus
//!   text, and the sampler task.
//! - [`reconcile`]: the one loop every component manager runs (wake-ups,
//!   merging, backoff, health, status, heartbeat).
//! - [`events`]: the event hub (topics, replay ring, SSE frames).
//! - [`liveness`]: heartbeats of the internal loops, for the watchdog.
//! - [`component`]: the names of the daemon's components, once.
//! - [`health`]: the health registry of the daemon's components.
//! - [`host`]: facts about the machine the pages show: host name,
//!   network addresses, the time zones it knows.
//! - [`store`]: the redb state store, schema migrations, the audit log,
//!   the metrics history table.
//! - [`firewall`]: the nftables firewall's policy, ruleset and manager.
//! - [`proxy`]: the members' domains and the manager that drives Caddy.
//! - [`names`]: validated host names, domain names, time zones, e-mail.
//! - [`invalid`]: a field of the API's JSON that is wrong, and why.
//! - [`config`]: the static configuration, parsed without I/O.
//! - [`clock`]: the wall clock, read in one place.
//! - [`fsutil`]: private folders and crash-safe file writes.
//! - [`logging`]: tracing to the journal or to stderr.
//! - [`console`]: the recovery console (`hearth console`) on tty1 and the
//!   serial port: banner, menu, terminal.
//! - [`control`]: the root-only control socket the console asks the
//!   daemon on.
//! - [`recovery`]: what the console may do to the box's state, carried
//!   out the same by the daemon and by the console with the daemon down;
//!   the factory reset.
//! - [`peer`]: who is at the other end of a local socket (`SO_PEERCRED`).

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod component;
pub mod config;
pub mod connection_epoch;
pub mod console;
pub mod control;
pub mod daemon;
pub mod events;
pub mod firewall;
pub mod fsutil;
#[cfg(test)]
pub(crate) mod golden;
pub mod health;
pub mod host;
pub mod http;
pub mod invalid;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod peer;
pub mod proxy;
pub mod reconcile;
pub mod recovery;
pub mod servers;
pub mod store;
pub mod system;
