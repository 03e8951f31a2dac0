//! Connection caps: overall and per source address. A connection over a
//! cap is closed at accept, before any TLS work is spent on it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct ConnectionLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    max_total: usize,
    max_per_address: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Held for the life of a connection; dropping it frees the slot.
pub struct ConnectionPermit {
    inner: Arc<Inner>,
    address: IpAddr,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerAddress,
}

/// A stream refused by the address's or the box's limit of open streams.
impl From<Refused> for crate::refusal::Refusal {
    fn from(_: Refused) -> Self {
        crate::refusal::Refusal::TooMany {
            message: "too many open event streams from this address".into(),
            retry_after: None,
        }
    }
}

impl ConnectionLimiter {
    pub fn new(max_total: usize, max_per_address: usize) -> ConnectionLimiter {
        ConnectionLimiter {
            inner: Arc::new(Inner {
                max_total,
                max_per_address,
                counts: Mutex::default(),
            }),
        }
    }

    pub fn try_acquire(&self, address: IpAddr) -> Result<ConnectionPermit, Refused> {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d;
        // count it under its IPv4 address.
        let address = address.to_canonical();
        let mut counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.inner.max_total {
            return Err(Refused::Total);
        }
        let n = counts.per_address.entry(address).or_default();
        if *n >= self.inner.max_per_address {
            return Err(Refused::PerAddress);
        }
        *n += 1;
        counts.total += 1;
        Ok(ConnectionPermit {
            inner: self.inner.clone(),
            address,
        })
    }

    pub fn open_connections(&self) -> usize {
        self.inner
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total -= 1;
        if let Some(n) = counts.per_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_address_cap_and_release() {
        let l = ConnectionLimiter::new(10, 2);
        let a1 = l.try_acquire(ip("10.0.0.1")).unwrap();
        let _a2 = l.try_acquire(ip("10.0.0.1")).unwrap();
        assert_eq!(
            l.try_acquire(ip("10.0.0.1")).err(),
            Some(Refused::PerAddress)
        );
        // The same client through a dual-stack socket counts the same.
        assert_eq!(
            l.try_acquire(ip("::ffff:10.0.0.1")).err(),
            Some(Refused::PerAddress)
        );
        let _b = l.try_acquire(ip("10.0.0.2")).unwrap();
        drop(a1);
        assert!(l.try_acquire(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn total_cap() {
        let l = ConnectionLimiter::new(2, 2);
        let _a = l.try_acquire(ip("10.0.0.1")).unwrap();
        let _b = l.try_acquire(ip("10.0.0.2")).unwrap();
        assert_eq!(l.try_acquire(ip("10.0.0.3")).err(), Some(Refused::Total));
        assert_eq!(l.open_connections(), 2);
    }
}
