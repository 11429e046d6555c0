//! Write faults: a full file system and an unwritable directory. Each must
//! give `IoError` with the operating system's reason, leave the original
//! byte-identical and leave no temp file. (A size limit, `RLIMIT_FSIZE`, is
//! tested from C in c-tests/test_api.c.) Needs root, as the suite does: it
//! mounts a tmpfs and sets the immutable attribute.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;
use passwdpop::Status;

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(
        status.success(),
        "{program} {args:?} failed (the test needs root)"
    );
}

/// A tmpfs of `size` mounted on `path`, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Mount {
        fs::create_dir_all(path).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0750"),
                "tmpfs",
                path.to_str().unwrap(),
            ],
        );
        Mount(path.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The immutable attribute on a directory, removed on drop.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_full_file_system_gives_io_error_and_changes_nothing() {
    let fx = Fixture::new();
    let mount_point = fx.root.join("full.example");
    let _mount = Mount::tmpfs(&mount_point, "64k");
    // 40 KiB of entries: the copy cannot fit beside the original.
    let mut content = Vec::new();
    for n in 0..400 {
        content.extend_from_slice(
            format!("user{n}:{}:19000:0:99999:7:::\n", "x".repeat(80)).as_bytes(),
        );
    }
    let shadow = mount_point.join("shadow");
    fs::write(&shadow, &content).unwrap();
    let err = fx
        .config
        .change("full.example", "user399", "pw")
        .unwrap_err();
    assert_eq!(err.status(), Status::IoError, "{err}");
    assert!(err.message().contains("No space left on device"), "{err}");
    assert_eq!(fs::read(&shadow).unwrap(), content);
    assert_eq!(names_in(&mount_point), ["shadow"]);
}

#[test]
fn an_unwritable_directory_gives_io_error_and_changes_nothing() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", b"bob:old:1\n");
    let dir = shadow.parent().unwrap().to_path_buf();
    run("chattr", &["+i", dir.to_str().unwrap()]);
    let _immutable = Immutable(dir.clone());
    let err = fx.config.change("example.com", "bob", "pw").unwrap_err();
    assert_eq!(err.status(), Status::IoError, "{err}");
    assert!(err.message().contains("Operation not permitted"), "{err}");
    assert_eq!(fs::read(&shadow).unwrap(), b"bob:old:1\n");
    assert_eq!(names_in(&dir), ["shadow"]);
}

#[test]
fn account_operations_and_batches_on_a_full_file_system_change_nothing() {
    let fx = Fixture::new();
    let mount_point = fx.root.join("full.example");
    let _mount = Mount::tmpfs(&mount_point, "64k");
    let mut content = Vec::new();
    for n in 0..400 {
        content.extend_from_slice(
            format!("user{n}:$6${}:19000:0:99999:7:::\n", "x".repeat(80)).as_bytes(),
        );
    }
    let shadow = mount_point.join("shadow");
    fs::write(&shadow, &content).unwrap();
    let hash = common::make_hash(b"pw", "ssssssssssssssss");
    let config = &fx.config;
    let domain = "full.example";
    let mut batch = passwdpop::Batch::new(config);
    batch.add(domain, "user1", "pw1").unwrap();
    batch.add_hash(domain, "user2", &hash).unwrap();
    let results = [
        ("add", config.add(domain, "user400", "pw")),
        ("remove", config.remove(domain, "user399")),
        ("suspend", config.suspend(domain, "user0")),
        ("set_hash", config.set_hash(domain, "user5", &hash)),
        ("batch", batch.commit()),
    ];
    for (name, result) in results {
        let err = result.unwrap_err();
        assert_eq!(err.status(), Status::IoError, "{name}: {err}");
        assert!(
            err.message().contains("No space left on device"),
            "{name}: {err}"
        );
        assert_eq!(fs::read(&shadow).unwrap(), content, "{name}");
        assert_eq!(names_in(&mount_point), ["shadow"], "{name}");
    }
    for index in 0..2 {
        let status = batch.result(index).unwrap().as_ref().unwrap_err().status();
        assert_eq!(status, Status::IoError);
    }
}
