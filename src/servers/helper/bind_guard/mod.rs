//! The bind guard: a server's user binds on the host only the ports its
//! server publishes (issue 27). Without it, the engine's port driver
//! (rootlesskit, running as the server's user in the host's network
//! namespace) bound whatever a member's `docker run -p` named: member A
//! took B's published port first, and the port hearth then gave B's new
//! engine front, so one member could deny another.
//!
//! The ways there were, and why this one:
//!
//! - `SocketBindAllow=`/`SocketBindDeny=` in the server's unit: what we
//!   would use, but Debian 12's systemd is built without its BPF
//!   framework (`-BPF_FRAMEWORK`), so they do nothing there.
//! - A network namespace per server on the host side, its published
//!   ports forwarded into it: the server's user could bind nothing on
//!   the host at all. But each server needs a link, addresses, NAT, its
//!   own resolver address and forwarding rules kept in step with its
//!   ports: a second network plane, and a packet more on every
//!   connection.
//! - The engine's port driver run by hearth instead of the member's
//!   engine: rootlesskit has no way to hand it over, and hearth would
//!   need to enter each server's namespaces (root).
//! - This: a cgroup `bind` hook, the same kernel mechanism systemd's
//!   `SocketBindAllow=` uses, loaded by the root helper and linked to
//!   the root of the cgroup v2 hierarchy (so no process can move out
//!   from under it; the servers' users cannot link programs of their
//!   own). It asks who binds (the uid on the host) and where (the
//!   socket's network namespace); it costs a few instructions per
//!   `bind()` and nothing per packet, and needs Linux 5.14
//!   (`SO_NETNS_COOKIE`).
//!
//! The rules ([`program`]): a server's user binds its published ports
//! (with their protocol) and port 0 on the host; every other id of the
//! servers' range and of their subordinate ranges binds only port 0
//! there (a server whose rules are not in force yet, or were lost,
//! publishes nothing: closed, not open); everyone else, and anything in
//! a namespace of a server's own (its engine's network, its
//! containers), is not asked. The engine fronts' ports are never a
//! server's, so no server can take one.
//!
//! Its size: 16 instructions, and 3 per server plus 2 per published port
//! (a box of 100 servers publishing 8 ports each: 1,919). Jumps span at
//! most 32,767 instructions, so about 450 servers publishing 32 ports
//! each are the most one program holds; past that the guard is refused
//! ([`program::TooLarge`]) and a server's start fails saying so (closed,
//! not open). A BPF hash map of (uid, port) is the way past it, if a box
//! ever needs it.
//!
//! [`kernel`] loads and links the program, and swaps it in place when a
//! server's ports change; the helper persists the servers' ports and
//! puts the rules back when it starts (see `execute`).

pub mod insn;
pub mod kernel;
pub mod program;

pub use kernel::{GuardError, apply};
pub use program::Rule;
