//! The firewall policy: what an admin decides, typed and validated at the
//! boundary ([`Policy::try_from`] a [`PolicyInput`], the API's JSON), so
//! that rendering never meets a bad value. Errors name the field as a
//! path (`allow[2].ports`) and say why.
//!
//! What is not here is fixed by hearth, not chosen: loopback, established
//! and related traffic, the ICMP types networking needs, DHCP replies,
//! and the user plane's denied ranges (see `render`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use crate::plane::{InterfaceName, Protocol, SERVER_UIDS, ServerPort, UserPlane};

/// The ports the box uses itself; a forward on one is refused.
pub const WEB_PORTS: [u16; 2] = [80, 443];

/// One port or an inclusive range, written `22` or `8000-8100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn one(port: u16) -> PortRange {
        PortRange {
            first: port,
            last: port,
        }
    }

    pub fn contains(self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    pub fn overlaps(self, other: PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl TryFrom<&str> for PortRange {
    type Error = &'static str;

    fn try_from(s: &str) -> Result<PortRange, &'static str> {
        let port = |p: &str| -> Result<u16, &'static str> {
            match p.trim().parse::<u16>() {
                Ok(0) | Err(_) => Err("must be a port from 1 to 65535, or a range like 8000-8100"),
                Ok(p) => Ok(p),
            }
        };
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => (port(s)?, port(s)?),
        };
        if first > last {
            return Err("is a range whose first port is above its last");
        }
        Ok(PortRange { first, last })
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            s.serialize_u16(self.first)
        } else {
            s.serialize_str(&self.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PortRange, D::Error> {
        let text = match PortsInput::deserialize(d)? {
            PortsInput::Number(n) => n.to_string(),
            PortsInput::Text(t) => t,
        };
        PortRange::try_from(text.as_str()).map_err(serde::de::Error::custom)
    }
}

/// A port in JSON: a number or a string (for ranges).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PortsInput {
    Number(u64),
    Text(String),
}

/// Opens ports of the box itself to the given sources (any when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllowRule {
    pub protocol: Protocol,
    #[schema(value_type = PortsInput)]
    pub ports: PortRange,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub from: Vec<IpNet>,
}

/// Sends what arrives on the box's `port` to `to`:`to_port` behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PortForward {
    pub protocol: Protocol,
    pub port: u16,
    #[schema(value_type = String)]
    pub to: IpAddr,
    pub to_port: u16,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub from: Vec<IpNet>,
}

/// What an admin decides. Everything not allowed here is dropped and
/// counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    /// Who may reach hearth's own HTTPS port; empty: nobody but the box.
    #[schema(value_type = Vec<String>)]
    pub https_from: Vec<IpNet>,
    /// Ports 80 and 443, where Caddy serves the members' domains.
    pub web: bool,
    pub allow: Vec<AllowRule>,
    pub forwards: Vec<PortForward>,
}

impl Default for Policy {
    /// Open to hearth's port and the web ports from anywhere, nothing
    /// else: what a fresh box needs to be set up and to serve.
    fn default() -> Policy {
        Policy {
            https_from: vec![any_v4(), any_v6()],
            web: true,
            allow: Vec::new(),
            forwards: Vec::new(),
        }
    }
}

pub fn any_v4() -> IpNet {
    "0.0.0.0/0".parse().expect("a valid network")
}

pub fn any_v6() -> IpNet {
    "::/0".parse().expect("a valid network")
}

pub use crate::invalid::Invalid;
use crate::invalid::invalid;

/// The API's JSON, before validation: strings where the types are strict,
/// so that an error can name the field.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub https_from: Vec<String>,
    #[serde(default = "yes")]
    pub web: bool,
    #[serde(default)]
    pub allow: Vec<AllowInput>,
    #[serde(default)]
    pub forwards: Vec<ForwardInput>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowInput {
    pub protocol: String,
    pub ports: PortsInput,
    #[serde(default)]
    pub from: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardInput {
    pub protocol: String,
    pub port: PortsInput,
    pub to: String,
    pub to_port: PortsInput,
    #[serde(default)]
    pub from: Vec<String>,
}

fn protocol(field: String, s: &str) -> Result<Protocol, Invalid> {
    match s {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        _ => Err(invalid(field, "must be \"tcp\" or \"udp\"")),
    }
}

fn networks(field: &str, list: &[String]) -> Result<Vec<IpNet>, Invalid> {
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.trim();
            // A bare address is a network of one.
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    invalid(
                        format!("{field}[{i}]"),
                        "must be an address or a network like 192.168.1.0/24 or fd00::/8",
                    )
                })
        })
        .collect()
}

fn ports(field: String, p: &PortsInput) -> Result<PortRange, Invalid> {
    let text = match p {
        PortsInput::Number(n) => n.to_string(),
        PortsInput::Text(t) => t.clone(),
    };
    PortRange::try_from(text.as_str()).map_err(|m| invalid(field, m))
}

fn single_port(field: String, p: &PortsInput) -> Result<u16, Invalid> {
    let range = ports(field.clone(), p)?;
    if range.first != range.last {
        return Err(invalid(field, "must be one port, not a range"));
    }
    Ok(range.first)
}

/// Limits that keep a policy within what one transaction applies quickly.
pub const MAX_RULES: usize = 5000;
pub const MAX_SOURCES: usize = 256;

impl TryFrom<PolicyInput> for Policy {
    type Error = Invalid;

    fn try_from(input: PolicyInput) -> Result<Policy, Invalid> {
        if input.allow.len() + input.forwards.len() > MAX_RULES {
            return Err(invalid(
                "allow",
                format!("and forwards together may hold at most {MAX_RULES} rules"),
            ));
        }
        let https_from = networks("https_from", &input.https_from)?;
        if https_from.len() > MAX_SOURCES {
            return Err(invalid(
                "https_from",
                format!("may list at most {MAX_SOURCES} networks"),
            ));
        }
        let mut allow = Vec::with_capacity(input.allow.len());
        for (i, a) in input.allow.iter().enumerate() {
            let at = |f: &str| format!("allow[{i}].{f}");
            let from = networks(&at("from"), &a.from)?;
            if from.len() > MAX_SOURCES {
                return Err(invalid(
                    at("from"),
                    format!("may list at most {MAX_SOURCES} networks"),
                ));
            }
            allow.push(AllowRule {
                protocol: protocol(at("protocol"), &a.protocol)?,
                ports: ports(at("ports"), &a.ports)?,
                from,
            });
        }
        let mut forwards = Vec::with_capacity(input.forwards.len());
        for (i, f) in input.forwards.iter().enumerate() {
            let at = |n: &str| format!("forwards[{i}].{n}");
            let to: IpAddr =
                f.to.trim().parse().map_err(|_| {
                    invalid(at("to"), "must be an IPv4 or IPv6 address behind the box")
                })?;
            if to.is_loopback() || to.is_unspecified() || to.is_multicast() {
                return Err(invalid(
                    at("to"),
                    "must be an address of a host behind the box, not loopback, multicast or 0.0.0.0",
                ));
            }
            let from = networks(&at("from"), &f.from)?;
            if from.len() > MAX_SOURCES {
                return Err(invalid(
                    at("from"),
                    format!("may list at most {MAX_SOURCES} networks"),
                ));
            }
            let same_family = |n: &IpNet| {
                matches!(
                    (n, to),
                    (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_))
                )
            };
            if !from.is_empty() && !from.iter().any(same_family) {
                return Err(invalid(
                    at("from"),
                    "has no network of the target's address family, so nothing could reach it",
                ));
            }
            forwards.push(PortForward {
                protocol: protocol(at("protocol"), &f.protocol)?,
                port: single_port(at("port"), &f.port)?,
                to,
                to_port: single_port(at("to_port"), &f.to_port)?,
                from,
            });
        }
        Ok(Policy {
            https_from,
            web: input.web,
            allow,
            forwards,
        })
    }
}

impl Policy {
    /// Checks what depends on the box: forwards that collide with each
    /// other or with a port the box uses itself (`https_port`, the web
    /// ports, the ports opened by allow rules, DHCP's client ports).
    pub fn check_ports(&self, https_port: u16) -> Result<(), Invalid> {
        let mut seen: BTreeMap<(Protocol, u16), usize> = BTreeMap::new();
        for (i, f) in self.forwards.iter().enumerate() {
            let field = format!("forwards[{i}].port");
            let what = format!("{} {}", f.protocol.name(), f.port);
            if let Some(j) = seen.insert((f.protocol, f.port), i) {
                return Err(invalid(
                    field,
                    format!("({what}) collides with forwards[{j}] ({what}): one port, one target"),
                ));
            }
            if let Some(used) = box_use(self, f.protocol, f.port, https_port) {
                return Err(invalid(
                    field,
                    format!("({what}) is a port the box uses itself: {used}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether `source` may reach hearth's port under this policy.
    pub fn reaches_https(&self, source: IpAddr) -> bool {
        let source = canonical(source);
        source.is_loopback() || self.https_from.iter().any(|n| n.contains(&source))
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// What the box itself does with `protocol`/`port`, if anything.
fn box_use(policy: &Policy, protocol: Protocol, port: u16, https_port: u16) -> Option<String> {
    if protocol == Protocol::Tcp && port == https_port {
        return Some(format!("hearth's own HTTPS port ({https_port})"));
    }
    if protocol == Protocol::Tcp && WEB_PORTS.contains(&port) {
        return Some("the web ports (80 and 443, Caddy)".to_string());
    }
    if protocol == Protocol::Udp && (port == 68 || port == 546) {
        return Some("the DHCP client (udp 68 and 546)".to_string());
    }
    policy
        .allow
        .iter()
        .position(|a| a.protocol == protocol && a.ports.contains(port))
        .map(|i| format!("allow[{i}] opens it on the box"))
}

#[cfg(test)]
mod props;
pub mod status;
#[cfg(test)]
mod tests;
