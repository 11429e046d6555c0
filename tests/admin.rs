//! Adding, removing, suspending, unsuspending accounts and storing given
//! hashes, one at a time and in batches, in real files.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::{crypt_accepts, day_number, hash_of, make_hash, Fixture};
use passwdpop::{Batch, Config, Layout, Status};

const SAMPLE: &[u8] = b"# example.com mailboxes\n\
alice:$6$rounds=5000$aaaaaaaaaaaaaaaa$old:19000:0:99999:7:::\n\
bob:$6$rounds=5000$bbbbbbbbbbbbbbbb$old:19000:0:99999:7:::\n\
\xff\xfe-not-utf8:x\n";

fn status<T>(result: Result<T, passwdpop::Error>) -> Option<Status> {
    result.err().map(|err| err.status())
}

#[test]
fn add_appends_a_lower_cased_entry_that_verifies() {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    fx.config
        .add("example.com", "Dave@Example.com", "s3cret pw")
        .unwrap();
    let after = fx.read("example.com");
    assert!(after.starts_with(SAMPLE));
    let hash = hash_of(&after, "dave");
    let expected = format!("dave:{hash}:{}:0:99999:7:::\n", day_number());
    assert_eq!(&after[SAMPLE.len()..], expected.as_bytes());
    assert!(hash.starts_with("$6$rounds=1000$"), "{hash}");
    assert!(crypt_accepts(b"s3cret pw", &hash));
    assert_eq!(fx.config.verify("example.com", "DAVE", "s3cret pw"), Ok(()));
    assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());

    for existing in ["dave", "ALICE", "Bob@example.com"] {
        let err = fx.config.add("example.com", existing, "other").unwrap_err();
        assert_eq!(err.status(), Status::AccountExists, "{existing}");
        assert!(!err.message().contains("other"));
    }
    assert_eq!(fx.read("example.com"), after);
}

#[test]
fn remove_suspend_unsuspend_and_set_hash_round_trip() {
    let fx = Fixture::new();
    let bob = make_hash(b"bobs pw", "bbbbbbbbbbbbbbbb");
    let content = format!("alice:A:1\nbob:{bob}:1:0:99999:7:::\n\tcontinued\ncarol:C:1\n");
    fx.domain("example.com", content.as_bytes());
    let config = &fx.config;

    config.suspend("example.com", "bob").unwrap();
    assert_eq!(hash_of(&fx.read("example.com"), "bob"), format!("!{bob}"));
    assert_eq!(
        status(config.verify("example.com", "bob", "bobs pw")),
        Some(Status::PasswordMismatch)
    );
    // Idempotent: no rewrite at all (the file keeps its inode).
    let inode = fs::metadata(fx.root.join("example.com/shadow"))
        .unwrap()
        .ino();
    config.suspend("example.com", "bob").unwrap();
    assert_eq!(
        fs::metadata(fx.root.join("example.com/shadow"))
            .unwrap()
            .ino(),
        inode
    );

    config.unsuspend("example.com", "BOB").unwrap();
    assert_eq!(hash_of(&fx.read("example.com"), "bob"), bob);
    assert_eq!(config.verify("example.com", "bob", "bobs pw"), Ok(()));
    config.unsuspend("example.com", "bob").unwrap();

    let migrated = common::make_hash(b"migrated", "mmmmmmmmmmmmmmmm");
    config.set_hash("example.com", "bob", &migrated).unwrap();
    assert_eq!(config.verify("example.com", "bob", "migrated"), Ok(()));
    let line = format!("bob:{migrated}:{}:0:99999:7:::\n", day_number());
    assert!(String::from_utf8_lossy(&fx.read("example.com")).contains(&line));

    config.remove("example.com", "bob").unwrap();
    assert_eq!(fx.read("example.com"), b"alice:A:1\ncarol:C:1\n");
    assert_eq!(
        status(config.remove("example.com", "bob")),
        Some(Status::NoSuchAccount)
    );
    assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());
}

#[test]
fn every_operation_refuses_bad_input_in_argument_order_and_changes_nothing() {
    let fx = Fixture::new();
    fx.domain("example.com", b"bob:$6$x$y:1\nbob2:a\nBOB2:b\n");
    let good_hash = make_hash(b"pw", "ssssssssssssssss");
    let config = &fx.config;
    type Op<'a> = (
        &'a str,
        Box<dyn Fn(&str, &str) -> Result<(), passwdpop::Error> + 'a>,
    );
    let ops: Vec<Op> = vec![
        ("add", Box::new(|d, u| config.add(d, u, "pw"))),
        ("remove", Box::new(|d, u| config.remove(d, u))),
        ("suspend", Box::new(|d, u| config.suspend(d, u))),
        ("unsuspend", Box::new(|d, u| config.unsuspend(d, u))),
        (
            "set_hash",
            Box::new(|d, u| config.set_hash(d, u, &good_hash)),
        ),
    ];
    let before = fx.read("example.com");
    for (name, op) in &ops {
        let add = *name == "add";
        // domain, user, the status (None: the row does not apply)
        #[rustfmt::skip]
        let cases: &[(&str, &str, Option<Status>)] = &[
            ("bad domain!", "bob", Some(Status::InvalidDomain)),
            ("bad domain!", "", Some(Status::InvalidDomain)),
            ("example.com", "", Some(Status::InvalidUser)),
            ("example.com", "bob@example.org", Some(Status::InvalidUser)),
            ("example.com", "#bob", Some(Status::InvalidUser)),
            ("example.org", "bob", Some(Status::NoSuchDomain)),
            ("example.com", "bob2", Some(if add { Status::AccountExists } else { Status::AmbiguousAccount })),
            ("example.com", "nobody", (!add).then_some(Status::NoSuchAccount)),
        ];
        for (domain, user, expected) in cases {
            let Some(expected) = expected else { continue };
            assert_eq!(
                status(op(domain, user)),
                Some(*expected),
                "{name} {domain} {user}"
            );
            assert_eq!(fx.read("example.com"), before, "{name} {domain} {user}");
        }
    }
    for hash in ["notahash", "", "$6$short", "{SHA512-CRYPT}$6$x$y", "x:y"] {
        assert_eq!(
            status(config.set_hash("example.com", "bob", hash)),
            Some(Status::InvalidHash),
            "{hash}"
        );
        // The user is checked before the hash.
        assert_eq!(
            status(config.set_hash("example.com", "", hash)),
            Some(Status::InvalidUser)
        );
    }
    assert_eq!(
        status(config.add("example.com", "new", "")),
        Some(Status::InvalidPassword)
    );
    assert_eq!(fx.read("example.com"), before);
}

#[test]
fn operations_keep_owner_mode_and_a_later_mtime() {
    let fx = Fixture::new();
    let path = fx.domain("example.com", b"bob:$6$x$y:1\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
    std::os::unix::fs::chown(&path, Some(4321), Some(4322)).unwrap();
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(future)
        .unwrap();
    let before = fs::metadata(&path).unwrap();
    fx.config.suspend("example.com", "bob").unwrap();
    fx.config.add("example.com", "carol", "pw").unwrap();
    let after = fs::metadata(&path).unwrap();
    assert_eq!(
        (after.uid(), after.gid(), after.mode()),
        (4321, 4322, before.mode())
    );
    assert!(after.mtime() > before.mtime());
}

#[test]
fn passwd_file_layout_add_follows_the_prefix_and_set_hash_picks_crypt() {
    let fx = Fixture::new();
    let old = make_hash(b"old", "oooooooooooooooo");
    let content = format!("erin:{{SHA512-CRYPT}}{old}:5000:5000::/var/vmail/erin::\n");
    fx.domain("example.org", content.as_bytes());
    let mut config = fx.config.clone();
    config.set_layout(Layout::PasswdFile);
    config.add("example.org", "frank", "pw").unwrap();
    let after = fx.read("example.org");
    let frank = hash_of(&after, "frank");
    assert!(frank.starts_with("{SHA512-CRYPT}$6$"), "{frank}");
    assert!(String::from_utf8_lossy(&after).ends_with("::::::\n"));
    assert_eq!(config.verify("example.org", "frank", "pw"), Ok(()));

    let md5 = "$1$saltsalt$UJKS2lVS97sSvbb8Ry8Xk/";
    config.set_hash("example.org", "erin", md5).unwrap();
    let erin_line = String::from_utf8_lossy(&fx.read("example.org"))
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        erin_line,
        format!("erin:{{CRYPT}}{md5}:5000:5000::/var/vmail/erin::")
    );
}

#[test]
fn a_batch_applies_everything_it_can_with_one_rewrite_per_domain() {
    let fx = Fixture::new();
    fx.domain("example.com", b"alice:A:1\nbob:B:1\nbob2:x\nBOB2:y\n");
    fx.domain("example.org", b"carol:C:1\n");
    let mut config = fx.config.clone();
    config.set_threads(2);
    let mut batch = Batch::new(&config);
    let imported = make_hash(b"imported", "iiiiiiiiiiiiiiii");
    let entries: Vec<(&str, &str, &str, bool)> = vec![
        ("example.com", "alice", "first", false),
        ("example.org", "carol", "carol pw", false),
        ("example.com", "nobody", "x", false),
        ("example.net", "dave", "x", false),
        ("example.com", "bob2", "x", false),
        ("example.com", "bob", &imported, true),
        ("example.com", "ALICE", "second", false),
    ];
    for (index, (domain, user, secret, is_hash)) in entries.iter().enumerate() {
        let added = if *is_hash {
            batch.add_hash(domain, user, secret)
        } else {
            batch.add(domain, user, secret)
        };
        assert_eq!(added, Ok(index));
    }
    // Refused at once, and not counted.
    assert_eq!(
        status(batch.add("example.com", "", "x")),
        Some(Status::InvalidUser)
    );
    assert_eq!(
        status(batch.add_hash("example.com", "bob", "nope")),
        Some(Status::InvalidHash)
    );
    assert_eq!(batch.len(), entries.len());
    assert!(batch.result(0).is_none());

    let com_inode = fs::metadata(fx.root.join("example.com/shadow"))
        .unwrap()
        .ino();
    let err = batch.commit().unwrap_err();
    assert_eq!(err.status(), Status::NoSuchAccount, "{err}");
    let statuses: Vec<Option<Status>> = (0..batch.len())
        .map(|index| {
            batch
                .result(index)
                .unwrap()
                .as_ref()
                .err()
                .map(|err| err.status())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            None,
            None,
            Some(Status::NoSuchAccount),
            Some(Status::NoSuchDomain),
            Some(Status::AmbiguousAccount),
            None,
            None,
        ]
    );
    assert_ne!(
        fs::metadata(fx.root.join("example.com/shadow"))
            .unwrap()
            .ino(),
        com_inode
    );
    let config = &fx.config;
    assert_eq!(config.verify("example.com", "alice", "second"), Ok(()));
    assert_eq!(
        status(config.verify("example.com", "alice", "first")),
        Some(Status::PasswordMismatch)
    );
    assert_eq!(config.verify("example.com", "bob", "imported"), Ok(()));
    assert_eq!(config.verify("example.org", "carol", "carol pw"), Ok(()));
    assert!(fx.read("example.com").ends_with(b"bob2:x\nBOB2:y\n"));
    assert_eq!(status(batch.commit()), Some(Status::InvalidConfig));
    assert_eq!(
        status(batch.add("example.com", "bob", "x")),
        Some(Status::InvalidConfig)
    );
    for domain in ["example.com", "example.org"] {
        assert_eq!(fx.extra_files(domain), Vec::<String>::new());
    }
}

#[test]
fn an_empty_batch_and_a_batch_with_a_bad_root() {
    let mut batch = Batch::new(&Config::new());
    assert_eq!(batch.commit(), Ok(()));
    let fx = Fixture::new();
    let mut config = fx.config.clone();
    config.set_root("/nonexistent/passwdpop-root").unwrap();
    let mut batch = Batch::new(&config);
    batch.add("example.com", "bob", "pw").unwrap();
    assert_eq!(status(batch.commit()), Some(Status::NoSuchDomain));
}

#[test]
fn a_batch_holds_one_domain_lock_at_a_time() {
    // The second domain is locked by someone else: while the batch waits for
    // it, the first domain must already be written and unlocked.
    let fx = Fixture::new();
    fx.domain("first.example", b"a:A:1\n");
    fx.domain("second.example", b"b:B:1\n");
    let second_dir = File::open(fx.root.join("second.example")).unwrap();
    second_dir.lock().unwrap();
    let mut config = fx.config.clone();
    config.set_lock_timeout_ms(3_000);
    let mut batch = Batch::new(&config);
    batch.add("first.example", "a", "pw a").unwrap();
    batch.add("second.example", "b", "pw b").unwrap();
    std::thread::scope(|scope| {
        let commit = scope.spawn(move || batch.commit());
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while fx.config.verify("first.example", "a", "pw a").is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the first domain was never written"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let first_dir = File::open(fx.root.join("first.example")).unwrap();
        first_dir
            .try_lock()
            .expect("the first domain is still locked");
        drop(first_dir);
        assert!(!commit.is_finished());
        second_dir.unlock().unwrap();
        assert_eq!(commit.join().unwrap(), Ok(()));
    });
    assert_eq!(fx.config.verify("second.example", "b", "pw b"), Ok(()));
}

#[test]
fn batches_and_single_changes_at_once_lose_no_update() {
    let fx = Fixture::new();
    let users: Vec<String> = (0..40).map(|i| format!("user{i}")).collect();
    let content: String = users.iter().map(|user| format!("{user}:x:1\n")).collect();
    fx.domain("example.com", content.as_bytes());
    std::thread::scope(|scope| {
        for round in 0..4 {
            let fx = &fx;
            let users = &users;
            scope.spawn(move || {
                let mut batch = Batch::new(&fx.config);
                for user in users.iter().skip(round).step_by(4) {
                    batch
                        .add("example.com", user, format!("batch {user}"))
                        .unwrap();
                }
                batch.commit().unwrap();
            });
            scope.spawn(move || {
                let user = format!("single{round}");
                fx.config.add("example.com", &user, "pw").unwrap();
                fx.config.suspend("example.com", &user).unwrap();
            });
        }
    });
    for user in &users {
        assert_eq!(
            fx.config
                .verify("example.com", user, format!("batch {user}")),
            Ok(()),
            "{user}"
        );
    }
    let after = String::from_utf8(fx.read("example.com")).unwrap();
    for round in 0..4 {
        assert!(hash_of(after.as_bytes(), &format!("single{round}")).starts_with('!'));
    }
    assert_eq!(after.lines().count(), users.len() + 4);
}
