//! Failure counting per client address and per account, in bounded memory.
//!
//! After `max` failures within the window a key is locked out for the
//! window's length: further attempts are refused without checking any
//! credential. A success clears an account's count. Each map holds at most
//! [`MAX_KEYS`] keys; when full, expired entries go first, then the entry
//! with the oldest last failure, so an attacker rotating addresses cannot
//! grow memory (at worst they evict each other).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept per map: a few MiB at most.
pub const MAX_KEYS: usize = 16_384;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    window_start: Instant,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// One keyed counter with its limit.
#[derive(Debug)]
struct Counter<K> {
    max: u32,
    window: Duration,
    capacity: usize,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(max: u32, window: Duration, capacity: usize) -> Self {
        Counter {
            max,
            window,
            capacity,
            entries: HashMap::new(),
        }
    }

    fn is_locked(&self, key: &K, now: Instant) -> bool {
        self.entries
            .get(key)
            .and_then(|entry| entry.locked_until)
            .is_some_and(|until| now < until)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let window = self.window;
        let entry = self.entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            window_start: now,
            last_failure: now,
            locked_until: None,
        });
        let lock_over = entry.locked_until.is_some_and(|until| now >= until);
        if lock_over || now.duration_since(entry.window_start) >= window {
            *entry = Entry {
                failures: 0,
                window_start: now,
                last_failure: now,
                locked_until: None,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= self.max {
            entry.locked_until = Some(now + window);
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        self.entries.retain(|_, entry| {
            let live_lock = entry.locked_until.is_some_and(|until| now < until);
            live_lock || now.duration_since(entry.window_start) < window
        });
        if self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_failure)
                .map(|(key, _)| key.clone());
            if let Some(key) = oldest {
                self.entries.remove(&key);
            }
        }
    }
}

/// The client-address and the account counters.
#[derive(Debug)]
pub struct Throttle {
    inner: Mutex<(Counter<IpKey>, Counter<String>)>,
}

/// IPv6 clients are counted by /64, the block one host usually gets, so
/// walking through one's own addresses does not reset the count.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct IpKey([u8; 16]);

impl From<IpAddr> for IpKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => IpKey(v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpKey(v4.to_ipv6_mapped().octets()),
                None => {
                    let mut octets = v6.octets();
                    octets[8..].fill(0);
                    IpKey(octets)
                }
            },
        }
    }
}

impl Throttle {
    pub fn new(max_per_ip: u32, max_per_account: u32, window: Duration) -> Throttle {
        Throttle::with_capacity(max_per_ip, max_per_account, window, MAX_KEYS)
    }

    fn with_capacity(
        max_per_ip: u32,
        max_per_account: u32,
        window: Duration,
        capacity: usize,
    ) -> Throttle {
        Throttle {
            inner: Mutex::new((
                Counter::new(max_per_ip, window, capacity),
                Counter::new(max_per_account, window, capacity),
            )),
        }
    }

    /// Whether a request from `ip` (about `account`, when known) must be
    /// refused without looking at its credentials.
    pub fn is_locked(&self, ip: Option<IpAddr>, account: Option<&str>) -> bool {
        self.is_locked_at(ip, account, Instant::now())
    }

    pub fn failure(&self, ip: Option<IpAddr>, account: Option<&str>) {
        self.failure_at(ip, account, Instant::now())
    }

    /// A right password for `account`: its count starts again. The address's
    /// count stays, so one good account does not launder guesses at others.
    pub fn success(&self, account: &str) {
        self.lock().1.clear(&account_key(account));
    }

    fn is_locked_at(&self, ip: Option<IpAddr>, account: Option<&str>, now: Instant) -> bool {
        let inner = self.lock();
        ip.is_some_and(|ip| inner.0.is_locked(&IpKey::from(ip), now))
            || account.is_some_and(|account| inner.1.is_locked(&account_key(account), now))
    }

    fn failure_at(&self, ip: Option<IpAddr>, account: Option<&str>, now: Instant) {
        let mut inner = self.lock();
        if let Some(ip) = ip {
            inner.0.fail(&IpKey::from(ip), now);
        }
        if let Some(account) = account {
            inner.1.fail(&account_key(account), now);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Counter<IpKey>, Counter<String>)> {
        // The maps hold only counts: after a panic elsewhere they are still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.0.entries.len(), inner.1.entries.len())
    }
}

/// Accounts are case-insensitive, like the library's user match and domains.
fn account_key(account: &str) -> String {
    account.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn limits_per_ip_and_per_account_with_expiry_and_success() {
        let throttle = Throttle::new(3, 5, WINDOW);
        let t0 = Instant::now();
        // Address limit: the third failure locks the address, for any account.
        for n in 0..3 {
            assert!(
                !throttle.is_locked_at(ip("192.0.2.1"), Some("a@x.test"), t0),
                "{n}"
            );
            throttle.failure_at(ip("192.0.2.1"), Some("a@x.test"), t0);
        }
        assert!(throttle.is_locked_at(ip("192.0.2.1"), Some("other@x.test"), t0));
        assert!(throttle.is_locked_at(ip("::ffff:192.0.2.1"), None, t0));
        assert!(!throttle.is_locked_at(ip("192.0.2.2"), Some("a@x.test"), t0));
        // The lock ends after the window.
        assert!(!throttle.is_locked_at(ip("192.0.2.1"), None, t0 + WINDOW));

        // Account limit: five failures from five addresses lock the account.
        for n in 0..2 {
            throttle.failure_at(ip(&format!("198.51.100.{n}")), Some("A@X.test"), t0);
        }
        assert!(throttle.is_locked_at(ip("203.0.113.9"), Some("a@x.test"), t0));
        throttle.success("a@x.test");
        assert!(!throttle.is_locked_at(ip("203.0.113.9"), Some("a@x.test"), t0));

        // Failures spread over more than a window never add up to a lock.
        let throttle = Throttle::new(2, 100, WINDOW);
        throttle.failure_at(ip("192.0.2.7"), None, t0);
        throttle.failure_at(ip("192.0.2.7"), None, t0 + WINDOW);
        assert!(!throttle.is_locked_at(ip("192.0.2.7"), None, t0 + WINDOW));

        // One IPv6 /64 is one client.
        let throttle = Throttle::new(2, 100, WINDOW);
        throttle.failure_at(ip("2001:db8::1"), None, t0);
        throttle.failure_at(ip("2001:db8::ffff:2"), None, t0);
        assert!(throttle.is_locked_at(ip("2001:db8::3"), None, t0));
        assert!(!throttle.is_locked_at(ip("2001:db8:0:1::3"), None, t0));
    }

    #[test]
    fn rotating_keys_cannot_grow_the_maps_past_their_capacity() {
        let throttle = Throttle::with_capacity(3, 3, WINDOW, 64);
        let t0 = Instant::now();
        // A locked address survives a flood of new ones only while it is among
        // the most recent; the maps never exceed their capacity.
        for n in 0..10_000u32 {
            let addr = IpAddr::from(n.to_be_bytes());
            throttle.failure_at(Some(addr), Some(&format!("u{n}@x.test")), t0);
        }
        assert_eq!(throttle.sizes(), (64, 64));
        // Expired entries are dropped first.
        throttle.failure_at(ip("192.0.2.1"), Some("new@x.test"), t0 + WINDOW * 2);
        assert_eq!(throttle.sizes(), (1, 1));
    }
}
