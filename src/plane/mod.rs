//! The user plane: what the firewall and the servers share about the
//! members' servers. The servers' manager decides it (which uids are a
//! server's, which ports they publish, which interfaces they sit behind)
//! and keeps it in the store; the firewall renders it into the ruleset.
//! It sits below both, so neither imports the other.

pub mod stored;

use serde::{Deserialize, Serialize};

/// The Linux users of the servers (`hs-<id>`) take their uid and gid from
/// here, and nothing else does: the firewall treats every socket owned by
/// a uid in this range as a server's (see `firewall::render`), so a
/// server's traffic is confined from its first packet, before hearth
/// knows its uid. 1,000 ids, as many as the servers' engine ports, at
/// the top of the range Debian leaves to local users (below
/// systemd-homed's 60001).
pub const SERVER_UIDS: std::ops::RangeInclusive<u32> = 59_000..=59_999;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// The servers' part of the ruleset (the user plane), written by the
/// servers' manager, not by admins. Every socket owned by a uid in
/// [`SERVER_UIDS`] is a server's whatever this holds (so a server is
/// confined before hearth knows it); this adds the interfaces servers
/// sit behind (for servers with a network of their own), what the
/// servers publish, and hearth's fronts to their engines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPlane {
    pub interfaces: Vec<InterfaceName>,
    /// Ports of the box a server listens on: open like the box's own, and
    /// answered only by the server they belong to.
    #[serde(default)]
    pub published: Vec<ServerPort>,
    /// hearth's TLS fronts to the servers' engines: open to the sources
    /// of hearth's own port.
    #[serde(default)]
    pub fronts: Vec<u16>,
    /// Ports of the box the servers may reach (DNS, say).
    #[serde(default)]
    pub offered: Vec<(Protocol, u16)>,
}

/// A port a server publishes on the box, with the uid its engine runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerPort {
    pub uid: u32,
    pub protocol: Protocol,
    pub port: u16,
}

/// A Linux network interface name: 1 to 15 bytes of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InterfaceName(String);

impl TryFrom<String> for InterfaceName {
    type Error = &'static str;
    fn try_from(s: String) -> Result<InterfaceName, &'static str> {
        let ok = !s.is_empty()
            && s.len() <= 15
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if ok {
            Ok(InterfaceName(s))
        } else {
            Err("an interface name is 1 to 15 of A-Z, a-z, 0-9, '_', '.', '-'")
        }
    }
}

impl From<InterfaceName> for String {
    fn from(n: InterfaceName) -> String {
        n.0
    }
}

impl InterfaceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
