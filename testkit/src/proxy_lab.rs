//! hearth driving a real Caddy: a [`CaddyLab`] (Caddy on a temporary
//! admin socket and storage) and hearth started with `[proxy]` pointing
//! at it, its sites on loopback high ports, run as root (so Caddy's user
//! is root here). [`ProxyLab::start_opts`] puts Caddy in a network
//! namespace of the test's own instead, where it may take 80 and 443;
//! hearth stays outside and reaches it over the admin socket (a file).

use std::time::Duration;

use serde_json::Value;

use super::caddy_lab::CaddyLab;
use super::free_port;
use super::{Daemon, Options, Reply, on_own_runtime};

/// How [`ProxyLab::start_opts`] sets the lab up; the default is
/// [`ProxyLab::start`]'s.
#[derive(Default)]
pub struct LabOptions<'a> {
    /// More `[proxy]` lines (e.g. `acme_ca = ...`).
    pub extra: &'a str,
    /// Run Caddy inside this network namespace (by its `ip netns` name).
    pub caddy_netns: Option<&'a str>,
    /// The sites' ports; by default free high ports of the test's own
    /// loopback.
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    /// The box's domain (setup), under which wildcards may be made.
    pub box_domain: Option<&'a str>,
}

pub struct ProxyLab {
    pub caddy: CaddyLab,
    pub hearth: Daemon,
    pub http_port: u16,
    pub https_port: u16,
    pub ask_port: u16,
}

impl ProxyLab {
    pub fn start() -> ProxyLab {
        ProxyLab::start_with("")
    }

    /// With more `[proxy]` lines (e.g. `acme_ca = ...`).
    pub fn start_with(extra: &str) -> ProxyLab {
        ProxyLab::start_opts(LabOptions {
            extra,
            ..LabOptions::default()
        })
    }

    /// As `opts` says; [`Self::start_with`] is `LabOptions { extra, .. }`.
    pub fn start_opts(opts: LabOptions<'_>) -> ProxyLab {
        let LabOptions {
            extra,
            caddy_netns,
            http_port,
            https_port,
            box_domain,
        } = opts;
        let caddy = CaddyLab::start_in(caddy_netns);
        let http_port = http_port.unwrap_or_else(free_port);
        let https_port = https_port.unwrap_or_else(free_port);
        // On the test's own loopback, where hearth runs.
        let ask_port = free_port();
        let config = format!(
            "[proxy]\nmanage = true\nadmin_socket = {:?}\nstorage = {:?}\nbind = \"127.0.0.1\"\nhttp_port = {http_port}\nhttps_port = {https_port}\nask_listen = \"127.0.0.1:{ask_port}\"\ncaddy_user = \"root\"\n{extra}\n",
            caddy.socket_path().to_str().unwrap(),
            caddy.storage_dir().to_str().unwrap(),
        );
        let hearth = Daemon::start(Options {
            config,
            box_domain: box_domain.map(str::to_string),
            ..Options::default()
        });
        ProxyLab {
            caddy,
            hearth,
            http_port,
            https_port,
            ask_port,
        }
    }

    /// An admin API call.
    pub fn api(&self, method: &str, path: &str, body: &str) -> Reply {
        let client = self.hearth.admin_client();
        on_own_runtime(async move { client.send(method, path, body, &[], &[]).await })
    }

    /// Adds a domain to a loopback backend as the admin; answers the reply.
    pub fn add(&self, name: &str, backend: std::net::SocketAddr, tls: &str) -> Reply {
        let body = serde_json::json!({
            "name": name,
            "target": {"address": backend.ip().to_string(), "port": backend.port()},
            "tls": tls,
        });
        self.api("POST", "/api/v1/domains", &body.to_string())
    }

    /// The hosts Caddy routes, as it runs now.
    pub fn routed_hosts(&self) -> Vec<String> {
        let config = self.caddy.running_config();
        let mut hosts = Vec::new();
        if let Some(servers) = config
            .pointer("/apps/http/servers")
            .and_then(Value::as_object)
        {
            for server in servers.values() {
                for route in server["routes"].as_array().into_iter().flatten() {
                    for h in route["match"][0]["host"].as_array().into_iter().flatten() {
                        hosts.push(h.as_str().unwrap_or_default().to_string());
                    }
                }
            }
        }
        hosts.sort();
        hosts
    }

    /// Waits until Caddy routes exactly `hosts`.
    pub fn wait_for_hosts(&self, hosts: &[&str]) {
        let mut want: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        want.sort();
        crate::eventually_blocking(
            Duration::from_secs(20),
            &format!("Caddy routing {want:?}"),
            || {
                let now = self.routed_hosts();
                if now == want {
                    Ok(())
                } else {
                    Err(format!(
                        "Caddy routes {now:?}; hearth's log:\n{}",
                        self.hearth.stderr()
                    ))
                }
            },
        );
    }
}
