//! passwdpopd under 200 concurrent clients, against a `passwdpop` process per
//! request (what a web application shelling out to the command does).
//!
//! cargo build --release                       # the command, target/release/passwdpop
//! cargo bench -p passwdpopd --bench load      # prints a Markdown table
//!
//! Hashes at 5000 rounds (the default), two domains of 100 accounts, each
//! client changing its own account ROUNDS times in a row. Figures go in
//! BENCHMARKS.md; nothing here asserts a timing.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{basic, raw_http, Daemon, Scratch};

const CLIENTS: usize = 200;
const PER_CLIENT: usize = 5;
const HASH_ROUNDS: &str = "5000";
const DOMAINS: [&str; 2] = ["bench-a.test", "bench-b.test"];

struct Run {
    label: String,
    elapsed: Duration,
    latencies: Vec<Duration>,
    rss_kib: Option<u64>,
}

impl Run {
    fn row(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let pick =
            |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
        format!(
            "| {} | {} | {:.1} s | **{:.0}** | {:.0} ms | {:.0} ms | {} |",
            self.label,
            sorted.len(),
            self.elapsed.as_secs_f64(),
            sorted.len() as f64 / self.elapsed.as_secs_f64(),
            pick(0.5).as_secs_f64() * 1e3,
            pick(0.99).as_secs_f64() * 1e3,
            self.rss_kib.map_or("—".to_owned(), |kib| format!(
                "{:.1} MiB",
                kib as f64 / 1024.0
            )),
        )
    }
}

fn accounts() -> Vec<(String, Vec<String>)> {
    DOMAINS
        .iter()
        .map(|domain| {
            (
                domain.to_string(),
                (0..CLIENTS / 2).map(|n| format!("u{n}")).collect(),
            )
        })
        .collect()
}

/// Runs `request(client, round)` from CLIENTS threads at once; each
/// returns whether it succeeded.
fn clients<F>(request: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize, usize) -> bool + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (request, barrier) = (Arc::clone(&request), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..PER_CLIENT)
                    .map(|round| {
                        let started = Instant::now();
                        assert!(
                            request(client, round),
                            "client {client} round {round} failed"
                        );
                        started.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let latencies = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    (started.elapsed(), latencies)
}

fn address(client: usize) -> (String, &'static str) {
    (format!("u{}", client / 2), DOMAINS[client % 2])
}

fn password(client: usize, round: usize) -> String {
    if round == 0 {
        format!("u{}-old", client / 2)
    } else {
        format!("c{client}-r{round}")
    }
}

fn daemon_admin(scratch: &Scratch) -> Run {
    let (tokens, secret) = scratch.tokens(&["bench"]);
    let daemon = Daemon::start(
        scratch,
        &daemon_args(&["--tokens", tokens.to_str().unwrap()]),
    );
    let addr = daemon.http.unwrap();
    let token = secret[0].clone();
    let (elapsed, latencies) = clients(move |client, round| {
        let (user, domain) = address(client);
        let body = format!(
            "cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop&domain={domain}&email={user}&password={}",
            password(client, round + 1)
        );
        let request = format!("POST /json-api/cpanel HTTP/1.1\r\nHost: b\r\nAuthorization: whm bench:{token}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let (status, body) = raw_http(addr, request.as_bytes());
        status == 200 && body.contains(r#""result":1"#)
    });
    Run {
        label: "passwdpopd, API 2 with a token (one hash per change)".into(),
        elapsed,
        latencies,
        rss_kib: Some(daemon.peak_rss_kib()),
    }
}

fn daemon_self_service(scratch: &Scratch) -> Run {
    let daemon = Daemon::start(scratch, &daemon_args(&[]));
    let addr = daemon.http.unwrap();
    let (elapsed, latencies) = clients(move |client, round| {
        let (user, domain) = address(client);
        let body = format!("email={user}&password={}", password(client, round + 1));
        let request = format!(
            "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: b\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
            basic(&format!("{user}@{domain}"), &password(client, round)),
            body.len()
        );
        let (status, body) = raw_http(addr, request.as_bytes());
        status == 200 && body.contains(r#""status":1"#)
    });
    Run {
        label: "passwdpopd, UAPI self-service (verify + change: two hashes)".into(),
        elapsed,
        latencies,
        rss_kib: Some(daemon.peak_rss_kib()),
    }
}

fn cli_per_request(scratch: &Scratch, cli: PathBuf) -> Run {
    let root = scratch.root.clone();
    let (elapsed, latencies) = clients(move |client, round| {
        let (user, domain) = address(client);
        let mut child = Command::new(&cli)
            .arg("--root")
            .arg(&root)
            .args([
                "--rounds",
                HASH_ROUNDS,
                "--domain",
                domain,
                "--email",
                &user,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = writeln!(stdin, "{}", password(client, round + 1));
        drop(stdin);
        child.wait().unwrap().success()
    });
    Run {
        label: "`passwdpop` command per request".into(),
        elapsed,
        latencies,
        rss_kib: None,
    }
}

fn daemon_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--http",
        "127.0.0.1:0",
        "--rounds",
        HASH_ROUNDS,
        "--max-failures-per-ip",
        "4000000000",
        "--max-connections",
        "256",
        // Every client comes from 127.0.0.1: no per-address connection share.
        "--trusted-client",
        "127.0.0.1",
    ];
    args.extend_from_slice(extra);
    args
}

fn main() {
    let cli = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/release/passwdpop"
    ));
    assert!(
        cli.exists(),
        "{} is missing: run `cargo build --release` first",
        cli.display()
    );
    let mut runs = Vec::new();
    for side in 0..3 {
        let scratch = Scratch::with_accounts(&accounts());
        runs.push(match side {
            0 => daemon_admin(&scratch),
            1 => daemon_self_service(&scratch),
            _ => cli_per_request(&scratch, cli.clone()),
        });
        // Every change landed: each account has one client, whose last
        // password it now has.
        for client in 0..CLIENTS {
            let (user, domain) = address(client);
            let last = password(client, PER_CLIENT);
            assert!(
                scratch.accepts(&format!("{user}@{domain}"), &last),
                "{user}@{domain}"
            );
        }
    }
    println!(
        "{CLIENTS} clients at once, {PER_CLIENT} changes each, {HASH_ROUNDS} rounds, {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!();
    println!("| side | changes | wall time | changes/s | p50 | p99 | daemon peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    for run in &runs {
        println!("{}", run.row());
    }
}
