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
