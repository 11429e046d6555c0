//! The command's account operations and `--batch`, driven as provisioning
//! jobs and webmail password plugins drive them.

mod common;

use std::process::{Command, Output, Stdio};

use common::{crypt_accepts, hash_of, make_hash, spawn_with_stdin, Fixture};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");

fn run(fx: &Fixture, args: &[&str], stdin: &[u8]) -> Output {
    let root = fx.root.to_str().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["--root", root, "--rounds", "1000"])
        .args(args)
        .env_remove("PASSWDPOP_ROOT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn_with_stdin(&mut command, stdin)
        .wait_with_output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", text(&output.stdout)))
}

fn verifies(fx: &Fixture, domain: &str, user: &str, password: &str) -> bool {
    crypt_accepts(
        password.as_bytes(),
        hash_of(&fx.read(domain), user).trim_start_matches('!'),
    ) && !hash_of(&fx.read(domain), user).starts_with('!')
}

#[test]
fn each_operation_by_flag_with_its_exit_status() {
    let fx = Fixture::new();
    fx.domain("example.com", b"alice:x:1\nbob:x:1\n cont\n");
    let md5 = "$1$saltsalt$493KEjZxuI6BvNXetbWgz1"; // mkpasswd -m md5crypt -S saltsalt migrated
                                                    // args, stdin, exit status, text on stdout
    #[rustfmt::skip]
    let steps: &[(&[&str], &str, i32, &str)] = &[
        (&["--add", "--email", "Carol@example.com"], "carol-pw\n", 0, "account added: carol@example.com\n"),
        (&["--add", "--email", "CAROL@example.com"], "Zq-0ther-pw\n", 15, ""),
        (&["--suspend", "--email", "carol@example.com"], "", 0, "login suspended for carol@example.com\n"),
        (&["--suspend", "--email", "carol@example.com"], "", 0, "login suspended for carol@example.com\n"),
        (&["--unsuspend", "--email", "carol@example.com"], "", 0, "login unsuspended for carol@example.com\n"),
        (&["--set-hash", "--domain", "example.com", "--email", "alice"], &format!("{md5}\n"), 0, "hash set for alice@example.com\n"),
        (&["--set-hash", "--domain", "example.com", "--email", "alice"], "notahash\n", 14, ""),
        (&["--remove", "--email", "bob@example.com"], "", 0, "account removed: bob@example.com\n"),
        (&["--remove", "--email", "bob@example.com"], "", 7, ""),
        (&["--suspend", "--email", "nobody@example.org"], "", 6, ""),
        (&["--add", "--remove", "--email", "x@example.com"], "", 64, ""),
        (&["--verify", "--add", "--email", "x@example.com"], "", 64, ""),
        (&["--encrypted", "--email", "x@example.com"], "", 64, ""),
    ];
    for (args, stdin, status, stdout) in steps {
        let output = run(&fx, args, stdin.as_bytes());
        assert_eq!(
            output.status.code(),
            Some(*status),
            "{args:?}: {}",
            text(&output.stderr)
        );
        if *status == 0 {
            assert_eq!(text(&output.stdout), *stdout, "{args:?}");
        }
        for secret in ["carol-pw", "Zq-0ther-pw"] {
            assert!(!text(&output.stderr).contains(secret), "{args:?}");
        }
    }
    let after = fx.read("example.com");
    assert_eq!(hash_of(&after, "alice"), md5);
    assert!(verifies(&fx, "example.com", "carol", "carol-pw"));
    assert!(
        !text(&after).contains("bob") && !text(&after).contains("cont"),
        "{}",
        text(&after)
    );
}

#[test]
fn cpapi2_addpop_and_delpop_with_their_json_results() {
    let fx = Fixture::new();
    fx.domain("example.com", b"alice:x:1\n");
    let output = run(
        &fx,
        &[
            "--output",
            "json",
            "Email",
            "addpop",
            "domain=example.com",
            "email=dave",
            "password=dave%20pw",
            "quota=250",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        json_of(&output),
        json!({"cpanelresult": {"apiversion": 2, "func": "addpop", "module": "Email",
            "data": [{"reason": "", "result": 1}], "event": {"result": 1}}})
    );
    assert!(verifies(&fx, "example.com", "dave", "dave pw"));

    let output = run(
        &fx,
        &[
            "--output",
            "json",
            "Email",
            "addpop",
            "domain=example.com",
            "email=dave",
            "password=x",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(15));
    assert_eq!(json_of(&output)["cpanelresult"]["data"][0]["result"], 0);

    let output = run(
        &fx,
        &[
            "--output",
            "json",
            "Email",
            "delpop",
            "domain=example.com",
            "email=dave",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(json_of(&output)["cpanelresult"]["func"], "delpop");
    assert_eq!(fx.read("example.com"), b"alice:x:1\n");

    for refused in [
        &[
            "Email",
            "delpop",
            "domain=example.com",
            "email=alice",
            "password=x",
        ][..],
        &[
            "Email",
            "passwdpop",
            "domain=example.com",
            "email=alice",
            "quota=1",
        ],
        &[
            "--remove",
            "Email",
            "addpop",
            "domain=example.com",
            "email=alice",
            "password=x",
        ],
        &[
            "Email",
            "delpop",
            "domain=example.com",
            "email=alice",
            "quota=1",
        ],
    ] {
        let output = run(&fx, refused, b"");
        assert_eq!(output.status.code(), Some(64), "{refused:?}");
        assert!(!text(&output.stderr).contains("password=x"));
    }
    assert_eq!(fx.read("example.com"), b"alice:x:1\n");
}

#[test]
fn batch_applies_chpasswd_lines_and_reports_each_failed_one() {
    let fx = Fixture::new();
    fx.domain("example.com", b"alice:x:1\nbob:x:1\ndup:a\nDUP:b\n");
    fx.domain("example.org", b"carol:x:1\n");
    let input = "alice@example.com:new:pw:1\r\n\
                 \n\
                 carol@example.org:carol pw\n\
                 nobody@example.com:Secret-A\n\
                 dup@example.com:Secret-B\n\
                 Secret-C-without-colon\n\
                 bob:Secret-D\n\
                 erin@missing.example:Secret-E\n\
                 BOB@example.com:bob pw\n";
    let output = run(&fx, &["--batch"], input.as_bytes());
    assert_eq!(output.status.code(), Some(7), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "line 4: nobody@example.com: no account 'nobody' in example.com",
            &format!(
                "line 5: dup@example.com: more than one entry for 'dup' in {}/example.com/shadow \
                 (user names match case-insensitively); fix the file by hand",
                fx.root.display()
            ),
            "line 6: no ':' between the account and the password (the line is not shown)",
            "line 7: bob: no domain: write user@domain, or give --domain for bare user names",
            &format!(
                "line 8: erin@missing.example: no domain missing.example: {}/missing.example does not exist",
                fx.root.display()
            ),
        ]
    );
    assert!(!stderr.contains("Secret") && !text(&output.stdout).contains("Secret"));
    assert_eq!(text(&output.stdout), "3 of 8 passwords changed\n");
    assert!(verifies(&fx, "example.com", "alice", "new:pw:1"));
    assert!(verifies(&fx, "example.org", "carol", "carol pw"));
    assert!(verifies(&fx, "example.com", "bob", "bob pw"));

    // --domain for bare names, JSON with one object per line.
    let output = run(
        &fx,
        &["--batch", "--domain", "example.com", "--output", "json"],
        b"alice:a2\nnobody:x\n",
    );
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(
        json_of(&output),
        json!({"cpanelresult": {"apiversion": 2, "func": "passwdpop", "module": "Email",
            "data": [
                {"email": "alice", "result": 1, "reason": ""},
                {"email": "nobody", "result": 0, "reason": "no account 'nobody' in example.com"},
            ],
            "event": {"result": 0}}})
    );
    assert!(verifies(&fx, "example.com", "alice", "a2"));

    // -e: hashes, as chpasswd -e; a bad one is refused, the rest applies.
    let hash = make_hash(b"hashed pw", "hhhhhhhhhhhhhhhh");
    let input = format!("alice@example.com:{hash}\nbob@example.com:notahash\n");
    let output = run(&fx, &["--batch", "-e"], input.as_bytes());
    assert_eq!(output.status.code(), Some(14), "{}", text(&output.stderr));
    assert_eq!(hash_of(&fx.read("example.com"), "alice"), hash);
    assert!(verifies(&fx, "example.com", "bob", "bob pw"));

    // All applied: exit 0; an empty input applies nothing and succeeds.
    let output = run(&fx, &["--batch"], b"alice@example.com:final\n");
    assert_eq!(
        (output.status.code(), text(&output.stdout)),
        (Some(0), "1 of 1 passwords changed\n".into())
    );
    let output = run(&fx, &["--batch"], b"");
    assert_eq!(output.status.code(), Some(0));
    for refused in [
        &["--batch", "--email", "alice@example.com"][..],
        &["--batch", "password=x"],
    ] {
        assert_eq!(
            run(&fx, refused, b"").status.code(),
            Some(64),
            "{refused:?}"
        );
    }
}

/// Roundcube's `chpasswd` password driver runs a command and writes
/// `user@domain:newpassword\n` to it: `passwdpop --batch` is that command.
#[test]
fn a_webmail_chpasswd_driver_works_through_a_shell_pipe() {
    let fx = Fixture::new();
    fx.domain("example.com", b"webuser:x:1\n");
    let root = fx.root.to_str().unwrap();
    let status = Command::new("sh")
        .args(["-c", &format!("printf '%s:%s\\n' webuser@example.com 'Web Mail Pw!' | {BIN} --root {root} --batch >/dev/null")])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(verifies(&fx, "example.com", "webuser", "Web Mail Pw!"));
}
