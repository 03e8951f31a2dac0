//! The config file as written, before validation. Every key is optional;
//! an unknown key is refused by serde.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError, Limits, MetricsConfig, Mode, TlsFiles};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    listen: Option<String>,
    state_dir: Option<String>,
    runtime_dir: Option<String>,
    log: Option<String>,
    tls: Option<RawTls>,
    limits: Option<RawLimits>,
    metrics: Option<RawMetrics>,
    firewall: Option<RawFirewall>,
    proxy: Option<RawProxy>,
    system: Option<RawSystem>,
    servers: Option<RawServers>,
    update: Option<RawUpdate>,
    console: Option<RawConsole>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    manage: Option<bool>,
    helper_socket: Option<String>,
    keys: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    systemctl: Option<String>,
    journalctl: Option<String>,
    shell: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServers {
    manage: Option<bool>,
    helper_socket: Option<String>,
    storage: Option<String>,
    run_dir: Option<String>,
    front_address: Option<String>,
    journal_dir: Option<String>,
    base_image: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    manage: Option<bool>,
    bus: Option<String>,
    follow: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    manage: Option<bool>,
    admin_socket: Option<String>,
    ask_listen: Option<String>,
    bind: Option<String>,
    http_port: Option<u16>,
    https_port: Option<u16>,
    storage: Option<String>,
    acme_ca: Option<String>,
    acme_roots: Option<String>,
    caddy_user: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFirewall {
    manage: Option<bool>,
    confirm_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    interval_ms: Option<u64>,
    mounts: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    handshake_timeout_s: Option<u64>,
    header_timeout_s: Option<u64>,
    body_timeout_s: Option<u64>,
    idle_timeout_s: Option<u64>,
    max_body_bytes: Option<u64>,
    max_connections: Option<u64>,
    max_connections_per_address: Option<u64>,
    max_streams_per_address: Option<u64>,
}

impl RawConfig {
    pub(super) fn validate(self, mode: Mode) -> Result<Config, ConfigError> {
        let mut config = Config::defaults(mode);
        if let Some(listen) = self.listen {
            config.listen = listen.parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid(
                    "listen",
                    format!(
                        "{listen:?} is not an address:port (e.g. \"0.0.0.0:8443\" or \"[::]:8443\")"
                    ),
                )
            })?;
        }
        if let Some(dir) = self.state_dir {
            config.state_dir = path("state_dir", &dir, mode == Mode::Production)?;
        }
        if let Some(dir) = self.runtime_dir {
            config.runtime_dir = path("runtime_dir", &dir, mode == Mode::Production)?;
        } else if mode == Mode::Dev {
            // --dev keeps everything in the (possibly configured) state dir.
            config.runtime_dir = config.state_dir.clone();
        }
        if let Some(log) = self.log {
            crate::logging::parse_filter(&log).map_err(|e| {
                ConfigError::invalid("log", format!("{log:?} is not a log filter: {e}"))
            })?;
            config.log = log;
        }
        if let Some(tls) = self.tls {
            config.tls = match (tls.cert, tls.key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: path("tls.cert", &cert, mode == Mode::Production)?,
                    key: path("tls.key", &key, mode == Mode::Production)?,
                }),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(ConfigError::invalid(
                        "tls.key",
                        "missing: `tls.cert` needs its private key",
                    ));
                }
                (None, Some(_)) => {
                    return Err(ConfigError::invalid(
                        "tls.cert",
                        "missing: `tls.key` needs its certificate",
                    ));
                }
            };
        }
        if let Some(firewall) = self.firewall {
            if let Some(manage) = firewall.manage {
                config.firewall.manage = manage;
            }
            if let Some(s) = firewall.confirm_seconds {
                use super::FirewallConfig;
                const WINDOW_MIN_S: u64 = FirewallConfig::WINDOW_MIN_S;
                const WINDOW_MAX_S: u64 = FirewallConfig::WINDOW_MAX_S;
                ensure(
                    (WINDOW_MIN_S..=WINDOW_MAX_S).contains(&s),
                    "firewall.confirm_seconds",
                    || format!("{s} is out of range ({WINDOW_MIN_S} to {WINDOW_MAX_S} seconds)"),
                )?;
                config.firewall.confirm_window = Duration::from_secs(s);
            }
        }
        if let Some(proxy) = self.proxy {
            proxy.apply(&mut config.proxy, mode)?;
        }
        if let Some(system) = self.system {
            system.apply(&mut config.system)?;
        }
        if let Some(update) = self.update {
            update.apply(&mut config.update)?;
        }
        if let Some(servers) = self.servers {
            servers.apply(&mut config.servers)?;
        }
        if let Some(console) = self.console {
            console.apply(&mut config.console)?;
        }
        if let Some(limits) = self.limits {
            config.limits = limits.validate()?;
        }
        if let Some(metrics) = self.metrics {
            config.metrics = metrics.validate()?;
        }
        Ok(config)
    }
}

impl RawConsole {
    fn apply(self, c: &mut super::ConsoleConfig) -> Result<(), ConfigError> {
        for (key, value, slot) in [
            ("console.systemctl", self.systemctl, &mut c.systemctl),
            ("console.journalctl", self.journalctl, &mut c.journalctl),
            ("console.shell", self.shell, &mut c.shell),
        ] {
            if let Some(v) = value {
                *slot = absolute_path(key, v)?;
            }
        }
        Ok(())
    }
}

impl RawUpdate {
    fn apply(self, u: &mut super::UpdateConfig) -> Result<(), ConfigError> {
        if let Some(manage) = self.manage {
            u.manage = manage;
        }
        for (key, value, slot) in [
            (
                "update.helper_socket",
                self.helper_socket,
                &mut u.helper_socket,
            ),
            ("update.keys", self.keys, &mut u.keys),
        ] {
            if let Some(v) = value {
                *slot = absolute_path(key, v)?;
            }
        }
        Ok(())
    }
}

impl RawServers {
    fn apply(self, s: &mut super::ServersConfig) -> Result<(), ConfigError> {
        if let Some(manage) = self.manage {
            s.manage = manage;
        }
        if let Some(a) = self.front_address {
            s.front_address = a.parse().map_err(|_| {
                ConfigError::invalid(
                    "servers.front_address",
                    format!("{a:?} is not an IP address, e.g. \"0.0.0.0\" or \"::\""),
                )
            })?;
        }
        for (key, value, slot) in [
            (
                "servers.helper_socket",
                self.helper_socket,
                &mut s.helper_socket,
            ),
            ("servers.storage", self.storage, &mut s.storage),
            ("servers.run_dir", self.run_dir, &mut s.run_dir),
        ] {
            if let Some(v) = value {
                *slot = absolute_path(key, v)?;
            }
        }
        if let Some(v) = self.journal_dir {
            s.journal_dir = Some(absolute_path("servers.journal_dir", v)?);
        }
        match self.base_image.as_deref() {
            None => {}
            Some("") => s.base_image = None,
            Some(v) if v.starts_with('/') => s.base_image = Some(PathBuf::from(v)),
            Some(v) => {
                return Err(ConfigError::invalid(
                    "servers.base_image",
                    format!("{v:?} is not an absolute path (or \"\" for none)"),
                ));
            }
        }
        Ok(())
    }
}

impl RawSystem {
    fn apply(self, s: &mut super::SystemConfig) -> Result<(), ConfigError> {
        if let Some(manage) = self.manage {
            s.manage = manage;
        }
        if let Some(bus) = self.bus {
            ensure(bus.contains(':'), "system.bus", || {
                format!(
                    "{bus:?} is not a D-Bus address, e.g. \"unix:path=/run/dbus/system_bus_socket\""
                )
            })?;
            s.bus = Some(bus);
        }
        if let Some(units) = self.follow {
            for (i, u) in units.iter().enumerate() {
                let ok = u.contains('.')
                    && made_of(u, 256, |b| {
                        b.is_ascii_alphanumeric() || b":-_.@\\".contains(&b)
                    });
                ensure(ok, "system.follow", || {
                    format!("item {i}, {u:?}, is not a unit name like \"ssh.service\"")
                })?;
            }
            s.follow = units;
        }
        Ok(())
    }
}

impl RawProxy {
    fn apply(self, p: &mut super::ProxyConfig, mode: Mode) -> Result<(), ConfigError> {
        let absolute = mode == Mode::Production;
        if let Some(manage) = self.manage {
            p.manage = manage;
        }
        if let Some(s) = self.admin_socket {
            p.admin_socket = path("proxy.admin_socket", &s, absolute)?;
        }
        if let Some(s) = self.ask_listen {
            let addr = s
                .parse::<SocketAddr>()
                .ok()
                .filter(|a| a.ip().is_loopback());
            p.ask_listen = addr.ok_or_else(|| {
                ConfigError::invalid(
                    "proxy.ask_listen",
                    format!("{s:?} must be a loopback address:port, e.g. \"127.0.0.1:8444\""),
                )
            })?;
        }
        if let Some(s) = self.bind {
            p.bind = Some(s.parse().map_err(|_| {
                ConfigError::invalid("proxy.bind", format!("{s:?} is not an IP address"))
            })?);
        }
        for (key, value, slot) in [
            ("proxy.http_port", self.http_port, &mut p.http_port),
            ("proxy.https_port", self.https_port, &mut p.https_port),
        ] {
            match value {
                Some(0) => return Err(ConfigError::invalid(key, "must be from 1 to 65535")),
                Some(port) => *slot = port,
                None => {}
            }
        }
        ensure(p.http_port != p.https_port, "proxy.https_port", || {
            "must differ from proxy.http_port".into()
        })?;
        if let Some(s) = self.storage {
            p.storage = Some(path("proxy.storage", &s, absolute)?);
        }
        if let Some(s) = self.acme_ca {
            ensure(s.starts_with("https://"), "proxy.acme_ca", || {
                "must be an https:// ACME directory URL".into()
            })?;
            p.acme_ca = Some(s);
        }
        if let Some(s) = self.acme_roots {
            p.acme_roots = Some(path("proxy.acme_roots", &s, absolute)?);
        }
        if let Some(user) = self.caddy_user {
            let ok = made_of(&user, 32, |b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b)
            });
            ensure(ok, "proxy.caddy_user", || {
                format!("{user:?} is not a Linux user name")
            })?;
            p.caddy_user = user;
        }
        Ok(())
    }
}

impl RawLimits {
    fn validate(self) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let limits = Limits {
            handshake_timeout: seconds(
                "limits.handshake_timeout_s",
                self.handshake_timeout_s,
                d.handshake_timeout,
            )?,
            header_timeout: seconds(
                "limits.header_timeout_s",
                self.header_timeout_s,
                d.header_timeout,
            )?,
            body_timeout: seconds("limits.body_timeout_s", self.body_timeout_s, d.body_timeout)?,
            idle_timeout: seconds("limits.idle_timeout_s", self.idle_timeout_s, d.idle_timeout)?,
            max_body_bytes: count(
                "limits.max_body_bytes",
                self.max_body_bytes,
                d.max_body_bytes,
                1024..=64 * 1024 * 1024,
            )?,
            max_connections: count(
                "limits.max_connections",
                self.max_connections,
                d.max_connections,
                1..=1_000_000,
            )?,
            max_connections_per_address: count(
                "limits.max_connections_per_address",
                self.max_connections_per_address,
                d.max_connections_per_address,
                1..=1_000_000,
            )?,
            max_streams_per_address: count(
                "limits.max_streams_per_address",
                self.max_streams_per_address,
                d.max_streams_per_address,
                1..=1_000_000,
            )?,
        };
        ensure(
            limits.max_connections_per_address <= limits.max_connections,
            "limits.max_connections_per_address",
            || {
                format!(
                    "{} is more than limits.max_connections ({})",
                    limits.max_connections_per_address, limits.max_connections
                )
            },
        )?;
        Ok(limits)
    }
}

impl RawMetrics {
    fn validate(self) -> Result<MetricsConfig, ConfigError> {
        let mut m = MetricsConfig::default();
        if let Some(ms) = self.interval_ms {
            ensure((100..=60_000).contains(&ms), "metrics.interval_ms", || {
                format!("{ms} is out of range (100 to 60000 milliseconds)")
            })?;
            m.interval = Duration::from_millis(ms);
        }
        if let Some(mounts) = self.mounts {
            for mount in &mounts {
                ensure(mount.starts_with('/'), "metrics.mounts", || {
                    format!("{mount:?} must be an absolute path")
                })?;
            }
            m.mounts = Some(mounts);
        }
        Ok(m)
    }
}

fn path(key: &'static str, value: &str, must_be_absolute: bool) -> Result<PathBuf, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    let p = PathBuf::from(value);
    if must_be_absolute && !p.is_absolute() {
        return Err(ConfigError::invalid(
            key,
            format!("{value:?} must be an absolute path"),
        ));
    }
    Ok(p)
}

/// Whether `s` is 1 to `max` bytes, each of them `allowed`.
fn made_of(s: &str, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(allowed)
}

/// Refuses `key`, for `reason`, unless `ok`.
fn ensure(ok: bool, key: &'static str, reason: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, reason()))
    }
}

/// `value` as a path, which must be absolute (no base directory to be
/// relative to).
fn absolute_path(key: &'static str, value: String) -> Result<PathBuf, ConfigError> {
    if !value.starts_with('/') {
        return Err(ConfigError::invalid(
            key,
            format!("{value:?} is not an absolute path"),
        ));
    }
    Ok(PathBuf::from(value))
}

fn seconds(
    key: &'static str,
    value: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(s @ 1..=300) => Ok(Duration::from_secs(s)),
        Some(s) => Err(ConfigError::invalid(
            key,
            format!("{s} is out of range (1 to 300 seconds)"),
        )),
    }
}

fn count(
    key: &'static str,
    value: Option<u64>,
    default: usize,
    range: std::ops::RangeInclusive<u64>,
) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if range.contains(&v) => Ok(v as usize),
        Some(v) => Err(ConfigError::invalid(
            key,
            format!("{v} is out of range ({} to {})", range.start(), range.end()),
        )),
    }
}
