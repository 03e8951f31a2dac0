//! A store with users and a proxy service over it, and Caddy's settings
//! as on the appliance, for the proxy's unit tests.

use std::sync::Arc;

use super::model::DomainInput;
use super::render::{CaddySettings, HearthUpstream};
use super::service::ProxyService;
use crate::servers::model::{Server, ServerId, ServerInput};
use crate::store::{AuditAction, AuditEntry, Store};

pub use crate::accounts::testkit::{HERE, caller};

pub struct Lab {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub service: Arc<ProxyService>,
}

/// A store with the admin `boss` and the members `ann` and `bob`, and
/// a proxy service over it.
pub fn lab() -> Lab {
    let users = crate::accounts::testkit::lab();
    Lab {
        _dir: users.dir,
        service: Arc::new(ProxyService::new(
            users.store.clone(),
            8443,
            crate::reconcile::Observation::Present(()),
        )),
        store: users.store,
    }
}

pub fn input(json: serde_json::Value) -> DomainInput {
    serde_json::from_value(json).unwrap()
}

/// Caddy as on the appliance.
pub fn settings() -> CaddySettings {
    CaddySettings {
        admin_socket: "/run/caddy/admin.sock".into(),
        storage: None,
        bind: None,
        http_port: 80,
        https_port: 443,
        ask_url: "http://127.0.0.1:8444/ask".into(),
        acme_ca: None,
        acme_roots: None,
        hearth: HearthUpstream {
            dial: "127.0.0.1:8443".parse().unwrap(),
            certificate: "MIIB".into(),
            server_name: "localhost".into(),
        },
    }
}

/// A server of `owner`'s with id `id` and the published `ports` (the
/// API's JSON), made the way the servers' service makes one.
pub fn server(owner: &str, id: &str, ports: serde_json::Value) -> Server {
    let input: ServerInput =
        serde_json::from_value(serde_json::json!({"name": "web", "ports": ports})).unwrap();
    Server::from_input(&input, owner.into(), ServerId::try_from(id).unwrap(), 0).unwrap()
}

/// Puts `server` in the store as it is (the servers' service has no
/// change of ports yet; its manager removes a deleted server's record).
pub fn put_server(store: &Store, server: &Server) {
    store
        .change(
            AuditEntry::system(AuditAction::ServerCreate, server.id.as_str()),
            |c| crate::servers::stored::put(c, server),
        )
        .unwrap();
}

/// Removes `server`'s record, as the servers' manager does once it is
/// deleted.
pub fn remove_server(store: &Store, server: &Server) {
    store
        .change(
            AuditEntry::system(AuditAction::ServerDelete, server.id.as_str()),
            |c| crate::servers::stored::remove(c, &server.id).map(|_| ()),
        )
        .unwrap();
}
