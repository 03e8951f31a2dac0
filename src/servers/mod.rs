//! Virtual servers: an isolated Docker host per member (issue 16).
//!
//! What is here, in the managers' shape: the model ([`model`]: a
//! server's validated shape and the per-member quota), its records
//! ([`stored`]), what the API asks ([`service`]), the pure plan
//! ([`plan`]), the machinery behind a trait ([`adapter`]: the root helper
//! and systemd), the errors ([`error`]), the manager on
//! `reconcile::run` ([`run`]) and its start ([`start`]). Around it: the
//! root helper itself ([`helper`], the only code that runs as root), each
//! engine followed ([`engines`], [`engine`]), the units' signals
//! ([`signals`]), the usage read from the cgroups ([`usage`]), the
//! members' access to their engines over TLS ([`access`]), the logs
//! ([`logs`]) and the base image ([`base`]). The shape follows the spike
//! below.
//!
//! # The shape, and what was tried (spike, 2026-12-03)
//!
//! A `--privileged` Docker-in-Docker container on the host's root engine
//! hands a member root on the host; hearth never does that. Instead each
//! server is a **rootless Docker engine** (`dockerd-rootless.sh`, Debian
//! 12's docker.io 20.10.24 with rootlesskit 1.1.0 and slirp4netns 1.2.0)
//! under a Linux user of its own with a 65,536-wide subordinate ID range,
//! run as a systemd unit with `Delegate=yes` whose cgroup carries the
//! limits. Tried on the development machine (full report:
//! `docs/spikes/16-rootless-engines.md`; that machine has cgroup v1 and
//! no systemd as PID 1, so the unit was stood in for by hand-made
//! cgroups, and the appliance must be checked again):
//!
//! - the engine answers 0.5 to 1.0 s after start; API 1.41; idle memory
//!   of engine, rootlesskit and slirp4netns 108 MiB (51 MiB without page
//!   cache); `docker run --rm img true` about 0.38 s; storage is native
//!   overlay2 in the user namespace (no fuse-overlayfs needed);
//! - as root in a `--privileged` container inside it: no block devices,
//!   `core_pattern` not writable, no module loading, only its own
//!   processes, `--pid=host` refused; a fork bomb stops at the unit's
//!   `TasksMax` and a memory hog is killed inside its limit, the host and
//!   the engine unharmed;
//! - **network, the weak spot**: `--disable-host-loopback` keeps the
//!   host's 127.0.0.1 out of reach, but the host's own LAN address is
//!   reachable from the containers, and rootlesskit publishes ports on
//!   the host's 0.0.0.0 from one shared port space. The firewall's user
//!   plane (by socket owner, the server's uid) must close the first, and
//!   hearth must allocate published ports per server;
//! - the engine's TLS port is reachable from the host only through
//!   rootlesskit's port driver; a TLS front owned by hearth before each
//!   engine's unix socket keeps the server keys out of members' reach;
//! - `newuidmap` refuses a symbolic link for `/etc/subuid` (ELOOP): on
//!   the read-only `/etc` the helper bind-mounts the files from `/var`
//!   and edits them in place; entries name the user (a numeric uid makes
//!   rootlesskit 1.1.0 map the range twice);
//! - Docker-in-Docker inside the rootless engine works (a volume for the
//!   inner `/var/lib/docker`, a private cgroup namespace);
//! - stopping must kill the unit's whole cgroup: a container process
//!   outlived rootlesskit and kept `userdel` from removing the user.

pub mod access;
pub mod adapter;
pub mod base;
pub mod engine;
pub mod engines;
pub mod error;
pub mod helper;
pub mod logs;
pub mod model;
pub mod oci_runtime;
pub mod plan;
pub mod progress;
pub mod room;
pub mod run;
pub mod service;
pub mod signals;
pub mod start;
pub mod stored;
pub mod subids;
pub mod usage;
