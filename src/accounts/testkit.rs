//! A store with an admin and two members, for the unit tests of the
//! modules above accounts (the proxy, the servers).

use std::net::IpAddr;

use super::{Caller, Users};
use crate::auth::{Role, Secret};
use crate::store::Store;

pub const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

pub fn caller(name: &str, role: Role) -> Caller {
    Caller {
        username: name.into(),
        role,
        session: Secret::from_client("t").hash(),
        created_ms: 0,
    }
}

/// A store with the admin `boss` and the members `ann` and `bob`.
pub fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let users = Users::new(store.clone());
    let root = caller("boss", Role::Admin);
    for (name, role) in [("boss", "admin"), ("ann", "member"), ("bob", "member")] {
        users
            .create(
                &root,
                name,
                "correct horse battery staple 42",
                role,
                HERE,
                0,
            )
            .unwrap();
    }
    Lab { dir, store }
}
