//! Breaking a stale `shadow.lock` never deletes the live lock of a writer that
//! knows only the shadow-utils dotlock convention, even when that writer
//! breaks the same stale lock at the same moment. strace holds the CLI for a
//! second at the system call that breaks the lock (its first `unlinkat` or
//! `renameat`), and the foreign writer breaks the lock meanwhile.
//!
//! Nor does a change go through once such a writer deleted our live lock
//! (having judged the stale lock before we took it over): strace holds the
//! CLI's fsync of the new file while that writer unlinks our lock by name
//! and writes; the CLI must then refuse to rename, and say so.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{crypt_accepts, hash_of, spawn_with_stdin, Fixture};
use rustix::io::Errno;
use rustix::process::{test_kill_process, Pid};

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");

fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A writer of the shadow-utils kind: link() a PID file to `shadow.lock`; on
/// EEXIST, read the PID and, if that process is gone, unlink the lock by name
/// and try again. It then rewrites `theirs` from what it read, `hold` later,
/// and unlinks `shadow.lock` by name. Whether its lock was still in place
/// when it was done. `judged` runs between judging a lock stale and
/// unlinking it: the window the convention leaves open.
fn shadow_utils_writer(dir: &Path, value: &str, hold: Duration, judged: &dyn Fn()) -> bool {
    let pid_file = dir.join(format!("shadow.{}", std::process::id()));
    let lock = dir.join("shadow.lock");
    fs::write(&pid_file, std::process::id().to_string()).unwrap();
    loop {
        match fs::hard_link(&pid_file, &lock) {
            Ok(()) => break,
            Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&lock).unwrap_or_default();
                let pid = holder.trim().parse().ok().and_then(Pid::from_raw);
                if pid.is_some_and(|pid| test_kill_process(pid) == Err(Errno::SRCH)) {
                    judged();
                    let _ = fs::remove_file(&lock);
                } else {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            Err(err) => panic!("linking {}: {err}", lock.display()),
        }
    }
    let mine = fs::metadata(&pid_file).unwrap().ino();
    fs::remove_file(&pid_file).unwrap();
    let content = fs::read_to_string(dir.join("shadow")).unwrap();
    thread::sleep(hold);
    let rewritten: String = content
        .lines()
        .map(|line| match line.strip_prefix("theirs:") {
            Some(_) => format!("theirs:{value}:1\n"),
            None => format!("{line}\n"),
        })
        .collect();
    let temp = dir.join("shadow.foreign-tmp");
    fs::write(&temp, rewritten).unwrap();
    fs::rename(&temp, dir.join("shadow")).unwrap();
    let intact = fs::symlink_metadata(&lock).is_ok_and(|stat| stat.ino() == mine);
    let _ = fs::remove_file(&lock);
    intact
}

#[test]
fn breaking_a_stale_lock_never_deletes_a_foreign_writers_live_lock() {
    let fx = Fixture::new();
    fx.domain("example.com", b"ours:old:1\ntheirs:old:1\n");
    let dir = fx.root.join("example.com");
    fs::write(dir.join("shadow.lock"), dead_pid().to_string()).unwrap();
    let trace = fx.root.with_file_name("trace");
    let mut strace = Command::new("strace");
    strace
        .args([
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-e",
            "trace=unlinkat,renameat",
        ])
        .args([
            "-e",
            "inject=unlinkat,renameat:delay_enter=1000000:when=1",
            "-o",
        ])
        .arg(&trace)
        .arg(BIN)
        .args(["--root", fx.root.to_str().unwrap()])
        .args(["--domain", "example.com", "--email", "ours"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let cli = spawn_with_stdin(&mut strace, b"new-password\n");

    // strace writes a call's name when the call starts, before the delay.
    let started = Instant::now();
    while !fs::read_to_string(&trace).is_ok_and(|text| text.contains("\"shadow.lock\"")) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no call on shadow.lock"
        );
        thread::sleep(Duration::from_millis(5));
    }
    let intact = shadow_utils_writer(&dir, "theirs-new", Duration::from_millis(1500), &|| {});
    let output = cli.wait_with_output().unwrap();
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(output.status.success(), "{output:?}\n{trace}");
    assert!(
        intact,
        "the foreign writer's live lock was deleted:\n{trace}"
    );
    let content = fx.read("example.com");
    assert_eq!(
        hash_of(&content, "theirs"),
        "theirs-new",
        "an update was lost"
    );
    assert!(crypt_accepts(b"new-password", &hash_of(&content, "ours")));
    assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());
}

#[test]
fn a_lock_deleted_under_us_stops_the_rename_and_is_reported() {
    let fx = Fixture::new();
    fx.domain("example.com", b"ours:old:1\ntheirs:old:1\n");
    let dir = fx.root.join("example.com");
    let dead = dead_pid().to_string();
    let lock = dir.join("shadow.lock");
    fs::write(&lock, &dead).unwrap();
    let trace = fx.root.with_file_name("trace");
    let cli = std::cell::RefCell::new(None);
    shadow_utils_writer(&dir, "theirs-new", Duration::ZERO, &|| {
        if cli.borrow().is_some() {
            return;
        }
        // Judged stale. Only now does the CLI start: it takes the stale lock
        // over and is held at its fsync, and this writer then unlinks the
        // CLI's live lock by name, as it judged the old one.
        let mut strace = Command::new("strace");
        strace
            .args(["-f", "-qq", "-e", "signal=none", "-e", "trace=fsync"])
            .args(["-e", "inject=fsync:delay_enter=3000000:when=1", "-o"])
            .arg(&trace)
            .arg(BIN)
            .args(["--root", fx.root.to_str().unwrap()])
            .args(["--domain", "example.com", "--email", "ours"])
            .args(["--rounds", "1000", "--no-wait-visible"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        *cli.borrow_mut() = Some(spawn_with_stdin(&mut strace, b"new-password\n"));
        let started = Instant::now();
        while !fs::read_to_string(&trace).is_ok_and(|text| text.contains("fsync(")) {
            assert!(started.elapsed() < Duration::from_secs(20), "no fsync");
            thread::sleep(Duration::from_millis(5));
        }
        let holder = fs::read_to_string(&lock).unwrap_or_default();
        assert!(
            !holder.is_empty() && holder.trim() != dead,
            "the CLI holds no lock"
        );
    });
    let output = cli.take().expect("the CLI ran").wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let trace = fs::read_to_string(&trace).unwrap_or_default();
    assert_eq!(output.status.code(), Some(11), "{output:?}\n{trace}");
    assert!(
        stderr.contains("shadow.lock") && stderr.contains("nothing changed"),
        "{stderr}"
    );
    let content = fx.read("example.com");
    assert_eq!(
        hash_of(&content, "theirs"),
        "theirs-new",
        "the foreign update was lost"
    );
    assert_eq!(
        hash_of(&content, "ours"),
        "old",
        "a change went through without the lock"
    );
    assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());
}
