//! Waiting until a replaced file is what every reader sees.
//!
//! Exim reads the file at every lookup. Dovecot's passwd-file passdb looks at
//! it (`stat`) at most once per second of its clock: a lookup in the second
//! of its last look uses what it read then (`passwd_file_sync()` in Dovecot's
//! `src/auth/db-passwd-file.c`). So a login in the second of a rename may
//! still get the old file, even after the change was reported. Once the wall
//! clock has reached the second after the rename's, every lookup looks
//! again, and sees the new file: its modification time moved strictly
//! forward (the mtime rule, in `store.rs`).
//!
//! The wait comes after the rename and after the locks are released, so it
//! adds at most a second to the caller's latency and nothing to other
//! writers: they are not held up by it.

use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest wait, measured on the monotonic clock from the rename: the
/// rest of the rename's second is never longer, and a wall clock stepped
/// back must not stretch the wait.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// When a replacement took the file's name: taken just after the rename
/// returned, so the rename happened in this second or before.
#[derive(Clone, Copy, Debug)]
#[must_use = "a change is visible to every reader only after `wait_until_visible`"]
pub struct Renamed {
    wall: SystemTime,
    monotonic: Instant,
}

impl Renamed {
    /// To be called right after a successful rename.
    pub(crate) fn now() -> Renamed {
        Renamed {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    /// Returns once the wall clock has reached the second after the
    /// rename's, or at most [`MAX_WAIT`] after the rename.
    pub(crate) fn wait_until_visible(self) {
        let Ok(since_epoch) = self.wall.duration_since(UNIX_EPOCH) else {
            return;
        };
        let next_second = UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs() + 1);
        let give_up = self.monotonic + MAX_WAIT;
        loop {
            // Err: the clock is past the next second already.
            let left = next_second
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let allowed = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() || allowed.is_zero() {
                return;
            }
            sleep(left.min(allowed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a busy machine may add to a sleep.
    const SLACK: Duration = Duration::from_millis(250);

    fn second(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn returns_in_the_second_after_the_renames_and_no_later() {
        // (how long ago the rename was, whether the wait ends in a later second)
        let cases = [
            (Duration::ZERO, true),
            (Duration::from_millis(300), true),
            // Long enough ago: the next second has come, nothing to wait for.
            (Duration::from_millis(1500), false),
        ];
        for (ago, waits) in cases {
            let renamed = Renamed {
                wall: SystemTime::now() - ago,
                monotonic: Instant::now() - ago,
            };
            renamed.wait_until_visible();
            let now = SystemTime::now();
            assert!(second(now) > second(renamed.wall), "{ago:?}");
            let waited = now.duration_since(renamed.wall + ago).unwrap();
            assert!(waited <= MAX_WAIT + SLACK, "{ago:?}: waited {waited:?}");
            if !waits {
                assert!(waited < SLACK, "{ago:?}: {waited:?}");
            }
        }
    }

    #[test]
    fn a_wall_clock_far_ahead_of_the_rename_still_ends_the_wait_within_a_second() {
        // A rename stamped in the future (the clock was stepped back since):
        // the monotonic limit ends the wait.
        let renamed = Renamed {
            wall: SystemTime::now() + Duration::from_secs(3600),
            monotonic: Instant::now(),
        };
        let started = Instant::now();
        renamed.wait_until_visible();
        assert!(started.elapsed() <= MAX_WAIT + SLACK);
        assert!(started.elapsed() >= MAX_WAIT);
    }
}
