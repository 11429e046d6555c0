//! The order of system calls that makes a change survive a power loss:
//! create temp → no permission bits → owner → mode → write → fsync(temp) → rename → unlock →
//! fsync(dir) (the next writer need not wait for it), read off a real run
//! under strace.

mod common;

use std::process::{Command, Stdio};

use common::Fixture;

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");

/// The index of the first trace line that contains every one of `parts`.
fn position(trace: &[String], parts: &[&str]) -> usize {
    trace
        .iter()
        .position(|line| parts.iter().all(|part| line.contains(part)))
        .unwrap_or_else(|| panic!("no {parts:?} in the trace:\n{}", trace.join("\n")))
}

#[test]
fn temp_file_is_complete_and_synced_before_the_rename_and_the_directory_after_the_unlock() {
    let fx = Fixture::new();
    fx.domain("example.com", b"bob:old:19000:0:99999:7:::\nalice:x:1\n");
    let trace_file = fx.root.with_file_name("trace");
    let mut child = Command::new("strace")
        .args(["-f", "-e", "trace=desc,file", "-e", "signal=none", "-o"])
        .arg(&trace_file)
        .arg(BIN)
        .args([
            "--root",
            fx.root.to_str().unwrap(),
            "--domain",
            "example.com",
            "--email",
            "bob",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("strace is installed (.ci/run installs it)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"pw\n").unwrap();
    assert!(child.wait().unwrap().success());
    let trace: Vec<String> = std::fs::read_to_string(&trace_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();

    let create = position(
        &trace,
        &[
            ".shadow.passwdpop-",
            ".tmp\"",
            "O_CREAT|O_EXCL",
            "O_NOFOLLOW",
            "0600",
        ],
    );
    let temp_fd = trace[create].rsplit("= ").next().unwrap().trim().to_owned();
    let on_temp = |call: &str| format!("{call}({temp_fd},");
    // No permission bits while the owner changes; then the original's mode.
    let clear = position(&trace, &[&on_temp("fchmod"), " 000)"]);
    let chown = position(&trace, &[&on_temp("fchown")]);
    let chmod = position(&trace, &[&on_temp("fchmod"), " 0640)"]);
    let first_write = position(&trace, &[&on_temp("write"), "bob:$6$"]);
    let sync_temp = position(&trace, &[&format!("fsync({temp_fd})")]);
    let rename = position(&trace, &["renameat", ".tmp\"", "\"shadow\""]);
    let dir_fd = trace[rename]
        .split(['(', ','])
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let unlock = position(&trace, &["flock(", "LOCK_UN"]);
    let sync_dir = position(&trace, &[&format!("fsync({dir_fd})")]);
    let order = [
        create,
        clear,
        chown,
        chmod,
        first_write,
        sync_temp,
        rename,
        unlock,
        sync_dir,
    ];
    assert!(
        order.windows(2).all(|pair| pair[0] < pair[1]),
        "order {order:?} in:\n{}",
        trace[create..=sync_dir].join("\n")
    );
}
