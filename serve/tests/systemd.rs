//! The shipped systemd units and example configuration: systemd accepts the
//! units, socket activation hands passwdpopd a named socket, and the example
//! configuration file is one passwdpopd accepts.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Poppassd, Scratch};

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("systemd")
        .join(name)
}

#[test]
fn systemd_analyze_verify_accepts_the_units() {
    let scratch = Scratch::new();
    let dir = scratch.dir.path();
    // The installed path of the binary, pointed at this build.
    let service = std::fs::read_to_string(shipped("passwdpopd.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/sbin/passwdpopd "));
    // The example's UNIX socket is in /run/passwdpopd, which ProtectSystem=strict
    // leaves read-only unless the unit asks for it as its runtime directory.
    let example = std::fs::read_to_string(shipped("passwdpopd.toml")).unwrap();
    assert!(example.contains("/run/passwdpopd/poppassd.sock"));
    assert!(service.contains("ProtectSystem=strict"));
    assert!(
        service.contains("\nRuntimeDirectory=passwdpopd\n"),
        "{service}"
    );
    let service = service.replace("/usr/sbin/passwdpopd", env!("CARGO_BIN_EXE_passwdpopd"));
    std::fs::write(dir.join("passwdpopd.service"), service).unwrap();
    std::fs::copy(shipped("passwdpopd.socket"), dir.join("passwdpopd.socket")).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.join("passwdpopd.service"))
        .arg(dir.join("passwdpopd.socket"))
        .output()
        .expect("systemd-analyze (package systemd) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn a_socket_from_systemd_is_served_by_its_name() {
    let scratch = Scratch::new();
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = Command::new("systemd-socket-activate")
        .args(["-l", &format!("127.0.0.1:{port}"), "--fdname=poppassd"])
        .arg(env!("CARGO_BIN_EXE_passwdpopd"))
        .arg("--root")
        .arg(&scratch.root)
        .args(["--rounds", "1000", "--failure-delay-ms", "100"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-socket-activate (package systemd) must be installed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut session = Poppassd::tcp(addr);
    let greeting = session.read();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(greeting, "200 passwdpopd hello, who are you?");
}

#[test]
fn the_example_configuration_is_accepted() {
    let scratch = Scratch::new();
    let config = shipped("passwdpopd.toml");
    // Its root is overridden by Daemon::start's --root: flags win.
    let daemon = Daemon::start(
        &scratch,
        &[
            "--config",
            config.to_str().unwrap(),
            "--poppassd",
            "127.0.0.1:0",
        ],
    );
    let mut session = Poppassd::tcp(daemon.poppassd.unwrap());
    assert_eq!(session.read(), "200 passwdpopd hello, who are you?");
    session.say("user alice@example.com", "\n");
    assert_eq!(
        session.say("pass alice-old", "\n"),
        "200 Your new password please."
    );
}
