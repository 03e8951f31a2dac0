//! The plan: a pure function from the domain records (and the ACME
//! e-mail from setup) to Caddy's whole JSON config, loaded with one
//! `POST /load`. Golden-file tested; no I/O.
//!
//! What the config always holds, whatever the records (Caddy 2.6.2
//! replaces everything on a load, `admin` and `storage` included):
//! - `admin`: the unix socket, and `persist: false`, so that Caddy never
//!   autosaves: after a reboot it starts from its boot config (no site)
//!   and hearth loads the store's config, the one source of truth;
//! - `pki`: the local CA never installs itself into the system's trust
//!   store (Caddy would, running as root);
//! - `tls.automation.on_demand.ask`: hearth's loopback endpoint, so that
//!   a wildcard's certificates are issued only for names hearth knows.
//!
//! The sites: one server on the HTTPS port for the names with TLS (exact
//! names before wildcards, so an exact name wins over a wildcard above
//! it), one on the HTTP port for the names without. HTTP/3 is off: the
//! firewall opens TCP only.
//!
//! A domain that leads to a member's server is rendered from the
//! server's record as it is now: its published port on loopback, or,
//! when the server is gone, stopped or no longer publishes the port, a
//! short static answer ([`Unreachable`]) instead of a dial to a port
//! that something else might hold. The record of the domain stays; the
//! manager's report says why it does not reach its server.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::model::{Domain, Target, TlsMode, published};
use crate::names::Email;
use crate::servers::model::{DesiredState, PortProtocol, Server, ServerId};

/// How long browsers keep to HTTPS once they saw HSTS: one year.
const HSTS: &str = "max-age=31536000";

/// hearth's own interface as an upstream: HTTPS on loopback, trusting
/// hearth's certificate and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HearthUpstream {
    pub dial: SocketAddr,
    /// hearth's certificate (DER, base64), which Caddy takes as the only
    /// root: inline in the config (`root_ca_pool`), so that Caddy needs
    /// no access to hearth's files.
    pub certificate: String,
    /// A name in that certificate.
    pub server_name: String,
}

/// Where and how Caddy runs: from hearth's config, fixed while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaddySettings {
    pub admin_socket: PathBuf,
    /// Caddy's storage folder; `None`: its default (the caddy user's).
    pub storage: Option<PathBuf>,
    /// The address the sites listen on; `None`: every address.
    pub bind: Option<IpAddr>,
    pub http_port: u16,
    pub https_port: u16,
    /// hearth's on-demand endpoint, e.g. `http://127.0.0.1:8444/ask`.
    pub ask_url: String,
    /// An ACME directory other than Let's Encrypt's, and roots to trust
    /// for it (a private CA).
    pub acme_ca: Option<String>,
    pub acme_roots: Option<PathBuf>,
    pub hearth: HearthUpstream,
}

/// What the config is made from.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    pub domains: &'a [Domain],
    /// The box's servers, which `server` targets lead to.
    pub servers: &'a [Server],
    pub email: Option<&'a Email>,
    pub settings: &'a CaddySettings,
}

/// Why a domain's server target cannot be dialled now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The server was deleted (or is being deleted).
    Gone { server: ServerId },
    /// The server no longer publishes the port for tcp.
    NotPublished { server: ServerId, port: u16 },
    /// The server is stopped: its port is free for anything to take.
    Stopped { server: ServerId },
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Gone { server } => write!(f, "server {server} is gone"),
            Unreachable::NotPublished { server, port } => {
                write!(f, "port {port} is no longer published by server {server}")
            }
            Unreachable::Stopped { server } => write!(f, "server {server} is stopped"),
        }
    }
}

impl Unreachable {
    /// What Caddy answers instead: a status and a short body that names
    /// no server (the visitor may be anyone).
    fn answer(&self) -> (u16, &'static str) {
        match self {
            Unreachable::Gone { .. } => (502, "This site's server no longer exists.\n"),
            Unreachable::NotPublished { .. } => (502, "This site's server no longer offers it.\n"),
            Unreachable::Stopped { .. } => (503, "This site's server is stopped.\n"),
        }
    }
}

/// Whether `d`'s target can be dialled, given the servers as they are
/// now: `None` for any target that is not a server. A server of another
/// owner than the domain's is gone for it (ids are never reused, but a
/// record is not to be trusted further than validation went).
pub fn unreachable(d: &Domain, servers: &[Server]) -> Option<Unreachable> {
    let Target::Server { server, port } = &d.target else {
        return None;
    };
    let gone = || Unreachable::Gone {
        server: server.clone(),
    };
    let Some(s) = servers
        .iter()
        .find(|s| s.id == *server && s.owner == d.owner)
    else {
        return Some(gone());
    };
    if s.deleting.is_some() {
        return Some(gone());
    }
    if !published(s, PortProtocol::Tcp).contains(port) {
        return Some(Unreachable::NotPublished {
            server: server.clone(),
            port: *port,
        });
    }
    if s.desired == DesiredState::Stopped {
        return Some(Unreachable::Stopped {
            server: server.clone(),
        });
    }
    None
}

/// Caddy's whole config for `input`.
pub fn config(input: RenderInput<'_>) -> Value {
    let s = input.settings;
    let mut domains: Vec<&Domain> = input.domains.iter().collect();
    // Exact names first, then wildcards; each group by name.
    domains.sort_by(|a, b| {
        (a.name.is_wildcard(), a.name.as_str()).cmp(&(b.name.is_wildcard(), b.name.as_str()))
    });
    let (secure, plain): (Vec<&Domain>, Vec<&Domain>) =
        domains.into_iter().partition(|d| d.tls != TlsMode::Off);

    let mut servers = Map::new();
    if !secure.is_empty() {
        let mut https = server(listen(s.bind, s.https_port), &secure, input.servers, s);
        // Caddy's HTTP-to-HTTPS redirects leave out the port (it takes
        // its own https_port for the default): right on 443 only.
        if s.https_port != 443 {
            https["automatic_https"] = json!({"disable_redirects": true});
        }
        servers.insert("https".into(), https);
    }
    if !plain.is_empty() {
        servers.insert(
            "http".into(),
            server(listen(s.bind, s.http_port), &plain, input.servers, s),
        );
    }

    let mut config = json!({
        "admin": {
            "listen": format!("unix/{}", s.admin_socket.display()),
            "config": {"persist": false},
        },
        "apps": {
            "http": {
                "http_port": s.http_port,
                "https_port": s.https_port,
                "servers": servers,
            },
            "tls": {
                "automation": {
                    "on_demand": {"ask": s.ask_url},
                    "policies": policies(&secure, input.email, s),
                },
            },
            "pki": {"certificate_authorities": {"local": {"install_trust": false}}},
        },
    });
    if let Some(storage) = &s.storage {
        config["storage"] = json!({"module": "file_system", "root": storage.display().to_string()});
    }
    config
}

fn listen(bind: Option<IpAddr>, port: u16) -> String {
    match bind {
        Some(ip) => SocketAddr::new(ip, port).to_string(),
        None => format!(":{port}"),
    }
}

fn server(listen: String, domains: &[&Domain], servers: &[Server], s: &CaddySettings) -> Value {
    let routes: Vec<Value> = domains.iter().map(|d| route(d, servers, s)).collect();
    json!({
        "listen": [listen],
        "protocols": ["h1", "h2"],
        "routes": routes,
    })
}

fn route(d: &Domain, servers: &[Server], s: &CaddySettings) -> Value {
    let mut handle = Vec::new();
    if d.hsts {
        handle.push(json!({
            "handler": "headers",
            "response": {"set": {"Strict-Transport-Security": [HSTS]}},
        }));
    }
    handle.push(match (&d.target, unreachable(d, servers)) {
        (_, Some(why)) => {
            let (status, body) = why.answer();
            json!({
                "handler": "static_response",
                "status_code": status,
                "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                "body": body,
            })
        }
        (Target::Address { address, port }, None) => json!({
            "handler": "reverse_proxy",
            "upstreams": [{"dial": SocketAddr::new(*address, *port).to_string()}],
        }),
        // Published by the server's engine on every address of the box.
        (Target::Server { port, .. }, None) => json!({
            "handler": "reverse_proxy",
            "upstreams": [{"dial": SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *port).to_string()}],
        }),
        (Target::Hearth, None) => json!({
            "handler": "reverse_proxy",
            "upstreams": [{"dial": s.hearth.dial.to_string()}],
            "transport": {
                "protocol": "http",
                "tls": {
                    "root_ca_pool": [s.hearth.certificate],
                    "server_name": s.hearth.server_name,
                },
            },
        }),
    });
    json!({
        "match": [{"host": [d.name.as_str()]}],
        "handle": handle,
        "terminal": true,
    })
}

/// One policy per kind of certificate: public ACME, the local CA, and
/// the same two on demand for wildcards (their names are known only at
/// the handshake, and hearth's ask endpoint vets each).
fn policies(secure: &[&Domain], email: Option<&Email>, s: &CaddySettings) -> Vec<Value> {
    let mut out = Vec::new();
    for on_demand in [false, true] {
        for tls in [TlsMode::Auto, TlsMode::Internal] {
            let subjects: Vec<&str> = secure
                .iter()
                .filter(|d| d.tls == tls && d.name.is_wildcard() == on_demand)
                .map(|d| d.name.as_str())
                .collect();
            if subjects.is_empty() {
                continue;
            }
            let mut policy = json!({
                "subjects": subjects,
                "issuers": [issuer(tls, email, s)],
            });
            if on_demand {
                policy["on_demand"] = Value::Bool(true);
            }
            out.push(policy);
        }
    }
    out
}

fn issuer(tls: TlsMode, email: Option<&Email>, s: &CaddySettings) -> Value {
    if tls == TlsMode::Internal {
        return json!({"module": "internal"});
    }
    let mut acme = json!({"module": "acme"});
    if let Some(email) = email {
        acme["email"] = Value::String(email.as_str().to_string());
    }
    if let Some(ca) = &s.acme_ca {
        acme["ca"] = Value::String(ca.clone());
    }
    if let Some(roots) = &s.acme_roots {
        acme["trusted_roots_pem_files"] = json!([roots.display().to_string()]);
    }
    acme
}

#[cfg(test)]
mod tests;
