//! Starts the control socket the recovery console asks the daemon on.

use std::sync::Arc;

use super::server::Live;
use crate::component::Component;
use crate::config::Config;
use crate::health::ComponentState;
use crate::reconcile::Launch;

/// Listens on the control socket for the recovery console. Not fatal when
/// it cannot: the web interface still serves, and the console works on
/// the store directly once hearth is stopped; the health entry says so.
pub fn start(config: &Config, live: Live, launch: &mut Launch<'_>) {
    let health = launch.health;
    let path = config.runtime_dir.join(super::SOCKET_FILE);
    let bound = crate::fsutil::create_private_dir(&config.runtime_dir)
        .and_then(|()| super::server::bind(&path));
    match bound {
        Ok(listener) => {
            tracing::info!(socket = %path.display(), "control socket for the recovery console (root only)");
            health.set(
                Component::Control,
                ComponentState::Ok,
                format!("the recovery console's socket at {}", path.display()),
            );
            let serve = super::server::serve(listener, Arc::new(live), launch.shutdown.clone());
            launch.spawn("control socket", serve);
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
