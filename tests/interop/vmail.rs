//! A scratch mail root, laid out and owned as the README recommends, whose
//! accounts hold the passwords `<user>-old`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::unistd::Group;
use passwdpop::{Config, Layout};
use tempfile::TempDir;

use crate::readme;

/// The shadow layout; `Bob` is written with a capital, `locked` is locked.
pub const SHADOW_DOMAIN: &str = "example.com";
/// Dovecot's passwd-file layout with `{SHA512-CRYPT}` prefixes.
pub const PREFIXED_DOMAIN: &str = "example.org";
/// A domain directory without a shadow file.
pub const NO_FILE_DOMAIN: &str = "nofile.test";
/// What `<root>/../shadow` accepts for `alice`: a login for the domain `..`
/// must never reach it.
pub const TRAP_PASSWORD: &str = "trap-pw";

const SHADOW_FILE: &str = "alice:*:19700:0:99999:7:::\n\
                           Bob:*:19700:0:99999:7:::\n\
                           locked:!*:19700:0:99999:7:::\n";
const PREFIXED_FILE: &str = "carol:{SHA512-CRYPT}*:5000:5000::/var/vmail/example.org/carol::\n";

pub fn old_password(user: &str) -> String {
    format!("{}-old", user.to_ascii_lowercase())
}

pub fn new_password(user: &str) -> String {
    format!("{}-new", user.to_ascii_lowercase())
}

pub struct Vmail {
    dir: TempDir,
    pub root: PathBuf,
    config: Config,
}

impl Vmail {
    pub fn new() -> Vmail {
        assert!(
            rustix::process::geteuid().is_root(),
            "the interop tests must run as root: they give files to the group \
             dovecot and start Dovecot and Exim"
        );
        let dir = tempfile::tempdir().unwrap();
        // The daemons' unprivileged processes must reach the root.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("vmail");
        for (domain, content) in [
            (SHADOW_DOMAIN, SHADOW_FILE),
            (PREFIXED_DOMAIN, PREFIXED_FILE),
        ] {
            fs::create_dir_all(root.join(domain)).unwrap();
            fs::write(root.join(domain).join("shadow"), content).unwrap();
        }
        fs::create_dir(root.join(NO_FILE_DOMAIN)).unwrap();
        let trap = dir.path().join("shadow");
        let trap_hash = passwdpop::sha512_crypt(TRAP_PASSWORD, 5000).unwrap();
        fs::write(&trap, format!("alice:{trap_hash}:19700:0:99999:7:::\n")).unwrap();
        give_to_dovecot(&trap, 0o640);

        let script = readme::block_with_root("permissions", &root);
        let status = Command::new("sh").args(["-euc", &script]).status().unwrap();
        assert!(status.success(), "the README's permission commands failed");

        let mut config = Config::new();
        config.set_root(&root).unwrap();
        let vmail = Vmail { dir, root, config };
        for (domain, user) in accounts() {
            vmail.change(domain, user, &old_password(user));
        }
        vmail
    }

    /// A directory for the daemons' own files.
    pub fn work(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::create_dir(&path).unwrap();
        path
    }

    pub fn shadow(&self, domain: &str) -> PathBuf {
        self.root.join(domain).join("shadow")
    }

    pub fn line(&self, domain: &str, user: &str) -> String {
        let text = fs::read_to_string(self.shadow(domain)).unwrap();
        text.lines()
            .find(|line| line.starts_with(&format!("{user}:")))
            .unwrap_or_else(|| panic!("no line for {user} in {domain}"))
            .to_owned()
    }

    /// Changes a password through the library, in the domain's layout.
    pub fn change(&self, domain: &str, user: &str, password: &str) {
        let mut config = self.config.clone();
        if domain == PREFIXED_DOMAIN {
            config.set_layout(Layout::PasswdFile);
        }
        config
            .change(domain, user.to_ascii_lowercase(), password)
            .unwrap_or_else(|err| panic!("changing {user}@{domain}: {err}"));
    }

    /// Changes a password through the command, in the passwd-file layout.
    pub fn change_with_cli(&self, domain: &str, user: &str, password: &str) {
        self.change_with_cli_flags(domain, user, password, &[]);
    }

    /// [`Vmail::change_with_cli`] with more flags.
    pub fn change_with_cli_flags(&self, domain: &str, user: &str, password: &str, flags: &[&str]) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_passwdpop"))
            .arg("--root")
            .arg(&self.root)
            .args([
                "--layout",
                "passwd-file",
                "--domain",
                domain,
                "--email",
                user,
            ])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(password.as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "passwdpop {user}@{domain}: {output:?}"
        );
    }

    /// Every account to `<user>-new`, as the tests' "after" state.
    pub fn change_all_to_new(&self) {
        for (domain, user) in accounts() {
            self.change(domain, user, &new_password(user));
        }
    }
}

/// The accounts the scratch root holds, as the files spell them.
fn accounts() -> [(&'static str, &'static str); 4] {
    [
        (SHADOW_DOMAIN, "alice"),
        (SHADOW_DOMAIN, "Bob"),
        (SHADOW_DOMAIN, "locked"),
        (PREFIXED_DOMAIN, "carol"),
    ]
}

pub fn dovecot_gid() -> u32 {
    Group::from_name("dovecot")
        .unwrap()
        .expect("the group dovecot (package dovecot-core)")
        .gid
        .as_raw()
}

pub fn give_to_dovecot(path: &Path, mode: u32) {
    chown(path, Some(0), Some(dovecot_gid())).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Owner, group and permission bits.
pub fn ownership(path: &Path) -> (u32, u32, u32) {
    let meta = fs::metadata(path).unwrap();
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

pub fn current_second() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sleeps into the next wall-clock second: Dovecot looks at a passwd-file at
/// most once a second.
pub fn wait_for_next_second() {
    let into = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    sleep(Duration::from_nanos(1_000_000_000 - u64::from(into)) + Duration::from_millis(20));
}
