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
        ("shadow is a device", |root| {
            let dir = root.join("example.com");
            fs::create_dir(&dir).unwrap();
            // The null device's numbers: opening it must not be attempted.
            rustix::fs::mknodat(
                rustix::fs::CWD,
                dir.join("shadow"),
                rustix::fs::FileType::CharacterDevice,
                rustix::fs::Mode::from_raw_mode(0o600),
                rustix::fs::makedev(1, 3),
            )
            .expect("mknod needs root, as the test suite does");
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
fn a_symlink_swapped_in_at_any_moment_is_never_followed() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let fx = Fixture::new();
    fx.domain("example.com", CONTENT);
    let outside = fx.domain("outside.com", CONTENT);
    symlink(fx.root.join("outside.com"), fx.root.join("evil")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (root, stop) = (fx.root.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    root.join("example.com"),
                    rustix::fs::CWD,
                    root.join("evil"),
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..300 {
        let status = match fx.config.change("example.com", "bob", format!("pw{round}")) {
            Ok(()) => "ok",
            Err(err) => match err.status() {
                Status::UnsafePath => "refused",
                other => panic!("unexpected {other:?}: {err}"),
            },
        };
        *outcomes.entry(status).or_insert(0) += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert_eq!(
        fs::read(&outside).unwrap(),
        CONTENT,
        "a write went through the symlink"
    );
    assert!(swaps > 100, "only {swaps} swaps");
    assert!(
        outcomes.len() == 2,
        "both outcomes should occur: {outcomes:?}"
    );
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
