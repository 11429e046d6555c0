//! Attacks on the daemon's limits, each with the settings made small: guesses
//! sent at once, slots held by chatty or slow clients, a body held back to
//! time the check, a webmail host speaking for all its users, local users on
//! the UNIX socket, and an address the library reads as another account's.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{basic, Daemon, Poppassd, Scratch};

const GREETING: &str = "200 passwdpopd hello, who are you?";

/// A UAPI self-service request; the HTTP status.
fn uapi(addr: SocketAddr, user: &str, password: &str) -> u16 {
    let body = format!("email={user}&password=changed-{password}");
    let request = format!(
        "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        basic(user, password),
        body.len()
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn guesses_sent_at_once_are_refused_beyond_the_limit() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--http",
            "127.0.0.1:0",
            "--max-failures-per-ip",
            "5",
            "--max-failures-per-account",
            "10",
        ],
    );
    let addr = daemon.http.unwrap();
    // 40 wrong guesses at once, the right password last: only 5 are checked.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(40));
    let threads: Vec<_> = (0..40)
        .map(|n| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let password = if n == 39 {
                    "bob-old".to_owned()
                } else {
                    format!("guess{n}")
                };
                uapi(addr, "bob@example.com", &password)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Five are checked; the right password, if among them, gives its own
    // slot back, which may let one more guess in: never more than five
    // wrong guesses are checked (before: every one of the 40).
    let count = |status: u16| statuses.iter().filter(|&&s| s == status).count();
    assert!(count(401) <= 5, "{statuses:?}");
    assert!((5..=6).contains(&(count(401) + count(200))), "{statuses:?}");
    assert_eq!(count(401) + count(200) + count(429), 40, "{statuses:?}");
}

#[test]
fn one_client_cannot_hold_every_slot_with_sessions_or_chatter() {
    let scratch = Scratch::new();
    // 8 connections in all: 2 per client address.
    let daemon = Daemon::start(
        &scratch,
        &["--poppassd", "127.0.0.1:0", "--max-connections", "8"],
    );
    let addr = daemon.poppassd.unwrap();
    let mut first = Poppassd::tcp(addr);
    let mut second = Poppassd::tcp(addr);
    assert_eq!(first.read(), GREETING);
    assert_eq!(second.read(), GREETING);
    // A third from the same address is closed at once, not queued.
    let mut third = Poppassd::tcp(addr);
    assert_eq!(third.read(), "");
    // Unknown or out-of-sequence commands do not keep a session open.
    assert_eq!(first.say("noop", "\n"), "500 Unknown command.");
    assert_eq!(first.say("newpass x", "\n"), "500 Command out of sequence.");
    assert_eq!(first.say("noop", "\n"), "500 Too many bad commands.");
    assert_eq!(first.read(), "");
    // Its slot is free again (once the daemon has seen the session end).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = Poppassd::tcp(addr);
        if again.read() == GREETING {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was not given back");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(second);
    // The daemon logs the session's end just after closing it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !daemon
        .log()
        .contains("outcome=session-end status=TooManyBadCommands")
    {
        assert!(Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn idle_listeners_hold_no_connection_slot() {
    let scratch = Scratch::new();
    // Two slots, three listeners: both slots serve poppassd clients.
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--http",
            "127.0.0.2:0",
            "--max-connections",
            "2",
        ],
    );
    let addr = daemon.poppassd.unwrap();
    let mut first = Poppassd::tcp(addr);
    let mut second = Poppassd::tcp(addr);
    assert_eq!(first.read(), GREETING);
    assert_eq!(second.read(), GREETING);
}

#[test]
fn the_failure_delay_runs_from_the_last_byte_and_unknown_accounts_cost_a_real_check() {
    // bob's stored hash costs far more than --rounds.
    let scratch = Scratch::new();
    let slow = passwdpop::sha512_crypt("bob-old", 400_000).unwrap();
    let shadow = String::from_utf8(scratch.shadow("example.com")).unwrap();
    let shadow: String = shadow
        .lines()
        .map(|line| match line.strip_prefix("bob:") {
            Some(rest) => {
                let tail = rest.split_once(':').unwrap().1;
                format!("bob:{slow}:{tail}\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(scratch.root.join("example.com/shadow"), shadow).unwrap();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--http",
            "127.0.0.1:0",
            "--failure-delay-ms",
            "300",
            "--max-failures-per-ip",
            "100",
        ],
    );
    let addr = daemon.http.unwrap();

    // The body's last byte held back: the answer still waits the whole
    // delay after it, so the bare check time is never visible.
    let body = "email=alice%40example.com&password=x";
    let head = format!(
        "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        basic("alice@example.com", "wrong"),
        body.len()
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .write_all(&body.as_bytes()[..body.len() - 1])
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let last = Instant::now();
    stream
        .write_all(&body.as_bytes()[body.len() - 1..])
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let after_last = last.elapsed();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(after_last >= Duration::from_millis(300), "{after_last:?}");

    // An unknown account takes as long as a check against a costly stored hash.
    let timed = |user: &str| {
        let started = Instant::now();
        let status = uapi(addr, user, "wrong");
        (status, started.elapsed())
    };
    // (The daemon learns what a real check costs from the last few.)
    let mut real = Duration::ZERO;
    for _ in 0..4 {
        let (status, took) = timed("bob@example.com");
        assert_eq!(status, 401);
        real += took / 4;
    }
    let (status, unknown) = timed("nobody@example.com");
    assert_eq!(status, 401);
    assert!(
        unknown * 2 >= real,
        "unknown account {unknown:?}, real check {real:?}"
    );
}

#[test]
fn a_trusted_webmail_host_is_limited_per_account_only() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--http",
            "127.0.0.1:0",
            "--poppassd",
            "127.0.0.1:0",
            "--trusted-client",
            "127.0.0.1",
            "--max-failures-per-ip",
            "2",
            "--max-failures-per-account",
            "3",
        ],
    );
    let addr = daemon.http.unwrap();
    // Typos of many users behind the webmail do not lock the others out.
    for user in ["carol@example.org", "dave@example.org", "bob@example.com"] {
        assert_eq!(uapi(addr, user, "typo"), 401, "{user}");
    }
    assert_eq!(uapi(addr, "alice@example.com", "alice-old"), 200);
    // The per-account limit still holds for the trusted host: carol's third.
    for _ in 0..2 {
        assert_eq!(uapi(addr, "carol@example.org", "typo"), 401);
    }
    assert_eq!(uapi(addr, "carol@example.org", "carol-old"), 429);
}

#[test]
fn local_users_on_the_unix_socket_are_each_one_client() {
    let scratch = Scratch::new();
    let socket = scratch.dir.path().join("poppassd.sock");
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd-unix",
            socket.to_str().unwrap(),
            "--max-failures-per-ip",
            "2",
        ],
    );
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);
    for user in ["alice@example.com", "carol@example.org"] {
        let mut session = Poppassd::unix(&socket);
        assert_eq!(session.read(), GREETING);
        assert_eq!(
            session.say(&format!("user {user}"), "\n"),
            "200 Your password please."
        );
        assert_eq!(
            session.say("pass typo", "\n"),
            "500 Old password is incorrect."
        );
    }
    let mut session = Poppassd::unix(&socket);
    assert_eq!(session.read(), GREETING);
    session.say("user dave@example.org", "\n");
    assert_eq!(
        session.say("pass dave-old", "\n"),
        "500 Too many failed attempts; try again later."
    );
    assert!(
        daemon.log().contains("peer=unix:uid:0 "),
        "{}",
        daemon.log()
    );
}

#[test]
fn an_address_with_two_ats_is_refused_not_counted_as_another_account() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--max-failures-per-account",
            "2",
        ],
    );
    // bob is locked out under his own name...
    let addr = daemon.poppassd.unwrap();
    for _ in 0..2 {
        assert_eq!(
            Poppassd::login(addr, "bob@example.com", "typo", "\n"),
            "500 Old password is incorrect."
        );
    }
    // ...and the library would read this name as bob: refused, not checked.
    assert_eq!(
        Poppassd::login(addr, "bob@example.com@example.com", "bob-old", "\n"),
        "500 Old password is incorrect."
    );
    assert!(scratch.accepts("bob@example.com", "bob-old"));
}

#[test]
fn a_request_must_arrive_within_10_s_of_the_connection() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(&scratch, &["--http", "127.0.0.1:0"]);
    let started = Instant::now();
    let mut stream = TcpStream::connect(daemon.http.unwrap()).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    stream
        .write_all(
            b"POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\nemail=",
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(elapsed < Duration::from_secs(13), "{elapsed:?}");
}
