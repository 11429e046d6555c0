//! Raw poppassd sessions over TCP and a UNIX socket, and the throttle.

mod common;

use std::time::{Duration, Instant};

use common::{curl, Daemon, Poppassd, Scratch};

const GREETING: &str = "200 passwdpopd hello, who are you?";

#[test]
fn sessions_with_lf_crlf_and_any_case_change_the_password_at_newpass() {
    let scratch = Scratch::new();
    let socket = scratch.dir.path().join("poppassd.sock");
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--poppassd-unix",
            socket.to_str().unwrap(),
            "--default-domain",
            "example.org",
        ],
    );
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // (transport, ending, keyword case, address, new password)
        ("tcp", "\n", "lower", "alice@example.com", "a new pass"),
        (
            "tcp",
            "\r\n",
            "upper",
            "bob@example.com",
            " spaces at both ends ",
        ),
        ("unix", "\r\n", "mixed", "carol@example.org", "c:2"),
        ("unix", "\n", "lower", "dave", "bare user, default domain"),
    ];
    for (transport, ending, case, address, new) in cases {
        let mut session = match *transport {
            "tcp" => Poppassd::tcp(daemon.poppassd.unwrap()),
            _ => Poppassd::unix(&socket),
        };
        let keyword = |word: &str| match *case {
            "upper" => word.to_uppercase(),
            "mixed" => word[..1].to_uppercase() + &word[1..],
            _ => word.to_owned(),
        };
        let full = if address.contains('@') {
            address.to_string()
        } else {
            format!("{address}@example.org")
        };
        let old = format!("{}-old", full.split('@').next().unwrap());
        assert_eq!(session.read(), GREETING);
        assert_eq!(
            session.say(&format!("{} {address}", keyword("user")), ending),
            "200 Your password please."
        );
        assert_eq!(
            session.say(&format!("{} {old}", keyword("pass")), ending),
            "200 Your new password please."
        );
        // Changed at newpass, before any quit.
        assert_eq!(
            session.say(&format!("{} {new}", keyword("newpass")), ending),
            "200 Password changed, thank-you."
        );
        assert!(scratch.accepts(&full, new), "{address}");
        assert!(!scratch.accepts(&full, &old), "{address}");
        assert_eq!(session.say(&keyword("quit"), ending), "200 Bye.");
        assert_eq!(session.read(), "", "the connection closes after quit");
    }
    let log = daemon.log();
    // A session logs its login, its change and its end, each on its own line.
    for line in [
        "protocol=poppassd account=carol@example.org outcome=logged-in status=Ok\n",
        "protocol=poppassd account=carol@example.org outcome=changed status=Ok\n",
        "protocol=poppassd account=carol@example.org outcome=session-end status=Quit\n",
    ] {
        assert!(log.contains(line), "{line} not in {log}");
    }
    for secret in ["a new pass", "spaces at both", "carol-old", "c:2"] {
        assert!(!log.contains(secret), "the log shows '{secret}'");
    }
}

#[test]
fn failures_answer_500_after_the_delay_and_close() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--failure-delay-ms",
            "300",
            "--max-failures-per-ip",
            "100",
        ],
    );
    let addr = daemon.poppassd.unwrap();
    for (user, pass) in [
        ("alice@example.com", "wrong"),
        ("nobody@example.com", "x"),
        ("frozen@example.com", "frozen-old"),
        ("alice", "alice-old"), // no --default-domain: not an address
    ] {
        let mut session = Poppassd::tcp(addr);
        assert_eq!(session.read(), GREETING);
        assert_eq!(
            session.say(&format!("user {user}"), "\n"),
            "200 Your password please."
        );
        let started = Instant::now();
        assert_eq!(
            session.say(&format!("pass {pass}"), "\n"),
            "500 Old password is incorrect.",
            "{user}"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{user}: {:?}",
            started.elapsed()
        );
        assert_eq!(session.read(), "", "{user}: closed after the failure");
    }

    // Out of order, unknown, bad new password: 500 with a reason, session
    // kept (up to the third bad command, see tests/attacks.rs).
    let mut session = Poppassd::tcp(addr);
    session.read();
    assert_eq!(session.say("helo", "\n"), "500 Unknown command.");
    assert_eq!(session.say("quit", "\n"), "200 Bye.");
    let mut session = Poppassd::tcp(addr);
    session.read();
    assert_eq!(
        session.say("pass alice-old", "\n"),
        "500 Command out of sequence."
    );
    assert_eq!(
        session.say("newpass x", "\n"),
        "500 Command out of sequence."
    );
    session.say("user alice@example.com", "\n");
    assert_eq!(
        session.say("pass alice-old", "\n"),
        "200 Your new password please."
    );
    let answer = session.say(&format!("newpass {}", "x".repeat(600)), "\n");
    assert!(answer.starts_with("500 invalid password"), "{answer}");
    assert!(scratch.accepts("alice@example.com", "alice-old"));
    // A line longer than any password closes the session.
    session.send(&vec![b'y'; 2000]);
    session.send(b"\n");
    assert_eq!(session.read(), "500 Line too long.");
    assert_eq!(session.read(), "");
}

#[test]
fn the_throttle_locks_addresses_and_accounts_then_lets_them_go() {
    let scratch = Scratch::new();
    let daemon = Daemon::start_https(
        &scratch,
        "throttle",
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--failure-delay-ms",
            "50",
            "--max-failures-per-ip",
            "3",
            "--max-failures-per-account",
            "100",
            "--lockout-secs",
            "2",
        ],
    );
    let login =
        |user: &str, pass: &str| Poppassd::login(daemon.poppassd.unwrap(), user, pass, "\r\n");
    for _ in 0..3 {
        assert_eq!(
            login("alice@example.com", "guess"),
            "500 Old password is incorrect."
        );
    }
    // Locked: even the right password of another account is refused unchecked.
    assert_eq!(
        login("bob@example.com", "bob-old"),
        "500 Too many failed attempts; try again later."
    );
    let base = format!("https://127.0.0.1:{}", daemon.https.unwrap().port());
    let answer = curl(
        &base,
        "/execute/Email/passwd_pop",
        &[
            "-u",
            "bob@example.com:bob-old",
            "-d",
            "email=bob&password=n",
        ],
    );
    assert_eq!(answer.status, 429, "{answer:?}");
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["status"], 0);
    assert!(body["errors"][0].as_str().unwrap().contains("too many"));
    assert!(scratch.accepts("bob@example.com", "bob-old"));
    // After the lockout, the right password works again.
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        login("bob@example.com", "bob-old"),
        "200 Your new password please."
    );
    assert!(daemon.log().contains("outcome=throttled"));
}

#[test]
fn the_account_limit_holds_across_addresses_and_a_success_clears_it() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--failure-delay-ms",
            "20",
            "--max-failures-per-ip",
            "100",
            "--max-failures-per-account",
            "2",
        ],
    );
    let addr = daemon.poppassd.unwrap();
    let login = |user: &str, pass: &str| Poppassd::login(addr, user, pass, "\n");
    assert_eq!(
        login("carol@example.org", "carol-old"),
        "200 Your new password please."
    );
    assert_eq!(
        login("dave@example.org", "x"),
        "500 Old password is incorrect."
    );
    assert_eq!(
        login("dave@example.org", "dave-old"),
        "200 Your new password please.",
        "one failure, then a success"
    );
    assert_eq!(
        login("DAVE@example.org", "x"),
        "500 Old password is incorrect."
    );
    assert_eq!(
        login("dave@EXAMPLE.org", "y"),
        "500 Old password is incorrect."
    );
    assert_eq!(
        login("dave@example.org", "dave-old"),
        "500 Too many failed attempts; try again later."
    );
    assert_eq!(
        login("carol@example.org", "carol-old"),
        "200 Your new password please.",
        "other accounts are not locked"
    );
}

#[test]
fn connections_beyond_the_limit_wait_and_slow_clients_are_dropped_after_10_s() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--poppassd",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--max-connections",
            "2",
        ],
    );
    let addr = daemon.poppassd.unwrap();
    let started = Instant::now();
    let mut first = Poppassd::tcp(addr);
    assert_eq!(first.read(), GREETING);
    // A slow HTTP client holds the second slot: headers, then half a body.
    let mut slow_http = std::net::TcpStream::connect(daemon.http.unwrap()).unwrap();
    std::io::Write::write_all(
        &mut slow_http,
        b"POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\nemail=",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The third waits: no greeting while two connections are open.
    let third = std::net::TcpStream::connect(addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        std::io::Read::read(&mut &third, &mut byte).is_err(),
        "served beyond --max-connections"
    );
    // Both slow clients are dropped after 10 s; the third is then served.
    assert_eq!(first.read(), "500 Timeout waiting for a command.");
    assert_eq!(first.read(), "");
    let mut answer = String::new();
    slow_http
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let _ = std::io::Read::read_to_string(&mut slow_http, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(10) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut greeting = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(&third), &mut greeting);
    assert_eq!(greeting.trim_end(), GREETING);
}
