//! Property tests of the config parser ([`Config::parse`]: TOML text to
//! the raw form to the validated config):
//! - any text is a config or an error, never a panic (the log filter,
//!   handed to `tracing`'s parser, included);
//! - an error names a field: a known key of a section the file wrote, or
//!   (toml's and serde's own errors) a key the file holds;
//! - a number out of its key's range, or more connections per address
//!   than in all, is refused, naming that key;
//! - a file written from valid settings reads back as exactly those
//!   settings (there is no config writer, so the test writes the TOML).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use toml::{Table, Value};

use super::*;

/// Every key the file may hold, dotted as errors name them.
const KEYS: &[&str] = &[
    "listen",
    "state_dir",
    "runtime_dir",
    "log",
    "tls.cert",
    "tls.key",
    "limits.handshake_timeout_s",
    "limits.header_timeout_s",
    "limits.body_timeout_s",
    "limits.idle_timeout_s",
    "limits.max_body_bytes",
    "limits.max_connections",
    "limits.max_connections_per_address",
    "limits.max_streams_per_address",
    "metrics.interval_ms",
    "metrics.mounts",
    "firewall.manage",
    "firewall.confirm_seconds",
    "proxy.manage",
    "proxy.admin_socket",
    "proxy.ask_listen",
    "proxy.bind",
    "proxy.http_port",
    "proxy.https_port",
    "proxy.storage",
    "proxy.acme_ca",
    "proxy.acme_roots",
    "proxy.caddy_user",
    "system.manage",
    "system.bus",
    "system.follow",
    "servers.manage",
    "servers.helper_socket",
    "servers.storage",
    "servers.run_dir",
    "servers.front_address",
    "servers.journal_dir",
    "servers.base_image",
    "update.manage",
    "update.helper_socket",
    "update.keys",
    "console.systemctl",
    "console.journalctl",
    "console.shell",
];

/// The numeric keys with a bounded range, and that range.
const RANGES: &[(&str, u64, u64)] = &[
    ("limits.handshake_timeout_s", 1, 300),
    ("limits.header_timeout_s", 1, 300),
    ("limits.body_timeout_s", 1, 300),
    ("limits.idle_timeout_s", 1, 300),
    ("limits.max_body_bytes", 1024, 64 * 1024 * 1024),
    ("limits.max_connections", 1, 1_000_000),
    ("limits.max_streams_per_address", 1, 1_000_000),
    ("metrics.interval_ms", 100, 60_000),
    (
        "firewall.confirm_seconds",
        super::FirewallConfig::WINDOW_MIN_S,
        super::FirewallConfig::WINDOW_MAX_S,
    ),
];

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Production), Just(Mode::Dev)]
}

/// Values of any TOML type, often of the right one and near the edges.
fn value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        "/[a-z0-9/._-]{0,20}",
        "[a-z0-9:./@\\[\\]=,_-]{0,24}",
        Just("127.0.0.1:8444".to_string()),
        Just("[::1]:1".to_string()),
        Just("https://ca.test/dir".to_string()),
        Just("unix:path=/run/bus".to_string()),
        any::<String>(),
    ];
    let scalar = prop_oneof![
        text.clone().prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        (-2i64..70_000).prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>()
            .prop_filter("TOML writes finite floats", |f| f.is_finite())
            .prop_map(Value::Float),
    ];
    prop_oneof![
        4 => scalar,
        1 => proptest::collection::vec(text, 0..4)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        1 => proptest::collection::vec(any::<i64>(), 0..3)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::Integer).collect())),
    ]
}

/// A key: mostly a known one, now and then an unknown one.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z_]{1,10}",
        1 => ("(tls|limits|metrics|firewall|proxy|system|servers|console)", "[a-z_]{1,10}")
            .prop_map(|(s, k)| format!("{s}.{k}")),
    ]
}

/// A config file of some of the keys (dotted keys go in their section),
/// with the sections the file wrote and every key it holds.
fn document() -> impl Strategy<Value = (String, Vec<String>)> {
    proptest::collection::vec((key(), value()), 0..6).prop_map(|entries| {
        let mut table = Table::new();
        for (key, value) in entries {
            match key.split_once('.') {
                None => {
                    table.insert(key, value);
                }
                Some((section, leaf)) => {
                    let slot = table
                        .entry(section)
                        .or_insert_with(|| Value::Table(Table::new()));
                    if let Value::Table(t) = slot {
                        t.insert(leaf.to_string(), value);
                    }
                }
            }
        }
        let mut names = Vec::new();
        for (key, value) in &table {
            names.push(key.clone());
            if let Value::Table(t) = value {
                names.extend(t.keys().cloned());
            }
        }
        (toml::to_string(&table).expect("a table writes"), names)
    })
}

/// Text shaped like TOML (keys, sections, values, brackets) or anything.
fn toml_ish() -> impl Strategy<Value = String> {
    prop_oneof![
        "((\\[[a-z.]{0,12}\\]|[a-z_.]{0,16} *= *(\"[^\"\n]{0,20}\"|-?[0-9]{1,21}|true|\\[[0-9, \"]{0,12}\\]|\\{[a-z =0-9,]{0,12}\\}))\n){0,6}",
        any::<String>(),
    ]
}

proptest! {
    /// Any text is a config or an error, never a panic; an error says
    /// something.
    #[test]
    fn any_text_is_a_config_or_an_error(text in toml_ish(), mode in mode()) {
        if let Err(e) = Config::parse(&text, mode) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Any log filter is taken or refused by `tracing`'s parser, never a
    /// panic; a refusal names `log`.
    #[test]
    fn any_log_filter_is_checked(
        filter in prop_oneof![
            "[a-z_:=,\\[\\]{}./*\"0-9 -]{0,40}",
            any::<String>(),
        ],
    ) {
        let mut table = Table::new();
        table.insert("log".into(), Value::String(filter.clone()));
        match Config::parse(&toml::to_string(&table).unwrap(), Mode::Dev) {
            Ok(c) => prop_assert_eq!(c.log, filter),
            Err(ConfigError::Invalid { key, .. }) => prop_assert_eq!(key, "log"),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    /// A refused file names a field: validation names a known key of a
    /// section the file wrote (in backquotes); toml and serde name a key
    /// the file holds (in their message or in the line they quote).
    #[test]
    fn an_error_names_a_field((text, names) in document(), mode in mode()) {
        match Config::parse(&text, mode) {
            Ok(_) => {}
            Err(ConfigError::Invalid { key, reason }) => {
                prop_assert!(KEYS.contains(&key), "unknown key {}", key);
                let section = key.split_once('.').map_or(key, |(s, _)| s);
                prop_assert!(names.iter().any(|n| n == section), "{} not in {:?}", key, names);
                let e = ConfigError::Invalid { key, reason }.to_string();
                prop_assert!(e.contains(&format!("`{key}`")), "{}", e);
            }
            Err(ConfigError::Syntax(message)) => {
                // Not the list of what was expected, which names every key.
                let said: Vec<&str> = message
                    .lines()
                    .map(|l| l.split(", expected").next().unwrap_or(l))
                    .collect();
                prop_assert!(
                    names.iter().any(|n| said.iter().any(|l| l.contains(n.as_str()))),
                    "{:?} names none of {:?}\n{}", message, names, text
                );
            }
            Err(e @ ConfigError::Read { .. }) => prop_assert!(false, "{}", e),
        }
    }

    /// A number out of its key's range is refused, and the error names
    /// that key.
    #[test]
    fn out_of_range_numbers_name_their_key(
        (key, first, last) in proptest::sample::select(RANGES),
        below in any::<bool>(),
        // Just past the edge most often: that is where an off-by-one is.
        offset in prop_oneof![Just(0u64), 0u64..10, 0u64..1_000_000],
    ) {
        let n = if below {
            match first.checked_sub(1 + offset) {
                Some(n) => n,
                None => return Ok(()),
            }
        } else {
            last + 1 + offset
        };
        let (section, leaf) = key.split_once('.').unwrap();
        let text = format!("[{section}]\n{leaf} = {n}\n");
        match Config::parse(&text, Mode::Production) {
            Err(ConfigError::Invalid { key: named, .. }) => prop_assert_eq!(named, key),
            other => prop_assert!(false, "{} = {} gave {:?}", key, n, other),
        }
    }
}

proptest! {
    /// More connections per address than in all is refused, naming the
    /// per-address key.
    #[test]
    fn more_per_address_than_in_all_is_refused(max in 1u64..1_000_000, more in 1u64..1_000) {
        let per_address = (max + more).min(1_000_000);
        prop_assume!(per_address > max);
        let text = format!(
            "[limits]\nmax_connections = {max}\nmax_connections_per_address = {per_address}\n"
        );
        match Config::parse(&text, Mode::Production) {
            Err(ConfigError::Invalid { key, .. }) => {
                prop_assert_eq!(key, "limits.max_connections_per_address")
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

/// Valid settings for every key, as a file writes them.
#[derive(Debug, Clone)]
struct Settings {
    mode: Mode,
    listen: SocketAddr,
    state_dir: String,
    runtime_dir: Option<String>,
    log: &'static str,
    tls: Option<(String, String)>,
    timeouts: [u64; 4],
    max_body_bytes: u64,
    max_connections: u64,
    per_address: u64,
    streams: u64,
    interval_ms: u64,
    mounts: Option<Vec<String>>,
    firewall_manage: bool,
    confirm_seconds: u64,
    proxy_manage: bool,
    admin_socket: String,
    ask_listen: SocketAddr,
    bind: Option<IpAddr>,
    http_port: u16,
    https_port: u16,
    proxy_storage: Option<String>,
    acme_ca: Option<String>,
    acme_roots: Option<String>,
    caddy_user: String,
    system_manage: bool,
    bus: Option<String>,
    follow: Vec<String>,
    servers_manage: bool,
    helper_socket: String,
    server_paths: [String; 2],
    front_address: IpAddr,
    journal_dir: Option<String>,
    base_image: String,
    console: [String; 3],
}

fn absolute() -> impl Strategy<Value = String> {
    "/[a-zA-Z0-9._-]{0,12}(/[a-zA-Z0-9._ -]{1,12}){0,3}"
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(IpAddr::V4),
        any::<Ipv6Addr>().prop_map(IpAddr::V6),
    ]
}

fn loopback() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 3]>(), any::<u16>())
            .prop_map(|([a, b, c], port)| SocketAddr::from(([127, a, b, c], port))),
        any::<u16>().prop_map(|port| SocketAddr::from((Ipv6Addr::LOCALHOST, port))),
    ]
}

fn unit() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:_@\\\\-]{1,20}\\.(service|socket|timer|mount)"
}

fn settings() -> impl Strategy<Value = Settings> {
    let listening = (
        mode(),
        (ip(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port)),
        absolute(),
        proptest::option::of(absolute()),
        proptest::sample::select(vec![
            "info",
            "warn",
            "hearth=debug,info",
            "hearth::http=trace",
        ]),
        proptest::option::of((absolute(), absolute())),
    );
    let limits = (
        [1u64..=300, 1u64..=300, 1u64..=300, 1u64..=300],
        1024u64..=64 * 1024 * 1024,
        (1u64..=1_000_000).prop_flat_map(|max| (Just(max), 1..=max)),
        1u64..=1_000_000,
        100u64..=60_000,
        proptest::option::of(proptest::collection::vec(absolute(), 0..4)),
        any::<bool>(),
        super::FirewallConfig::WINDOW_MIN_S..=super::FirewallConfig::WINDOW_MAX_S,
    );
    let proxy = (
        any::<bool>(),
        absolute(),
        loopback(),
        proptest::option::of(ip()),
        (1u16..=u16::MAX, 1u16..=u16::MAX).prop_filter("distinct ports", |(a, b)| a != b),
        proptest::option::of(absolute()),
        proptest::option::of("https://[a-z0-9.:/-]{1,30}"),
        proptest::option::of(absolute()),
        "[a-z0-9_-]{1,32}",
    );
    let rest = (
        any::<bool>(),
        proptest::option::of("(unix|tcp):[a-z=/,._0-9]{0,30}"),
        proptest::collection::vec(unit(), 0..4),
        any::<bool>(),
        absolute(),
        [absolute(), absolute()],
        ip(),
        proptest::option::of(absolute()),
        prop_oneof![Just(String::new()), absolute()],
        [absolute(), absolute(), absolute()],
    );
    (listening, limits, proxy, rest).prop_map(
        |(
            (mode, listen, state_dir, runtime_dir, log, tls),
            (
                timeouts,
                max_body_bytes,
                (max_connections, per_address),
                streams,
                interval_ms,
                mounts,
                firewall_manage,
                confirm_seconds,
            ),
            (
                proxy_manage,
                admin_socket,
                ask_listen,
                bind,
                (http_port, https_port),
                proxy_storage,
                acme_ca,
                acme_roots,
                caddy_user,
            ),
            (
                system_manage,
                bus,
                follow,
                servers_manage,
                helper_socket,
                server_paths,
                front_address,
                journal_dir,
                base_image,
                console,
            ),
        )| Settings {
            mode,
            listen,
            state_dir,
            runtime_dir,
            log,
            tls,
            timeouts,
            max_body_bytes,
            max_connections,
            per_address,
            streams,
            interval_ms,
            mounts,
            firewall_manage,
            confirm_seconds,
            proxy_manage,
            admin_socket,
            ask_listen,
            bind,
            http_port,
            https_port,
            proxy_storage,
            acme_ca,
            acme_roots,
            caddy_user,
            system_manage,
            bus,
            follow,
            servers_manage,
            helper_socket,
            server_paths,
            front_address,
            journal_dir,
            base_image,
            console,
        },
    )
}

/// The file an owner would write for `s`.
fn write(s: &Settings) -> String {
    fn text(v: impl ToString) -> Value {
        Value::String(v.to_string())
    }
    fn int(v: impl Into<u64>) -> Value {
        Value::Integer(i64::try_from(v.into()).unwrap())
    }
    fn list(v: &[String]) -> Value {
        Value::Array(v.iter().map(text).collect())
    }
    fn section(entries: Vec<(&str, Option<Value>)>) -> Value {
        Value::Table(
            entries
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect(),
        )
    }
    let mut t = Table::new();
    t.insert("listen".into(), text(s.listen));
    t.insert("state_dir".into(), text(&s.state_dir));
    if let Some(dir) = &s.runtime_dir {
        t.insert("runtime_dir".into(), text(dir));
    }
    t.insert("log".into(), text(s.log));
    if let Some((cert, key)) = &s.tls {
        t.insert(
            "tls".into(),
            section(vec![("cert", Some(text(cert))), ("key", Some(text(key)))]),
        );
    }
    let [handshake, header, body, idle] = s.timeouts;
    t.insert(
        "limits".into(),
        section(vec![
            ("handshake_timeout_s", Some(int(handshake))),
            ("header_timeout_s", Some(int(header))),
            ("body_timeout_s", Some(int(body))),
            ("idle_timeout_s", Some(int(idle))),
            ("max_body_bytes", Some(int(s.max_body_bytes))),
            ("max_connections", Some(int(s.max_connections))),
            ("max_connections_per_address", Some(int(s.per_address))),
            ("max_streams_per_address", Some(int(s.streams))),
        ]),
    );
    t.insert(
        "metrics".into(),
        section(vec![
            ("interval_ms", Some(int(s.interval_ms))),
            ("mounts", s.mounts.as_deref().map(list)),
        ]),
    );
    t.insert(
        "firewall".into(),
        section(vec![
            ("manage", Some(Value::Boolean(s.firewall_manage))),
            ("confirm_seconds", Some(int(s.confirm_seconds))),
        ]),
    );
    t.insert(
        "proxy".into(),
        section(vec![
            ("manage", Some(Value::Boolean(s.proxy_manage))),
            ("admin_socket", Some(text(&s.admin_socket))),
            ("ask_listen", Some(text(s.ask_listen))),
            ("bind", s.bind.map(text)),
            ("http_port", Some(int(s.http_port))),
            ("https_port", Some(int(s.https_port))),
            ("storage", s.proxy_storage.as_ref().map(text)),
            ("acme_ca", s.acme_ca.as_ref().map(text)),
            ("acme_roots", s.acme_roots.as_ref().map(text)),
            ("caddy_user", Some(text(&s.caddy_user))),
        ]),
    );
    t.insert(
        "system".into(),
        section(vec![
            ("manage", Some(Value::Boolean(s.system_manage))),
            ("bus", s.bus.as_ref().map(text)),
            ("follow", Some(list(&s.follow))),
        ]),
    );
    let [storage, run_dir] = &s.server_paths;
    t.insert(
        "servers".into(),
        section(vec![
            ("manage", Some(Value::Boolean(s.servers_manage))),
            ("helper_socket", Some(text(&s.helper_socket))),
            ("storage", Some(text(storage))),
            ("run_dir", Some(text(run_dir))),
            ("front_address", Some(text(s.front_address))),
            ("journal_dir", s.journal_dir.as_ref().map(text)),
            ("base_image", Some(text(&s.base_image))),
        ]),
    );
    let [systemctl, journalctl, shell] = &s.console;
    t.insert(
        "console".into(),
        section(vec![
            ("systemctl", Some(text(systemctl))),
            ("journalctl", Some(text(journalctl))),
            ("shell", Some(text(shell))),
        ]),
    );
    toml::to_string(&t).expect("a table writes")
}

/// The config `s` means.
fn expected(s: &Settings) -> Config {
    let mut c = Config::defaults(s.mode);
    c.listen = s.listen;
    c.state_dir = s.state_dir.clone().into();
    c.runtime_dir = match (&s.runtime_dir, s.mode) {
        (Some(dir), _) => dir.into(),
        (None, Mode::Dev) => c.state_dir.clone(),
        (None, Mode::Production) => c.runtime_dir.clone(),
    };
    c.log = s.log.to_string();
    c.tls = s.tls.as_ref().map(|(cert, key)| TlsFiles {
        cert: cert.into(),
        key: key.into(),
    });
    let secs = std::time::Duration::from_secs;
    let [handshake, header, body, idle] = s.timeouts;
    c.limits = Limits {
        handshake_timeout: secs(handshake),
        header_timeout: secs(header),
        body_timeout: secs(body),
        idle_timeout: secs(idle),
        max_body_bytes: s.max_body_bytes as usize,
        max_connections: s.max_connections as usize,
        max_connections_per_address: s.per_address as usize,
        max_streams_per_address: s.streams as usize,
    };
    c.metrics = MetricsConfig {
        interval: Duration::from_millis(s.interval_ms),
        mounts: s.mounts.clone(),
    };
    c.firewall = FirewallConfig {
        manage: s.firewall_manage,
        confirm_window: secs(s.confirm_seconds),
    };
    c.proxy = ProxyConfig {
        manage: s.proxy_manage,
        admin_socket: s.admin_socket.clone().into(),
        ask_listen: s.ask_listen,
        bind: s.bind,
        http_port: s.http_port,
        https_port: s.https_port,
        storage: s.proxy_storage.as_ref().map(PathBuf::from),
        acme_ca: s.acme_ca.clone(),
        acme_roots: s.acme_roots.as_ref().map(PathBuf::from),
        caddy_user: s.caddy_user.clone(),
    };
    c.system = SystemConfig {
        manage: s.system_manage,
        bus: s.bus.clone(),
        follow: s.follow.clone(),
    };
    let [storage, run_dir] = &s.server_paths;
    c.servers = ServersConfig {
        manage: s.servers_manage,
        helper_socket: s.helper_socket.clone().into(),
        storage: storage.into(),
        run_dir: run_dir.into(),
        front_address: s.front_address,
        journal_dir: s.journal_dir.as_ref().map(PathBuf::from),
        base_image: (!s.base_image.is_empty()).then(|| PathBuf::from(&s.base_image)),
    };
    let [systemctl, journalctl, shell] = &s.console;
    c.console = ConsoleConfig {
        systemctl: systemctl.into(),
        journalctl: journalctl.into(),
        shell: shell.into(),
    };
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A file written from valid settings reads back as those settings,
    /// every key of every section.
    #[test]
    fn valid_settings_read_back_as_written(s in settings()) {
        let text = write(&s);
        match Config::parse(&text, s.mode) {
            Ok(c) => prop_assert_eq!(c, expected(&s)),
            Err(e) => prop_assert!(false, "{}\n{}", e, text),
        }
    }
}
