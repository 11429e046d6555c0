//! Failure counting per client and per account, in bounded memory.
//!
//! An attempt is counted as a failure *before* its credentials are checked
//! ([`Throttle::begin`] reserves it under the same lock that checks the
//! limits) and given back only when the credentials turn out right, so
//! attempts in flight count against the budget: N guesses sent at once are
//! refused beyond the limit instead of all being checked.
//!
//! After `max` failures within the window a key is locked out for the
//! window's length: further attempts are refused without checking any
//! credential. A success clears an account's count. Each map holds at most
//! [`MAX_KEYS`] keys. When full, expired entries go first, then the unlocked
//! entry with the oldest last failure; a live lockout is never dropped, and
//! when every entry is a live lockout a new key is refused as if locked (a
//! flood of made-up names must not unlock a real account).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept per map: a few MiB at most (account keys are bounded by the
/// address length limits, see [`crate::account`]).
pub const MAX_KEYS: usize = 16_384;

/// Who is asking, for the per-client count: a network address, or the user
/// id of a process on a local UNIX socket (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Ip(IpAddr),
    Uid(u32),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    window_start: Instant,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn fresh(now: Instant) -> Entry {
        Entry {
            failures: 0,
            window_start: now,
            last_failure: now,
            locked_until: None,
        }
    }

    fn live_lock(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
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

    /// Locked, or a new key that cannot get a slot (the map is full of live
    /// lockouts): either way the attempt is refused.
    fn is_locked(&mut self, key: &K, now: Instant) -> bool {
        match self.entries.get(key) {
            Some(entry) => entry.live_lock(now),
            None => self.entries.len() >= self.capacity && !self.make_room(now),
        }
    }

    /// Counts one failure; `false` when the key had no slot (the caller has
    /// checked [`Counter::is_locked`] under the same lock, so this is rare).
    fn fail(&mut self, key: &K, now: Instant) -> bool {
        if !self.entries.contains_key(key)
            && self.entries.len() >= self.capacity
            && !self.make_room(now)
        {
            return false;
        }
        let window = self.window;
        let entry = self
            .entries
            .entry(key.clone())
            .or_insert_with(|| Entry::fresh(now));
        let lock_over = entry.locked_until.is_some_and(|until| now >= until);
        if lock_over || now.duration_since(entry.window_start) >= window {
            *entry = Entry::fresh(now);
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= self.max {
            entry.locked_until = Some(lock_end(now, window));
        }
        true
    }

    /// Gives back one failure counted by [`Counter::fail`] for an attempt
    /// that turned out right.
    fn unfail(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures < self.max {
                entry.locked_until = None;
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Frees one slot if it can without dropping a live lockout.
    fn make_room(&mut self, now: Instant) -> bool {
        let window = self.window;
        self.entries.retain(|_, entry| {
            entry.live_lock(now) || now.duration_since(entry.window_start) < window
        });
        if self.entries.len() < self.capacity {
            return true;
        }
        let oldest = self
            .entries
            .iter()
            .filter(|(_, entry)| !entry.live_lock(now))
            .min_by_key(|(_, entry)| entry.last_failure)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => {
                self.entries.remove(&key);
                true
            }
            None => false,
        }
    }
}

/// When a lockout from `now` ends. The settings bound the window; should
/// the clock still overflow, the lock lasts years rather than failing open.
fn lock_end(now: Instant, window: Duration) -> Instant {
    const YEARS: Duration = Duration::from_secs(10 * 365 * 86_400);
    now.checked_add(window)
        .or_else(|| now.checked_add(YEARS))
        .unwrap_or(now + Duration::from_secs(86_400))
}

/// The client-address and the account counters.
#[derive(Debug)]
pub struct Throttle {
    inner: Mutex<(Counter<ClientKey>, Counter<String>)>,
}

/// IPv6 clients are counted by /64, the block one host usually gets, so
/// walking through one's own addresses does not reset the count.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum ClientKey {
    Net([u8; 16]),
    Uid(u32),
}

impl From<Client> for ClientKey {
    fn from(client: Client) -> Self {
        let ip = match client {
            Client::Uid(uid) => return ClientKey::Uid(uid),
            Client::Ip(ip) => ip,
        };
        match ip {
            IpAddr::V4(v4) => ClientKey::Net(v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::Net(v4.to_ipv6_mapped().octets()),
                None => {
                    let mut octets = v6.octets();
                    octets[8..].fill(0);
                    ClientKey::Net(octets)
                }
            },
        }
    }
}

/// One admitted attempt, already counted as a failure. Dropped, it stays a
/// failure; [`Attempt::succeeded`] gives the client's back and clears the
/// account's count.
#[must_use = "an attempt not marked as succeeded counts as a failure"]
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    client: Option<ClientKey>,
    account: Option<String>,
}

impl Attempt<'_> {
    /// Right credentials: the reserved failure is given back to the client,
    /// and the account's count starts again. The client's other failures
    /// stay, so one good account does not launder guesses at others.
    pub fn succeeded(self) {
        let mut inner = self.throttle.lock();
        if let Some(client) = &self.client {
            inner.0.unfail(client);
        }
        if let Some(account) = &self.account {
            inner.1.clear(account);
        }
    }
}

impl Throttle {
    pub fn new(max_per_client: u32, max_per_account: u32, window: Duration) -> Throttle {
        Throttle::with_capacity(max_per_client, max_per_account, window, MAX_KEYS)
    }

    fn with_capacity(
        max_per_client: u32,
        max_per_account: u32,
        window: Duration,
        capacity: usize,
    ) -> Throttle {
        Throttle {
            inner: Mutex::new((
                Counter::new(max_per_client, window, capacity),
                Counter::new(max_per_account, window, capacity),
            )),
        }
    }

    /// Admits one attempt from `client` (about `account`, when known) and
    /// counts it as a failure until it succeeds; `None` when it must be
    /// refused without looking at its credentials. `client` is `None` for a
    /// trusted client, which only the account limit applies to.
    pub fn begin(&self, client: Option<Client>, account: Option<&str>) -> Option<Attempt<'_>> {
        self.begin_at(client, account, Instant::now())
    }

    fn begin_at(
        &self,
        client: Option<Client>,
        account: Option<&str>,
        now: Instant,
    ) -> Option<Attempt<'_>> {
        let client = client.map(ClientKey::from);
        let account = account.map(account_key);
        let mut inner = self.lock();
        let (clients, accounts) = &mut *inner;
        let locked = client.as_ref().is_some_and(|c| clients.is_locked(c, now))
            || account.as_ref().is_some_and(|a| accounts.is_locked(a, now));
        if locked {
            return None;
        }
        // Both have a slot: is_locked made room or found the key.
        if let Some(client) = &client {
            clients.fail(client, now);
        }
        if let Some(account) = &account {
            accounts.fail(account, now);
        }
        Some(Attempt {
            throttle: self,
            client,
            account,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Counter<ClientKey>, Counter<String>)> {
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

    fn ip(text: &str) -> Option<Client> {
        Some(Client::Ip(text.parse().unwrap()))
    }

    /// One failed attempt: admitted, then dropped.
    fn fail(throttle: &Throttle, client: Option<Client>, account: Option<&str>, now: Instant) {
        drop(throttle.begin_at(client, account, now).expect("admitted"));
    }

    fn admitted(
        throttle: &Throttle,
        client: Option<Client>,
        account: Option<&str>,
        now: Instant,
    ) -> bool {
        throttle.begin_at(client, account, now).is_some()
    }

    #[test]
    fn limits_per_ip_and_per_account_with_expiry_and_success() {
        let throttle = Throttle::new(3, 5, WINDOW);
        let t0 = Instant::now();
        // Address limit: the third failure locks the address, for any account.
        for _ in 0..3 {
            fail(&throttle, ip("192.0.2.1"), Some("a@x.test"), t0);
        }
        assert!(!admitted(
            &throttle,
            ip("192.0.2.1"),
            Some("other@x.test"),
            t0
        ));
        assert!(!admitted(&throttle, ip("::ffff:192.0.2.1"), None, t0));
        // The lock ends after the window.
        assert!(admitted(&throttle, ip("192.0.2.1"), None, t0 + WINDOW));

        // Account limit: five failures from five addresses lock the account.
        let throttle = Throttle::new(3, 5, WINDOW);
        for n in 0..5 {
            fail(
                &throttle,
                ip(&format!("198.51.100.{n}")),
                Some("A@X.test"),
                t0,
            );
        }
        assert!(!admitted(
            &throttle,
            ip("203.0.113.9"),
            Some("a@x.test"),
            t0
        ));
        // A success clears the account (here: one admitted just before).
        let throttle = Throttle::new(3, 5, WINDOW);
        for n in 0..4 {
            fail(
                &throttle,
                ip(&format!("198.51.100.{n}")),
                Some("a@x.test"),
                t0,
            );
        }
        let last = throttle.begin_at(ip("203.0.113.8"), Some("a@x.test"), t0);
        last.unwrap().succeeded();
        for n in 0..4 {
            fail(
                &throttle,
                ip(&format!("198.51.101.{n}")),
                Some("a@x.test"),
                t0,
            );
        }
        assert!(admitted(&throttle, ip("203.0.113.9"), Some("a@x.test"), t0));

        // Failures spread over more than a window never add up to a lock.
        let throttle = Throttle::new(2, 100, WINDOW);
        fail(&throttle, ip("192.0.2.7"), None, t0);
        fail(&throttle, ip("192.0.2.7"), None, t0 + WINDOW);
        assert!(admitted(&throttle, ip("192.0.2.7"), None, t0 + WINDOW));

        // One IPv6 /64 is one client; UNIX socket clients count by user id.
        let throttle = Throttle::new(2, 100, WINDOW);
        fail(&throttle, ip("2001:db8::1"), None, t0);
        fail(&throttle, ip("2001:db8::ffff:2"), None, t0);
        assert!(!admitted(&throttle, ip("2001:db8::3"), None, t0));
        assert!(admitted(&throttle, ip("2001:db8:0:1::3"), None, t0));
        fail(&throttle, Some(Client::Uid(33)), None, t0);
        fail(&throttle, Some(Client::Uid(33)), None, t0);
        assert!(!admitted(&throttle, Some(Client::Uid(33)), None, t0));
        assert!(admitted(&throttle, Some(Client::Uid(34)), None, t0));

        // A trusted client (no client key) meets the account limit only.
        let throttle = Throttle::new(1, 3, WINDOW);
        for n in 0..3 {
            fail(&throttle, None, Some(&format!("u{n}@x.test")), t0);
            fail(&throttle, None, Some("a@x.test"), t0);
        }
        assert!(admitted(&throttle, None, Some("b@x.test"), t0));
        assert!(!admitted(&throttle, None, Some("a@x.test"), t0));
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        // Checked and counted under one lock before any hash: the attempts
        // beyond the limit are refused even while none has finished.
        let throttle = Throttle::new(5, 10, WINDOW);
        let t0 = Instant::now();
        let in_flight: Vec<_> = (0..64)
            .filter_map(|_| throttle.begin_at(ip("192.0.2.1"), Some("bob@x.test"), t0))
            .collect();
        assert_eq!(in_flight.len(), 5);
        // The right password among them gives its own slot back only.
        let mut in_flight = in_flight.into_iter();
        in_flight.next().unwrap().succeeded();
        assert!(admitted(&throttle, ip("192.0.2.1"), Some("bob@x.test"), t0));
        drop(in_flight);
        assert!(!admitted(
            &throttle,
            ip("192.0.2.1"),
            Some("bob@x.test"),
            t0
        ));
    }

    #[test]
    fn rotating_keys_cannot_grow_the_maps_or_evict_a_live_lockout() {
        let throttle = Throttle::with_capacity(3, 3, WINDOW, 64);
        let t0 = Instant::now();
        for _ in 0..3 {
            fail(&throttle, ip("198.51.100.1"), Some("bob@x.test"), t0);
        }
        assert!(!admitted(
            &throttle,
            ip("203.0.113.1"),
            Some("bob@x.test"),
            t0
        ));
        // A flood of new keys, each failing once: the maps stay within their
        // capacity and the live lockouts stay.
        for n in 0..10_000u32 {
            let addr = IpAddr::from(n.to_be_bytes());
            let _ = throttle.begin_at(Some(Client::Ip(addr)), Some(&format!("u{n}@x.test")), t0);
        }
        assert_eq!(throttle.sizes(), (64, 64));
        assert!(!admitted(
            &throttle,
            ip("203.0.113.1"),
            Some("bob@x.test"),
            t0
        ));
        assert!(!admitted(&throttle, ip("198.51.100.1"), None, t0));

        // Full of live lockouts: a new key is refused, not let in unchecked.
        let throttle = Throttle::with_capacity(1, 100, WINDOW, 8);
        for n in 0..8u32 {
            fail(&throttle, Some(Client::Uid(n)), None, t0);
        }
        assert!(!admitted(&throttle, Some(Client::Uid(99)), None, t0));
        // Expired entries are dropped first.
        assert!(admitted(
            &throttle,
            Some(Client::Uid(99)),
            None,
            t0 + WINDOW * 2
        ));
        assert_eq!(throttle.sizes(), (1, 0));
    }

    #[test]
    fn a_lockout_longer_than_time_itself_saturates() {
        let throttle = Throttle::new(1, 1, Duration::MAX);
        let t0 = Instant::now();
        fail(&throttle, ip("192.0.2.1"), Some("a@x.test"), t0);
        assert!(!admitted(&throttle, ip("192.0.2.2"), Some("a@x.test"), t0));
    }
}
