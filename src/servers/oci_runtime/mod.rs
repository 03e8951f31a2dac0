//! The OCI runtime a server's engine starts its containers with: runc,
//! once the container's own limits (`docker run --memory`, `--cpus`,
//! `--pids-limit`...) are back in its spec (issue 27, item 3).
//!
//! # Why a runtime in front of runc
//!
//! A rootless Docker 20.10 engine outside a login session has no cgroup
//! driver ("none", whatever `native.cgroupdriver` says): before handing a
//! container to containerd it removes the spec's `linux.resources` and
//! `linux.cgroupsPath`, so every container lands in the engine's cgroup
//! with no limit of its own, and `docker run --memory 64m` is silently
//! ignored. Yet the server's unit delegates its cgroup to the server's
//! user (`Delegate=yes`) and rootlesskit moves the engine into the
//! `engine` child (`--evacuate-cgroup2=engine`), so the engine may make
//! cgroups with controllers below the unit's. The engine's default
//! runtime is therefore [`main`] (`/usr/lib/hearth/oci-runtime`, which
//! runs `hearth oci-runtime`): on `create` it reads the container's
//! limits from the engine's own record of it
//! (`<data-root>/containers/<id>/hostconfig.json`, [`limits`]), puts them
//! into the bundle's `config.json` with the cgroup
//! `<unit's cgroup>/containers/<id>` ([`spec`], [`cgroup`]), and runs
//! runc with the same arguments. runc's rootless cgroup v2 manager then
//! makes that cgroup and writes `memory.max`, `cpu.max`, `pids.max` as
//! it would for a rootful engine; the server's own limits, on the unit's
//! cgroup, still hold over all its containers together.
//!
//! # What was not taken
//!
//! The way Docker documents, the systemd cgroup driver, needs the
//! server's user to have a systemd user manager (`user@UID.service`,
//! lingering) and its bus reachable from the engine, hence from any
//! container that mounts it: a member could then `systemd-run --user`
//! processes outside the server's sandboxed unit, which outlive the
//! server's stop. This runtime gives the server's user nothing new: it
//! runs as that user, in the engine's namespaces, and writes only into
//! the cgroup subtree already delegated to it and the bundle the engine
//! already owns. Choosing another runtime (`docker run --runtime runc`)
//! only drops the member's own per-container limits; the server's hold.
//!
//! On cgroup v1 (the development machine), where a rootless engine
//! cannot have cgroups of its own, it runs runc untouched.

pub mod args;
pub mod cgroup;
pub mod error;
pub mod limits;
pub mod run;
pub mod spec;

pub use run::main;
