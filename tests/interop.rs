//! Interoperability with the real readers of our files: Dovecot, Exim and
//! independent hash verifiers. Run by `make interop` (part of `make test`).
//!
//! Needs root (the files go to the group `dovecot`; the daemons drop to their
//! own users) and Debian's dovecot-core, exim4-daemon-heavy, whois (mkpasswd),
//! openssl and python3, which `.ci/run` installs. Every daemon is started
//! here with its own configuration in a scratch directory, on loopback
//! addresses, and stopped by its pid when the test ends. The Dovecot and Exim
//! configurations are the README's blocks, with only the root replaced.

mod common;
#[path = "interop/daemon.rs"]
mod daemon;
#[path = "interop/dovecot.rs"]
mod dovecot;
#[path = "interop/exim.rs"]
mod exim;
#[path = "interop/mail_store.rs"]
mod mail_store;
#[path = "interop/readme.rs"]
mod readme;
#[path = "interop/verifiers.rs"]
mod verifiers;
#[path = "interop/vmail.rs"]
mod vmail;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::crypt_accepts;
use dovecot::{Dovecot, ACCEPTED, REFUSED};
use exim::{readme_condition, smtp_auth, Exim};
use nix::unistd::User;
use verifiers::Kind;
use vmail::{
    current_second, give_to_dovecot, new_password, old_password, ownership, wait_for_next_second,
    Vmail, PREFIXED_DOMAIN, SHADOW_DOMAIN, TRAP_PASSWORD,
};

/// The heart of the mtime rule: Dovecot 2.3 re-reads a passwd-file only when
/// its mtime (in seconds) or size changed, and a new hash has the old one's
/// size. Two changes in the second in which Dovecot last read the file must
/// still reach it.
#[test]
fn dovecot_sees_each_change_at_once_even_two_in_one_second() {
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    let alice = "alice@example.com";
    dovecot.expect(&[(alice, "alice-old", ACCEPTED), (alice, "alice-1", REFUSED)]);

    wait_for_next_second();
    let second = current_second();
    vmail.change(SHADOW_DOMAIN, "alice", "alice-1");
    // Dovecot reads the file in this second...
    dovecot.expect(&[(alice, "alice-1", ACCEPTED)]);
    // ...and it changes twice more within the same second.
    vmail.change(SHADOW_DOMAIN, "alice", "alice-2");
    vmail.change(SHADOW_DOMAIN, "alice", "alice-3");
    assert_eq!(
        current_second(),
        second,
        "the changes took over a second: the same-second case was not tested"
    );

    wait_for_next_second();
    dovecot.expect(&[
        (alice, "alice-3", ACCEPTED),
        (alice, "alice-2", REFUSED),
        (alice, "alice-1", REFUSED),
        (alice, "alice-old", REFUSED),
    ]);
}

/// What a webmail does: log in with the old password, change it, log in
/// with the new one at once. Dovecot looked at the file at the first login
/// and looks again only in a later second of its clock; the command waits
/// for that second by default, so the new login must always work. Without
/// the wait the same sequence fails, which shows that the rounds really met
/// Dovecot's once-a-second check.
#[test]
fn a_login_right_after_the_command_reports_success_uses_the_new_password() {
    const ROUNDS: usize = 20;
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    let alice = "alice@example.com";
    let mut current = old_password("alice");
    let mut refused = Vec::new();
    for round in 0..ROUNDS {
        let new = format!("alice-{round}");
        assert_eq!(dovecot.login(alice, &current), ACCEPTED, "round {round}");
        vmail.change_with_cli(SHADOW_DOMAIN, "alice", &new);
        if dovecot.login(alice, &new) != ACCEPTED {
            refused.push(round);
        }
        current = new;
    }
    assert!(
        refused.is_empty(),
        "the new password was refused right after the change in rounds {refused:?} of {ROUNDS}"
    );

    let mut stale = 0;
    for round in 0..3 {
        // Dovecot has seen the last change; the next three steps fall in
        // one second.
        wait_for_next_second();
        let new = format!("alice-at-once-{round}");
        assert_eq!(dovecot.login(alice, &current), ACCEPTED, "round {round}");
        vmail.change_with_cli_flags(SHADOW_DOMAIN, "alice", &new, &["--no-wait-visible"]);
        if dovecot.login(alice, &new) == REFUSED {
            stale += 1;
        }
        current = new;
    }
    assert!(
        stale > 0,
        "without the wait Dovecot still saw every change at once: the test does not meet its check"
    );
}

#[test]
fn dovecot_reads_scheme_prefixes_and_never_opens_a_locked_account() {
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    dovecot.expect(&[
        ("carol@example.org", "carol-old", ACCEPTED),
        ("locked@example.com", "locked-old", REFUSED),
        ("alice@example.com", "alice-old", ACCEPTED),
    ]);

    vmail.change_with_cli(PREFIXED_DOMAIN, "carol", "carol-new");
    vmail.change(SHADOW_DOMAIN, "locked", "locked-new");
    // alice's new password working below shows that Dovecot read the changed
    // locked line.
    vmail.change(SHADOW_DOMAIN, "alice", "alice-new");
    let carol = vmail.line(PREFIXED_DOMAIN, "carol");
    assert!(
        carol.starts_with("carol:{SHA512-CRYPT}$6$rounds=5000$")
            && carol.ends_with(":5000:5000::/var/vmail/example.org/carol::"),
        "{carol}"
    );
    let locked = vmail.line(SHADOW_DOMAIN, "locked");
    let locked_hash = locked.split(':').nth(1).unwrap();
    let unlocked_hash = locked_hash.strip_prefix('!').expect("still locked");
    // Only the lock stands between the new password and a login.
    assert!(crypt_accepts(b"locked-new", unlocked_hash), "{locked}");

    wait_for_next_second();
    dovecot.expect(&[
        ("carol@example.org", "carol-new", ACCEPTED),
        ("carol@example.org", "carol-old", REFUSED),
        ("locked@example.com", "locked-new", REFUSED),
        ("locked@example.com", "locked-old", REFUSED),
        ("alice@example.com", "alice-new", ACCEPTED),
    ]);
}

/// The README's ownership (root:dovecot, 0750 directories, 0640 files) is
/// what Dovecot's unprivileged auth process needs, and passwdpop keeps it.
#[test]
fn dovecot_reads_files_owned_as_the_readme_says() {
    let vmail = Vmail::new();
    let dovecot_gid = vmail::dovecot_gid();
    // A control the README's scheme does not cover: a file of group root.
    // Refused, so the auth process is not root and the group is what counts.
    let private = vmail.root.join("private.test");
    fs::create_dir(&private).unwrap();
    give_to_dovecot(&private, 0o750);
    let private_shadow = private.join("shadow");
    fs::write(&private_shadow, "alice:*:19700:0:99999:7:::\n").unwrap();
    fs::set_permissions(&private_shadow, fs::Permissions::from_mode(0o640)).unwrap();
    vmail.change("private.test", "alice", "alice-old");
    assert_eq!(ownership(&private_shadow), (0, 0, 0o640));

    let dovecot = Dovecot::start(&vmail);
    vmail.change_all_to_new();
    for dir in [vmail.root.clone(), vmail.root.join(SHADOW_DOMAIN)] {
        assert_eq!(
            ownership(&dir),
            (0, dovecot_gid, 0o750),
            "{}",
            dir.display()
        );
    }
    let shadow = vmail.shadow(SHADOW_DOMAIN);
    assert_eq!(
        ownership(&shadow),
        (0, dovecot_gid, 0o640),
        "after a change"
    );

    dovecot.expect(&[
        ("alice@example.com", "alice-new", ACCEPTED),
        ("carol@example.org", "carol-new", ACCEPTED),
        ("alice@private.test", "alice-old", REFUSED),
    ]);
    let dovecot_uid = User::from_name("dovecot").unwrap().unwrap().uid;
    let denied = format!(
        "open({}) failed: Permission denied (euid={dovecot_uid}(dovecot)",
        private_shadow.display(),
    );
    assert!(dovecot.log().contains(&denied), "{}", dovecot.log());
}

/// Why the README says to store user names in lower case, and that a login
/// for the domain `..` stays inside the root.
#[test]
fn dovecot_lowercases_logins_and_stays_inside_the_root() {
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    dovecot.expect(&[
        ("ALICE@Example.COM", "alice-old", ACCEPTED),
        // The file says `Bob`; Dovecot looks up `bob`.
        ("Bob@example.com", "bob-old", REFUSED),
        ("bob@example.com", "bob-old", REFUSED),
        ("alice@..", TRAP_PASSWORD, REFUSED),
    ]);
}

/// The README's Exim condition, evaluated by `exim -be` for both
/// authenticators, before and after a change.
#[test]
fn exim_expands_the_readme_condition() {
    let vmail = Vmail::new();
    // A symlinked domain directory, which passwdpop refuses to write to.
    std::os::unix::fs::symlink(SHADOW_DOMAIN, vmail.root.join("link.test")).unwrap();
    let exim = Exim::new(&vmail);

    // The harness's user is tainted like SMTP's: a file name built from it
    // is refused. (Otherwise the README's care would go untested.)
    let naive = "${lookup{alice}lsearch{VMAIL_ROOT/${domain:$h_x-user:}/shadow}{yes}{no}}";
    let (answer, stderr) = exim.expand(naive, "alice@example.com", "x");
    assert!(answer.starts_with("Failed"), "{answer}");
    // As root, -be logs to standard error when it cannot use the log file.
    let logged = stderr + &exim.mainlog();
    assert!(logged.contains("Tainted filename"), "{logged}");

    let before: &[(&str, &str, &str)] = &[
        ("alice@example.com", "alice-old", "yes"),
        ("alice@example.com", "alice-new", "no"),
        ("carol@example.org", "carol-old", "yes"),
    ];
    #[rustfmt::skip]
    let after: &[(&str, &str, &str)] = &[
        ("alice@example.com", "alice-new", "yes"),
        ("alice@example.com", "alice-old", "no"),
        ("ALICE@Example.COM", "alice-new", "yes"),
        // The file says `Bob`.
        ("bob@example.com", "bob-new", "yes"),
        ("bob@example.com", "bob-old", "no"),
        ("locked@example.com", "locked-new", "no"),
        ("locked@example.com", "locked-old", "no"),
        // `{SHA512-CRYPT}` prefixes.
        ("carol@example.org", "carol-new", "yes"),
        ("carol@example.org", "carol-old", "no"),
        // A domain directory without a shadow file, no domain directory, a
        // symlink, `<root>/../shadow`, no domain at all: a plain no, never a
        // failure.
        ("alice@nofile.test", "alice-new", "no"),
        ("alice@nodir.test", "alice-new", "no"),
        ("alice@link.test", "alice-new", "no"),
        ("alice@..", TRAP_PASSWORD, "no"),
        ("alice", "alice-new", "no"),
    ];
    // The authenticators' variables, as the harness provides them.
    let authenticators = [
        (
            "vmail_plain_server",
            [("$auth2", "$h_x-user:"), ("$auth3", "$h_x-password:")],
        ),
        (
            "vmail_login_server",
            [("$auth1", "$h_x-user:"), ("$auth2", "$h_x-password:")],
        ),
    ];
    let mut wrong = Vec::new();
    for (phase, cases) in [("before", before), ("after", after)] {
        if phase == "after" {
            vmail.change_all_to_new();
        }
        for (name, variables) in &authenticators {
            let mut condition = readme_condition(name);
            for (variable, header) in variables {
                condition = condition.replace(variable, header);
            }
            for &(user, password, expected) in cases {
                let (answer, stderr) = exim.expand(&condition, user, password);
                if answer != expected {
                    wrong.push(format!(
                        "{phase} {name} {user} {password}: {answer} {stderr}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A real Exim daemon on 127.0.0.1 with the README's authenticators, over
/// SMTP with STARTTLS, as a mail client would log in.
#[test]
fn exim_daemon_authenticates_with_plain_and_login() {
    let vmail = Vmail::new();
    let exim = Exim::new(&vmail);
    let _daemon = exim.start_daemon();
    let before = smtp_auth(exim.port, &[("PLAIN", "alice@example.com", "alice-old")]);
    assert_eq!(before, [(false, 235)]);

    vmail.change_all_to_new();
    let mut cases = Vec::new();
    for mechanism in ["PLAIN", "LOGIN"] {
        for (user, password, code) in [
            ("alice@example.com", new_password("alice"), 235),
            ("alice@example.com", old_password("alice"), 535),
            ("bob@example.com", new_password("Bob"), 235),
            ("carol@example.org", new_password("carol"), 235),
            ("carol@example.org", old_password("carol"), 535),
            ("locked@example.com", new_password("locked"), 535),
        ] {
            cases.push((mechanism, user, password, code));
        }
    }
    let asked: Vec<(&str, &str, &str)> = cases
        .iter()
        .map(|(mechanism, user, password, _)| (*mechanism, *user, password.as_str()))
        .collect();
    let answers = smtp_auth(exim.port, &asked);
    let wrong: Vec<String> = cases
        .iter()
        .zip(answers)
        // AUTH is offered only inside TLS, as the README's authenticators say.
        .filter(|((.., code), answer)| *answer != (false, *code))
        .map(|(case, answer)| format!("{case:?}: (AUTH in clear, reply) = {answer:?}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every hash passwdpop writes is accepted, or reproduced from its salt and
/// rounds, by checkers that share no code with it.
#[test]
fn independent_verifiers_accept_our_hashes() {
    let lengths = [1, 63, 64, 65, 128, 511];
    let mut rows = Vec::new();
    for rounds in [1000, 5000] {
        for len in lengths {
            // One byte cannot be non-ASCII UTF-8; Raw covers a lone high byte.
            let kinds: &[Kind] = if len == 1 {
                &[Kind::Ascii, Kind::Raw]
            } else {
                &[Kind::Ascii, Kind::Utf8, Kind::Raw]
            };
            rows.extend(kinds.iter().map(|&kind| (rounds, len, kind)));
        }
    }
    // Each costs about half a second per checker (a 511-byte one, 2.5 s).
    rows.extend([(656_000, 64, Kind::Utf8), (656_000, 65, Kind::Raw)]);

    let mut wrong = Vec::new();
    let mut python_cases = Vec::new();
    let mut python_expected = Vec::new();
    for (rounds, len, kind) in rows {
        let row = format!("{rounds} rounds, {len} bytes {kind:?}");
        let password = verifiers::password(len, kind);
        let hash = passwdpop::sha512_crypt(&password, rounds).unwrap();
        let (salt, written_rounds) = verifiers::salt_and_rounds(&hash);
        assert_eq!(written_rounds, rounds.to_string(), "{row}: {hash}");
        assert_eq!(salt.len(), 16, "{row}: {hash}");
        assert_eq!(hash.rsplit('$').next().unwrap().len(), 86, "{row}: {hash}");
        // Every checker must also refuse a wrong password (at 1000 rounds,
        // where it is cheap).
        let mut checks = vec![(password.clone(), true)];
        if rounds == 1000 {
            checks.push((verifiers::other_password(&password), false));
        }
        for (candidate, matches) in checks {
            if crypt_accepts(&candidate, &hash) != matches {
                wrong.push(format!("{row}: libxcrypt crypt(3) says {}", !matches));
            }
            let made = verifiers::mkpasswd(&candidate, &hash);
            if (made == hash) != matches {
                wrong.push(format!("{row}: mkpasswd made {made}"));
            }
            if verifiers::doveadm_accepts(&candidate, &hash) != matches {
                wrong.push(format!("{row}: doveadm pw -t says {}", !matches));
            }
            // Python hands crypt(3) a str as UTF-8: it cannot ask about Raw.
            if kind != Kind::Raw {
                python_cases.push((candidate, hash.clone()));
                python_expected.push((row.clone(), matches));
            }
        }
    }
    let answers = verifiers::python_accepts(&python_cases);
    for ((row, matches), answer) in python_expected.iter().zip(answers) {
        if answer != *matches {
            wrong.push(format!("{row}: Python's crypt says {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Dovecot (`doveadm auth test`) and Exim (the README's condition) refuse a
/// suspended or removed account and accept an added, unsuspended or
/// set-hash one, in both layouts.
#[test]
fn dovecot_and_exim_follow_the_account_operations() {
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    let exim = Exim::new(&vmail);
    let mut shadow = passwdpop::Config::new();
    shadow.set_root(&vmail.root).unwrap();
    let mut prefixed = shadow.clone();
    prefixed.set_layout(passwdpop::Layout::PasswdFile);
    // A hash made elsewhere, in another method than ours (MD5-crypt, as a
    // migration from an older server brings it).
    let migrated = std::process::Command::new("mkpasswd")
        .args(["-m", "md5crypt", "carol-migrated"])
        .output()
        .unwrap();
    let migrated = String::from_utf8(migrated.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert!(migrated.starts_with("$1$"), "{migrated}");

    shadow.suspend(SHADOW_DOMAIN, "alice").unwrap();
    shadow.remove(SHADOW_DOMAIN, "bob").unwrap();
    shadow.unsuspend(SHADOW_DOMAIN, "locked").unwrap();
    shadow.add(SHADOW_DOMAIN, "Dave", "dave-pw").unwrap();
    prefixed
        .set_hash(PREFIXED_DOMAIN, "carol", &migrated)
        .unwrap();
    prefixed.add(PREFIXED_DOMAIN, "erin", "erin-pw").unwrap();
    prefixed.add(PREFIXED_DOMAIN, "frank", "frank-pw").unwrap();
    prefixed.suspend(PREFIXED_DOMAIN, "frank").unwrap();
    assert!(vmail
        .line(PREFIXED_DOMAIN, "carol")
        .starts_with("carol:{CRYPT}$1$"));
    assert!(vmail
        .line(PREFIXED_DOMAIN, "frank")
        .starts_with("frank:!{SHA512-CRYPT}$6$"));

    #[rustfmt::skip]
    let cases: &[(&str, &str, bool)] = &[
        ("alice@example.com", "alice-old", false),   // suspended
        ("bob@example.com", "bob-old", false),       // removed
        ("locked@example.com", "locked-old", true),  // unsuspended: the old password again
        ("dave@example.com", "dave-pw", true),       // added (as `dave`)
        ("DAVE@example.com", "dave-pw", true),
        ("dave@example.com", "wrong", false),
        ("carol@example.org", "carol-migrated", true), // a given hash, {CRYPT}$1$
        ("carol@example.org", "carol-old", false),
        ("erin@example.org", "erin-pw", true),       // added with the file's prefix
        ("frank@example.org", "frank-pw", false),    // added, then suspended
    ];
    wait_for_next_second();
    let dovecot_cases: Vec<(&str, &str, i32)> = cases
        .iter()
        .map(|&(user, password, ok)| (user, password, if ok { ACCEPTED } else { REFUSED }))
        .collect();
    dovecot.expect(&dovecot_cases);

    let condition = readme_condition("vmail_plain_server")
        .replace("$auth2", "$h_x-user:")
        .replace("$auth3", "$h_x-password:");
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|&(user, password, ok)| {
            let (answer, stderr) = exim.expand(&condition, user, password);
            let expected = if ok { "yes" } else { "no" };
            (answer != expected).then(|| format!("{user} {password}: {answer} {stderr}"))
        })
        .collect();
    assert!(wrong.is_empty(), "Exim:\n{}", wrong.join("\n"));

    // Back again: unsuspend alice, suspend dave; the old password works.
    shadow.unsuspend(SHADOW_DOMAIN, "alice").unwrap();
    shadow.suspend(SHADOW_DOMAIN, "dave").unwrap();
    wait_for_next_second();
    dovecot.expect(&[
        ("alice@example.com", "alice-old", ACCEPTED),
        ("dave@example.com", "dave-pw", REFUSED),
    ]);
    for (user, password, expected) in [
        ("alice@example.com", "alice-old", "yes"),
        ("dave@example.com", "dave-pw", "no"),
    ] {
        assert_eq!(
            exim.expand(&condition, user, password).0,
            expected,
            "{user}"
        );
    }
}

/// What locks an entry is what the servers refuse: a `!` behind white space
/// is a lock for Exim (its lsearch skips the white space after the `:`) and
/// stays one through a change; after `{PLAIN}` a `!` is the password itself
/// for Dovecot, so suspend locks such an entry with a `!` in front.
#[test]
fn lock_marks_mean_what_exim_and_dovecot_read() {
    use std::io::Write;
    let vmail = Vmail::new();
    let dovecot = Dovecot::start(&vmail);
    let exim = Exim::new(&vmail);
    let hash = std::process::Command::new("mkpasswd")
        .args(["-m", "sha-512", "spaced-old"])
        .output()
        .unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_owned();
    let append = |domain: &str, line: String| {
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(vmail.shadow(domain))
            .unwrap();
        file.write_all(line.as_bytes()).unwrap();
    };
    append(
        SHADOW_DOMAIN,
        format!("spaced: !{hash}:19000:0:99999:7:::\n"),
    );
    append(
        PREFIXED_DOMAIN,
        "plain:{PLAIN}!bang:5000:5000::/var/vmail/example.org/plain::\n".to_owned(),
    );
    let mut shadow = passwdpop::Config::new();
    shadow.set_root(&vmail.root).unwrap();
    let mut prefixed = shadow.clone();
    prefixed.set_layout(passwdpop::Layout::PasswdFile);
    let condition = readme_condition("vmail_plain_server")
        .replace("$auth2", "$h_x-user:")
        .replace("$auth3", "$h_x-password:");
    let exim_says = |password: &str| exim.expand(&condition, "spaced@example.com", password).0;

    assert_eq!(exim_says("spaced-old"), "no", "locked before any change");
    vmail.change(SHADOW_DOMAIN, "spaced", "spaced-new");
    assert!(vmail
        .line(SHADOW_DOMAIN, "spaced")
        .starts_with("spaced: !$6$"));
    assert_eq!(exim_says("spaced-new"), "no", "a change unlocked the entry");
    shadow.unsuspend(SHADOW_DOMAIN, "spaced").unwrap();
    assert_eq!(exim_says("spaced-new"), "yes", "unsuspend left it locked");

    wait_for_next_second();
    dovecot.expect(&[("plain@example.org", "!bang", ACCEPTED)]);
    prefixed.suspend(PREFIXED_DOMAIN, "plain").unwrap();
    assert!(vmail
        .line(PREFIXED_DOMAIN, "plain")
        .starts_with("plain:!{PLAIN}!bang:"));
    wait_for_next_second();
    dovecot.expect(&[("plain@example.org", "!bang", REFUSED)]);
    prefixed.unsuspend(PREFIXED_DOMAIN, "plain").unwrap();
    wait_for_next_second();
    dovecot.expect(&[("plain@example.org", "!bang", ACCEPTED)]);
}

/// Lines that Exim's lsearch and Dovecot's passwd-file read differently:
/// each server shows the disagreement (one accepts a password the other
/// refuses), and passwdpop refuses to change or verify those accounts
/// (`PASSWDPOP_AMBIGUOUS_ACCOUNT`, the file byte for byte as it was), while
/// an ordinary account of the same file changes as usual.
#[test]
fn exim_and_dovecot_disagree_on_some_lines_and_passwdpop_refuses_them() {
    const DOMAIN: &str = "disputed.test";
    let vmail = Vmail::new();
    let hash = |password: &str| passwdpop::sha512_crypt(password, 5000).unwrap();
    let content = [
        // White space ends Exim's key, not Dovecot's.
        format!("bob :{}\nbob:{}\n", hash("bob-exim"), hash("bob-dovecot")),
        format!(
            "dave smith:{}\ndave:{}\n",
            hash("dave-exim"),
            hash("dave-dovecot")
        ),
        // Exim unquotes a quoted key (with its escapes); Dovecot does not.
        format!(
            "\"c\\x61rol\":{}\ncarol:{}\n",
            hash("carol-exim"),
            hash("carol-dovecot")
        ),
        // Exim joins a continuation line to the hash.
        format!("erin:{}\n continued\n", hash("erin-pw")),
        // Exim reads the line after one holding a NUL byte as its rest.
        format!("x\0y\nfrank:{}\n", hash("frank-pw")),
        format!("gina:{}:19700:0:99999:7:::\n", hash("gina-old")),
    ]
    .concat();
    let dir = vmail.root.join(DOMAIN);
    fs::create_dir(&dir).unwrap();
    give_to_dovecot(&dir, 0o750);
    let shadow = dir.join("shadow");
    fs::write(&shadow, &content).unwrap();
    give_to_dovecot(&shadow, 0o640);

    let dovecot = Dovecot::start(&vmail);
    let exim = Exim::new(&vmail);
    let condition = readme_condition("vmail_plain_server")
        .replace("$auth2", "$h_x-user:")
        .replace("$auth3", "$h_x-password:");
    // (user, password, Exim accepts, Dovecot accepts)
    let both_ways = |cases: &[(&str, &str, bool, bool)]| {
        let dovecot_cases: Vec<(String, &str, i32)> = cases
            .iter()
            .map(|&(user, password, _, ok)| {
                (
                    format!("{user}@{DOMAIN}"),
                    password,
                    if ok { ACCEPTED } else { REFUSED },
                )
            })
            .collect();
        let dovecot_cases: Vec<(&str, &str, i32)> = dovecot_cases
            .iter()
            .map(|(user, password, status)| (user.as_str(), *password, *status))
            .collect();
        dovecot.expect(&dovecot_cases);
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|&(user, password, ok, _)| {
                let address = format!("{user}@{DOMAIN}");
                let (answer, stderr) = exim.expand(&condition, &address, password);
                let expected = if ok { "yes" } else { "no" };
                (answer != expected).then(|| format!("{address} {password}: {answer} {stderr}"))
            })
            .collect();
        assert!(wrong.is_empty(), "Exim:\n{}", wrong.join("\n"));
    };
    #[rustfmt::skip]
    both_ways(&[
        ("bob", "bob-exim", true, false),
        ("bob", "bob-dovecot", false, true),
        // Exim's entry for dave is the first line, whose data (and so the
        // hash it reads) is `smith`: no password works there.
        ("dave", "dave-exim", false, false),
        ("dave", "dave-dovecot", false, true),
        ("carol", "carol-exim", true, false),
        ("carol", "carol-dovecot", false, true),
        ("erin", "erin-pw", false, true),
        ("frank", "frank-pw", false, true),
        ("gina", "gina-old", true, true),
    ]);

    let mut config = passwdpop::Config::new();
    config.set_root(&vmail.root).unwrap();
    for user in ["bob", "dave", "carol", "erin", "frank"] {
        for (what, result) in [
            ("change", config.change(DOMAIN, user, "new-pw").map(drop)),
            ("verify", config.verify(DOMAIN, user, "new-pw").map(drop)),
            ("suspend", config.suspend(DOMAIN, user).map(drop)),
        ] {
            let err = result.expect_err(what);
            assert_eq!(
                err.status(),
                passwdpop::Status::AmbiguousAccount,
                "{what} {user}: {err}"
            );
            if what != "suspend" {
                assert!(err.message().contains("Exim and Dovecot"), "{err}");
            }
        }
    }
    assert!(
        fs::read(&shadow).unwrap() == content.as_bytes(),
        "a refused change changed the file"
    );

    config.change(DOMAIN, "gina", "gina-new").unwrap();
    let after = fs::read_to_string(&shadow).unwrap();
    let kept = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with("gina:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(kept(&after), kept(&content));
    wait_for_next_second();
    #[rustfmt::skip]
    both_ways(&[
        ("gina", "gina-new", true, true),
        ("gina", "gina-old", false, false),
        ("bob", "bob-exim", true, false),
        ("bob", "bob-dovecot", false, true),
    ]);
}
