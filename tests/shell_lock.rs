//! The README's shell script that joins the lock, run verbatim against
//! concurrent passwdpop writers: neither side may lose an update.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::thread;

use common::{crypt_accepts, hash_of, Fixture};

/// The README's `sh` block that starts with the lock-account usage line.
fn readme_script() -> String {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```sh\n#!/bin/sh\n# usage: lock-account")
        .expect("the README has the lock-account script");
    let body = &readme[start + "```sh\n".len()..];
    body[..body.find("```").unwrap()].to_owned()
}

#[test]
fn readme_lock_script_and_passwdpop_writers_lose_no_update() {
    const SCRIPT_RUNS: usize = 15;
    const OUR_CHANGES: usize = 15;
    let fx = Arc::new(Fixture::new());
    fx.domain("example.com", b"alice:old:1\nbob:old:1\n");
    let script = readme_script();
    let dir = fx.root.join("example.com");
    let shell = thread::spawn(move || {
        for _ in 0..SCRIPT_RUNS {
            let status = Command::new("sh")
                .args(["-c", &script, "lock-account"])
                .arg(&dir)
                .arg("bob")
                .status()
                .unwrap();
            assert!(status.success());
        }
    });
    for round in 0..OUR_CHANGES {
        fx.config
            .change("example.com", "alice", format!("pw{round}"))
            .unwrap();
    }
    shell.join().unwrap();
    let after = fx.read("example.com");
    assert!(crypt_accepts(
        format!("pw{}", OUR_CHANGES - 1).as_bytes(),
        &hash_of(&after, "alice")
    ));
    assert_eq!(
        hash_of(&after, "bob"),
        format!("{}old", "!".repeat(SCRIPT_RUNS))
    );
    assert!(
        fx.extra_files("example.com").is_empty(),
        "{:?}",
        fx.extra_files("example.com")
    );
}
