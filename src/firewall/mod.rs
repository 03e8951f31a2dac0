//! The host firewall: hearth's own nftables table, made from the policy
//! an admin keeps in the store.
//!
//! - `model`: the policy, validated at the boundary;
//! - `render`: the pure function from policy to one `nft -f` script;
//! - `adapter`: the `nft` binary behind a trait, and a recording fake;
//! - `error`: what can fail;
//! - `stored`: its records in the store (policy, pending change, servers);
//! - `service`: what the API asks (change, confirm), and the confirm window;
//! - `run`: the manager that `reconcile::run` drives.
//!
//! # Why the script form
//!
//! The ruleset is written as an `nft -f` script and read back as JSON
//! (`nft -j list table`). A script file is applied by `nft -f` as one
//! kernel transaction, reads like what `nft list` shows (so its golden
//! files are reviewable by anyone who knows nftables), and its syntax is
//! the documented, stable one; the JSON input form is as atomic but
//! several times longer for the same rules and less readable in review.
//! Reading back needs a structure, not text, to pick out the per-rule
//! counters and compare what the kernel holds: there JSON serves best.

pub mod adapter;
pub mod error;
pub mod model;
pub mod plan;
pub mod render;
pub mod run;
pub mod service;
pub mod start;
pub mod stored;

/// The boot-time ruleset (installed as /etc/nftables.conf), as built in.
pub const BASE_RULESET: &str = include_str!("../../nftables/hearth-base.nft");

/// The safe reset: hearth's table removed and the boot-time table put
/// back, in one transaction (for the recovery console).
pub async fn reset(nft: &dyn adapter::Nft) -> Result<(), error::NftError> {
    nft.apply(&render::reset_script(BASE_RULESET)).await
}
