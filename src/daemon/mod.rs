//! Wiring only: open the store, load the certificate, bind, start every
//! loop, speak sd-notify, handle signals, and shut down.
//!
//! READY=1 is sent only after the store is open and the listener bound.
//! SIGTERM/SIGINT: STOPPING=1, stop accepting, close connections, exit.
//! SIGHUP: RELOADING=1, reload the config's reloadable part and the
//! certificate, READY=1.

pub mod allocator;
mod listener;
pub mod notify;
mod proxy;
mod servers;
mod store_probe;
mod system;
mod tasks;
mod watchdog;

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
use crate::events::{HealthEvent, Hub, HubConfig};
use crate::firewall::adapter::NftBinary;
use crate::firewall::run::FirewallManager;
use crate::firewall::service::{Driver, FirewallService};
use crate::firewall::stored as firewall_store;
use crate::health::{ComponentState, Health};
use crate::http::context::Services;
use crate::http::{self, AppContext};
use crate::liveness::Liveness;
use crate::logging::LogHandle;
use crate::metrics::collect::{Collector, Roots};
use crate::metrics::rates::Rates;
use crate::metrics::sampler::{self, MetricsState, Sampler};
use crate::reconcile::{self, ReconcileContext};
use crate::recovery::Recovery;
use crate::store::Table;
use crate::store::{AuditAction, AuditEntry, Store, StoreError};
use crate::tls::{self, CertSlot, CertSource, TlsError, TlsMaterial};
pub use notify::{Notifier, RecordingNotifier, SdNotifier};
use store_probe::StoreProbe;
use tasks::Tasks;

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
    let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;

    let store = Store::open(&config.state_dir)?;
    let health = Health::new();
    health.set(Component::Store, ComponentState::Ok, "open");
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

    let liveness = Liveness::new();
    let shutdown = CancellationToken::new();
    let hub = Hub::with_first_id(HubConfig::default());
    let (clk_tck, page_size) = sampler::clock_and_page();
    let metrics = Arc::new(MetricsState::new(config.metrics.interval, clk_tck));
    metrics.restore(&store);
    let mut sampler = Sampler {
        collector: Collector::new(Roots::host(), config.metrics.mounts.clone()),
        rates: Rates::new(clk_tck, page_size),
        state: metrics.clone(),
        hub: hub.clone(),
        store: store.clone(),
        interval: config.metrics.interval,
    };
    let sampled_from = sampler.prime();
    health.set(
        Component::Metrics,
        ComponentState::Ok,
        format!("a sample every {} ms", config.metrics.interval.as_millis()),
    );
    let mut tasks = Tasks::default();
    tasks.spawn(
        "metrics sampler",
        sampler.run(
            sampled_from,
            liveness.register(Component::Metrics),
            shutdown.clone(),
        ),
    );
    // Published before READY, like the first sample: the status is
    // complete from the first request on.
    hub.publish(HealthEvent(health.snapshot()));
    tasks.spawn(
        "health publisher",
        publish_health(health.clone(), hub.clone(), shutdown.clone()),
    );
    tasks.spawn("stream pinger", ping_streams(hub.clone(), shutdown.clone()));
    let setup = Arc::new(Setup::open(
        store.clone(),
        config.runtime_dir.join(config::paths::SETUP_CODE_FILE),
    )?);
    if !setup.is_complete() {
        announce_setup(&setup, config.mode, local);
    }
    {
        let hub = hub.clone();
        store.on_audit(move |record| {
            hub.publish(record.clone());
        });
    }
    let epoch = ConnectionEpoch::new();
    let mut managers = ManagerLoop {
        health: &health,
        liveness: &liveness,
        hub: &hub,
        shutdown: &shutdown,
        tasks: &mut tasks,
    };
    let firewall = start_firewall(&config, &store, local.port(), epoch.clone(), &mut managers)?;
    let (proxy, pin) = proxy::start_proxy(&config, &store, local, &material, &mut managers).await;
    let use_certificate = certificate_user(slot.clone(), health.clone(), pin);
    let units = system::start_system(&config, &store, &mut managers);
    let servers_ca = servers::authority(&config);
    servers::start_servers(&config, &store, servers_ca.as_ref(), &mut managers);
    let server_certs = servers::certificates(&store, servers_ca.as_ref());
    let sessions = Arc::new(Sessions::new(store.clone(), SessionPolicy::default()));
    start_control(
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
        &shutdown,
        &mut tasks,
        &health,
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
            firewall: firewall.clone(),
            proxy,
            units,
            server_certs,
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
    ctx.trusted_proxy_uid = proxy::caddy_uid(&config);
    ctx.cert = Some(slot.clone());
    let ctx = Arc::new(ctx);
    let mut server = tokio::spawn(http::serve(
        listener,
        tls::server_config(&slot),
        ctx,
        config.limits.clone(),
        liveness.register(Component::Https),
        shutdown.clone().cancelled_owned(),
    ));
    // The store has no topic of its own: its state reaches people through
    // the health entry, which the health publisher sends.
    let no_topic: reconcile::Publish<()> = Arc::new(|_| {});
    tasks.spawn(
        "store check",
        reconcile::run(
            StoreProbe {
                store: store.clone(),
            },
            reconcile::Wakes::new(),
            ReconcileContext {
                timing: store_probe::timing(),
                ..ReconcileContext::new(health.clone(), liveness.clone(), no_topic)
            },
            shutdown.clone().cancelled_owned(),
        ),
    );
    let watchdog = sd_notify::watchdog_enabled()
        .filter(|p| !p.is_zero())
        .map(|period| {
            tracing::info!(
                period_ms = period.as_millis() as u64,
                "systemd watchdog enabled"
            );
            tokio::spawn(watchdog::run(period, liveness.clone(), notifier.clone()))
        });

    let status = |health: &Health| format!("serving https://{local}; {}", health.summary());
    notifier.ready(&status(&health));
    tracing::info!(
        "hearth is ready: open https://{local} and check that the browser shows the certificate fingerprint SHA-256 {}",
        material.fingerprint
    );

    let mut config = config;
    let mut server_died = false;
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            result = &mut server => {
                // The accept loop only returns at shutdown; this is a bug
                // or a panic. Exit non-zero so systemd restarts us.
                tracing::error!(?result, "the HTTPS server stopped unexpectedly");
                server_died = true;
                break;
            }
            _ = sighup.recv() => {
                notifier.reloading();
                config = reload(config, &source, &log, use_certificate.as_ref());
                notifier.ready(&status(&health));
            }
        }
    }

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
    if let Err(e) = store.audit(AuditEntry::system(AuditAction::DaemonStop, "hearth")) {
        tracing::warn!(error = %e, "cannot record the stop");
    }
    tracing::info!("stopped");
    if server_died {
        return Err(DaemonError::ServerStopped);
    }
    Ok(())
}

/// What a manager's loop is started with.
struct ManagerLoop<'a> {
    health: &'a Health,
    liveness: &'a Liveness,
    hub: &'a Hub,
    shutdown: &'a CancellationToken,
    tasks: &'a mut Tasks,
}

/// How often the firewall's manager reads the kernel's table back when
/// nothing woke it: it puts back hand edits and refreshes the counters.
const FIREWALL_DRIFT: Duration = Duration::from_secs(10);

/// The firewall service, and (where hearth manages the firewall) its
/// manager. An unconfirmed change left by a crash or power cut is taken
/// back first, before anything is applied.
fn start_firewall(
    config: &Config,
    store: &Store,
    https_port: u16,
    epoch: ConnectionEpoch,
    run: &mut ManagerLoop<'_>,
) -> Result<Arc<FirewallService>, DaemonError> {
    if !config.firewall.manage {
        let why =
            "--dev leaves this machine's firewall alone (set firewall.manage = true to manage it)";
        run.health
            .set(Component::Firewall, ComponentState::Disabled, why);
        return Ok(Arc::new(FirewallService::new(
            store.clone(),
            Driver::NotManaged(why.into()),
            https_port,
            config.firewall.confirm_window,
            epoch,
        )));
    }
    if firewall_store::roll_back(store, "not confirmed before hearth stopped")? {
        tracing::warn!("an unconfirmed firewall change was taken back at start");
    }
    let service = Arc::new(FirewallService::new(
        store.clone(),
        Driver::Managed(Arc::new(NftBinary::system())),
        https_port,
        config.firewall.confirm_window,
        epoch,
    ));
    let publish = events_for(run.hub);
    let ctx = ReconcileContext {
        timing: reconcile::Timing {
            drift: FIREWALL_DRIFT,
            ..reconcile::Timing::default()
        },
        ..ReconcileContext::new(run.health.clone(), run.liveness.clone(), publish)
    };
    run.tasks.spawn(
        "firewall",
        reconcile::run(
            FirewallManager::new(service.clone()),
            reconcile::Wakes::new().watch("store", store.watch(Table::Firewall)),
            ctx,
            run.shutdown.clone().cancelled_owned(),
        ),
    );
    Ok(service)
}

/// Listens on the control socket for the recovery console. Not fatal when
/// it cannot: the web interface still serves, and the console works on
/// the store directly once hearth is stopped; the health entry says so.
fn start_control(
    config: &Config,
    live: control::server::Live,
    shutdown: &CancellationToken,
    tasks: &mut Tasks,
    health: &Health,
) {
    let path = config.runtime_dir.join(control::SOCKET_FILE);
    let bound = crate::fsutil::create_private_dir(&config.runtime_dir)
        .and_then(|()| control::server::bind(&path));
    match bound {
        Ok(listener) => {
            tracing::info!(socket = %path.display(), "control socket for the recovery console (root only)");
            health.set(
                Component::Control,
                ComponentState::Ok,
                format!("the recovery console's socket at {}", path.display()),
            );
            tasks.spawn(
                "control socket",
                control::server::serve(listener, Arc::new(live), shutdown.clone()),
            );
        }
        Err(e) => {
            tracing::error!(socket = %path.display(), error = %e, "cannot listen on the control socket: the console can act only while hearth is stopped");
            health.set(
                Component::Control,
                ComponentState::Down,
                format!(
                    "cannot listen on {}: {e}; the console can act only while hearth is stopped",
                    path.display()
                ),
            );
        }
    }
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
    pin: Option<proxy::HearthPin>,
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

/// A manager's publish callback: its reports go to the hub, on the topic
/// of its status's type.
fn events_for<S: reconcile::Status>(hub: &Hub) -> reconcile::Publish<S> {
    let hub = hub.clone();
    Arc::new(move |report| {
        hub.publish(report);
    })
}

/// Publishes the health registry on the `health` topic whenever it changes.
async fn publish_health(health: Health, hub: Hub, shutdown: CancellationToken) {
    let mut rx = health.subscribe();
    loop {
        let snapshot = rx.borrow_and_update().clone();
        hub.publish(HealthEvent(snapshot));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

/// `: ping` on every event stream, so idle proxies and browsers keep them.
async fn ping_streams(hub: Hub, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PING_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => hub.ping(),
        }
    }
}
