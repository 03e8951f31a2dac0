//! Who may try a password now: the sign-in policy (issue 28), pure, with
//! time passed in. Three throttles count failed attempts, each with
//! growing delays (1 s, doubling, at most 60 s; forgotten after 15
//! minutes):
//!
//! - **per address** (3 free: the fourth attempt is heard at once, the
//!   fifth after 1 s): many accounts guessed from one place;
//! - **per address and account** (3 free): one account guessed from one
//!   place, not reset by a success on another account;
//! - **per account** (10 free): one account guessed from many places, a
//!   slow-down for everyone, which the account's owner passes: an attempt
//!   from an address the account signed in from before, or one carrying
//!   a valid second factor, is not held by it.
//!
//! An attempt is counted as failed when it is let through, before its
//! password is checked, and taken back if it succeeds: attempts that
//! arrive together cannot all slip past the count while their hashes run.

use std::net::IpAddr;
use std::time::Duration;

use super::throttle::{Throttle, ThrottleKey};

/// Failures forgotten after this long.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const BASE: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(60);
/// Free failures per address, and per address and account.
pub const FREE_PER_ADDRESS: u32 = 3;
/// Free failures per account, from addresses it never signed in from.
pub const FREE_PER_ACCOUNT: u32 = 10;

/// One password attempt, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub address: IpAddr,
    pub username: &'a str,
    /// From an address the account signed in from before, or with a
    /// second factor that checks out: the account's owner, most likely.
    pub vouched: bool,
}

/// An attempt let through, counted as failed until [`AttemptGuard::succeeded`].
#[derive(Debug)]
#[must_use = "a reservation is settled by succeeded(), or left counted as a failure"]
pub struct Reservation {
    address: ThrottleKey,
    pair: ThrottleKey,
    account: ThrottleKey,
}

pub struct AttemptGuard {
    address: Throttle,
    pair: Throttle,
    account: Throttle,
}

impl Default for AttemptGuard {
    fn default() -> Self {
        AttemptGuard {
            address: Throttle::new(FREE_PER_ADDRESS, BASE, MAX, WINDOW),
            pair: Throttle::new(FREE_PER_ADDRESS, BASE, MAX, WINDOW),
            account: Throttle::new(FREE_PER_ACCOUNT, BASE, MAX, WINDOW),
        }
    }
}

fn address_bytes(address: IpAddr) -> Vec<u8> {
    match address.to_canonical() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn account_key(username: &str) -> ThrottleKey {
    ThrottleKey::of(&[b"account", username.as_bytes()])
}

impl AttemptGuard {
    /// Lets `attempt` through, counted as a failure, or says how long it
    /// must wait (and counts nothing).
    pub fn reserve(&mut self, attempt: &Attempt, now_ms: u64) -> Result<Reservation, Duration> {
        let address = address_bytes(attempt.address);
        let reservation = Reservation {
            address: ThrottleKey::of(&[b"address", &address]),
            pair: ThrottleKey::of(&[b"pair", &address, attempt.username.as_bytes()]),
            account: account_key(attempt.username),
        };
        let mut waits = vec![
            self.address.check(&reservation.address, now_ms),
            self.pair.check(&reservation.pair, now_ms),
        ];
        if !attempt.vouched {
            waits.push(self.account.check(&reservation.account, now_ms));
        }
        if let Some(wait) = waits.into_iter().filter_map(Result::err).max() {
            return Err(wait);
        }
        self.address.failure(&reservation.address, now_ms);
        self.pair.failure(&reservation.pair, now_ms);
        self.account.failure(&reservation.account, now_ms);
        Ok(reservation)
    }

    /// The attempt was right: its address (and address and account) start
    /// afresh; the account's count loses this attempt only, so an owner
    /// signing in does not wipe out what others tried.
    pub fn succeeded(&mut self, reservation: Reservation) {
        self.address.success(&reservation.address);
        self.pair.success(&reservation.pair);
        self.account.forget_one(&reservation.account);
    }

    /// Forgets what was tried on `username` from everywhere (the recovery
    /// console set a new password: its owner signs in at once).
    pub fn forgive(&mut self, username: &str) {
        self.account.success(&account_key(username));
    }

    /// Keys remembered in all, for a memory bound's test.
    pub fn remembered(&self) -> usize {
        self.address.len() + self.pair.len() + self.account.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 10_000_000;

    fn from(address: &str, username: &str, vouched: bool) -> Attempt<'static> {
        Attempt {
            address: address.parse().unwrap(),
            username: Box::leak(username.to_owned().into_boxed_str()),
            vouched,
        }
    }

    /// Reserves an attempt on `username` from `address`, not vouched for,
    /// at `T0`.
    fn attempt(
        guard: &mut AttemptGuard,
        address: &str,
        username: &str,
    ) -> Result<Reservation, Duration> {
        guard.reserve(&from(address, username, false), T0)
    }

    #[test]
    fn attempts_arriving_together_are_counted_before_their_hashes() {
        // Nothing is settled between the reservations: the fifth waits.
        let mut guard = AttemptGuard::default();
        let attempt = from("192.0.2.1", "admin", false);
        let held: Vec<_> = (0..=FREE_PER_ADDRESS)
            .map(|_| guard.reserve(&attempt, T0).expect("free"))
            .collect();
        assert_eq!(guard.reserve(&attempt, T0).unwrap_err(), BASE);
        drop(held);
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let mut guard = AttemptGuard::default();
        for name in ["a", "b", "c", "d"] {
            let _ = attempt(&mut guard, "192.0.2.1", name).unwrap();
        }
        assert!(attempt(&mut guard, "192.0.2.1", "e").is_err());
        assert!(attempt(&mut guard, "192.0.2.2", "e").is_ok());
    }

    #[test]
    fn a_success_elsewhere_does_not_reset_the_guesses_at_an_account() {
        let mut guard = AttemptGuard::default();
        let _ = attempt(&mut guard, "192.0.2.1", "admin").unwrap();
        let _ = attempt(&mut guard, "192.0.2.1", "admin").unwrap();
        let own = attempt(&mut guard, "192.0.2.1", "mallory").unwrap();
        guard.succeeded(own);
        for _ in 0..2 {
            let _ = attempt(&mut guard, "192.0.2.1", "admin").unwrap();
        }
        assert!(
            attempt(&mut guard, "192.0.2.1", "admin").is_err(),
            "four on admin from this address, whatever mallory did"
        );
    }

    #[test]
    fn many_addresses_slow_the_account_for_strangers_not_for_its_owner() {
        let mut guard = AttemptGuard::default();
        for i in 0..=FREE_PER_ACCOUNT {
            let _ = attempt(&mut guard, &format!("198.51.100.{i}"), "admin").unwrap();
        }
        // The attacker's next address, and the owner on a new one
        // without a second factor: held.
        assert_eq!(
            attempt(&mut guard, "203.0.113.9", "admin").unwrap_err(),
            BASE
        );
        // The owner from a known address, or with a valid code: through.
        let owner = guard
            .reserve(&from("192.0.2.50", "admin", true), T0)
            .expect("vouched");
        guard.succeeded(owner);
        // Other accounts are not held.
        assert!(attempt(&mut guard, "203.0.113.9", "bob").is_ok());
    }

    #[test]
    fn an_owners_sign_ins_do_not_add_up_to_a_slow_down() {
        let mut guard = AttemptGuard::default();
        for i in 0..3 * FREE_PER_ACCOUNT {
            let r = attempt(&mut guard, &format!("198.51.100.{i}"), "admin")
                .expect("each one succeeds");
            guard.succeeded(r);
        }
        assert_eq!(guard.remembered(), 0);
    }

    #[test]
    fn the_console_forgives_an_account() {
        let mut guard = AttemptGuard::default();
        for i in 0..=FREE_PER_ACCOUNT {
            let _ = attempt(&mut guard, &format!("198.51.100.{i}"), "admin").unwrap();
        }
        guard.forgive("admin");
        assert!(attempt(&mut guard, "203.0.113.9", "admin").is_ok());
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_their_ipv4() {
        let mut guard = AttemptGuard::default();
        for _ in 0..=FREE_PER_ADDRESS {
            let _ = attempt(&mut guard, "192.0.2.1", "x").unwrap();
        }
        assert!(attempt(&mut guard, "::ffff:192.0.2.1", "x").is_err());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any mix of attempts, successes and forgiving at any times: no
        /// panic, and a reservation that succeeded always leaves its
        /// address free to try again at once.
        #[test]
        fn any_sequence_keeps_the_guard_sound(
            steps in proptest::collection::vec((0u8..4, 0u8..3, any::<bool>(), any::<bool>(), 0u64..2_000_000), 0..64),
        ) {
            let mut guard = AttemptGuard::default();
            let mut now = T0;
            for (address, user, vouched, succeed, later) in steps {
                now += later;
                let name = ["admin", "bob", "carol"][usize::from(user)];
                let attempt = Attempt {
                    address: IpAddr::from([192, 0, 2, address]),
                    username: name,
                    vouched,
                };
                if let Ok(reservation) = guard.reserve(&attempt, now) && succeed {
                    guard.succeeded(reservation);
                    let again = Attempt { vouched: true, ..attempt };
                    prop_assert!(guard.reserve(&again, now).is_ok());
                }
            }
        }
    }

    const T0: u64 = 10_000_000;
}
