//! Wiring only: open the store, load the certificate, bind, start every
//! loop, speak sd-notify, handle signals, and shut down.
//!
//! READY=1 is sent only after the store is open and the listener bound.
//! SIGTERM/SIGINT: STOPPING=1, stop accepting, close connections, exit.
//! SIGHUP: RELOADING=1, reload the config's reloadable part and the
//! certificate, READY=1.

pub mod allocator;
mod listener;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::accounts::{BoxSettings, Sessions, Setup, SetupError};
use crate::auth::SessionPolicy;
use crate::component::Component;
use crate::config::{self, Config};
use crate::connection_epoch::ConnectionEpoch;
use crate::control;
use crate::events::{Hub, HubConfig};
use crate::health::{ComponentState, Health};
use crate::http::context::Services;
use crate::http::{self, AppContext};
use crate::liveness::Liveness;
use crate::logging::LogHandle;
use crate::notify::watchdog;
pub use crate::notify::{Notifier, RecordingNotifier, SdNotifier};
use crate::reconcile::{self, Launch, Tasks};
use crate::recovery::Recovery;
use crate::store::{AuditAction, AuditEntry, Store, StoreError};
use crate::tls::{self, CertSlot, CertSource, TlsError, TlsMaterial};
use crate::{firewall, metrics, proxy, servers, system};

/// How often event streams get a `: ping` comment.
const PING_EVERY: Duration = Duration::from_secs(15);

/// Says where to go to set the box up. The code itself goes only to a
/// terminal in `--dev` (what `make run` shows); under systemd stderr is the
/// journal, which must never see it: there the console shows the file.
fn announce_setup(setup: &Setup, mode: config::Mode, local: SocketAddr) {
    tracing::info!(
        file = %setup.code_path().display(),
        "setup mode: open https://{local}/setup and enter the setup code from the console"
    );
    if mode == config::Mode::Dev
        && let Some(code) = setup.code_for_console()
    {
        eprintln!("\n  hearth setup code: {code}   (open https://{local}/setup)\n");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the socket systemd passed (LISTEN_FDS)")]
    ListenFds(#[source] std::io::Error),
    #[error("the HTTPS server stopped unexpectedly; see the log")]
    ServerStopped,
    #[error("cannot install the signal handlers")]
    Signals(#[source] std::io::Error),
}

/// Where the running config came from, so SIGHUP can read it again.
pub struct ConfigSource {
    pub path: Option<PathBuf>,
    pub mode: config::Mode,
}

/// Runs the daemon until SIGTERM or SIGINT, or until `stop` completes.
///
/// `notifier` is how it speaks to systemd ([`SdNotifier`] in production);
/// `stop` lets a test run the whole start-up and shutdown in-process
/// (`std::future::pending()` when only signals may stop it).
pub async fn run(
    config: Config,
    source: ConfigSource,
    log: LogHandle,
    notifier: Arc<dyn Notifier>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    notifier.status("starting: opening the state store");

    // Signals first, so a SIGTERM during start-up is not lost.
    let signals = Signals::install()?;

    let opened = open(&config)?;
    let (store, health, local) = (opened.store, opened.health, opened.local);
    let (material, slot) = (opened.material, opened.slot);

    let liveness = Liveness::new();
    let shutdown = CancellationToken::new();
    let hub = Hub::with_first_id(HubConfig::default());
    let mut tasks = Tasks::default();
    let mut launch = Launch {
        health: &health,
        liveness: &liveness,
        hub: &hub,
        shutdown: &shutdown,
        tasks: &mut tasks,
    };
    let metrics = metrics::start::start(&config, &store, &mut launch);
    launch.health_publisher();
    launch.stream_pinger(PING_EVERY);
    let setup = Arc::new(Setup::open(
        store.clone(),
        config.runtime_dir.join(config::paths::SETUP_CODE_FILE),
    )?);
    if !setup.is_complete() {
        announce_setup(&setup, config.mode, local);
    }
    publish_audit(&store, &hub);
    // The components, each started by its own folder.
    let epoch = ConnectionEpoch::new();
    let firewall =
        firewall::start::start(&config, &store, local.port(), epoch.clone(), &mut launch)?;
    let (proxy, pin) = proxy::start::start(&config, &store, local, &material, &mut launch).await;
    let units = system::start::start(&config, &store, &mut launch);
    let servers_ca = servers::start::authority(&config);
    servers::start::start(&config, &store, servers_ca.as_ref(), &mut launch);
    crate::update::start::start(&config, &store, units.clone(), &mut launch);
    reconcile::store_probe::start(&store, &mut launch);
    let use_certificate = certificate_user(slot.clone(), health.clone(), pin);
    let sessions = Arc::new(Sessions::new(store.clone(), SessionPolicy::default()));
    control::start::start(
        &config,
        control::server::Live {
            recovery: Arc::new(Recovery::for_config(&config, store.clone())),
            health: health.clone(),
            setup: setup.clone(),
            sessions: sessions.clone(),
            slot: slot.clone(),
            use_certificate: use_certificate.clone(),
            https_port: local.port(),
        },
        &mut launch,
    );
    let mut ctx = AppContext::new(
        health.clone(),
        store.clone(),
        hub.clone(),
        metrics,
        Services {
            setup,
            sessions,
            settings: Arc::new(BoxSettings::load(store.clone())?),
            firewall,
            proxy,
            units,
            server_certs: servers::start::certificates(&store, servers_ca.as_ref()),
            journal_dir: config.servers.journal_dir.clone(),
            servers_layout: config.servers.manage.then(|| {
                crate::servers::helper::Layout::new(
                    &config.servers.storage,
                    &config.servers.run_dir,
                )
            }),
            epoch,
        },
        &config.limits,
        local,
    );
    ctx.trusted_proxy_uid = proxy::start::caddy_uid(&config);
    ctx.cert = Some(slot.clone());
    let mut server = tokio::spawn(http::serve(
        opened.listener,
        tls::server_config(&slot),
        Arc::new(ctx),
        config.limits.clone(),
        liveness.register(Component::Https),
        shutdown.clone().cancelled_owned(),
    ));
    let watchdog = watchdog::start(&liveness, &notifier);

    let status = |health: &Health| format!("serving https://{local}; {}", health.summary());
    notifier.ready(&status(&health));
    tracing::info!(
        "hearth is ready: open https://{local} and check that the browser shows the certificate fingerprint SHA-256 {}",
        material.fingerprint
    );

    let server_died = {
        let mut config = config;
        let mut reload = || {
            notifier.reloading();
            config = reload(config.clone(), &source, &log, use_certificate.as_ref());
            notifier.ready(&status(&health));
        };
        until_stopped(stop, signals, &mut server, &mut reload).await
    };

    tracing::info!("stopping");
    notifier.stopping();
    // End the event streams first, so their connections can close at once.
    hub.shutdown();
    shutdown.cancel();
    if let Some(w) = watchdog {
        w.abort();
    }
    if !server_died {
        let _ = server.await;
    }
    tasks.join().await;
    record_stop(&store);
    if server_died {
        return Err(DaemonError::ServerStopped);
    }
    Ok(())
}

/// The signals the daemon answers.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, DaemonError> {
        let on = |kind| signal(kind).map_err(DaemonError::Signals);
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            hup: on(SignalKind::hangup())?,
        })
    }
}

/// Serves until `stop`, SIGTERM or SIGINT, calling `reload` on SIGHUP;
/// true when the HTTPS server ended first (a bug or a panic).
async fn until_stopped(
    stop: impl std::future::Future<Output = ()>,
    mut signals: Signals,
    server: &mut tokio::task::JoinHandle<()>,
    reload: &mut (dyn FnMut() + Send),
) -> bool {
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return false,
            _ = signals.term.recv() => return false,
            _ = signals.int.recv() => return false,
            result = &mut *server => {
                // The accept loop only returns at shutdown; this is a bug
                // or a panic. Exit non-zero so systemd restarts us.
                tracing::error!(?result, "the HTTPS server stopped unexpectedly");
                return true;
            }
            _ = signals.hup.recv() => reload(),
        }
    }
}

/// What the daemon opens before anything starts: the store, the
/// certificate, the listener.
struct Opened {
    store: Store,
    health: Health,
    material: TlsMaterial,
    slot: CertSlot,
    listener: tokio::net::TcpListener,
    local: SocketAddr,
}

/// Opens the store, loads (or makes) the certificate, binds the
/// listener (or takes systemd's), and audits the start.
fn open(config: &Config) -> Result<Opened, DaemonError> {
    // After an update fell back to the old slot, a store the newer
    // hearth migrated is put aside and the copy from before the update
    // comes back (see store::pre_update); the update manager tells.
    let (store, restored) = Store::open_after_fallback(&config.state_dir)?;
    let health = Health::new();
    match &restored {
        None => health.set(Component::Store, ComponentState::Ok, "open"),
        Some(restored) => {
            tracing::warn!(%restored, "state store restored from before the update");
            health.set(
                Component::Store,
                ComponentState::Ok,
                format!("open; {restored}"),
            );
        }
    }
    tracing::info!(path = %store.path().display(), "state store open");

    let material = tls::load_or_generate(&config.state_dir, config.tls.as_ref())?;
    log_certificate(&material);
    health.set(
        Component::Tls,
        ComponentState::Ok,
        certificate_detail(&material),
    );
    let slot = CertSlot::new(material.key.clone());

    let (listener, how) = listener::take_or_bind(config.listen)?;
    let local = listener.local_addr().map_err(|source| DaemonError::Bind {
        addr: config.listen,
        source,
    })?;
    tracing::info!(url = %format!("https://{local}"), origin = ?how, "listening");
    health.set(
        Component::Https,
        ComponentState::Ok,
        format!("listening on {local}"),
    );
    // Audited only now: a start that fails to bind is not a start.
    record_start(&store)?;
    Ok(Opened {
        store,
        health,
        material,
        slot,
        listener,
        local,
    })
}

/// Every audit record, on the `audit` topic as it is committed.
fn publish_audit(store: &Store, hub: &Hub) {
    let hub = hub.clone();
    store.on_audit(move |record| {
        hub.publish(record.clone());
    });
}

/// Audits the stop, once every loop has ended.
fn record_stop(store: &Store) {
    if let Err(e) = store.audit(AuditEntry::system(AuditAction::DaemonStop, "hearth")) {
        tracing::warn!(error = %e, "cannot record the stop");
    }
    tracing::info!("stopped");
}

/// Keeps the first-start time and audits every start.
fn record_start(store: &Store) -> Result<(), StoreError> {
    store.change(
        AuditEntry::system(AuditAction::DaemonStart, "hearth"),
        |c| c.keep_installed_at(crate::clock::now_ms()),
    )
}

fn log_certificate(material: &TlsMaterial) {
    tracing::info!(
        fingerprint = %material.fingerprint,
        cert = %material.cert_path.display(),
        source = ?material.source,
        "TLS certificate (SHA-256 fingerprint)"
    );
}

fn certificate_detail(material: &TlsMaterial) -> String {
    let kind = match material.source {
        CertSource::SelfSigned { .. } => "self-signed",
        CertSource::Configured => "configured",
    };
    format!("{kind} certificate, SHA-256 {}", material.fingerprint)
}

/// What puts a certificate in force: new handshakes get it, the health
/// entry names it, and Caddy pins it for the box's own domain (a reload
/// and the console's "new certificate" both use this).
fn certificate_user(
    slot: CertSlot,
    health: Health,
    pin: Option<proxy::start::HearthPin>,
) -> Arc<dyn Fn(&TlsMaterial) + Send + Sync> {
    Arc::new(move |material: &TlsMaterial| {
        slot.replace(material.key.clone());
        health.set(
            Component::Tls,
            ComponentState::Ok,
            certificate_detail(material),
        );
        if let Some(pin) = &pin {
            pin.update(material);
        }
    })
}

/// Applies what SIGHUP may change; a bad new config keeps the running one.
fn reload(
    running: Config,
    source: &ConfigSource,
    log: &LogHandle,
    use_certificate: &(dyn Fn(&TlsMaterial) + Send + Sync),
) -> Config {
    let new = match config::load(source.path.as_deref(), source.mode) {
        Ok(new) => new,
        Err(e) => {
            tracing::error!(error = %e, "reload: config refused; keeping the running config");
            return running;
        }
    };
    if !running.restart_settings_equal(&new) {
        tracing::warn!(
            "reload: listen, state_dir and limits take effect only after a restart; keeping the running values"
        );
    }
    if let Err(e) = log.set_filter(&new.log) {
        tracing::error!(error = %e, "reload: cannot apply the log filter");
    }
    match tls::load_or_generate(&running.state_dir, new.tls.as_ref()) {
        Ok(material) => {
            use_certificate(&material);
            log_certificate(&material);
        }
        Err(e) => {
            tracing::error!(error = %e, "reload: certificate refused; keeping the running one");
        }
    }
    tracing::info!("reloaded");
    Config {
        log: new.log,
        tls: new.tls,
        ..running
    }
}
