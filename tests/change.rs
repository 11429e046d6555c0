//! Changing and verifying passwords in real files: what lands on disk, and
//! what must never change.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{crypt_accepts, hash_of, make_hash, Fixture};
use passwdpop::{Layout, Status};

const SAMPLE: &[u8] = b"# example.com mailboxes\n\
alice:$6$rounds=5000$aaaaaaaaaaaaaaaa$old:19000:0:99999:7:::\n\
bob:$6$rounds=5000$bbbbbbbbbbbbbbbb$old:19000:0:99999:7:::\n\
\xff\xfe-not-utf8:x\n";

fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400
}

#[test]
fn change_writes_a_crypt_hash_into_exactly_one_line() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    fx.config.change("example.com", "bob", "n3w pass").unwrap();

    let after = fx.read("example.com");
    let hash = hash_of(&after, "bob");
    assert!(hash.starts_with("$6$rounds=1000$"), "{hash}");
    assert!(crypt_accepts(b"n3w pass", &hash));
    assert!(!crypt_accepts(b"old", &hash));
    let new_line = format!("bob:{hash}:{}:0:99999:7:::\n", today());
    let expected: Vec<u8> = SAMPLE
        .split_inclusive(|&byte| byte == b'\n')
        .flat_map(|line| {
            if line.starts_with(b"bob:") {
                new_line.as_bytes()
            } else {
                line
            }
        })
        .copied()
        .collect();
    assert_eq!(after, expected);
    assert_eq!(fx.config.verify("example.com", "bob", "n3w pass"), Ok(()));
    assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());
}

#[test]
fn full_address_and_case_insensitive_names_and_domains() {
    let fx = Fixture::new();
    fx.domain("example.com", b"Bob:old:1\n");
    fx.config
        .change("Example.COM.", "bOB@EXAMPLE.com", "pw")
        .unwrap();
    let after = fx.read("example.com");
    assert!(
        after.starts_with(b"Bob:$6$"),
        "{:?}",
        String::from_utf8_lossy(&after)
    );
    assert_eq!(fx.config.verify("example.com", "bob", "pw"), Ok(()));
}

#[test]
fn passwd_file_layout_never_touches_field_three() {
    let fx = Fixture::new();
    let line =
        b"bob:{SHA512-CRYPT}$6$x$y:1000:1000::/var/mail/bob::userdb_quota_rule=*:storage=1G\n";
    fx.domain("example.com", line);
    let mut config = fx.config.clone();
    config.set_layout(Layout::PasswdFile);
    config.change("example.com", "bob", "pw").unwrap();
    let after = String::from_utf8(fx.read("example.com")).unwrap();
    let fields: Vec<&str> = after.trim_end().split(':').collect();
    assert!(
        fields[1].starts_with("{SHA512-CRYPT}$6$rounds=1000$"),
        "{after}"
    );
    assert_eq!(
        fields[2..],
        [
            "1000",
            "1000",
            "",
            "/var/mail/bob",
            "",
            "userdb_quota_rule=*",
            "storage=1G"
        ]
    );
    assert_eq!(config.verify("example.com", "bob", "pw"), Ok(()));
}

#[test]
fn owner_group_and_mode_are_kept() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", SAMPLE);
    fs::set_permissions(&shadow, fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = rustix::process::geteuid().is_root();
    let group = if is_root {
        8
    } else {
        fs::metadata(&shadow).unwrap().gid()
    };
    if is_root {
        std::os::unix::fs::chown(&shadow, Some(0), Some(group)).unwrap();
    }
    let before = fs::metadata(&shadow).unwrap();
    fx.config.change("example.com", "alice", "pw").unwrap();
    let after = fs::metadata(&shadow).unwrap();
    assert_ne!(
        before.ino(),
        after.ino(),
        "replaced by rename, not rewritten in place"
    );
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), group));
}

#[test]
fn mtime_moves_strictly_forward_even_within_one_second() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    let shadow = fx.root.join("example.com/shadow");
    let mut last = fs::metadata(&shadow).unwrap().mtime();
    for round in 0..4 {
        fx.config
            .change("example.com", "bob", format!("pw{round}"))
            .unwrap();
        let now = fs::metadata(&shadow).unwrap().mtime();
        assert!(now > last, "round {round}: {now} <= {last}");
        last = now;
    }
    // Four changes within (about) one second push the stamp ahead of the clock.
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(last <= clock + 4);
}

#[test]
fn locks_and_prefixes_are_kept_and_verify_refuses_locked_accounts() {
    let fx = Fixture::new();
    fx.domain("example.com", b"bob:!$6$x$y:1\ncarol:!!{PLAIN}x\n");
    fx.config.change("example.com", "bob", "pw").unwrap();
    fx.config.change("example.com", "carol", "pw").unwrap();
    let after = fx.read("example.com");
    assert!(hash_of(&after, "bob").starts_with("!$6$rounds=1000$"));
    assert!(hash_of(&after, "carol").starts_with("!!{SHA512-CRYPT}$6$"));
    for user in ["bob", "carol"] {
        let err = fx.config.verify("example.com", user, "pw").unwrap_err();
        assert_eq!(err.status(), Status::PasswordMismatch, "{user}");
    }
}

#[test]
fn failures_change_nothing_and_leave_no_files() {
    let fx = Fixture::new();
    fx.domain("example.com", b"bob:A:1\nBOB:B:1\nalice:C:1\n");
    let before = fx.read("example.com");
    let long_password = vec![b'p'; 512];
    #[rustfmt::skip]
    let cases: &[(&str, &str, &[u8], Status)] = &[
        ("example.com", "nobody", b"pw", Status::NoSuchAccount),
        ("example.com", "bob", b"pw", Status::AmbiguousAccount),
        ("example.com", "bob@other.com", b"pw", Status::InvalidUser),
        ("example.com", "alice", b"", Status::InvalidPassword),
        ("example.com", "alice", &long_password, Status::InvalidPassword),
        ("..", "alice", b"pw", Status::InvalidDomain),
        ("missing.com", "alice", b"pw", Status::NoSuchDomain),
    ];
    for (domain, user, password, status) in cases {
        let err = fx.config.change(domain, user, password).unwrap_err();
        assert_eq!(err.status(), *status, "{domain} {user}: {err}");
        assert_eq!(fx.read("example.com"), before);
        assert_eq!(fx.extra_files("example.com"), Vec::<String>::new(), "{err}");
    }
}

#[test]
fn first_bad_argument_wins() {
    let fx = Fixture::new();
    let err = fx.config.change("etc", "a:b", "").unwrap_err();
    assert_eq!(err.status(), Status::InvalidDomain);
    let err = fx.config.change("example.com", "a:b", "").unwrap_err();
    assert_eq!(err.status(), Status::InvalidUser);
    let err = fx.config.verify("example.com", "ok", "").unwrap_err();
    assert_eq!(err.status(), Status::InvalidPassword);
}

#[test]
fn missing_root_domain_or_file() {
    let fx = Fixture::new();
    fs::create_dir(fx.root.join("empty.com")).unwrap();
    let mut elsewhere = fx.config.clone();
    elsewhere.set_root(fx.root.join("nowhere")).unwrap();
    for (config, domain) in [
        (&fx.config, "missing.com"),
        (&fx.config, "empty.com"),
        (&elsewhere, "example.com"),
    ] {
        let err = config.change(domain, "bob", "pw").unwrap_err();
        assert_eq!(err.status(), Status::NoSuchDomain, "{err}");
        let err = config.verify(domain, "bob", "pw").unwrap_err();
        assert_eq!(err.status(), Status::NoSuchDomain, "{err}");
    }
}

#[test]
fn verify_answers_like_the_mail_servers() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    fx.config.change("example.com", "alice", "right").unwrap();
    assert_eq!(fx.config.verify("example.com", "alice", "right"), Ok(()));
    assert_eq!(
        fx.config
            .verify("example.com", "ALICE@example.com", "right"),
        Ok(())
    );
    let wrong = fx
        .config
        .verify("example.com", "alice", "Right")
        .unwrap_err();
    assert_eq!(wrong.status(), Status::PasswordMismatch);
    let nobody = fx
        .config
        .verify("example.com", "carol", "right")
        .unwrap_err();
    assert_eq!(nobody.status(), Status::NoSuchAccount);
}

#[test]
fn verify_takes_the_first_of_duplicate_entries() {
    let fx = Fixture::new();
    let one = make_hash(b"one", "saltone");
    let two = make_hash(b"two", "salttwo");
    fx.domain("example.com", format!("bob:{one}\nBob:{two}\n").as_bytes());
    assert_eq!(fx.config.verify("example.com", "bob", "one"), Ok(()));
    let err = fx.config.verify("example.com", "bob", "two").unwrap_err();
    assert_eq!(err.status(), Status::PasswordMismatch);
}

#[test]
fn leftover_temp_files_of_a_killed_writer_are_removed() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    let dir = fx.root.join("example.com");
    fs::write(dir.join(".shadow.passwdpop-00000000deadbeef.tmp"), SAMPLE).unwrap();
    fs::write(dir.join(".shadow.passwdpop-00000000deadbeef.lock"), b"1").unwrap();
    fs::write(dir.join("unrelated"), b"keep").unwrap();
    fx.config.change("example.com", "bob", "pw").unwrap();
    assert_eq!(fx.extra_files("example.com"), ["unrelated"]);
}

#[test]
fn no_panic_on_hostile_bytes() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    let huge = vec![b'a'; 10 * 1024 * 1024];
    for byte in 0..=255u8 {
        let value = [b'a', byte, b'b'];
        let _ = fx.config.change(value, "bob", "pw");
        let _ = fx.config.change("example.com", value, "pw");
        let _ = fx.config.verify("example.com", "bob", value);
    }
    let start = std::time::Instant::now();
    assert_eq!(
        fx.config.change(&huge, "bob", "pw").unwrap_err().status(),
        Status::InvalidDomain
    );
    assert_eq!(
        fx.config
            .change("example.com", &huge, "pw")
            .unwrap_err()
            .status(),
        Status::InvalidUser
    );
    assert_eq!(
        fx.config
            .change("example.com", "bob", &huge)
            .unwrap_err()
            .status(),
        Status::InvalidPassword
    );
    let message = fx
        .config
        .change("example.com", &huge, "pw")
        .unwrap_err()
        .to_string();
    assert!(message.len() < 300, "message of {} bytes", message.len());
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(fx.read("example.com"), SAMPLE);
}

#[test]
fn the_password_never_appears_in_any_message() {
    let fx = Fixture::new();
    fx.domain("example.com", b"bob:A\nbob:B\n");
    let secret = "Sup3r-Secr3t-Value";
    let errors = [
        fx.config.change("example.com", "bob", secret).unwrap_err(),
        fx.config
            .change("example.com", "nobody", secret)
            .unwrap_err(),
        fx.config.change("missing.com", "bob", secret).unwrap_err(),
        fx.config.verify("example.com", "bob", secret).unwrap_err(),
        fx.config
            .change("example.com", "bob", format!("{secret}{}", "x".repeat(600)))
            .unwrap_err(),
    ];
    for err in errors {
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
}

/// A POSIX access ACL in its xattr encoding: owner rw, user 65534 r,
/// owning group nothing, mask r, others nothing.
fn access_acl() -> Vec<u8> {
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 65534),
        (0x04, 0, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    acl
}

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut value = vec![0u8; 4096];
    let len = rustix::fs::getxattr(path, name, &mut value[..]).ok()?;
    value.truncate(len);
    Some(value)
}

#[test]
fn acls_and_other_extended_attributes_are_kept() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", SAMPLE);
    fs::set_permissions(&shadow, fs::Permissions::from_mode(0o600)).unwrap();
    let flags = rustix::fs::XattrFlags::empty();
    rustix::fs::setxattr(&shadow, "system.posix_acl_access", &access_acl(), flags).unwrap();
    rustix::fs::setxattr(&shadow, "user.note", b"keep me", flags).unwrap();
    let mode_before = fs::metadata(&shadow).unwrap().mode();
    fx.config.change("example.com", "bob", "pw").unwrap();
    assert_eq!(
        xattr(&shadow, "system.posix_acl_access"),
        Some(access_acl())
    );
    assert_eq!(
        xattr(&shadow, "user.note").as_deref(),
        Some(&b"keep me"[..])
    );
    assert_eq!(fs::metadata(&shadow).unwrap().mode(), mode_before);
}

#[test]
fn an_mtime_ahead_of_the_clock_still_moves_forward_and_the_maximum_is_an_error() {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", SAMPLE);
    let file = fs::File::options().write(true).open(&shadow).unwrap();
    let ahead = SystemTime::now() + std::time::Duration::from_secs(3600);
    file.set_modified(ahead).unwrap();
    let before = fs::metadata(&shadow).unwrap().mtime();
    fx.config.change("example.com", "bob", "pw").unwrap();
    assert_eq!(fs::metadata(&shadow).unwrap().mtime(), before + 1);

    let stamp = rustix::fs::Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    };
    let times = rustix::fs::Timestamps {
        last_access: stamp,
        last_modification: stamp,
    };
    if rustix::fs::utimensat(
        rustix::fs::CWD,
        &shadow,
        &times,
        rustix::fs::AtFlags::empty(),
    )
    .is_ok()
        && fs::metadata(&shadow).unwrap().mtime() == i64::MAX
    {
        let content = fx.read("example.com");
        let err = fx.config.change("example.com", "bob", "pw2").unwrap_err();
        assert_eq!(err.status(), Status::IoError, "{err}");
        assert_eq!(fx.read("example.com"), content);
        assert!(fx.extra_files("example.com").is_empty());
    } else {
        // ext4 clamps far-future stamps; the clamped value must still work.
        fx.config.change("example.com", "bob", "pw2").unwrap();
    }
}

#[test]
fn the_public_hash_function_checks_its_arguments() {
    let hash = passwdpop::sha512_crypt("pw", 1000).unwrap();
    assert!(hash.starts_with("$6$rounds=1000$") && crypt_accepts(b"pw", &hash));
    let err = passwdpop::sha512_crypt("pw", 999).unwrap_err();
    assert_eq!(err.status(), Status::InvalidConfig);
    let err = passwdpop::sha512_crypt("", 5000).unwrap_err();
    assert_eq!(err.status(), Status::InvalidPassword);
}
