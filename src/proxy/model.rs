//! A domain: a host name that Caddy serves for a member, where its
//! requests go, and how its TLS works. Typed and validated at the
//! boundary ([`Domain::from_input`] with the box's [`Context`]), so that
//! rendering never meets a bad value; errors name the field.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::invalid::{Invalid, invalid};
use crate::names::DomainName;
use crate::servers::model::{PortProtocol, Server, ServerId};

/// Suffixes without public DNS: no public CA can issue for them, so
/// their default is Caddy's own CA and `auto` is refused.
const PRIVATE_SUFFIXES: &[&str] = &[
    "local",
    "lan",
    "home.arpa",
    "internal",
    "localhost",
    "test",
    "invalid",
    "example",
    "home",
    "corp",
    "intranet",
    "private",
];

/// A host name Caddy serves: lower-case ASCII (an internationalised name
/// is kept as punycode), RFC 1123 labels, at least two of them, or a
/// wildcard `*.` followed by such a name.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct SiteName(String);

impl TryFrom<&str> for SiteName {
    type Error = String;

    fn try_from(s: &str) -> Result<SiteName, String> {
        let s = s.trim();
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if rest.contains('*') {
            return Err("may hold a wildcard only as its first label, like *.example.org".into());
        }
        // UTS 46 processing: lower case, mapped, punycode where needed.
        let ascii = idna::domain_to_ascii(rest)
            .map_err(|_| "is not a valid internationalised domain name".to_string())?;
        let name = DomainName::try_from(ascii.as_str()).map_err(|e| e.to_string())?;
        let name = name.as_str();
        Ok(SiteName(if wildcard {
            format!("*.{name}")
        } else {
            name.to_string()
        }))
    }
}

impl TryFrom<String> for SiteName {
    type Error = String;

    fn try_from(s: String) -> Result<SiteName, String> {
        SiteName::try_from(s.as_str())
    }
}

impl From<SiteName> for String {
    fn from(n: SiteName) -> String {
        n.0
    }
}

impl fmt::Display for SiteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SiteName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// The name without its wildcard label.
    pub fn base(&self) -> &str {
        self.0.strip_prefix("*.").unwrap_or(&self.0)
    }

    /// Whether a request's host `name` (lower case) is this one: equal,
    /// or exactly one label under a wildcard's base.
    pub fn covers(&self, name: &str) -> bool {
        if self.is_wildcard() {
            name.strip_suffix(self.base())
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.'))
        } else {
            self.0 == name
        }
    }

    /// Whether this name is at or under `domain`.
    pub fn is_under(&self, domain: &str) -> bool {
        let base = self.base();
        base == domain
            || base
                .strip_suffix(domain)
                .is_some_and(|head| head.ends_with('.'))
    }

    /// Whether the name has no public DNS (a private suffix).
    pub fn is_private(&self) -> bool {
        PRIVATE_SUFFIXES.iter().any(|s| self.is_under(s))
    }
}

/// How Caddy gets the name's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// A public ACME CA (Let's Encrypt, or the CA hearth is told to use).
    Auto,
    /// Caddy's local CA: for names without public DNS.
    Internal,
    /// Plain HTTP on port 80 only.
    Off,
}

impl TlsMode {
    fn parse(s: &str) -> Option<TlsMode> {
        match s {
            "auto" => Some(TlsMode::Auto),
            "internal" => Some(TlsMode::Internal),
            "off" => Some(TlsMode::Off),
            _ => None,
        }
    }

    /// `internal` for names without public DNS, `auto` for the rest.
    pub fn default_for(name: &SiteName) -> TlsMode {
        if name.is_private() {
            TlsMode::Internal
        } else {
            TlsMode::Auto
        }
    }
}

/// Where a domain's requests go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// An address of the box (loopback or one of its own) and a port,
    /// spoken to in plain HTTP.
    Address {
        #[schema(value_type = String)]
        address: IpAddr,
        port: u16,
    },
    /// hearth's own interface, over HTTPS on loopback, trusting hearth's
    /// own certificate. Admins only.
    Hearth,
    /// A published tcp port of one of the owner's virtual servers: its
    /// rootless engine binds the port on every address of the box, so
    /// Caddy dials it on loopback, in plain HTTP. The one kind members
    /// may choose.
    Server { server: ServerId, port: u16 },
}

impl Target {
    /// The kind's name, as the API spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Address { .. } => "address",
            Target::Hearth => "hearth",
            Target::Server { .. } => "server",
        }
    }
}

/// A domain record as kept in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Domain {
    pub name: SiteName,
    /// The user who owns it (a username).
    pub owner: String,
    pub target: Target,
    pub tls: TlsMode,
    pub hsts: bool,
}

/// The API's JSON, before validation: strings where the types are
/// strict, so that an error can name the field.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    pub name: String,
    /// Defaults to the caller.
    #[serde(default)]
    pub owner: Option<String>,
    pub target: TargetInput,
    /// Defaults by name: `internal` without public DNS, else `auto`.
    #[serde(default)]
    pub tls: Option<String>,
    #[serde(default)]
    pub hsts: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// `address`, `hearth` or `server`; left out, `server` when a server
    /// is named and `address` otherwise.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub port: Option<u32>,
    /// A server's id (kind `server`).
    #[serde(default)]
    pub server: Option<String>,
}

impl TargetInput {
    /// The kind asked for, its default filled in.
    pub fn kind(&self) -> &str {
        match (&self.kind, &self.server) {
            (Some(k), _) => k,
            (None, Some(_)) => "server",
            (None, None) => "address",
        }
    }
}

/// What a domain is checked against: facts of this box.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The box's own domain (setup), under which wildcards may be made.
    pub box_domain: Option<&'a DomainName>,
    /// The box's own addresses, which a target may name besides loopback.
    pub box_addresses: &'a [IpAddr],
    /// hearth's own port: reached through the `hearth` target, not by
    /// address, so that its certificate is checked.
    pub hearth_port: u16,
    /// The box's servers (at least the owner's): a `server` target must
    /// name one of them that belongs to the domain's owner.
    pub servers: &'a [Server],
}

impl Domain {
    /// Validates `input`; `owner` is who it belongs to (the service
    /// resolves and authorises it).
    pub fn from_input(
        input: &DomainInput,
        owner: String,
        ctx: Context<'_>,
    ) -> Result<Domain, Invalid> {
        let name = SiteName::try_from(input.name.as_str()).map_err(|e| invalid("name", e))?;
        if name.is_wildcard() {
            let under_box = ctx
                .box_domain
                .is_some_and(|d| name.base() == d.as_str() || name.is_under(d.as_str()));
            if !under_box {
                return Err(invalid(
                    "name",
                    match ctx.box_domain {
                        Some(d) => format!("may be a wildcard only under the box's domain ({d})"),
                        None => "may be a wildcard only under the box's domain, and the box has none (set one in the settings)".to_string(),
                    },
                ));
            }
        }
        let tls = match &input.tls {
            None => TlsMode::default_for(&name),
            Some(s) => {
                TlsMode::parse(s).ok_or_else(|| invalid("tls", "must be auto, internal or off"))?
            }
        };
        if tls == TlsMode::Auto && name.is_private() {
            return Err(invalid(
                "tls",
                format!(
                    "cannot be auto: {name} has no public DNS, so no public CA can certify it (use internal)"
                ),
            ));
        }
        if input.hsts && tls == TlsMode::Off {
            return Err(invalid(
                "hsts",
                "needs TLS: HSTS on a plain HTTP site would make it unreachable",
            ));
        }
        let target = target(&input.target, &owner, ctx)?;
        Ok(Domain {
            name,
            owner,
            target,
            tls,
            hsts: input.hsts,
        })
    }
}

fn target(t: &TargetInput, owner: &str, ctx: Context<'_>) -> Result<Target, Invalid> {
    match t.kind() {
        "hearth" => {
            if t.address.is_some() || t.port.is_some() || t.server.is_some() {
                return Err(invalid(
                    "target",
                    "of kind hearth takes no address, port or server",
                ));
            }
            Ok(Target::Hearth)
        }
        "server" => server_target(t, owner, ctx),
        "address" => {
            if t.server.is_some() {
                return Err(invalid(
                    "target",
                    "of kind address takes no server (use the kind server)",
                ));
            }
            let address = t
                .address
                .as_deref()
                .ok_or_else(|| invalid("target.address", "is required"))?;
            let address: IpAddr = address
                .trim()
                .parse()
                .map_err(|_| invalid("target.address", "must be an IPv4 or IPv6 address"))?;
            if !address.is_loopback() && !ctx.box_addresses.contains(&address) {
                return Err(invalid(
                    "target.address",
                    format!(
                        "{address} is not an address of this box (use loopback or one of its own addresses)"
                    ),
                ));
            }
            let port = port_of(t)?;
            if port == ctx.hearth_port {
                return Err(invalid(
                    "target.port",
                    format!("{port} is hearth's own port: use the target kind hearth"),
                ));
            }
            Ok(Target::Address { address, port })
        }
        _ => Err(invalid("target.kind", "must be address, hearth or server")),
    }
}

fn port_of(t: &TargetInput) -> Result<u16, Invalid> {
    match t.port {
        Some(p @ 1..=65535) => Ok(p as u16),
        Some(_) => Err(invalid("target.port", "must be from 1 to 65535")),
        None => Err(invalid("target.port", "is required")),
    }
}

/// A server of `owner`'s and one of its published tcp ports. Another
/// user's server is refused in the very words of one that does not
/// exist, so that a member cannot learn which ids are taken.
fn server_target(t: &TargetInput, owner: &str, ctx: Context<'_>) -> Result<Target, Invalid> {
    if t.address.is_some() {
        return Err(invalid(
            "target",
            "of kind server takes no address (the server's port is dialled on loopback)",
        ));
    }
    let given = t
        .server
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| invalid("target.server", "is required"))?;
    let no_such = || {
        invalid(
            "target.server",
            format!("is not one of {owner}'s servers: no such server {given:?}"),
        )
    };
    let id = ServerId::try_from(given).map_err(|_| no_such())?;
    let server = ctx
        .servers
        .iter()
        .find(|s| s.id == id && s.owner == owner && s.deleting.is_none())
        .ok_or_else(no_such)?;
    let port = port_of(t)?;
    let tcp: Vec<u16> = published(server, PortProtocol::Tcp);
    if tcp.contains(&port) {
        if port == ctx.hearth_port {
            return Err(invalid(
                "target.port",
                format!("{port} is hearth's own port, which a server cannot have"),
            ));
        }
        return Ok(Target::Server { server: id, port });
    }
    let listed = if tcp.is_empty() {
        format!("server {id} publishes none (publish one on the Servers page)")
    } else {
        format!("server {id} publishes {}", list(&tcp))
    };
    let udp_only = published(server, PortProtocol::Udp).contains(&port);
    Err(invalid(
        "target.port",
        if udp_only {
            format!("must be a tcp port: {port} is published for udp only, and {listed} for tcp")
        } else {
            format!("must be a tcp port the server publishes, and {listed}")
        },
    ))
}

/// `server`'s published ports of `protocol`, in order.
pub fn published(server: &Server, protocol: PortProtocol) -> Vec<u16> {
    server
        .ports
        .iter()
        .filter(|p| p.protocol == protocol)
        .map(|p| p.port)
        .collect()
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod props;
pub mod status;
#[cfg(test)]
mod tests;
