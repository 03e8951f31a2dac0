//! What request handlers may reach: the handles the daemon gives the HTTP
//! layer. Handlers call into these modules; they never see their internals.

use std::sync::Arc;
use std::time::Instant;

use super::limits::ConnectionLimiter;
use crate::accounts::{Sessions, Setup, Tokens, Users};
use crate::config::Limits;
use crate::events::Hub;
use crate::health::Health;
use crate::metrics::sampler::MetricsState;
use crate::store::Store;

pub struct AppContext {
    pub health: Health,
    pub store: Store,
    pub hub: Hub,
    pub metrics: Arc<MetricsState>,
    pub setup: Arc<Setup>,
    pub sessions: Arc<Sessions>,
    pub users: Arc<Users>,
    pub tokens: Arc<Tokens>,
    /// Open SSE streams per client address.
    pub streams: ConnectionLimiter,
    pub started: Instant,
}

impl AppContext {
    pub fn new(
        health: Health,
        store: Store,
        hub: Hub,
        metrics: Arc<MetricsState>,
        setup: Arc<Setup>,
        sessions: Arc<Sessions>,
        limits: &Limits,
    ) -> AppContext {
        AppContext {
            health,
            users: Arc::new(Users::new(store.clone())),
            tokens: Arc::new(Tokens::new(store.clone())),
            store,
            hub,
            metrics,
            setup,
            sessions,
            streams: ConnectionLimiter::new(limits.max_connections, limits.max_streams_per_address),
            started: Instant::now(),
        }
    }
}
