//! Talking to systemd over `NOTIFY_SOCKET`, behind a small trait so the
//! lifecycle logic is tested with a recording fake and the real socket is
//! tested against the binary; and the watchdog's ping.

pub mod watchdog;

use sd_notify::NotifyState;

pub trait Notifier: Send + Sync + 'static {
    fn send(&self, states: &[NotifyState<'_>]);

    fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    fn reloading(&self) {
        // systemd 253+ wants the monotonic time with RELOADING=1; older
        // ones ignore it.
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }
}

/// The real notifier; without `NOTIFY_SOCKET` it does nothing.
pub struct SdNotifier;

impl Notifier for SdNotifier {
    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }
}

/// Records what would have been sent (`READY=1`, `STATUS=...`, one
/// entry a state), for tests of the lifecycle without a systemd.
#[derive(Default)]
pub struct RecordingNotifier {
    pub sent: std::sync::Mutex<Vec<String>>,
}

impl RecordingNotifier {
    /// What was sent so far.
    pub fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Notifier for RecordingNotifier {
    fn send(&self, states: &[NotifyState<'_>]) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.extend(states.iter().map(|s| s.to_string()));
    }
}
