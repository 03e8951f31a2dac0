//! The one loop every manager runs: the nftables firewall, the Caddy
//! proxy, the Docker servers and systemd all bring their component to the
//! state kept in the store the same way, through [`run`].
//!
//! What this module owns: when a pass runs and what follows from its
//! outcome. It wakes on a change of the store tables the manager depends
//! on, on the component's own events and on a drift timer; merges bursts
//! of wake-ups into one pass; backs off with jitter when a pass fails;
//! sets the component's entry in [`crate::health::Health`]; publishes the
//! component's status (a [`Report`]) after every pass; and beats for the
//! systemd watchdog. A manager holds no `select!`, timer or retry of its
//! own.
//!
//! # The contract for managers
//!
//! A pass is: read the desired state ([`Manager::desired`]), look at the
//! real component ([`Manager::observe`]), compute a plan with a pure
//! function ([`Manager::plan`]), and, unless the plan says there is
//! nothing to do ([`Plan::is_noop`]), apply it ([`Manager::apply`]).
//! Every manager module has the same files:
//!
//! - `model`: the typed desired state, kept in the store, and in
//!   `model/status.rs` the status the manager publishes (its topic and,
//!   as [`crate::events::Visible`], what members see of it);
//! - `plan`: the pass's `Desired` and `Observed`, and the pure functions
//!   from them to a `Plan` (an nftables script, a Caddy JSON config, a
//!   list of server steps) and to the status of a pass that needed
//!   nothing; tested beside it without I/O;
//! - `adapter`: a trait with the real implementation (the `nft` binary,
//!   Caddy's admin socket, bollard, zbus) and a recording fake;
//! - `error`: the manager's error enum (`Manager::Error`), its variants
//!   named after the failed operation, and its `From … for Refusal`;
//! - `run`: the `impl Manager` (I/O only; `plan` delegates), its tests
//!   driving passes with `once` (test builds only);
//! - `start`: what the daemon calls: builds the service the API uses and
//!   hands the manager, its [`Wakes`] and its [`Timing`] to
//!   [`Launch::manager`]; where the component is not managed here (`--dev`),
//!   [`Launch::not_present`] and no manager.
//!
//! Adding a manager touches its own folder, and outside it: a `pub mod`
//! in `lib.rs`, its layer in `tests/layering/layers.txt`, its name in
//! [`crate::component::Component`], its topic (with its readers) in
//! [`crate::events::Topic`], and one line in the daemon calling its
//! `start`.
//!
//! What a manager must guarantee:
//!
//! - **Apply is atomic or cancel-safe.** At shutdown [`run`] drops the
//!   pass in flight, in whatever await it is in. The firewall's `nft -f`
//!   (one kernel transaction) and Caddy's `POST /load` (one config swap)
//!   are atomic; a Docker manager must order its actions so that dropping
//!   it between two of them leaves a state the next pass can plan from.
//! - **A pass is short.** The loop does not beat the watchdog while a
//!   pass runs (see [`run`]), so a pass must end well within the
//!   watchdog's stale age (a few seconds): adapters put timeouts on their
//!   I/O, so a slow component becomes an error, and long jobs (an image
//!   pull) are started by `apply` and followed through the component's
//!   events, never awaited.
//! - **Errors carry no secrets.** An error's text, with its sources,
//!   goes to the log and to the published report (the `cause`, on a topic
//!   only admins may follow); the public `GET /api/v1/health` shows only
//!   which step failed. Say what failed and where (a path, a unit, a
//!   container name), never a password, token or key.
//! - **A missing component is not an error.** `observe` returns
//!   [`Observation::NotPresent`] (no Docker under `--dev`, no nft binary)
//!   and the component is shown `disabled`; the loop looks again on the
//!   drift timer only.
//!
//! # What it deliberately does not do
//!
//! - It does not read the store or know the hub: the manager reads its
//!   own tables, the daemon hands in the store's change receivers (in
//!   [`Wakes`]) and a publish callback (in [`ReconcileContext`]).
//! - It does not time a pass out: a hung pass stops the heartbeat and
//!   the watchdog restarts the daemon, which is the honest outcome for a
//!   component call that never returns.
//! - It does not run managers in parallel with themselves or share a
//!   task between them: one [`run`] per manager, each on its own task.
//! - It keeps no history of passes; the log and the audit trail do.
//!
//! # Wiring, in a manager's `start`
//!
//! ```ignore
//! launch.manager(
//!     FirewallManager::new(service.clone(), nft),
//!     Wakes::new().watch("store", store.watch(Table::Firewall)),
//!     Timing { drift: DRIFT, ..Timing::default() },
//! );
//! ```

mod backoff;
mod context;
mod error;
mod follow;
mod launch;
mod manager;
mod pass;
mod report;
mod run;
pub mod store_probe;
mod tasks;
mod wakes;

pub use backoff::{Backoff, Jitter};
pub use context::{Publish, ReconcileContext, Timing};
pub use error::PassError;
pub use follow::{Connected, Follower, Pace, follow};
pub use launch::Launch;
pub use manager::{Component, Manager, Observation, Plan};
#[cfg(test)]
pub use pass::once;
pub use report::{MemberReport, Report, Status};
pub use run::run;
pub use tasks::Tasks;
pub use wakes::Wakes;
