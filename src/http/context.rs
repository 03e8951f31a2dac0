//! What request handlers may reach: the handles the daemon gives the HTTP
//! layer. Handlers call into these modules; they never see their internals.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::access_changes::AccessChanges;
use super::limits::ConnectionLimiter;
use crate::accounts::{BoxSettings, Sessions, Setup, Tokens, TwoFactor, Users};
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
    pub two_factor: Arc<TwoFactor>,
    pub settings: Arc<BoxSettings>,
    /// Open SSE streams per client address.
    pub streams: ConnectionLimiter,
    /// Wakes the open SSE streams to check their credentials again.
    pub access: AccessChanges,
    pub started: Instant,
    /// The address hearth's listener is bound to (its port is shown to
    /// signed-in users, who may be reaching the box through a proxy).
    pub local_addr: SocketAddr,
}

/// The account services the daemon opened at start (each read state from
/// the store then); users and tokens are made from the store here.
pub struct AccountServices {
    pub setup: Arc<Setup>,
    pub sessions: Arc<Sessions>,
    pub settings: Arc<BoxSettings>,
}

impl AppContext {
    pub fn new(
        health: Health,
        store: Store,
        hub: Hub,
        metrics: Arc<MetricsState>,
        accounts: AccountServices,
        limits: &Limits,
        local_addr: SocketAddr,
    ) -> AppContext {
        AppContext {
            health,
            users: Arc::new(Users::new(store.clone())),
            tokens: Arc::new(Tokens::new(store.clone())),
            two_factor: Arc::new(TwoFactor::new(store.clone())),
            store,
            hub,
            metrics,
            setup: accounts.setup,
            sessions: accounts.sessions,
            settings: accounts.settings,
            streams: ConnectionLimiter::new(limits.max_connections, limits.max_streams_per_address),
            access: AccessChanges::default(),
            started: Instant::now(),
            local_addr,
        }
    }
}
