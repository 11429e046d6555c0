//! `--user-homes` end to end, as on a cPanel host: each cPanel user's
//! domains under `~USER/etc`, real login users (made here with useradd and
//! removed after) and `/etc/userdomains` naming each domain's owner.
//!
//! Needs root, and a host without an `/etc/userdomains` of its own (never
//! run it on a cPanel server); otherwise it says why and checks nothing.

mod common;

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{basic, raw_http, Daemon, Scratch, ROUNDS};
use passwdpop::Config;

const USERDOMAINS: &str = "/etc/userdomains";

/// Two cPanel users, `first` owning first.example (mailbox alice) and
/// `second` owning second.example (mailbox carol); gone again on drop.
struct Host {
    first: String,
    second: String,
    homes: tempfile::TempDir,
}

impl Host {
    fn set_up() -> Option<Host> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("user_homes: not root; useradd and {USERDOMAINS} need it, nothing checked");
            return None;
        }
        if Path::new(USERDOMAINS).exists() {
            eprintln!("user_homes: this host has its own {USERDOMAINS}; nothing checked");
            return None;
        }
        let homes = tempfile::tempdir().unwrap();
        fs::set_permissions(homes.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let pid = std::process::id();
        let host = Host {
            first: format!("pph{pid}a"),
            second: format!("pph{pid}b"),
            homes,
        };
        for (user, domain, mailbox) in [
            (&host.first, "first.example", "alice"),
            (&host.second, "second.example", "carol"),
        ] {
            let home = host.home(user);
            // A login user's uid (1000 and up): system accounts are not
            // cPanel users.
            let status = Command::new("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin"])
                .arg("--home-dir")
                .arg(&home)
                .arg(user)
                .status()
                .expect("useradd (package passwd) must be installed");
            assert!(status.success(), "useradd {user}");
            let dir = home.join("etc").join(domain);
            fs::create_dir_all(&dir).unwrap();
            let hash = passwdpop::sha512_crypt(format!("{mailbox}-old"), ROUNDS).unwrap();
            fs::write(
                dir.join("shadow"),
                format!("{mailbox}:{hash}:19700::::::\n"),
            )
            .unwrap();
            // As cPanel has it: the user owns the home and everything in it.
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:")])
                .arg(&home)
                .status()
                .unwrap();
            assert!(status.success(), "chown {user}");
        }
        fs::write(
            USERDOMAINS,
            format!(
                "first.example: {}\nsecond.example: {}\n",
                host.first, host.second
            ),
        )
        .unwrap();
        Some(host)
    }

    fn home(&self, user: &str) -> PathBuf {
        self.homes.path().join("home").join(user)
    }

    /// Whether `password` opens `mailbox@domain` in `user`'s home.
    fn accepts(&self, user: &str, domain: &str, mailbox: &str, password: &str) -> bool {
        let mut config = Config::new();
        config.set_root(self.home(user).join("etc")).unwrap();
        config.verify(domain, mailbox, password).is_ok()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = fs::remove_file(USERDOMAINS);
        for user in [&self.first, &self.second] {
            let _ = Command::new("userdel").arg(user).status();
            let _ = fs::remove_file(Path::new("/var/mail").join(user));
        }
    }
}

/// API 2 `Email::passwdpop` as `scheme NAME:TOKEN`, acting for `user`.
fn api2(addr: SocketAddr, auth: &str, user: &str, domain: &str, email: &str) -> (u16, String) {
    let query = format!(
        "cpanel_jsonapi_user={user}&cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email\
         &cpanel_jsonapi_func=passwdpop&domain={domain}&email={email}&password={email}-new"
    );
    raw_http(
        addr,
        format!(
            "GET /json-api/cpanel?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Connection: close\r\n\r\n"
        )
        .as_bytes(),
    )
}

#[test]
fn each_cpanel_user_is_served_from_their_own_home_and_only_whm_tokens_cross_over() {
    let Some(host) = Host::set_up() else { return };
    let scratch = Scratch::new();
    let admin = scratch.token_add("ops", &["--whm"]);
    let first_token = scratch.token_add(&host.first, &[]);
    let tokens = scratch.tokens_file();
    let daemon = Daemon::start(
        &scratch,
        &[
            "--user-homes",
            "--http",
            "127.0.0.1:0",
            "--tokens",
            tokens.to_str().unwrap(),
            "--max-failures-per-ip",
            "1000",
        ],
    );
    let addr = daemon.http.unwrap();
    let (first, second) = (host.first.as_str(), host.second.as_str());

    // Self-service: the owner comes from /etc/userdomains.
    let form = "email=alice&password=alice-mine";
    let (status, body) = raw_http(
        addr,
        format!(
            "POST /execute/Email/passwd_pop HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            basic("alice@first.example", "alice-old"),
            form.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":1"#), "{body}");
    assert!(host.accepts(first, "first.example", "alice", "alice-mine"));

    // A user's token, in its own home: changed.
    let own = format!("cpanel {first}:{first_token}");
    let (status, body) = api2(addr, &own, first, "first.example", "alice");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":1"#), "{body}");
    assert!(host.accepts(first, "first.example", "alice", "alice-new"));

    // The same token naming the other user, whether sent as cpanel or as
    // whm: refused, and the other home is untouched.
    let before = fs::read(host.home(second).join("etc/second.example/shadow")).unwrap();
    for scheme in ["cpanel", "whm"] {
        let auth = format!("{scheme} {first}:{first_token}");
        let (status, body) = api2(addr, &auth, second, "second.example", "carol");
        assert_eq!(status, 403, "{scheme}: {body}");
        assert!(body.contains(r#""result":0"#), "{scheme}: {body}");
    }
    // Without cpanel_jsonapi_user it acts in its own home, where the other
    // user's domain is not.
    let (status, body) = api2(addr, &own, "", "second.example", "carol");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":0"#), "{body}");
    assert_eq!(
        fs::read(host.home(second).join("etc/second.example/shadow")).unwrap(),
        before
    );
    assert!(host.accepts(second, "second.example", "carol", "carol-old"));

    // The server admin's token sent as whm acts for any user.
    let (status, body) = api2(
        addr,
        &format!("whm ops:{admin}"),
        second,
        "second.example",
        "carol",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":1"#), "{body}");
    assert!(host.accepts(second, "second.example", "carol", "carol-new"));

    // The first user, who owns their home, points ~/etc at the second
    // user's: their own token must not follow it.
    let before = fs::read(host.home(second).join("etc/second.example/shadow")).unwrap();
    let first_etc = host.home(first).join("etc");
    fs::rename(&first_etc, host.home(first).join("etc.moved")).unwrap();
    std::os::unix::fs::symlink(host.home(second).join("etc"), &first_etc).unwrap();
    let (status, body) = api2(addr, &own, first, "second.example", "carol");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":0"#), "{body}");
    assert!(
        body.contains(&format!("~{first}/etc is a symlink")),
        "{body}"
    );
    assert!(
        !body.contains(host.homes.path().to_str().unwrap()),
        "{body}"
    );
    assert_eq!(
        fs::read(host.home(second).join("etc/second.example/shadow")).unwrap(),
        before
    );

    // Back to a real directory: writable by the user's own group it serves,
    // by another group (here `mail`) it is refused.
    fs::remove_file(&first_etc).unwrap();
    fs::rename(host.home(first).join("etc.moved"), &first_etc).unwrap();
    fs::set_permissions(&first_etc, fs::Permissions::from_mode(0o770)).unwrap();
    for (group, changes) in [(first, true), ("mail", false)] {
        let status = Command::new("chgrp")
            .arg(group)
            .arg(&first_etc)
            .status()
            .unwrap();
        assert!(status.success(), "chgrp {group}");
        let (status, body) = api2(addr, &own, first, "first.example", "alice");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.contains(r#""result":1"#), changes, "{group}: {body}");
        if !changes {
            assert!(body.contains("is writable by group"), "{body}");
        }
    }

    let log = daemon.log();
    assert!(log.contains("OtherUser"), "{log}");
    for secret in [
        admin.as_str(),
        first_token.as_str(),
        "alice-mine",
        "carol-new",
    ] {
        assert!(!log.contains(secret), "the log shows a secret");
    }
}
