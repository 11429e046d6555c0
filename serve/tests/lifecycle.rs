//! Starting, reloading and stopping: usage errors, SIGHUP certificate reload,
//! SIGTERM and SIGINT with changes in flight.

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{raw_http, Daemon, Scratch};

#[test]
fn bad_command_lines_are_usage_errors_naming_the_problem() {
    let scratch = Scratch::new();
    let tokens = scratch.dir.path().join("open-tokens");
    std::fs::write(&tokens, format!("ops:{}\n", "a".repeat(64))).unwrap();
    std::fs::set_permissions(&tokens, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let tokens = tokens.to_str().unwrap();
    let foreign = scratch.dir.path().join("foreign-tokens");
    std::fs::write(&foreign, format!("ops:{}\n", "a".repeat(64))).unwrap();
    std::fs::set_permissions(
        &foreign,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::chown(&foreign, Some(65534), None).unwrap();
    let foreign = foreign.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (&[], 64, "no listener"),
        (&["--http", "0.0.0.0:0"], 64, "--allow-cleartext-on-network"),
        (
            &["--poppassd", "[::]:0"],
            64,
            "--allow-cleartext-on-network",
        ),
        (&["--https", "127.0.0.1:0"], 64, "--cert"),
        (
            &["--http", "127.0.0.1:0", "--tokens", tokens],
            1,
            "mode 0644",
        ),
        (
            &["--http", "127.0.0.1:0", "--tokens", foreign],
            1,
            "owned by uid 65534",
        ),
        (
            &["--http", "127.0.0.1:0", "--no-such-flag"],
            64,
            "--no-such-flag",
        ),
    ];
    for (args, code, expected) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_passwdpopd"))
            .arg("--root")
            .arg(&scratch.root)
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// The subject of the certificate the HTTPS listener presents now.
fn presented_subject(port: u16) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-k",
            "-v",
            "-o",
            "/dev/null",
            &format!("https://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&out.stderr).into_owned();
    verbose
        .lines()
        .find_map(|line| {
            line.trim_start_matches(['*', ' '])
                .strip_prefix("subject: ")
        })
        .unwrap_or_else(|| panic!("no subject in: {verbose}"))
        .to_owned()
}

#[test]
fn sighup_reloads_the_certificate_keeps_open_connections_and_refuses_a_broken_one() {
    let scratch = Scratch::new();
    let daemon = Daemon::start_https(&scratch, "first", &[]);
    let (cert, key) = scratch.certificate_files("first");
    let port = daemon.https.unwrap().port();
    assert!(presented_subject(port).contains("CN=first"));
    // An HTTPS connection opened (handshake done) before the reload.
    let mut open = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (second_cert, second_key) = scratch.certificate("second");
    std::fs::copy(&second_cert, &cert).unwrap();
    std::fs::copy(&second_key, &key).unwrap();
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !presented_subject(port).contains("CN=second") {
        assert!(
            Instant::now() < deadline,
            "never reloaded: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The connection from before the reload still carries a request.
    let body = "email=alice&password=after-reload";
    let request = format!(
        "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
        common::basic("alice@example.com", "alice-old"),
        body.len()
    );
    std::io::Write::write_all(open.stdin.as_mut().unwrap(), request.as_bytes()).unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(open.stdout.as_mut().unwrap(), &mut answer).unwrap();
    let _ = open.kill();
    let _ = open.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(scratch.accepts("alice@example.com", "after-reload"));

    std::fs::write(&cert, "not a certificate").unwrap();
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !daemon.log().contains("keeping the old certificate") {
        assert!(Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(presented_subject(port).contains("CN=second"));
}

#[test]
fn sigterm_finishes_every_change_in_flight_then_exits_0() {
    finishes_every_change_in_flight_then_exits_0("TERM", 12);
}

#[test]
fn sigint_finishes_every_change_in_flight_then_exits_0() {
    finishes_every_change_in_flight_then_exits_0("INT", 4);
}

/// `clients` changes at once, each slow enough to be running when `signal`
/// comes: each lands and is answered, then the daemon exits 0.
fn finishes_every_change_in_flight_then_exits_0(signal: &str, clients: usize) {
    let users: Vec<String> = (0..clients).map(|n| format!("user{n}")).collect();
    let scratch = Scratch::with_accounts(&[("example.com".to_owned(), users.clone())]);
    let (tokens, secret) = scratch.tokens(&["ops"]);
    // Slow hashes, so that changes are still running when the signal comes.
    let mut daemon = Daemon::start(
        &scratch,
        &[
            "--http",
            "127.0.0.1:0",
            "--tokens",
            tokens.to_str().unwrap(),
            "--rounds",
            "250000",
        ],
    );
    let addr = daemon.http.unwrap();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let clients: Vec<_> = users
        .iter()
        .map(|user| {
            let body = format!("cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop&domain=example.com&email={user}&password={user}-new");
            let request = format!(
                "POST /json-api/cpanel HTTP/1.1\r\nHost: x\r\nAuthorization: whm ops:{}\r\nContent-Length: {}\r\n\r\n{body}",
                secret[0],
                body.len()
            );
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                raw_http(addr, request.as_bytes())
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(300));
    daemon.signal(signal);
    for (user, client) in users.iter().zip(clients) {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, 200, "{user}: {body}");
        assert!(body.contains(r#""result":1"#), "{user}: {body}");
        assert!(
            scratch.accepts(&format!("{user}@example.com"), &format!("{user}-new")),
            "{user}"
        );
    }
    assert_eq!(
        daemon.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        daemon.log()
    );
    let log = daemon.log();
    assert!(log.contains("stopping"), "{log}");
    // The signal came while changes were still running: some finished after it.
    let stop_at = log.find("stopping").unwrap();
    assert!(
        log[stop_at..].contains("outcome=changed"),
        "no change finished after SIG{signal}: {log}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after exit"
    );
}
