//! Wait-visible through the Rust API: with it on, every kind of replacement
//! (a change, each admin operation, a batch's commit) returns only in a
//! later second of the wall clock than its rename, when Dovecot's
//! once-a-second look at the file finds the new one. A batch waits once
//! for all its domains. (Against Dovecot itself: `tests/interop.rs`.)

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::{make_hash, Fixture};
use passwdpop::{Batch, Config};

const CONTENT: &[u8] = b"bob:old:19000:0:99999:7:::\nlocked:!old:19000:0:99999:7:::\n";

fn now_second() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The second of a file's last status change: its rename into place.
fn renamed_second(shadow: &Path) -> i64 {
    std::fs::metadata(shadow).unwrap().ctime()
}

type Operation = fn(&Config) -> Result<(), passwdpop::Error>;

#[test]
fn every_replacement_returns_in_a_later_second_than_its_rename() {
    let hash = make_hash(b"given", "saltsaltsalt");
    #[rustfmt::skip]
    let operations: &[(&str, Operation)] = &[
        ("change", |config| config.change("example.com", "bob", "pw")),
        ("add", |config| config.add("example.com", "carol", "pw")),
        ("remove", |config| config.remove("example.com", "bob")),
        ("suspend", |config| config.suspend("example.com", "bob")),
        ("unsuspend", |config| config.unsuspend("example.com", "locked")),
    ];
    let fx = Fixture::new();
    let mut config = fx.config.clone();
    config.set_wait_visible(true);
    for (name, operation) in operations {
        let shadow = fx.domain("example.com", CONTENT);
        operation(&config).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(now_second() > renamed_second(&shadow), "{name}");
    }
    let shadow = fx.domain("example.com", CONTENT);
    config.set_hash("example.com", "bob", &hash).unwrap();
    assert!(now_second() > renamed_second(&shadow), "set_hash");
}

#[test]
fn a_batch_over_three_domains_waits_once_after_its_last_rename() {
    let fx = Fixture::new();
    let domains = ["a.example", "b.example", "c.example"];
    let shadows: Vec<_> = domains
        .iter()
        .map(|domain| fx.domain(domain, CONTENT))
        .collect();
    let mut config = fx.config.clone();
    config.set_wait_visible(true);
    let mut batch = Batch::new(&config);
    for domain in domains {
        batch.add(domain, "bob", "pw").unwrap();
    }
    let started = Instant::now();
    batch.commit().unwrap();
    let returned = now_second();
    for shadow in &shadows {
        assert!(returned > renamed_second(shadow));
    }
    // A wait per domain would take two seconds at least: after the first,
    // each rename falls in a new second and waits for all of the next.
    assert!(
        started.elapsed().as_millis() < 1800,
        "{:?}",
        started.elapsed()
    );
}
