//! Paths that must be refused with `UnsafePath`, without blocking and without
//! touching anything.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Fixture;
use passwdpop::Status;

const CONTENT: &[u8] = b"bob:old:1\n";

/// A case's name, and how it builds `<root>/example.com` (or its shadow) in one unsafe way.
type Setup = (&'static str, fn(&Path));

fn unsafe_setups() -> Vec<Setup> {
    vec![
        ("symlinked domain directory", |root| {
            fs::create_dir(root.join("real.com")).unwrap();
            fs::write(root.join("real.com/shadow"), CONTENT).unwrap();
            symlink(root.join("real.com"), root.join("example.com")).unwrap();
        }),
        ("dangling domain symlink", |root| {
            symlink(root.join("nowhere"), root.join("example.com")).unwrap();
        }),
        ("domain is a file", |root| {
            fs::write(root.join("example.com"), CONTENT).unwrap();
        }),
        ("world-writable domain directory", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            fs::write(dir.join("shadow"), CONTENT).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        }),
        ("symlinked shadow", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            fs::write(dir.join("real"), CONTENT).unwrap();
            symlink("real", dir.join("shadow")).unwrap();
        }),
        ("dangling shadow symlink", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            symlink("nowhere", dir.join("shadow")).unwrap();
        }),
        ("shadow is a FIFO", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            rustix::fs::mknodat(
                rustix::fs::CWD,
                dir.join("shadow"),
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            )
            .unwrap();
        }),
        ("shadow is a directory", |root| {
            fs::create_dir_all(root.join("example.com/shadow")).unwrap();
        }),
        ("shadow is a socket", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            std::mem::forget(UnixListener::bind(dir.join("shadow")).unwrap());
        }),
        ("shadow is hard-linked", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            fs::write(dir.join("shadow"), CONTENT).unwrap();
            fs::hard_link(dir.join("shadow"), dir.join("shadow.bak")).unwrap();
        }),
    ]
}

#[test]
fn unsafe_paths_are_refused_quickly_with_the_path_named() {
    for (name, setup) in unsafe_setups() {
        let fx = Fixture::new();
        setup(&fx.root);
        let started = Instant::now();
        for result in [
            fx.config.change("example.com", "bob", "pw"),
            fx.config.verify("example.com", "bob", "pw"),
        ] {
            let err = result.expect_err(name);
            assert_eq!(err.status(), Status::UnsafePath, "{name}: {err}");
            assert!(err.message().contains("example.com"), "{name}: {err}");
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{name} blocked");
    }
}

#[test]
fn refused_files_keep_their_content() {
    let fx = Fixture::new();
    let dir = fx.root.join("example.com");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("shadow"), CONTENT).unwrap();
    fs::hard_link(dir.join("shadow"), dir.join("other-name")).unwrap();
    let err = fx.config.change("example.com", "bob", "pw").unwrap_err();
    assert_eq!(err.status(), Status::UnsafePath);
    assert!(err.message().contains("hard links"), "{err}");
    assert_eq!(fs::read(dir.join("shadow")).unwrap(), CONTENT);
    assert_eq!(fs::read(dir.join("other-name")).unwrap(), CONTENT);
}

#[test]
fn a_symlinked_root_is_allowed() {
    // Only what lies below the root is checked: /etc/vmail may be a symlink.
    let fx = Fixture::new();
    fx.domain("example.com", CONTENT);
    let link = fx.root.with_file_name("vmail-link");
    symlink(&fx.root, &link).unwrap();
    let mut config = fx.config.clone();
    config.set_root(&link).unwrap();
    config.change("example.com", "bob", "pw").unwrap();
    assert_eq!(config.verify("example.com", "bob", "pw"), Ok(()));
}
