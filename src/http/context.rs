//! What request handlers may reach: the handles the daemon gives the HTTP
//! layer. Handlers call into these modules; they never see their internals.

use std::time::Instant;

use crate::health::Health;
use crate::store::Store;

pub struct AppContext {
    pub health: Health,
    pub store: Store,
    pub started: Instant,
}

impl AppContext {
    pub fn new(health: Health, store: Store) -> AppContext {
        AppContext {
            health,
            store,
            started: Instant::now(),
        }
    }
}
