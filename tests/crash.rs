//! Writers killed with SIGKILL at random instants: the file is always the old
//! or the new one, and the next writer is never blocked by the dead one.

mod common;

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{crypt_accepts, hash_of, spawn_with_stdin, Fixture};

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");

/// A small xorshift generator: random enough for kill instants, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn killed_writers_never_tear_the_file_or_block_the_next_one() {
    let kills: usize = std::env::var("PASSWDPOP_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let fx = Fixture::new();
    // Big enough that copying it takes a while, so kills land mid-write too.
    let mut content = String::from("# header\n");
    for n in 0..20_000 {
        content.push_str(&format!(
            "filler{n}:$6$rounds=5000$xxxxxxxxxxxxxxxx$yyyy:19000:0:99999:7:::\n"
        ));
    }
    content.push_str("target:old:19000:0:99999:7:::\n");
    fx.domain("example.com", content.as_bytes());
    // Kill instants spread over one whole run, however fast this machine is today.
    let spawn_writer = |password: &str| {
        spawn_with_stdin(
            Command::new(BIN)
                .args(["--root", fx.root.to_str().unwrap(), "--rounds", "1000"])
                // Kill instants spread over the work, not over the wait for
                // Dovecot's next look at the file, which follows it.
                .arg("--no-wait-visible")
                .args(["--domain", "example.com", "--email", "target"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            format!("{password}\n").as_bytes(),
        )
    };
    let run_time = (0..3)
        .map(|_| {
            let started = Instant::now();
            assert!(spawn_writer("warm-up").wait().unwrap().success());
            started.elapsed()
        })
        .max()
        .unwrap();
    let window_us = (run_time.as_micros() as u64 * 6 / 5).max(1);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 2];
    for kill in 0..kills {
        let before = fx.read("example.com");
        let password = format!("pw{kill}");
        let mut child = spawn_writer(&password);
        sleep(Duration::from_micros(rng.below(window_us)));
        let _ = child.kill();
        child.wait().unwrap();

        let after = fx.read("example.com");
        assert!(!after.is_empty(), "seed {seed}, kill {kill}: empty file");
        let old_lines: Vec<&[u8]> = before.split(|&b| b == b'\n').collect();
        let new_lines: Vec<&[u8]> = after.split(|&b| b == b'\n').collect();
        assert_eq!(
            old_lines.len(),
            new_lines.len(),
            "seed {seed}, kill {kill}: torn file"
        );
        let changed: Vec<usize> = (0..old_lines.len())
            .filter(|&i| old_lines[i] != new_lines[i])
            .collect();
        assert!(
            changed.len() <= 1,
            "seed {seed}, kill {kill}: {} lines changed",
            changed.len()
        );
        let hash = hash_of(&after, "target");
        let old_hash = hash_of(&before, "target");
        let is_new = crypt_accepts(password.as_bytes(), &hash);
        assert!(
            hash == old_hash || is_new,
            "seed {seed}, kill {kill}: neither old nor new"
        );
        outcomes[usize::from(is_new)] += 1;

        // The next writer gets through at once: no stale dotlock or flock blocks it.
        let mut config = fx.config.clone();
        config.set_lock_timeout_ms(2_000);
        let started = Instant::now();
        config
            .change("example.com", "filler0", format!("next{kill}"))
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "seed {seed}, kill {kill}: next writer waited"
        );
        let leftovers: Vec<String> = fx.extra_files("example.com");
        assert!(
            leftovers.is_empty(),
            "seed {seed}, kill {kill}: left {leftovers:?}"
        );
    }
    // Both outcomes must have happened, or the kills missed the interesting window.
    eprintln!(
        "{kills} kills (seed {seed}, window {window_us} µs): {} left the old hash, {} the new",
        outcomes[0], outcomes[1]
    );
    assert!(
        kills < 20 || (outcomes[0] > 0 && outcomes[1] > 0),
        "{outcomes:?}"
    );
}

/// A killed `--batch` leaves all of a domain's entries old or all new:
/// the batch is one replacement per domain.
#[test]
fn a_killed_batch_leaves_every_entry_old_or_every_entry_new() {
    let kills: usize = std::env::var("PASSWDPOP_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let fx = Fixture::new();
    let mut content = String::new();
    for n in 0..20_000 {
        content.push_str(&format!(
            "filler{n}:$6$rounds=5000$xxxxxxxxxxxxxxxx$yyyy:19000:0:99999:7:::\n"
        ));
    }
    content.push_str("a:old:1\nb:old:1\nc:old:1\n");
    fx.domain("example.com", content.as_bytes());
    let spawn_batch = |round: usize| {
        let input = format!("a:a{round}\nb:b{round}\nc:c{round}\n");
        spawn_with_stdin(
            Command::new(BIN)
                .args(["--root", fx.root.to_str().unwrap(), "--rounds", "1000"])
                .args(["--no-wait-visible", "--batch", "--domain", "example.com"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            input.as_bytes(),
        )
    };
    let started = Instant::now();
    assert!(spawn_batch(0).wait().unwrap().success());
    let window_us = (started.elapsed().as_micros() as u64 * 6 / 5).max(1);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 2];
    for kill in 1..=kills {
        let before = fx.read("example.com");
        let mut child = spawn_batch(kill);
        sleep(Duration::from_micros(rng.below(window_us)));
        let _ = child.kill();
        child.wait().unwrap();
        let after = fx.read("example.com");
        assert_eq!(
            before.split(|&b| b == b'\n').count(),
            after.split(|&b| b == b'\n').count(),
            "seed {seed}, kill {kill}: torn file"
        );
        let new: Vec<bool> = ["a", "b", "c"]
            .iter()
            .map(|user| crypt_accepts(format!("{user}{kill}").as_bytes(), &hash_of(&after, user)))
            .collect();
        let unchanged = ["a", "b", "c"]
            .iter()
            .all(|user| hash_of(&after, user) == hash_of(&before, user));
        assert!(
            new == [true; 3] || (new == [false; 3] && unchanged),
            "seed {seed}, kill {kill}: {new:?}"
        );
        outcomes[usize::from(new[0])] += 1;
        // Nothing blocks the next writer, which removes what the killed one left.
        let mut config = fx.config.clone();
        config.set_lock_timeout_ms(2_000);
        config.suspend("example.com", "filler0").unwrap();
        config.unsuspend("example.com", "filler0").unwrap();
        assert!(
            fx.extra_files("example.com").is_empty(),
            "seed {seed}, kill {kill}: leftovers"
        );
    }
    eprintln!(
        "{kills} batch kills (seed {seed}): {} left every entry old, {} every entry new",
        outcomes[0], outcomes[1]
    );
}
