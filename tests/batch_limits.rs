//! `--batch` takes at most 4096 bytes a line, 200 000 lines and 64 MiB in
//! all; past a limit the whole batch is refused with the I/O error's status
//! and nothing changes (64 MiB is not sent here: it takes a debug build too
//! long to read, and the unit tests check that limit). Before the limits, a stream without newlines grew
//! one buffer until an allocation failed and the command aborted (SIGABRT,
//! exit 134 from a shell) under an address-space limit.

mod common;

use std::process::{Command, Stdio};

use common::Fixture;
use passwdpop::Status;

const DOMAIN: &str = "example.com";
const SHADOW: &[u8] = b"bob:old:19000:0:99999:7:::\n";

/// Runs `--batch` under `ulimit -v 300000` (300 MB) with the output of
/// `input`, a shell pipeline, on its standard input.
fn batch(fx: &Fixture, input: &str) -> std::process::Output {
    Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -v 300000 && {{ {input}; }} | exec \"$@\""),
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_passwdpop"))
        .args(["--root", fx.root.to_str().unwrap(), "--rounds", "1000"])
        .args(["--no-wait-visible", "--batch"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_batch_past_a_limit_is_refused_whole_and_one_at_the_limits_is_read() {
    let fx = Fixture::new();
    fx.domain(DOMAIN, SHADOW);
    let good = "printf 'bob@example.com:new-pw\\n'";
    let long_line = |bytes: usize| format!("head -c {bytes} /dev/zero | tr '\\0' a");
    #[rustfmt::skip]
    let refused: &[(String, &str)] = &[
        // input, what standard error says
        ("head -c 400M /dev/zero".into(), "line 1 of the batch is longer than 4096 bytes"),
        (format!("{good}; {}", long_line(4097)), "line 2 of the batch is longer than 4096 bytes"),
        (format!("{good}; {}; echo", long_line(4097)), "line 2 of the batch is longer than 4096 bytes"),
        (format!("{good}; yes x | head -n 200000"), "more than 200000 lines"),
    ];
    for (input, expected) in refused {
        let out = batch(&fx, input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(Status::IoError.code()),
            "{input}: {stderr}"
        );
        assert!(stderr.contains(expected), "{input}: {stderr}");
        assert!(stderr.contains("nothing was changed"), "{input}: {stderr}");
        assert!(
            !stderr.contains("aaaa"),
            "{input}: the line is shown: {stderr}"
        );
        assert_eq!(fx.read(DOMAIN), SHADOW, "{input}");
    }

    // At the line limit the batch is read: the line of 4096 bytes fails on
    // its own (its password is too long) and the good line applies. (The
    // limits on lines and bytes are checked at the limit by the unit tests
    // of the reader, with small limits, where it reads quicker.)
    let at_limits = format!("{good}; {}; echo", long_line(4096));
    let out = batch(&fx, &at_limits);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(Status::InvalidPassword.code()),
        "{stderr}"
    );
    assert!(stderr.contains("line 2: "), "{stderr}");
    assert_ne!(fx.read(DOMAIN), SHADOW, "the good line was not applied");
}
