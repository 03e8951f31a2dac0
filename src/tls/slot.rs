//! The current certificate, swappable at run time (SIGHUP).

use std::fmt;
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Holds the certificate every new handshake uses; cheap to clone.
#[derive(Clone)]
pub struct CertSlot {
    current: Arc<RwLock<Arc<CertifiedKey>>>,
}

impl CertSlot {
    pub fn new(key: Arc<CertifiedKey>) -> CertSlot {
        CertSlot {
            current: Arc::new(RwLock::new(key)),
        }
    }

    /// New handshakes use `key`; established connections keep theirs.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl fmt::Debug for CertSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CertSlot")
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}
