//! What wakes the servers' manager besides the store: systemd's
//! `PropertiesChanged` signals of the servers' units (an engine that
//! started, stopped or crashed), followed over D-Bus after `Subscribe()`.
//! No polling: a signal bumps a counter the manager's loop watches; the
//! loop's own drift timer is the full resync.
//!
//! When the bus goes away the follower connects again
//! ([`reconcile::follow`]'s backoff); a signal missed meanwhile is made up for by the manager's pass after
//! the reconnection (the counter is bumped on every connection).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::reconcile::{self, Connected, Follower, Pace};
use crate::system::dbus::ManagerProxy;
use crate::system::units::Bus;

/// Where systemd puts its units' objects, and the escaped prefix of the
/// servers' (`hearth-server@` as sd-bus escapes a path label).
const UNITS: &str = "/org/freedesktop/systemd1/unit";
const SERVER_UNITS: &str = "/org/freedesktop/systemd1/unit/hearth_2dserver_40";

/// Follows the servers' units until `shutdown`; each change bumps `tx`.
pub async fn follow_units(bus: Bus, tx: watch::Sender<u64>, shutdown: CancellationToken) {
    let pace = Pace::new(Duration::from_secs(1), Duration::from_secs(30));
    reconcile::follow("servers' units", UnitSignals { bus, tx }, pace, shutdown).await;
}

/// The servers' units' `PropertiesChanged` signals, one session per
/// connection to the bus.
struct UnitSignals {
    bus: Bus,
    tx: watch::Sender<u64>,
}

impl Follower for UnitSignals {
    type Error = zbus::Error;

    async fn session(&mut self, connected: &Connected) -> zbus::Result<()> {
        let conn = self.bus.connect().await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .path_namespace(UNITS)
            .build()?;
        let mut signals = zbus::MessageStream::for_match_rule(rule, &conn, None).await?;
        ManagerProxy::new(&conn).await?.subscribe().await?;
        connected.now();
        // Connected (again): whatever happened meanwhile is looked at.
        self.tx.send_modify(|n| *n += 1);
        while let Some(message) = signals.next().await {
            let message = message?;
            let header = message.header();
            if header
                .path()
                .is_some_and(|p| p.as_str().starts_with(SERVER_UNITS))
            {
                self.tx.send_modify(|n| *n += 1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefix_is_the_escaped_unit_name() {
        // sd-bus escapes every byte outside [A-Za-z0-9] as _xx.
        assert_eq!(
            super::SERVER_UNITS,
            format!(
                "{}/{}",
                super::UNITS,
                "hearth-server@"
                    .bytes()
                    .map(|b| if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("_{b:02x}")
                    })
                    .collect::<String>()
            )
        );
    }
}
