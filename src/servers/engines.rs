//! Each running server's engine, followed: a task per engine connects to
//! its socket, reads its version and containers, and follows its event
//! stream, reading the containers again after each container event. What
//! it sees is kept in a shared map the manager's passes read, and every
//! change bumps a counter the manager's loop watches: the engines' own
//! events drive the `servers` topic, nothing is polled.
//!
//! An engine that goes away (its stream ends, or it does not answer) is
//! marked not answering, and its follower connects again
//! ([`reconcile::follow`]'s backoff, half a second to five), for as long
//! as the manager keeps it (while the server's unit is up) and until
//! shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::engine::{Container, Engine, EngineVersion};
use super::helper::Layout;
use super::model::ServerId;
use crate::reconcile::{self, Connected, Follower, Pace};

/// How long a follower waits before connecting again: from half a
/// second (an engine restarting is back soon) up to five.
const RETRY: Duration = Duration::from_millis(500);
const RETRY_CAP: Duration = Duration::from_secs(5);

/// What hearth sees of one engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EngineView {
    pub answering: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<EngineVersion>,
    pub containers: Vec<Container>,
}

/// The followers, one per engine that should be up.
pub struct Engines {
    layout: Layout,
    views: Arc<Mutex<BTreeMap<ServerId, EngineView>>>,
    tasks: BTreeMap<ServerId, CancellationToken>,
    changed: watch::Sender<u64>,
    shutdown: CancellationToken,
}

impl Engines {
    /// Followers that stop at `shutdown`, or when their engine is no
    /// longer to be followed.
    pub fn new(
        layout: Layout,
        changed: watch::Sender<u64>,
        shutdown: CancellationToken,
    ) -> Engines {
        Engines {
            layout,
            views: Arc::default(),
            tasks: BTreeMap::new(),
            changed,
            shutdown,
        }
    }

    /// Follows exactly the engines of `up`: starts the missing followers,
    /// stops (and forgets) the others.
    pub fn follow_only(&mut self, up: &[ServerId]) {
        self.tasks.retain(|id, task| {
            let keep = up.contains(id);
            if !keep {
                task.cancel();
            }
            keep
        });
        self.views
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|id, _| up.contains(id));
        for id in up {
            if !self.tasks.contains_key(id) {
                let stop = self.shutdown.child_token();
                let follower = EngineFollower {
                    id: id.clone(),
                    socket: self.layout.socket(id),
                    views: self.views.clone(),
                    changed: self.changed.clone(),
                };
                let pace = Pace::new(RETRY, RETRY_CAP);
                tokio::spawn(reconcile::follow("engine", follower, pace, stop.clone()));
                self.tasks.insert(id.clone(), stop);
            }
        }
    }

    /// What is known of every followed engine now.
    pub fn views(&self) -> BTreeMap<ServerId, EngineView> {
        self.views.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.cancel();
        }
    }
}

fn set(
    views: &Mutex<BTreeMap<ServerId, EngineView>>,
    changed: &watch::Sender<u64>,
    id: &ServerId,
    view: EngineView,
) {
    let mut views = views.lock().unwrap_or_else(|e| e.into_inner());
    if views.get(id) != Some(&view) {
        views.insert(id.clone(), view);
        changed.send_modify(|n| *n += 1);
    }
}

/// One engine's events, one session per connection to its socket.
struct EngineFollower {
    id: ServerId,
    socket: std::path::PathBuf,
    views: Arc<Mutex<BTreeMap<ServerId, EngineView>>>,
    changed: watch::Sender<u64>,
}

impl Follower for EngineFollower {
    type Error = super::engine::EngineError;

    async fn session(&mut self, connected: &Connected) -> Result<(), Self::Error> {
        follow_once(
            &self.id,
            &self.socket,
            &self.views,
            &self.changed,
            connected,
        )
        .await
    }

    fn down(&mut self, why: &str, _retry: Duration) {
        tracing::debug!(server = %self.id, error = %why, "servers: lost the engine");
        set(&self.views, &self.changed, &self.id, EngineView::default());
    }
}

async fn follow_once(
    id: &ServerId,
    socket: &std::path::Path,
    views: &Mutex<BTreeMap<ServerId, EngineView>>,
    changed: &watch::Sender<u64>,
    connected: &Connected,
) -> Result<(), super::engine::EngineError> {
    let engine = Engine::connect(socket)?;
    let since = SystemTime::now();
    let version = engine.version().await?;
    let containers = engine.containers().await?;
    connected.now();
    let mut view = EngineView {
        answering: true,
        version: Some(version),
        containers,
    };
    set(views, changed, id, view.clone());
    let mut events = Box::pin(engine.events(since));
    while let Some(event) = events.next().await {
        if event?.kind == "container" {
            view.containers = engine.containers().await?;
            set(views, changed, id, view.clone());
        }
    }
    Ok(())
}
