//! The daemon run in the test's own process (`daemon::run` with a
//! recording notifier and a stop channel instead of systemd's socket and
//! signals): for tests that look at what it tells systemd, or that want
//! its start and stop without a child process. Tests of the binary's
//! signals, exit codes and sockets start the binary instead (`Daemon`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth::config::{Config, Mode};
use hearth::daemon::{self, ConfigSource, DaemonError, RecordingNotifier};
use hearth::logging::LogHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct InProcess {
    pub notifier: Arc<RecordingNotifier>,
    pub addr: SocketAddr,
    pub state_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), DaemonError>>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// Starts a `--dev` daemon on 127.0.0.1 (any port) with a fresh
    /// state dir, and waits for READY=1.
    pub async fn start() -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let text = format!(
            "listen = \"127.0.0.1:0\"\nstate_dir = {:?}\n",
            state_dir.display().to_string()
        );
        let config = Config::parse(&text, Mode::Dev).unwrap();
        let notifier = Arc::new(RecordingNotifier::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(daemon::run(
            config,
            ConfigSource {
                path: None,
                mode: Mode::Dev,
            },
            LogHandle::detached(),
            notifier.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let sent = notifier.sent();
            // READY=1 goes out together with the status naming the address.
            if sent.iter().any(|s| s == "READY=1") {
                let serving = sent
                    .iter()
                    .find_map(|s| s.strip_prefix("STATUS=serving https://"))
                    .expect("READY comes with a status line naming the address");
                break serving.split(';').next().unwrap().parse().unwrap();
            }
            assert!(
                !task.is_finished(),
                "the daemon ended before READY: {sent:?}"
            );
            assert!(Instant::now() < deadline, "no READY within 30 s: {sent:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        InProcess {
            notifier,
            addr,
            state_dir,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops it as SIGTERM would, and answers how `daemon::run` ended.
    pub async fn stop(&mut self) -> Result<(), DaemonError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("stopped once");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops within 10 s")
            .expect("the daemon task did not panic")
    }
}
