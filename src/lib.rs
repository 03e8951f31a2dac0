//! hearth: the control daemon of a home-server appliance.
//!
//! # Layout
//!
//! The modules below depend only downwards, in the layers of
//! `tests/layering/layers.txt` (a test fails on an upward import or a
//! cycle), top to bottom:
//!
//! - [`cli`]: argument parsing, exit codes; the only place that prints.
//! - [`console`]: the recovery console (`hearth console`) on tty1 and the
//!   serial port: banner, menu, terminal.
//! - [`daemon`]: wiring: opens the store, starts every component, serves,
//!   speaks sd-notify, handles signals, shuts down.
//! - [`http`]: the HTTPS server (hyper + rustls), limits, the route table
//!   and its router, API handlers and the embedded pages (`src/web/`).
//! - [`control`]: the root-only control socket the console asks the
//!   daemon on, and the console's requests carried out.
//! - [`recovery`]: what the console may do to the box's state, carried
//!   out the same by the daemon and by the console with the daemon down;
//!   the factory reset.
//! - The managers, each on [`reconcile`]: [`proxy`] (the members'
//!   domains and Caddy), [`servers`] (the members' virtual servers, their
//!   rootless engines and the root helper), [`firewall`] (nftables),
//!   [`system`] (systemd over D-Bus, the host name and time zone, the
//!   process's privileges), [`update`] (signed A/B updates of the
//!   appliance: the bundle, its manifest and signature, and the root
//!   helper that writes a slot).
//! - [`metrics`]: readers of /proc and /sys, rates, history, Prometheus
//!   text, and the sampler task.
//! - [`accounts`]: the service layer for users and the first-boot setup.
//! - [`plane`]: the user plane the firewall and the servers share (the
//!   servers' uids, published ports, interfaces).
//! - [`reconcile`]: the one loop every component manager runs (wake-ups,
//!   merging, backoff, health, status, heartbeat), how a manager is
//!   launched, the followers of event streams, and the store's periodic
//!   check.
//! - [`host`]: facts about the machine the pages show: host name,
//!   network addresses, the time zones it knows.
//! - [`events`]: the event hub (topics, replay ring, SSE frames).
//! - [`store`]: the redb state store, schema migrations, the audit log,
//!   the metrics history table.
//! - [`auth`]: usernames, passwords, roles and permissions, secrets,
//!   session lifetimes, the setup code.
//! - [`tls`]: the box's certificate (self-signed or the owner's), its
//!   fingerprint, the rustls server config, subject names for the
//!   servers' CA.
//! - [`config`]: the static configuration, parsed without I/O, and the
//!   box's fixed paths.
//! - [`logging`]: tracing to the journal or to stderr.
//! - The lowest layer, used by all: [`clock`] (the wall clock),
//!   [`fsutil`] (private folders, crash-safe writes), [`names`]
//!   (validated host names, domain names, time zones, e-mail),
//!   [`invalid`] (a field of the API's JSON that is wrong, and why),
//!   [`refusal`] (why a request was refused, in the kinds every domain
//!   shares),
//!   [`peer`] (`SO_PEERCRED`), [`helper_socket`] (the root helpers'
//!   socket, peer check and JSON lines), [`component`] (the components' names),
//!   [`connection_epoch`] (proof a client reached the box anew), [`liveness`] (the loops' heartbeats, for the
//!   watchdog), [`notify`] (sd-notify: ready, reloading, stopping, and
//!   the watchdog's ping while every loop beats), [`health`] (the components' health registry), [`query`]
//!   (a URI's query string).

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
pub mod helper_socket;
pub mod host;
pub mod http;
pub mod invalid;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod peer;
pub mod plane;
pub mod proxy;
pub mod query;
pub mod reconcile;
pub mod recovery;
pub mod refusal;
pub mod servers;
pub mod store;
pub mod system;
pub mod tls;
pub mod update;
