//! 200 clients at once over loopback: valid changes in two domains, wrong
//! passwords and garbage. Every valid change lands exactly once, every
//! request is answered or refused, memory stays bounded. Bounded in count
//! (one short script per client) and in time (each client's requests time
//! out; the test fails past its deadline).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{basic, raw_http, Daemon, Scratch};

const CHANGERS_PER_DOMAIN: usize = 50;
const GUESSERS: usize = 50;
const GARBAGE: usize = 50;
const CHANGES_EACH: usize = 3;
const DEADLINE: Duration = Duration::from_secs(180);
/// Peak RSS allowed for the daemon under this load.
const MAX_RSS_KIB: u64 = 64 * 1024;

fn change_request(address: &str, old: &str, new: &str) -> Vec<u8> {
    let body = format!(
        "email={}&password={new}",
        address.split('@').next().unwrap()
    );
    format!(
        "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        basic(address, old),
        body.len()
    )
    .into_bytes()
}

#[test]
fn two_hundred_clients_every_valid_change_lands_exactly_once() {
    let domains = ["load-a.test", "load-b.test"];
    let accounts: Vec<(String, Vec<String>)> = domains
        .iter()
        .map(|domain| {
            let mut users: Vec<String> =
                (0..CHANGERS_PER_DOMAIN).map(|n| format!("u{n}")).collect();
            users.push("decoy".to_owned());
            (domain.to_string(), users)
        })
        .collect();
    let scratch = Scratch::with_accounts(&accounts);
    let daemon = Daemon::start(
        &scratch,
        &[
            "--http",
            "127.0.0.1:0",
            "--failure-delay-ms",
            "100",
            "--max-failures-per-ip",
            "1000000",
            "--max-failures-per-account",
            "1000000",
            "--max-connections",
            "256",
            // 200 clients that all come from 127.0.0.1: exempt from the
            // per-address share of the connections, as a webmail host is.
            "--trusted-client",
            "127.0.0.1",
        ],
    );
    let addr = daemon.http.unwrap();
    let clients = CHANGERS_PER_DOMAIN * domains.len() + GUESSERS + GARBAGE;
    let barrier = Arc::new(Barrier::new(clients));
    let started = Instant::now();
    let mut handles = Vec::new();

    for domain in domains {
        for n in 0..CHANGERS_PER_DOMAIN {
            let barrier = Arc::clone(&barrier);
            handles.push(std::thread::spawn(move || {
                let address = format!("u{n}@{domain}");
                let mut old = format!("u{n}-old");
                barrier.wait();
                for round in 0..CHANGES_EACH {
                    let new = format!("u{n}-{domain}-{round}");
                    let (status, body) = raw_http(addr, &change_request(&address, &old, &new));
                    // Each change logs in with the password the last one set:
                    // a lost or doubled change would fail the next login.
                    assert_eq!(status, 200, "{address} round {round}: {body}");
                    assert!(
                        body.contains(r#""status":1"#),
                        "{address} round {round}: {body}"
                    );
                    old = new;
                }
                (address, old)
            }));
        }
    }
    for n in 0..GUESSERS {
        let barrier = Arc::clone(&barrier);
        let domain = domains[n % 2];
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let address = format!("decoy@{domain}");
            let (status, body) =
                raw_http(addr, &change_request(&address, &format!("guess{n}"), "x"));
            assert_eq!(status, 401, "{body}");
            (String::new(), String::new())
        }));
    }
    for n in 0..GARBAGE {
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            let garbage: Vec<u8> = match n % 5 {
                0 => b"\x00\x01\x02 not http at all\r\n\r\n".to_vec(),
                1 => b"POST /execute/Email/passwd_pop?email=%zz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                2 => format!("POST /json-api/cpanel HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{}", "a".repeat(20000)).into_bytes(),
                3 => b"GET /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\n\r\n".to_vec(),
                _ => b"GET /json-api/cpanel?cpanel_jsonapi_func=passwdpop HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            };
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let _ = stream.write_all(&garbage);
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            let text = String::from_utf8_lossy(&answer);
            // Answered with a 4xx, or (for bytes that are not HTTP) closed.
            let status: u16 = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(400);
            assert!((400..500).contains(&status), "garbage {n}: {text}");
            (String::new(), String::new())
        }));
    }

    let mut finals = Vec::new();
    for handle in handles {
        let (address, password) = handle.join().expect("a client failed");
        if !address.is_empty() {
            finals.push((address, password));
        }
    }
    let elapsed = started.elapsed();
    assert!(elapsed < DEADLINE, "took {elapsed:?}");
    assert_eq!(finals.len(), CHANGERS_PER_DOMAIN * domains.len());
    for (address, password) in &finals {
        assert!(scratch.accepts(address, password), "{address}");
    }
    for domain in domains {
        assert!(scratch.accepts(&format!("decoy@{domain}"), "decoy-old"));
        // No duplicated or dropped line either.
        let shadow = String::from_utf8(scratch.shadow(domain)).unwrap();
        assert_eq!(shadow.lines().count(), CHANGERS_PER_DOMAIN + 1);
    }
    let rss = daemon.peak_rss_kib();
    eprintln!(
        "load: {clients} clients, {} changes in {elapsed:.2?}; peak RSS {rss} KiB",
        finals.len() * CHANGES_EACH
    );
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB");
}
