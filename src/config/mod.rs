//! The static configuration: the TOML file plus defaults, validated once.
//!
//! Like ripgrep's low/high split, [`Config::parse`] only turns text into a
//! validated [`Config`] and does no I/O; reading the file
//! ([`read_config_file`]) and building runtime objects from the config
//! (listener, TLS, store) are separate steps done by the daemon. An error
//! names the key and says why.

mod error;
pub mod paths;
#[cfg(test)]
mod props;
mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;

/// Where the appliance keeps its optional config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/hearth/hearth.toml";

/// Production defaults, or the local `--dev` defaults used by `make run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Production,
    Dev,
}

impl Mode {
    fn default_listen(self) -> SocketAddr {
        match self {
            // Dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d. Not 443:
            // Caddy owns 80 and 443 for the members' domains.
            Mode::Production => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 8443)),
            Mode::Dev => SocketAddr::from(([127, 0, 0, 1], 8443)),
        }
    }

    fn default_runtime_dir(self) -> PathBuf {
        match self {
            Mode::Production => PathBuf::from("/run/hearth"),
            Mode::Dev => PathBuf::from(".hearth"),
        }
    }

    fn default_state_dir(self) -> PathBuf {
        match self {
            Mode::Production => PathBuf::from("/var/lib/hearth"),
            Mode::Dev => PathBuf::from(".hearth"),
        }
    }
}

/// The owner's own certificate, replacing the generated self-signed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Limits of the HTTPS listener; the defaults are what the appliance ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub max_streams_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            max_body_bytes: 1024 * 1024,
            max_connections: 1024,
            max_connections_per_address: 64,
            max_streams_per_address: 16,
        }
    }
}

/// How the machine is sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub interval: Duration,
    /// Mount points to report; `None`: `/`, and `/var` when separate.
    pub mounts: Option<Vec<String>>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            interval: Duration::from_millis(1000),
            mounts: None,
        }
    }
}

/// The firewall: whether hearth drives the kernel's, and how long an
/// admin has to confirm a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallConfig {
    /// Production: on. `--dev`: off, so that `make run` never replaces a
    /// developer's firewall (the policy is still kept and shown).
    pub manage: bool,
    pub confirm_window: Duration,
}

impl FirewallConfig {
    /// The confirm window's default and bounds, in seconds: long enough
    /// to reload a page, short enough that a lockout ends by itself.
    pub const WINDOW_DEFAULT_S: u64 = 60;
    pub const WINDOW_MIN_S: u64 = 10;
    pub const WINDOW_MAX_S: u64 = 600;

    fn defaults(mode: Mode) -> FirewallConfig {
        FirewallConfig {
            manage: mode == Mode::Production,
            confirm_window: Duration::from_secs(FirewallConfig::WINDOW_DEFAULT_S),
        }
    }
}

/// Caddy, which serves the members' domains: whether hearth drives it,
/// where its admin API is, and where its sites listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Production: on. `--dev`: off (the domains are still kept).
    pub manage: bool,
    /// Caddy's admin API (`caddy/Caddyfile` puts it there).
    pub admin_socket: PathBuf,
    /// Where hearth answers Caddy's on-demand question (loopback only).
    pub ask_listen: SocketAddr,
    /// The address the sites listen on; `None`: every address.
    pub bind: Option<std::net::IpAddr>,
    pub http_port: u16,
    pub https_port: u16,
    /// Caddy's storage folder; `None`: Caddy's default.
    pub storage: Option<PathBuf>,
    /// An ACME directory instead of Let's Encrypt's, and the roots that
    /// certify it (a private CA, or a test's).
    pub acme_ca: Option<String>,
    pub acme_roots: Option<PathBuf>,
    /// The Linux user Caddy runs as: a loopback connection from a socket
    /// of that user is Caddy's, and its `X-Forwarded-For` is believed.
    pub caddy_user: String,
}

impl ProxyConfig {
    fn defaults(mode: Mode) -> ProxyConfig {
        ProxyConfig {
            manage: mode == Mode::Production,
            admin_socket: PathBuf::from("/run/caddy/admin.sock"),
            ask_listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            bind: None,
            http_port: 80,
            https_port: 443,
            storage: None,
            acme_ca: None,
            acme_roots: None,
            caddy_user: "caddy".into(),
        }
    }
}

/// systemd over D-Bus: whether hearth follows and controls the box's
/// services, on which bus, and which units besides its own list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConfig {
    /// Production: on. `--dev`: off (the component is `disabled`).
    pub manage: bool,
    /// A D-Bus address instead of the system bus (a test's private bus).
    pub bus: Option<String>,
    /// Units followed besides [`SystemConfig::FOLLOWED`].
    pub follow: Vec<String>,
}

impl SystemConfig {
    /// The units the box depends on, always followed.
    pub const FOLLOWED: [&'static str; 6] = [
        "caddy.service",
        "docker.service",
        "nftables.service",
        "hearth.service",
        "hearth-console@tty1.service",
        "hearth-console@ttyS0.service",
    ];
    /// The units an admin may start, stop and restart: what the polkit
    /// rules (systemd/polkit-1/rules.d/50-hearth.rules) grant, no more.
    pub const CONTROLLED: [&'static str; 5] = [
        "caddy.service",
        "docker.service",
        "nftables.service",
        "hearth-console@tty1.service",
        "hearth-console@ttyS0.service",
    ];

    fn defaults(mode: Mode) -> SystemConfig {
        SystemConfig {
            manage: mode == Mode::Production,
            bus: None,
            follow: Vec::new(),
        }
    }

    /// Every followed unit, the box's first, without repeats.
    pub fn followed(&self) -> Vec<String> {
        let mut out: Vec<String> = Self::FOLLOWED.iter().map(|u| u.to_string()).collect();
        for u in &self.follow {
            if !out.contains(u) {
                out.push(u.clone());
            }
        }
        out
    }
}

/// The members' virtual servers: whether hearth runs them, and where it
/// finds their privileged helper and their storage. The units go through
/// [`SystemConfig::bus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServersConfig {
    /// Production: on. `--dev`: off (the component is `disabled`).
    pub manage: bool,
    pub helper_socket: PathBuf,
    /// The servers' storage and runtime roots (as the helper has them).
    pub storage: PathBuf,
    pub run_dir: PathBuf,
    /// Where the engines' TLS front listens (each server on its own
    /// port of `servers::model::ENGINE_PORTS`).
    pub front_address: std::net::IpAddr,
    /// A journal folder to read the servers' logs from instead of the
    /// system's (a test's).
    pub journal_dir: Option<PathBuf>,
    /// The root file system tar every new server's engine imports as
    /// `servers::base::TAGS` (the image's Debian base); `None`
    /// (`base_image = ""`): servers start with no image.
    pub base_image: Option<PathBuf>,
}

/// Updates of the appliance (A/B root slots): whether hearth drives them,
/// where it finds the update helper, and the keys a bundle must be
/// signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    /// Production: on. `--dev`: off (the component is `disabled`).
    pub manage: bool,
    pub helper_socket: PathBuf,
    /// The folder of the minisign public keys (`*.pub`) bundles are
    /// checked against when uploaded (the helper checks again with its
    /// own).
    pub keys: PathBuf,
}

impl UpdateConfig {
    fn defaults(mode: Mode) -> UpdateConfig {
        UpdateConfig {
            manage: mode == Mode::Production,
            helper_socket: PathBuf::from("/run/hearth-update-helper/socket"),
            keys: PathBuf::from("/usr/lib/hearth/update-keys"),
        }
    }
}

impl ServersConfig {
    fn defaults(mode: Mode) -> ServersConfig {
        ServersConfig {
            manage: mode == Mode::Production,
            helper_socket: PathBuf::from("/run/hearth-helper.sock"),
            storage: PathBuf::from(paths::SERVERS_STORAGE),
            run_dir: PathBuf::from(paths::SERVERS_RUN),
            front_address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            journal_dir: None,
            base_image: Some(PathBuf::from(paths::SERVER_BASE_IMAGE)),
        }
    }
}

/// The recovery console's tools (`hearth console`): absolute paths, so
/// that a test can put recording stand-ins in their place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Restarts hearth, reboots, powers off, stops the servers' units.
    pub systemctl: PathBuf,
    /// Shows hearth's log.
    pub journalctl: PathBuf,
    /// The root shell, when an admin allowed it.
    pub shell: PathBuf,
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig {
            systemctl: PathBuf::from("/usr/bin/systemctl"),
            journalctl: PathBuf::from("/usr/bin/journalctl"),
            shell: PathBuf::from("/bin/bash"),
        }
    }
}

/// The validated configuration. It cannot hold a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    /// Where the setup code file and the control socket live.
    pub runtime_dir: PathBuf,
    /// A `tracing` filter directive, already checked to parse.
    pub log: String,
    pub tls: Option<TlsFiles>,
    pub limits: Limits,
    pub metrics: MetricsConfig,
    pub firewall: FirewallConfig,
    pub proxy: ProxyConfig,
    pub system: SystemConfig,
    pub servers: ServersConfig,
    pub update: UpdateConfig,
    pub console: ConsoleConfig,
}

impl Config {
    /// The configuration used when there is no file.
    pub fn defaults(mode: Mode) -> Config {
        Config {
            mode,
            listen: mode.default_listen(),
            state_dir: mode.default_state_dir(),
            runtime_dir: mode.default_runtime_dir(),
            log: "info".to_string(),
            tls: None,
            limits: Limits::default(),
            metrics: MetricsConfig::default(),
            firewall: FirewallConfig::defaults(mode),
            proxy: ProxyConfig::defaults(mode),
            system: SystemConfig::defaults(mode),
            servers: ServersConfig::defaults(mode),
            update: UpdateConfig::defaults(mode),
            console: ConsoleConfig::default(),
        }
    }

    /// Parses and validates a config file's text. No I/O.
    pub fn parse(text: &str, mode: Mode) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        raw.validate(mode)
    }

    /// True when the settings that need a restart are the same in both,
    /// so a SIGHUP can apply `other` completely.
    pub fn restart_settings_equal(&self, other: &Config) -> bool {
        self.listen == other.listen
            && self.state_dir == other.state_dir
            && self.runtime_dir == other.runtime_dir
            && self.limits == other.limits
            && self.metrics == other.metrics
            && self.firewall == other.firewall
            && self.proxy == other.proxy
            && self.system == other.system
            && self.update == other.update
    }
}

/// Reads the config file; a missing file at the default path means defaults.
///
/// A path the user named explicitly must exist.
pub fn read_config_file(path: &Path, explicit: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Loads the config the way `serve` does: explicit path, the default path
/// (production only), or the embedded defaults.
pub fn load(path: Option<&Path>, mode: Mode) -> Result<Config, ConfigError> {
    let text = match (path, mode) {
        (Some(p), _) => read_config_file(p, true)?,
        (None, Mode::Production) => read_config_file(Path::new(DEFAULT_CONFIG_PATH), false)?,
        (None, Mode::Dev) => None,
    };
    match text {
        Some(text) => Config::parse(&text, mode),
        None => Ok(Config::defaults(mode)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(
            Config::parse("", Mode::Production).unwrap(),
            Config::defaults(Mode::Production)
        );
        let production = Config::defaults(Mode::Production);
        assert_eq!(production.listen, "[::]:8443".parse().unwrap());
        let dev = Config::parse("", Mode::Dev).unwrap();
        assert_eq!(dev.listen, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(dev.state_dir, PathBuf::from(".hearth"));
    }

    #[test]
    fn full_file_parses() {
        let text = r#"
            listen = "192.0.2.1:9443"
            state_dir = "/srv/hearth"
            log = "hearth=debug,info"
            [tls]
            cert = "/etc/hearth/cert.pem"
            key = "/etc/hearth/key.pem"
            [limits]
            max_connections = 10
            max_connections_per_address = 2
            header_timeout_s = 5
            handshake_timeout_s = 3
            max_body_bytes = 4096
        "#;
        let c = Config::parse(text, Mode::Production).unwrap();
        assert_eq!(c.listen, "192.0.2.1:9443".parse().unwrap());
        assert_eq!(c.state_dir, PathBuf::from("/srv/hearth"));
        assert_eq!(c.log, "hearth=debug,info");
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "/etc/hearth/cert.pem".into(),
                key: "/etc/hearth/key.pem".into()
            })
        );
        assert_eq!(c.limits.max_connections, 10);
        assert_eq!(c.limits.max_connections_per_address, 2);
        assert_eq!(c.limits.header_timeout, Duration::from_secs(5));
        assert_eq!(c.limits.handshake_timeout, Duration::from_secs(3));
        assert_eq!(c.limits.max_body_bytes, 4096);
    }

    fn err(text: &str) -> String {
        Config::parse(text, Mode::Production)
            .unwrap_err()
            .to_string()
    }

    /// Asserts that the error of `text` holds each of `words` (the key it
    /// names, and why).
    fn refused_naming(text: &str, words: &[&str]) {
        let e = err(text);
        for word in words {
            assert!(e.contains(word), "{text}: {e}");
        }
    }

    #[test]
    fn unknown_key_is_named() {
        refused_naming("listne = \"1.2.3.4:5\"", &["listne"]);
        refused_naming("[tls]\ncrt = \"x\"\nkey = \"y\"", &["crt"]);
    }

    #[test]
    fn bad_values_name_the_key_and_why() {
        let cases: [(&str, &[&str]); 10] = [
            ("listen = \"nope\"", &["`listen`", "address:port"]),
            ("listen = 8443", &["listen"]),
            ("state_dir = \"\"", &["`state_dir`", "empty"]),
            ("state_dir = \"relative\"", &["`state_dir`", "absolute"]),
            ("log = \"hearth=loud\"", &["`log`"]),
            ("[tls]\ncert = \"/a.pem\"", &["`tls.key`"]),
            (
                "[limits]\nmax_connections = 0",
                &["`limits.max_connections`"],
            ),
            (
                "[limits]\nmax_connections = 4\nmax_connections_per_address = 8",
                &["`limits.max_connections_per_address`"],
            ),
            (
                "[limits]\nheader_timeout_s = 0",
                &["`limits.header_timeout_s`"],
            ),
            ("[limits]\nmax_body_bytes = -1", &["max_body_bytes"]),
        ];
        for (text, words) in cases {
            refused_naming(text, words);
        }
    }

    #[test]
    fn metrics_section() {
        let c = Config::parse(
            "[metrics]\ninterval_ms = 500\nmounts = [\"/\", \"/srv\"]\n",
            Mode::Production,
        )
        .unwrap();
        assert_eq!(c.metrics.interval, Duration::from_millis(500));
        assert_eq!(c.metrics.mounts, Some(vec!["/".into(), "/srv".into()]));
        refused_naming("[metrics]\ninterval_ms = 5", &["`metrics.interval_ms`"]);
        refused_naming(
            "[metrics]\nmounts = [\"srv\"]",
            &["`metrics.mounts`", "absolute"],
        );
        refused_naming("[metrics]\nmounts = \"/\"", &["mounts"]);
    }

    #[test]
    fn dev_state_dir_may_be_relative() {
        let c = Config::parse("state_dir = \"here\"", Mode::Dev).unwrap();
        assert_eq!(c.state_dir, PathBuf::from("here"));
    }

    #[test]
    fn reloadable_comparison() {
        let a = Config::defaults(Mode::Dev);
        let mut b = a.clone();
        b.log = "debug".into();
        assert!(a.restart_settings_equal(&b));
        b.listen = "127.0.0.1:1".parse().unwrap();
        assert!(!a.restart_settings_equal(&b));
    }

    #[test]
    fn the_firewall_is_managed_in_production_only_and_its_window_is_bounded() {
        assert!(Config::parse("", Mode::Production).unwrap().firewall.manage);
        let dev = Config::parse("", Mode::Dev).unwrap().firewall;
        assert!(!dev.manage);
        assert_eq!(dev.confirm_window, Duration::from_secs(60));
        let c = Config::parse(
            "[firewall]\nmanage = true\nconfirm_seconds = 30\n",
            Mode::Dev,
        )
        .unwrap();
        assert!(c.firewall.manage);
        assert_eq!(c.firewall.confirm_window, Duration::from_secs(30));
        for bad in ["5", "601"] {
            let e = err(&format!("[firewall]\nconfirm_seconds = {bad}"));
            assert!(e.contains("`firewall.confirm_seconds`"), "{e}");
        }
    }
}
