//! `passwdpop --user=NAME` against a real login user (made here with useradd
//! and removed after), who owns the home their `etc` lies in and so may put
//! anything there.
//!
//! Needs root; otherwise it says why and checks nothing.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{crypt_accepts, hash_of, spawn_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");
const SHADOW: &[u8] = b"sales:old:19000:0:99999:7:::\n";

/// A login user whose home is in a temp directory; gone again on drop.
struct LoginUser {
    name: String,
    homes: tempfile::TempDir,
}

impl LoginUser {
    fn create() -> Option<LoginUser> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("cli_user: not root; useradd needs it, nothing checked");
            return None;
        }
        let homes = tempfile::tempdir().unwrap();
        fs::set_permissions(homes.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let user = LoginUser {
            name: format!("ppc{}", std::process::id()),
            homes,
        };
        fs::create_dir(user.home()).unwrap();
        let status = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin"])
            .arg("--home-dir")
            .arg(user.home())
            .arg(&user.name)
            .status()
            .expect("useradd (package passwd) must be installed");
        assert!(status.success(), "useradd {}", user.name);
        user.chown(&user.home());
        Some(user)
    }

    fn home(&self) -> PathBuf {
        self.homes.path().join(&self.name)
    }

    fn chown(&self, path: &Path) {
        let status = Command::new("chown")
            .args(["-R", &format!("{}:", self.name)])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chown {}", path.display());
    }

    /// `passwdpop --user=NAME` changing sales@example.com.
    fn change(&self) -> Output {
        let mut command = Command::new(BIN);
        command
            .args(["--user", &self.name, "--rounds", "1000"])
            .args(["--domain", "example.com", "--email", "sales"])
            .env_remove("PASSWDPOP_ROOT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        spawn_with_stdin(&mut command, b"new-password\n")
            .wait_with_output()
            .unwrap()
    }
}

impl Drop for LoginUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
        let _ = fs::remove_file(Path::new("/var/mail").join(&self.name));
    }
}

/// `<dir>/example.com/shadow` with the sample entry.
fn domain_in(dir: &Path) -> PathBuf {
    let shadow = dir.join("example.com/shadow");
    fs::create_dir_all(shadow.parent().unwrap()).unwrap();
    fs::write(&shadow, SHADOW).unwrap();
    shadow
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn only_the_users_own_private_etc_is_written() {
    let Some(user) = LoginUser::create() else {
        return;
    };
    let etc = user.home().join("etc");
    // Root's domain files, which the user would like changed.
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = domain_in(elsewhere.path());

    type Setup<'a> = Box<dyn Fn() + 'a>;
    let refused: Vec<(&str, Setup, &str)> = vec![
        (
            "a symlink to someone else's directory",
            Box::new(|| std::os::unix::fs::symlink(elsewhere.path(), &etc).unwrap()),
            "is a symlink or not a directory",
        ),
        (
            "a directory of another user",
            Box::new(|| {
                domain_in(&etc);
                let status = Command::new("chown")
                    .args(["-R", "54321:54321"])
                    .arg(&etc)
                    .status()
                    .unwrap();
                assert!(status.success());
            }),
            "belongs to uid 54321",
        ),
        (
            "a world-writable directory",
            Box::new(|| {
                domain_in(&etc);
                user.chown(&etc);
                fs::set_permissions(&etc, fs::Permissions::from_mode(0o777)).unwrap();
            }),
            "is writable by everyone",
        ),
        (
            "a directory an ACL lets another user write to",
            Box::new(|| {
                domain_in(&etc);
                user.chown(&etc);
                fs::set_permissions(&etc, fs::Permissions::from_mode(0o750)).unwrap();
                let status = Command::new("setfacl")
                    .args(["-m", "u:54321:rwx"])
                    .arg(&etc)
                    .status()
                    .expect("setfacl (package acl) must be installed");
                assert!(status.success());
            }),
            "lets uid 54321 write to it",
        ),
    ];
    for (what, set_up, reason) in refused {
        let _ = fs::remove_file(&etc);
        let _ = fs::remove_dir_all(&etc);
        set_up();
        let out = user.change();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(9), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("{} {reason}", etc.display())),
            "{what}: {stderr}"
        );
        assert!(!stderr.contains("new-password"), "{what}: {stderr}");
        assert_eq!(fs::read(&victim).unwrap(), SHADOW, "{what}");
    }

    // The user's own etc, as cPanel makes it, is the root.
    let _ = fs::remove_file(&etc);
    let _ = fs::remove_dir_all(&etc);
    let shadow = domain_in(&etc);
    user.chown(&etc);
    fs::set_permissions(&etc, fs::Permissions::from_mode(0o750)).unwrap();
    let out = user.change();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hash = hash_of(&fs::read(&shadow).unwrap(), "sales");
    assert!(crypt_accepts(b"new-password", &hash), "{hash}");
    assert_eq!(fs::read(&victim).unwrap(), SHADOW);
}
