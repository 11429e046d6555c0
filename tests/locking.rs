//! The domain lock: waiting, timing out, breaking stale dotlocks, and many
//! writers at once without a lost update.

mod common;

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::{crypt_accepts, hash_of, Fixture};
use passwdpop::Status;

const CONTENT: &[u8] = b"alice:old:1\nbob:old:1\n";

fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn set_mtime(path: &Path, age: Duration) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn dotlock_decisions() {
    let live_child = Command::new("sleep").arg("30").spawn().unwrap();
    let own = std::process::id().to_string();
    let live = live_child.id().to_string();
    let dead = dead_pid().to_string();
    #[rustfmt::skip]
    let cases: &[(&str, &[u8], Duration, bool)] = &[
        ("own pid is live", own.as_bytes(), Duration::ZERO, false),
        ("live pid with newline", format!("{live}\n").leak().as_bytes(), Duration::ZERO, false),
        ("live pid, lock file an hour old", live.as_bytes(), Duration::from_secs(3600), false),
        ("dead pid is stale", dead.as_bytes(), Duration::ZERO, true),
        ("dead pid with newline", format!("{dead}\n").leak().as_bytes(), Duration::ZERO, true),
        ("garbage, fresh", b"not a pid", Duration::ZERO, false),
        ("empty, fresh", b"", Duration::from_secs(9 * 60), false),
        ("garbage, 10 minutes old", b"not a pid", Duration::from_secs(10 * 60 + 5), true),
    ];
    for (name, content, age, broken) in cases {
        let fx = Fixture::new();
        let shadow = fx.domain("example.com", CONTENT);
        let dotlock = shadow.with_file_name("shadow.lock");
        fs::write(&dotlock, content).unwrap();
        set_mtime(&dotlock, *age);
        let mut config = fx.config.clone();
        config.set_lock_timeout_ms(50);
        let result = config.change("example.com", "bob", "pw");
        if *broken {
            assert_eq!(result, Ok(()), "{name}");
            assert!(!dotlock.exists(), "{name}: our own dotlock is released");
        } else {
            let err = result.expect_err(name);
            assert_eq!(err.status(), Status::LockTimeout, "{name}");
            assert!(err.message().contains("shadow.lock"), "{name}: {err}");
            assert_eq!(
                fs::read(&dotlock).unwrap(),
                *content,
                "{name}: a live lock is kept"
            );
            assert_eq!(fx.read("example.com"), CONTENT, "{name}");
        }
        assert_eq!(
            fx.extra_files("example.com")
                .iter()
                .filter(|n| n.starts_with(".shadow"))
                .count(),
            0
        );
    }
    let mut live_child = live_child;
    live_child.kill().unwrap();
    live_child.wait().unwrap();
}

#[test]
fn timeout_zero_tries_once_and_the_timeout_covers_all_waiting() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", CONTENT);
    fs::write(
        shadow.with_file_name("shadow.lock"),
        std::process::id().to_string(),
    )
    .unwrap();
    let mut config = fx.config.clone();
    config.set_lock_timeout_ms(0);
    let started = Instant::now();
    assert_eq!(
        config
            .change("example.com", "bob", "pw")
            .unwrap_err()
            .status(),
        Status::LockTimeout
    );
    assert!(started.elapsed() < Duration::from_millis(200));

    config.set_lock_timeout_ms(300);
    let started = Instant::now();
    assert_eq!(
        config
            .change("example.com", "bob", "pw")
            .unwrap_err()
            .status(),
        Status::LockTimeout
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
}

#[test]
fn a_writer_waits_for_a_dotlock_that_goes_away() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", CONTENT);
    let dotlock = shadow.with_file_name("shadow.lock");
    fs::write(&dotlock, std::process::id().to_string()).unwrap();
    let remover = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        fs::remove_file(dotlock).unwrap();
    });
    fx.config.change("example.com", "bob", "pw").unwrap();
    remover.join().unwrap();
    assert!(crypt_accepts(
        b"pw",
        &hash_of(&fx.read("example.com"), "bob")
    ));
}

#[test]
fn the_directory_flock_excludes_writers_and_is_shell_friendly() {
    let fx = Fixture::new();
    fx.domain("example.com", CONTENT);
    // What `flock /etc/vmail/example.com ...` does in a shell script.
    let dir = File::open(fx.root.join("example.com")).unwrap();
    dir.lock().unwrap();
    let mut config = fx.config.clone();
    config.set_lock_timeout_ms(100);
    let err = config.change("example.com", "bob", "pw").unwrap_err();
    assert_eq!(err.status(), Status::LockTimeout);
    assert!(err.message().contains("flock"), "{err}");
    let unlocker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        dir.unlock().unwrap();
    });
    config.set_lock_timeout_ms(5_000);
    config.change("example.com", "bob", "pw").unwrap();
    unlocker.join().unwrap();
}

#[test]
fn many_threads_lose_no_update() {
    const WRITERS: usize = 6;
    const ROUNDS: usize = 8;
    let fx = Arc::new(Fixture::new());
    let mut content = b"# header\nshared:old:1\n".to_vec();
    for writer in 0..WRITERS {
        content.extend_from_slice(format!("user{writer}:old:1\n").as_bytes());
    }
    content.extend_from_slice(b"# trailer\n");
    fx.domain("example.com", &content);
    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let fx = Arc::clone(&fx);
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    let user = format!("user{writer}");
                    fx.config
                        .change("example.com", &user, format!("{user}-{round}"))
                        .unwrap();
                    fx.config
                        .change("example.com", "shared", format!("shared-{writer}-{round}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let after = fx.read("example.com");
    for writer in 0..WRITERS {
        let user = format!("user{writer}");
        let last = format!("{user}-{}", ROUNDS - 1);
        assert!(
            crypt_accepts(last.as_bytes(), &hash_of(&after, &user)),
            "{user} lost its update"
        );
    }
    let shared = hash_of(&after, "shared");
    let winners = (0..WRITERS)
        .filter(|writer| {
            crypt_accepts(
                format!("shared-{writer}-{}", ROUNDS - 1).as_bytes(),
                &shared,
            )
        })
        .count();
    assert_eq!(
        winners, 1,
        "the shared user holds one writer's last password"
    );
    let text = String::from_utf8(after).unwrap();
    assert!(text.starts_with("# header\nshared:$6$") && text.ends_with("# trailer\n"));
    assert_eq!(text.lines().count(), WRITERS + 3);
    assert!(fx.extra_files("example.com").is_empty());
}

/// A writer that knows only the shadow-utils dotlock convention: link() a PID
/// file to shadow.lock, rewrite the file, rename, unlink the lock.
fn foreign_dotlock_writer(dir: &Path, user: &str, value: &str) {
    let pid_file = dir.join(format!("shadow.{}", std::process::id()));
    let lock = dir.join("shadow.lock");
    fs::write(&pid_file, std::process::id().to_string()).unwrap();
    while fs::hard_link(&pid_file, &lock).is_err() {
        thread::sleep(Duration::from_micros(200));
    }
    fs::remove_file(&pid_file).unwrap();
    let content = fs::read_to_string(dir.join("shadow")).unwrap();
    let prefix = format!("{user}:");
    let rewritten: String = content
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) {
                format!("{user}:{value}:1\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let temp = dir.join("shadow.foreign-tmp");
    let mut file = File::create(&temp).unwrap();
    file.write_all(rewritten.as_bytes()).unwrap();
    file.sync_all().unwrap();
    fs::rename(&temp, dir.join("shadow")).unwrap();
    fs::remove_file(&lock).unwrap();
}

#[test]
fn a_foreign_dotlock_writer_and_ours_lose_no_update() {
    const ROUNDS: usize = 40;
    let fx = Arc::new(Fixture::new());
    fx.domain("example.com", b"ours:old:1\ntheirs:old:1\n");
    let dir = fx.root.join("example.com");
    let done = Arc::new(AtomicBool::new(false));
    let foreign = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut round = 0;
            while !done.load(Ordering::Relaxed) || round < ROUNDS {
                foreign_dotlock_writer(&dir, "theirs", &format!("value{round}"));
                round += 1;
                // A real writer does other things between two changes; one
                // that relinks at once can starve ours past its timeout on
                // a loaded machine (a dotlock has no queue).
                thread::sleep(Duration::from_millis(2));
            }
            round - 1
        })
    };
    for round in 0..ROUNDS {
        fx.config
            .change("example.com", "ours", format!("pw{round}"))
            .unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let last_foreign = foreign.join().unwrap();
    let after = fx.read("example.com");
    assert!(crypt_accepts(
        format!("pw{}", ROUNDS - 1).as_bytes(),
        &hash_of(&after, "ours")
    ));
    assert_eq!(hash_of(&after, "theirs"), format!("value{last_foreign}"));
}

#[test]
fn an_odd_dotlock_ends_in_a_timeout_not_a_spin() {
    for age in [Duration::ZERO, Duration::from_secs(11 * 60)] {
        let fx = Fixture::new();
        let shadow = fx.domain("example.com", CONTENT);
        let dotlock = shadow.with_file_name("shadow.lock");
        fs::create_dir(&dotlock).unwrap();
        set_dir_mtime(&dotlock, age);
        let mut config = fx.config.clone();
        config.set_lock_timeout_ms(100);
        let started = Instant::now();
        let err = config.change("example.com", "bob", "pw").unwrap_err();
        assert_eq!(err.status(), Status::LockTimeout, "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(fx.read("example.com"), CONTENT);
    }
}

fn set_dir_mtime(path: &Path, age: Duration) {
    let when = SystemTime::now() - age;
    let since = when.duration_since(std::time::UNIX_EPOCH).unwrap();
    let stamp = rustix::fs::Timespec {
        tv_sec: since.as_secs() as i64,
        tv_nsec: 0,
    };
    let times = rustix::fs::Timestamps {
        last_access: stamp,
        last_modification: stamp,
    };
    rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::empty()).unwrap();
}

/// What Exim's lsearch and Dovecot's passwd-file do: open the file by name,
/// without a lock, and read it whole.
fn read_like_a_mail_server(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|err| format!("cannot read: {err}"))
}

#[test]
fn unlocked_readers_never_see_a_missing_empty_or_partial_file() {
    const USERS: usize = 50;
    let fx = Arc::new(Fixture::new());
    let mut content = String::from("# mailboxes\n");
    for n in 0..USERS {
        content.push_str(&format!("user{n}:old:19000:0:99999:7:::\n"));
    }
    let shadow = fx.domain("example.com", content.as_bytes());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (shadow, done) = (shadow.clone(), Arc::clone(&done));
            thread::spawn(move || {
                let mut reads = 0usize;
                while !done.load(Ordering::Relaxed) {
                    let bytes = read_like_a_mail_server(&shadow).unwrap();
                    let text = String::from_utf8(bytes).unwrap();
                    let lines: Vec<&str> = text.lines().collect();
                    assert_eq!(lines.len(), USERS + 1, "partial file: {text:?}");
                    assert!(text.ends_with('\n'), "cut short: {text:?}");
                    for (n, line) in lines[1..].iter().enumerate() {
                        let fields: Vec<&str> = line.split(':').collect();
                        assert_eq!(fields[0], format!("user{n}"));
                        let new_hash =
                            fields[1].starts_with("$6$rounds=1000$") && fields[1].len() == 118;
                        assert!(fields[1] == "old" || new_hash, "torn line {line}");
                        assert_eq!(fields.len(), 9, "{line}");
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let fx = Arc::clone(&fx);
            thread::spawn(move || {
                for round in 0..15 {
                    let user = format!("user{}", (writer * 15 + round) % USERS);
                    fx.config
                        .change("example.com", user, format!("pw{round}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 10, "the readers hardly ran");
    }
}

#[test]
fn verify_during_changes_never_fails_for_the_rename() {
    let fx = Arc::new(Fixture::new());
    fx.domain("example.com", b"alice:old:1\nbob:old:1\n");
    fx.config.change("example.com", "alice", "steady").unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let verifiers: Vec<_> = (0..2)
        .map(|_| {
            let (fx, done) = (Arc::clone(&fx), Arc::clone(&done));
            thread::spawn(move || {
                let mut verified = 0usize;
                while !done.load(Ordering::Relaxed) {
                    // A file renamed away while we read it is still whole.
                    fx.config.verify("example.com", "alice", "steady").unwrap();
                    verified += 1;
                }
                verified
            })
        })
        .collect();
    for round in 0..60 {
        fx.config
            .change("example.com", "bob", format!("pw{round}"))
            .unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for verifier in verifiers {
        assert!(verifier.join().unwrap() > 10);
    }
}
