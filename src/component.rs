//! The daemon's components: every part that reports its health, beats for
//! the watchdog or (for the managers to come) publishes on its own topic
//! is named here once, so that `/api/v1/health`, the watchdog's log and
//! the stream cannot disagree on a name. A loop that beats for the
//! watchdog also has a health entry.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The state store (and its periodic check).
    Store,
    /// The HTTPS certificate.
    Tls,
    /// The HTTPS listener's accept loop.
    Https,
    /// The metrics sampler.
    Metrics,
    /// The nftables firewall's manager.
    Firewall,
    /// Caddy, driven through its admin API.
    Proxy,
    /// systemd over D-Bus: the services hearth follows and controls.
    System,
    /// The host name and time zone, applied through hostnamed and timedated.
    Host,
    /// The members' virtual servers: their users, storage and engines.
    Servers,
    /// The control socket the recovery console asks the daemon on.
    Control,
    /// The A/B root slots: updates, their trial boots and fallbacks.
    Update,
    /// The reconcile loop's tests' fake manager.
    #[cfg(test)]
    Fake,
}

impl Component {
    pub const fn name(self) -> &'static str {
        match self {
            Component::Store => "store",
            Component::Tls => "tls",
            Component::Https => "https",
            Component::Metrics => "metrics",
            Component::Firewall => "firewall",
            Component::Proxy => "proxy",
            Component::System => "system",
            Component::Host => "host",
            Component::Servers => "servers",
            Component::Control => "control",
            Component::Update => "update",
            #[cfg(test)]
            Component::Fake => "fake",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_name_is_the_name() {
        for c in [
            Component::Store,
            Component::Tls,
            Component::Https,
            Component::Metrics,
            Component::Firewall,
            Component::Proxy,
            Component::System,
            Component::Host,
            Component::Servers,
            Component::Control,
            Component::Update,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
        }
    }
}
