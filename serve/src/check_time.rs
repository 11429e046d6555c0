//! How long a failed login's check is made to last.
//!
//! A check against a stored hash costs that hash's rounds; an unknown or
//! suspended account has none, and hashes `--rounds` instead. Answered when
//! each check ends, an account with a costly stored hash would stand apart
//! from one that does not exist (or, with `--rounds` above the stored
//! hashes' cost, the other way round); padded to an average, a client could
//! move the average by choosing which accounts it tries. So every failed
//! check lasts at least as long as the slowest recent check of any kind
//! (a stored hash, a stand-in, a success), timed on the worker thread: what
//! slows one check, a costly hash or a busy processor, lengthens every
//! failure alike. That time halves every hour without a slower check, so one
//! stalled disk does not slow every failure for good, and never exceeds
//! 5 seconds: a cPanel user who plants a costly hash in their own file can
//! make everyone's failed logins slower by that much at most, for an hour.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// No check is padded beyond this, whatever was seen (a stalled disk).
const MAX_PADDING: Duration = Duration::from_secs(5);
/// How fast the slowest check seen is forgotten.
const HALF_LIFE: Duration = Duration::from_secs(3600);

/// The slowest recent check of a stored hash, and when it was seen.
pub struct CheckPadding {
    slowest: Mutex<(Duration, Instant)>,
}

impl CheckPadding {
    pub fn new(now: Instant) -> CheckPadding {
        CheckPadding {
            slowest: Mutex::new((Duration::ZERO, now)),
        }
    }

    /// A check of a stored hash that took `took`, seen at `now`.
    pub fn note(&self, took: Duration, now: Instant) {
        let took = took.min(MAX_PADDING);
        let mut slowest = self.slowest.lock().unwrap_or_else(|p| p.into_inner());
        if took >= decayed(*slowest, now) {
            *slowest = (took, now);
        }
    }

    /// How long a failed check started now must last.
    pub fn current(&self, now: Instant) -> Duration {
        decayed(*self.slowest.lock().unwrap_or_else(|p| p.into_inner()), now)
    }
}

fn decayed((took, at): (Duration, Instant), now: Instant) -> Duration {
    let half_lives = now.saturating_duration_since(at).as_secs_f64() / HALF_LIFE.as_secs_f64();
    took.mul_f64(0.5f64.powf(half_lives))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_check_is_kept_and_halves_every_hour() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let ms = Duration::from_millis;
        let padding = CheckPadding::new(start);
        assert_eq!(padding.current(start), Duration::ZERO);
        // (seen at, check took) then (asked at, expected padding)
        let steps: &[(u64, Option<Duration>, Duration)] = &[
            (0, Some(ms(400)), ms(400)),
            // A faster check does not lower it: a client choosing cheap
            // accounts cannot pull it down.
            (10, Some(ms(5)), ms(400)),
            (3600, None, ms(200)),
            (7200, None, ms(100)),
            // A slower check than the decayed one raises it again.
            (7200, Some(ms(150)), ms(150)),
            (10_800, None, ms(75)),
            // Capped: a stalled disk.
            (10_800, Some(Duration::from_secs(60)), MAX_PADDING),
        ];
        for &(secs, seen, expected) in steps {
            if let Some(took) = seen {
                padding.note(took, at(secs));
            }
            let got = padding.current(at(secs));
            let off = got.abs_diff(expected);
            assert!(off < ms(1), "at {secs} s: {got:?}, expected {expected:?}");
        }
    }
}
