//! The `passwdpop` command, driven as hook scripts drive it.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{crypt_accepts, hash_of, spawn_with_stdin, Fixture};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");
const SECRET: &str = "Zq9-unique-S3cret";
const SAMPLE: &[u8] =
    b"sales:old:19000:0:99999:7:::\ninfo:old:19000:0:99999:7:::\ndup:a:1\nDUP:b:1\n";

fn fixture() -> Fixture {
    let fx = Fixture::new();
    fx.domain("example.com", SAMPLE);
    fx
}

/// Runs the command with `stdin` fed in and PASSWDPOP_ROOT unset unless given.
fn run_with(args: &[&str], stdin: &[u8], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("PASSWDPOP_ROOT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    spawn_with_stdin(&mut command, stdin)
        .wait_with_output()
        .unwrap()
}

/// Runs a shell script, as a hook would call the command.
fn run_script(script: &str) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run(fx: &Fixture, args: &[&str], stdin: &[u8]) -> Output {
    let root = fx.root.to_str().unwrap();
    let mut full = vec!["--root", root, "--rounds", "1000"];
    full.extend_from_slice(args);
    run_with(&full, stdin, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_secret(output: &Output, secret: &str) {
    assert!(
        !text(&output.stdout).contains(secret),
        "stdout: {}",
        text(&output.stdout)
    );
    assert!(
        !text(&output.stderr).contains(secret),
        "stderr: {}",
        text(&output.stderr)
    );
}

fn cpanel_result(result: i64, reason: &str) -> Value {
    json!({"cpanelresult": {"apiversion": 2, "func": "passwdpop",
        "data": [{"reason": reason, "result": result}],
        "event": {"result": result}, "module": "Email"}})
}

fn verifies(fx: &Fixture, user: &str, password: &[u8]) -> bool {
    crypt_accepts(password, &hash_of(&fx.read("example.com"), user))
}

#[test]
fn cpapi2_words_with_percent_encoding() {
    let fx = fixture();
    let out = run(
        &fx,
        &[
            "Email",
            "passwdpop",
            "domain=example.com",
            "email=sales",
            "password=a%20b%3Ac+d%25",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "password changed for sales@example.com\n"
    );
    assert!(verifies(&fx, "sales", b"a b:c+d%"));
    // Without the module and function words, and with a full address.
    let out = run(
        &fx,
        &[
            "domain=example.com",
            "email=info%40example.com",
            &format!("password={SECRET}"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(verifies(&fx, "info", SECRET.as_bytes()));
    assert_no_secret(&out, SECRET);
}

#[test]
fn password_from_stdin_and_fd() {
    let fx = fixture();
    let cases: &[(&[&str], &[u8], &[u8])] = &[
        (&[], b"from-stdin\n", b"from-stdin"),
        (&[], b"no-newline", b"no-newline"),
        (&[], b"crlf\r\nsecond line\n", b"crlf"),
        (&["--password-stdin-raw"], b"raw\n", b"raw\n"),
    ];
    for (extra, stdin, expected) in cases {
        let mut args = vec!["--domain", "example.com", "--email", "sales"];
        args.extend_from_slice(extra);
        let out = run(&fx, &args, stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdin:?}: {}",
            text(&out.stderr)
        );
        assert!(verifies(&fx, "sales", expected), "{stdin:?}");
    }
    // An inherited descriptor, as a script would pass it.
    let pwfile = fx.root.with_file_name("pwfile");
    std::fs::write(&pwfile, format!("{SECRET}\nignored\n")).unwrap();
    let script = format!(
        "exec '{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales --password-fd 3 3<'{}'",
        fx.root.display(),
        pwfile.display()
    );
    let out = run_script(&script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(verifies(&fx, "sales", SECRET.as_bytes()));
    let out = run(
        &fx,
        &[
            "--domain",
            "example.com",
            "--email",
            "sales",
            "--password-fd",
            "97",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(11), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("file descriptor 97"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_output_for_success_and_every_failure_class() {
    let fx = fixture();
    fn flags(domain: &'static str, email: &'static str) -> Vec<&'static str> {
        vec!["--output", "json", "--domain", domain, "--email", email]
    }
    let long = "p".repeat(600);
    let mut cases: Vec<(Vec<&str>, String, i32, &str)> = vec![
        (flags("example.com", "sales"), format!("{SECRET}\n"), 0, ""),
        (
            flags("etc", "sales"),
            format!("{SECRET}\n"),
            2,
            "invalid domain",
        ),
        (
            flags("example.com", "sa:les"),
            format!("{SECRET}\n"),
            3,
            "invalid user",
        ),
        (
            flags("example.com", "sales"),
            "\n".into(),
            4,
            "invalid password",
        ),
        (
            flags("example.com", "sales"),
            format!("{long}\n"),
            4,
            "invalid password",
        ),
        (
            flags("missing.com", "sales"),
            format!("{SECRET}\n"),
            6,
            "no domain",
        ),
        (
            flags("example.com", "nobody"),
            format!("{SECRET}\n"),
            7,
            "no account",
        ),
        (
            flags("example.com", "dup"),
            format!("{SECRET}\n"),
            8,
            "more than one entry",
        ),
    ];
    let mut bad_rounds = flags("example.com", "sales");
    bad_rounds.extend(["--rounds", "5"]);
    cases.push((bad_rounds, format!("{SECRET}\n"), 5, "rounds"));
    let mut verify = flags("example.com", "info");
    verify.push("--verify");
    cases.push((verify, format!("{SECRET}\n"), 12, "does not match"));
    for (args, stdin, code, reason_part) in cases {
        let out = run(&fx, &args, stdin.as_bytes());
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stdout)
        );
        let document: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        let reason = document["cpanelresult"]["data"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        let result = i64::from(code == 0);
        assert_eq!(document, cpanel_result(result, &reason), "{args:?}");
        assert!(reason.contains(reason_part), "{args:?}: {reason}");
        assert_eq!(reason.is_empty(), code == 0);
        assert_no_secret(&out, SECRET);
        assert_no_secret(&out, &long);
    }
}

#[test]
fn unsafe_path_and_lock_timeout_classes() {
    let fx = fixture();
    std::os::unix::fs::symlink(fx.root.join("example.com"), fx.root.join("link.com")).unwrap();
    let out = run(&fx, &["--domain", "link.com", "--email", "sales"], b"pw\n");
    assert_eq!(out.status.code(), Some(9));
    assert!(
        text(&out.stderr).contains("symlink"),
        "{}",
        text(&out.stderr)
    );

    let mut holder = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(
        fx.root.join("example.com/shadow.lock"),
        holder.id().to_string(),
    )
    .unwrap();
    let out = run(
        &fx,
        &[
            "--lock-timeout",
            "100",
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        b"pw\n",
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out.stderr));
    assert_eq!(fx.read("example.com"), SAMPLE);
}

#[test]
fn usage_errors_exit_64_and_never_quote_the_password() {
    let fx = fixture();
    let secret_word = format!("password={SECRET}");
    let bad_escape = format!("password={SECRET}%zz");
    let nul = format!("password={SECRET}%00");
    let equals_word = format!("{SECRET}=x");
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["domain=example.com", "email=sales", "colour=red"], "word 3 has an unknown key"),
        (vec!["domain=example.com", "Domain=x", "email=sales"], "word 2 has an unknown key"),
        // A bare password holding '=' reads as an unknown key: never shown.
        (vec!["domain=example.com", "email=sales", &equals_word], "word 3 has an unknown key"),
        (vec!["Email", "passwdpop", "domain=example.com", &equals_word], "word 2 has an unknown key"),
        (vec!["domain=example.com", "domain=example.com", "email=sales"], "given twice"),
        (vec!["domain=example.com", "email=sales", &bad_escape], "malformed"),
        (vec!["domain=example.com", "email=sales", &nul], "NUL"),
        (vec!["domain=example.com", "email=sales", "--domain", "example.com"], "given twice"),
        (vec!["domain=example.com", "email=sales", &secret_word, "--password-fd", "0"], "given twice"),
        (vec!["Email", "listpops", "domain=example.com", "email=sales"], "Email passwdpop"),
        (vec!["Mail", "passwdpop", "domain=example.com", "email=sales"], "Email passwdpop"),
        (vec!["email=sales", &secret_word], "missing domain"),
        (vec!["domain=example.com", &secret_word], "missing email"),
        (vec!["domain=example.com", "email=sales", SECRET], "not key=value"),
        (vec!["--bogus", &secret_word], "--bogus"),
        (vec!["--rounds", "many", &secret_word], "--rounds <N>"),
    ];
    for (args, expected) in cases {
        let out = run(&fx, &args, b"");
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_no_secret(&out, SECRET);
        let mut json_args = vec!["--output", "json"];
        json_args.extend(args.iter().copied());
        let out = run(&fx, &json_args, b"");
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let document: Value = serde_json::from_slice(&out.stdout).expect("a JSON failure object");
        let reason = document["cpanelresult"]["data"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!reason.is_empty());
        assert_eq!(document, cpanel_result(0, &reason));
        assert_no_secret(&out, SECRET);
    }
    assert_eq!(fx.read("example.com"), SAMPLE);
}

#[test]
fn a_password_given_where_another_value_belongs_is_never_shown() {
    let fx = fixture();
    let escaped = format!("password=\x1b[31m{SECRET}\x07");
    let word = format!("password={SECRET}");
    let eq_fd = format!("--password-fd={SECRET}");
    let eq_raw = format!("--password-stdin-raw={SECRET}");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "--root",
            &word,
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        vec![
            "--user",
            &word,
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        vec![
            "--rounds",
            &escaped,
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        vec![
            "--layout",
            &escaped,
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        vec![
            "--password-fd",
            SECRET,
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        vec![&eq_fd, "--domain", "example.com", "--email", "sales"],
        vec![&eq_raw, "--domain", "example.com", "--email", "sales"],
        vec!["--domain", &word, "--email", "sales"],
        vec!["--domain", "example.com", "--email", &word],
    ];
    for args in cases {
        for output in ["text", "json"] {
            let mut full = vec!["--output", output];
            full.extend(args.iter().copied());
            let out = run_with(&full, b"pw\n", &[]);
            assert_ne!(out.status.code(), Some(0), "{full:?}");
            assert_no_secret(&out, SECRET);
            if output == "json" {
                let document: Value =
                    serde_json::from_slice(&out.stdout).expect("a JSON failure object");
                assert_eq!(document["cpanelresult"]["data"][0]["result"], 0);
            }
        }
    }
    assert_eq!(fx.read("example.com"), SAMPLE);
}

#[test]
fn password_fd_reads_the_inherited_descriptor_where_the_caller_left_it() {
    let fx = fixture();
    let pwfile = fx.root.with_file_name("pwfile");
    std::fs::write(&pwfile, "first\nsecond\n").unwrap();
    let script = format!(
        "{{ read -r skipped <&3; exec '{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales --password-fd 3; }} 3<'{}'",
        fx.root.display(),
        pwfile.display()
    );
    let out = run_script(&script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        verifies(&fx, "sales", b"second"),
        "the descriptor was read from its start"
    );
}

#[test]
fn an_unwritable_stdout_does_not_turn_a_change_into_a_failure() {
    let fx = fixture();
    let script = format!(
        "echo full-pw | '{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales > /dev/full",
        fx.root.display()
    );
    let out = run_script(&script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("could not print the result"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("panicked"));
    assert!(verifies(&fx, "sales", b"full-pw"));
}

#[test]
fn verify_mode() {
    let fx = fixture();
    let change = run(
        &fx,
        &["--domain", "example.com", "--email", "sales"],
        b"right\n",
    );
    assert_eq!(change.status.code(), Some(0));
    let out = run(
        &fx,
        &["--verify", "--domain", "example.com", "--email", "sales"],
        b"right\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "password matches for sales@example.com\n"
    );
    let out = run(
        &fx,
        &[
            "--verify",
            "--output",
            "json",
            "domain=example.com",
            "email=sales",
            "password=right",
        ],
        b"",
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        cpanel_result(1, "")
    );
    let out = run(
        &fx,
        &["--verify", "--domain", "example.com", "--email", "sales"],
        b"wrong\n",
    );
    assert_eq!(out.status.code(), Some(12));
    assert!(text(&out.stderr).starts_with("passwdpop: "));
}

#[test]
fn options_root_env_layout_and_user() {
    let fx = fixture();
    // PASSWDPOP_ROOT applies without --root; --root beats it.
    let elsewhere = fx.root.with_file_name("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let args = [
        "--rounds",
        "1000",
        "--domain",
        "example.com",
        "--email",
        "sales",
    ];
    let out = run_with(&args, b"env-pw\n", &[("PASSWDPOP_ROOT", &fx.root)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(verifies(&fx, "sales", b"env-pw"));
    let mut with_root = vec!["--root", elsewhere.to_str().unwrap()];
    with_root.extend_from_slice(&args);
    let out = run_with(&with_root, b"x\n", &[("PASSWDPOP_ROOT", &fx.root)]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "--root must win: {}",
        text(&out.stderr)
    );

    // The passwd-file layout keeps field 3; the rounds are written into the hash.
    fx.domain(
        "example.org",
        b"alice:{PLAIN}x:5000:5000::/var/mail/alice::\n",
    );
    let out = run(
        &fx,
        &[
            "--layout",
            "passwd-file",
            "--domain",
            "example.org",
            "--email",
            "alice",
        ],
        b"pw\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&std::fs::read(fx.root.join("example.org/shadow")).unwrap());
    assert!(
        line.starts_with("alice:{SHA512-CRYPT}$6$rounds=1000$"),
        "{line}"
    );
    assert!(line.ends_with(":5000:5000::/var/mail/alice::\n"), "{line}");

    // --user picks cPanel's <home>/etc; root's home is /root.
    let out = run_with(
        &[
            "--user=root",
            "--domain",
            "passwdpop-test.invalid",
            "--email",
            "a",
        ],
        b"pw\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("/root/etc"),
        "{}",
        text(&out.stderr)
    );
    let out = run_with(
        &[
            "--user=no-such-user-xyz",
            "--domain",
            "example.com",
            "--email",
            "a",
        ],
        b"pw\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn help_and_version() {
    let out = run_with(&["--help"], b"", &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needed in [
        "Examples:",
        "ps",
        "Exit status:",
        "64  usage error",
        "--password-fd",
        "--verify",
        "PASSWDPOP_ROOT",
    ] {
        assert!(help.contains(needed), "--help lacks {needed}");
    }
    let out = run_with(&["--version"], b"", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("passwdpop {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `script`, which runs `shell` on a pseudo-terminal, with every signal at
/// its default action, as an interactive shell starts a foreground job. A
/// test run started in the background of a non-interactive shell inherits
/// SIGINT and SIGQUIT ignored, and Ctrl-C at the prompt would then rightly
/// do nothing.
fn script(shell: &str) -> Command {
    let mut command = Command::new("env");
    command.args(["--default-signal", "script", "-qec", shell, "/dev/null"]);
    command
}

/// A terminal on standard input: `script` gives the command a pseudo-terminal.
fn run_on_terminal(fx: &Fixture, extra: &str, typed: &[u8]) -> Output {
    let command = format!(
        "'{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales {extra}",
        fx.root.display()
    );
    let mut child = script(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for line in typed.split_inclusive(|&byte| byte == b'\n') {
        std::thread::sleep(std::time::Duration::from_millis(300));
        input.write_all(line).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn a_terminal_is_asked_twice_without_echo() {
    let fx = fixture();
    let out = run_on_terminal(&fx, "", format!("{SECRET}\n{SECRET}\n").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let screen = text(&out.stdout);
    assert!(
        screen.contains("New password:") && screen.contains("Retype new password:"),
        "{screen}"
    );
    assert!(!screen.contains(SECRET), "echoed: {screen}");
    assert!(verifies(&fx, "sales", SECRET.as_bytes()));

    let out = run_on_terminal(&fx, "", b"one\ntwo\n");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(
        verifies(&fx, "sales", SECRET.as_bytes()),
        "unchanged after a mismatch"
    );
}

#[test]
fn labels_this_process_may_not_set_do_not_stop_a_change() {
    // As root without CAP_SYS_ADMIN, trusted.* attributes cannot be set: the
    // new file goes without that one, while ACLs would still have to copy.
    let fx = fixture();
    let shadow = fx.root.join("example.com/shadow");
    rustix::fs::setxattr(
        &shadow,
        "trusted.note",
        b"x",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setting a trusted.* attribute needs root, as the suite does");
    let child = spawn_with_stdin(
        Command::new("setpriv")
            .args(["--bounding-set=-sys_admin", "--inh-caps=-sys_admin", BIN])
            .args(["--root", fx.root.to_str().unwrap(), "--rounds", "1000"])
            .args(["--domain", "example.com", "--email", "sales"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        b"label-pw\n",
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(verifies(&fx, "sales", b"label-pw"));
}

/// Messages are made only from values that are not the password, so a short
/// or common password leaves them whole: nothing in them is masked.
#[test]
fn messages_are_whole_whatever_the_password() {
    let fx = fixture();
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, i32, &str)] = &[
        // email, password, domain, exit, the exact message
        ("nosuch", "o", "example.com", 7, "no account 'nosuch' in example.com"),
        ("carol", "example", "example.com", 7, "no account 'carol' in example.com"),
        ("carol", "com", "example.com", 7, "no account 'carol' in example.com"),
        ("carol", "a", "example.com", 7, "no account 'carol' in example.com"),
        ("carol", "carol", "example.com", 7, "no account 'carol' in example.com"),
        ("info", "a", "exam_ple.com", 2,
         "invalid domain 'exam_ple.com': only letters, digits, '-' and '.' are allowed (IDNs in their xn-- form)"),
        ("info", "o", "bücher.example", 2,
         "invalid domain 'bücher.example': an internationalized name is not accepted as Unicode; \
          use its ASCII form, xn--bcher-kva.example"),
        ("sales", "o", "example.com", 0, "password changed for sales@example.com"),
        ("sales", "sales", "example.com", 0, "password changed for sales@example.com"),
        ("info", "example", "example.com", 0, "password changed for info@example.com"),
    ];
    for &(email, password, domain, code, message) in cases {
        for output in ["text", "json"] {
            let words = [
                format!("domain={domain}"),
                format!("email={email}"),
                format!("password={password}"),
            ];
            let mut args = vec!["--output", output];
            args.extend(words.iter().map(String::as_str));
            let out = run(&fx, &args, b"");
            assert_eq!(out.status.code(), Some(code), "{args:?}");
            let shown = match (output, code) {
                ("json", _) => {
                    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
                    let reason = &document["cpanelresult"]["data"][0]["reason"];
                    reason.as_str().unwrap().to_owned()
                }
                (_, 0) => text(&out.stdout),
                _ => text(&out.stderr),
            };
            let expected = match (output, code) {
                ("json", 0) => String::new(),
                ("json", _) => message.to_owned(),
                (_, 0) => format!("{message}\n"),
                _ => format!("passwdpop: {message}\n"),
            };
            assert_eq!(shown, expected, "{args:?}");
            assert!(!shown.contains("redacted"), "{args:?}: {shown}");
        }
        if code == 0 {
            assert!(verifies(&fx, email, password.as_bytes()));
        }
    }
}

/// A value that holds `password=` is a misplaced password word: refused as a
/// usage error that never shows it.
#[test]
fn a_value_holding_a_password_word_is_refused_unshown() {
    let fx = fixture();
    let word = format!("password={SECRET}");
    let email_word = format!("email=password%3D{SECRET}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--root",
                &word,
                "--domain",
                "example.com",
                "--email",
                "sales",
            ],
            "--root",
        ),
        (vec!["--domain", &word, "--email", "sales"], "--domain"),
        (vec!["--domain", "example.com", "--email", &word], "--email"),
        (vec!["domain=example.com", &email_word], "'email'"),
    ];
    for (args, named) in cases {
        let out = run_with(&args, b"pw\n", &[]);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(named) && stderr.contains("not shown"),
            "{stderr}"
        );
        assert_no_secret(&out, SECRET);
    }
    assert_eq!(fx.read("example.com"), SAMPLE);
}

/// PASSWDPOP_ROOT set but empty or relative is refused, naming the variable;
/// it never falls back to /etc/vmail.
#[test]
fn an_empty_or_relative_root_variable_is_refused() {
    let fx = fixture();
    let args = [
        "--rounds",
        "1000",
        "--domain",
        "example.com",
        "--email",
        "sales",
    ];
    for value in ["", "relative/vmail"] {
        let out = run_with(&args, b"pw\n", &[("PASSWDPOP_ROOT", Path::new(value))]);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{value:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("PASSWDPOP_ROOT"),
            "{}",
            text(&out.stderr)
        );
    }
    // --root makes the variable irrelevant.
    let mut with_root = vec!["--root", fx.root.to_str().unwrap()];
    with_root.extend(args);
    let out = run_with(&with_root, b"pw\n", &[("PASSWDPOP_ROOT", Path::new(""))]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// What the command says names the account as the file has it, and says
/// what a person must know: a lock that stays, a name Dovecot cannot find.
#[test]
fn messages_name_the_entry_as_stored() {
    let fx = Fixture::new();
    fx.domain(
        "example.net",
        b"info:old:1\nDan:old:1\nlocked:!old:1\nprefixed:{SHA512-CRYPT}!old:1\n",
    );
    const UPPER_WARNING: &str = "passwdpop: warning: the entry is named 'Dan', not in lower case";
    #[rustfmt::skip]
    let cases: &[(&[&str], &str, i32, &str, &str)] = &[
        // arguments, password, exit, stdout or the error, a warning on stderr
        (&["--email", "INFO", "--domain", "example.net"], "pw1", 0,
         "password changed for info@example.net\n", ""),
        (&["--email", "info@example.net"], "pw2", 0,
         "password changed for info@example.net\n", ""),
        (&["--email", "Info@Example.NET"], "pw3", 0,
         "password changed for info@example.net\n", ""),
        (&["email=info%40example.net"], "pw4", 0,
         "password changed for info@example.net\n", ""),
        (&["--verify", "--email", "INFO@example.net"], "pw4", 0,
         "password matches for info@example.net\n", ""),
        (&["--verify", "--email", "info@example.net"], "wrong", 12,
         "passwdpop: password does not match for info@example.net\n", ""),
        (&["--email", "dan@example.net"], "pw5", 0,
         "password changed for Dan@example.net\n", UPPER_WARNING),
        (&["--verify", "--email", "dan@example.net"], "pw5", 0,
         "password matches for Dan@example.net\n", UPPER_WARNING),
        (&["--verify", "--email", "dan@example.net"], "wrong", 12,
         "passwdpop: password does not match for Dan@example.net\n", UPPER_WARNING),
        (&["--email", "locked@example.net"], "pw6", 0,
         "password changed for locked@example.net; the account stays locked ('!' in front of its hash) until it is unlocked\n", ""),
                (&["--verify", "--email", "locked@example.net"], "pw6", 12,
         "passwdpop: password does not match for locked@example.net: the account is locked ('!' in front of its hash)\n", ""),
        (&["--email", "info@"], "pw", 64, "missing domain", ""),
    ];
    for &(args, password, code, expected, warning) in cases {
        let out = run(&fx, args, format!("{password}\n").as_bytes());
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        match code {
            0 => assert_eq!(stdout, expected, "{args:?}"),
            64 => assert!(stderr.contains(expected), "{args:?}: {stderr}"),
            _ => assert!(stderr.ends_with(expected), "{args:?}: {stderr}"),
        }
        if warning.is_empty() {
            assert!(!stderr.contains("warning"), "{args:?}: {stderr}");
        } else {
            assert!(stderr.starts_with(warning), "{args:?}: {stderr}");
            assert!(stderr.contains("rename it 'dan'"), "{args:?}: {stderr}");
        }
    }
    let file = text(&fx.read("example.net"));
    assert!(
        file.contains("\nDan:$6$") && file.contains("\nlocked:!$6$"),
        "{file}"
    );
    // A `!` after the scheme: the message says "locked" exactly when the
    // written entry is.
    let out = run(&fx, &["--email", "prefixed@example.net"], b"pw7\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hash = hash_of(&fx.read("example.net"), "prefixed");
    let locked = hash.starts_with('!') || hash.starts_with("{SHA512-CRYPT}!");
    assert_eq!(text(&out.stdout).contains("stays locked"), locked, "{hash}");
}

/// What to type once the screen shows what.
type Keys = (&'static str, &'static [u8]);

/// Runs `shell` under `script` (a pseudo-terminal), typing each of `keys`
/// once the screen shows its cue, and returns the screen.
fn type_on_terminal(shell: &str, keys: &[Keys]) -> String {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let mut child = script(shell)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                screen.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        })
    };
    let mut input = child.stdin.take().unwrap();
    let mut seen = 0;
    for (cue, key) in keys {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = text(&screen.lock().unwrap()[seen..]);
            if let Some(at) = shown.find(cue) {
                seen += at + cue.len();
                break;
            }
            assert!(Instant::now() < deadline, "no {cue:?} on {shown:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The prompt is written just before echo goes off: give the
        // command a moment to reach its read.
        std::thread::sleep(Duration::from_millis(200));
        input.write_all(key).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running: {}", text(&screen.lock().unwrap()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(input);
    reader.join().unwrap();
    let screen = text(&screen.lock().unwrap());
    screen
}

/// Every way out of the password prompt leaves the terminal as it was:
/// echo, line editing and signal keys on.
#[test]
fn the_terminal_is_restored_on_every_way_out_of_the_prompt() {
    let fx = fixture();
    let command = format!(
        "'{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales",
        fx.root.display()
    );
    #[rustfmt::skip]
    let cases: &[(&str, &[Keys], &str)] = &[
        // extra arguments, keys typed at each cue, the shell's status
        ("", &[("New password:", b"\x03")], "status=130"),
        ("", &[("New password:", b"t1\n"), ("Retype new password:", b"\x03")], "status=130"),
        ("", &[("New password:", b"\x1c")], "status=131"),
        ("--verify", &[("Password:", b"\x04")], "status=4"),
        ("", &[("New password:", b"t2\n"), ("Retype new password:", b"t3\n")], "status=4"),
        ("", &[("New password:", b"t4\n"), ("Retype new password:", b"t4\n")], "status=0"),
    ];
    for (extra, keys, status) in cases {
        // The shell survives the signal (its trap) and shows the terminal's
        // settings after the command; no core file for SIGQUIT.
        let shell = format!(
            "ulimit -c 0; trap ':' INT QUIT; {command} {extra}; echo \"status=$?\"; stty -a"
        );
        let screen = type_on_terminal(&shell, keys);
        assert!(screen.contains(status), "{keys:?}: {screen}");
        let settings = &screen[screen.find("status=").unwrap()..];
        let flags: Vec<&str> = settings
            .split(|c: char| c.is_whitespace() || c == ';')
            .collect();
        for flag in ["echo", "icanon", "isig"] {
            assert!(flags.contains(&flag), "{keys:?}: {flag} is off: {settings}");
        }
        assert!(
            !screen.contains("t1") && !screen.contains("t4"),
            "echoed: {screen}"
        );
    }
    assert!(verifies(&fx, "sales", b"t4"));
}

/// The settings `stty -a` shows between `from` and `to` (or the end) on
/// the screen, as words.
fn terminal_flags<'s>(screen: &'s str, from: &str, to: Option<&str>) -> Vec<&'s str> {
    let start = screen
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?}: {screen}"));
    let end = to.map_or(screen.len(), |to| {
        start
            + screen[start..]
                .find(to)
                .unwrap_or_else(|| panic!("no {to:?}: {screen}"))
    });
    screen[start..end]
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect()
}

/// Ctrl-Z at the prompt gives the terminal back while the command is
/// stopped; after `fg` echo is off again before anything is read, even if
/// the shell turned it on meanwhile (as an interactive shell does), and the
/// question is asked again. Before, the stopped command left echo off, and
/// after `fg` the password was echoed as it was typed.
#[test]
fn a_stop_at_the_prompt_restores_the_terminal_and_fg_silences_it_again() {
    let fx = fixture();
    let command = format!(
        "\"{BIN}\" --root \"{}\" --rounds 1000 --domain example.com --email sales",
        fx.root.display()
    );
    // bash -m: job control, so that Ctrl-Z stops the command and fg resumes it.
    let shell = format!(
        "bash -mc '{command}; echo \"stopped=$?\"; stty -a; stty echo; echo resumed; fg; \
         echo \"status=$?\"; stty -a'"
    );
    let keys: &[Keys] = &[
        ("New password:", b"\x1a"),
        ("resumed", b""),
        ("New password:", b"t5\n"),
        ("Retype new password:", b"t5\n"),
    ];
    let screen = type_on_terminal(&shell, keys);
    // 128 + SIGTSTP (20): the command stopped.
    assert!(screen.contains("stopped=148"), "{screen}");
    assert!(screen.contains("status=0"), "{screen}");
    for (from, to) in [("stopped=", Some("resumed")), ("status=", None)] {
        let flags = terminal_flags(&screen, from, to);
        for flag in ["echo", "icanon", "isig"] {
            assert!(
                flags.contains(&flag),
                "after {from}: {flag} is off: {screen}"
            );
        }
    }
    assert!(!screen.contains("t5"), "echoed: {screen}");
    assert!(verifies(&fx, "sales", b"t5"));
}

/// Every signal sent to end the process at the prompt ends it as it would
/// have (the shell sees the death by that signal) with the terminal given
/// back; before, only INT, QUIT, TERM and HUP did, and the others left echo
/// off. Signals the caller ignores change nothing: the question goes on.
#[test]
fn a_signal_at_the_prompt_ends_the_command_with_the_terminal_restored() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let pid_file = pid_file.display();
    let command = format!(
        "\"{BIN}\" --root \"{}\" --rounds 1000 --domain example.com --email sales",
        fx.root.display()
    );
    // The sender waits for echo to go off (the prompt is up), then sends.
    let shell = |trap: &str, signals: &str| {
        format!(
            "ulimit -c 0; {trap} rm -f \"{pid_file}\"; \
             ( until [ -s \"{pid_file}\" ] && stty -a </dev/tty | grep -q -- ' -echo '; \
               do sleep 0.05; done; \
               for s in {signals}; do kill -$s $(cat \"{pid_file}\"); done; echo sent ) & \
             sh -c 'echo $$ > \"{pid_file}\"; exec {command}'; echo \"status=$?\"; stty -a"
        )
    };
    #[rustfmt::skip]
    let cases: &[(&str, u8)] = &[
        ("USR1", 10), ("USR2", 12), ("ALRM", 14), ("TERM", 15), ("HUP", 1),
        ("VTALRM", 26), ("PROF", 27), ("XFSZ", 25), ("XCPU", 24), ("IO", 29),
    ];
    for (signal, number) in cases {
        let screen = type_on_terminal(&shell("", signal), &[]);
        let status = format!("status={}", 128 + u32::from(*number));
        assert!(screen.contains(&status), "{signal}: {screen}");
        let flags = terminal_flags(&screen, "status=", None);
        for flag in ["echo", "icanon", "isig"] {
            assert!(flags.contains(&flag), "{signal}: {flag} is off: {screen}");
        }
    }

    // Ignored by the caller (nohup ignores HUP): the question goes on.
    let keys: &[Keys] = &[("sent", b"t6\n"), ("Retype new password:", b"t6\n")];
    let screen = type_on_terminal(&shell("trap '' HUP USR1 TERM;", "HUP USR1 TERM"), keys);
    assert!(screen.contains("status=0"), "{screen}");
    assert!(!screen.contains("t6"), "echoed: {screen}");
    assert!(verifies(&fx, "sales", b"t6"));
}

/// As whom, the arguments, standard input, the line expected.
type LogCase<'a> = (&'a [&'a str], &'a [&'a str], &'a str, Option<&'a str>);

/// Every change, made or refused, leaves one line in syslog (authpriv): the
/// command runs in its own mount namespace where /dev/log is a socket this
/// test reads, so the machine's syslog is neither needed nor touched.
#[test]
fn every_change_made_or_refused_is_logged_to_authpriv() {
    use std::os::unix::net::UnixDatagram;
    let fx = fixture();
    let socket_dir = tempfile::tempdir().unwrap();
    let socket_path = socket_dir.path().join("log");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_nonblocking(true).unwrap();
    // Anyone may log, as through the real /dev/log.
    std::fs::set_permissions(
        &socket_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let word = format!("password={SECRET}");
    // authpriv is facility 10: <86> is info, <85> notice.
    #[rustfmt::skip]
    let cases: &[LogCase] = &[
        // prefix (as whom), arguments, stdin, the line after "passwdpop[PID]: "
        (&[], &["--domain", "example.com", "--email", "SALES"], "pw-log\n",
         Some("<86>|password changed for sales@example.com by uid 0")),
        (&[], &["domain=example.com", "email=info", &word], "",
         Some("<86>|password changed for info@example.com by uid 0")),
        (&[], &["--domain", "example.com", "--email", "nosuch"], "pw\n",
         Some("<85>|password not changed for nosuch@example.com by uid 0: \
               PASSWDPOP_NO_SUCH_ACCOUNT (no account 'nosuch' in example.com)")),
        (&[], &["--domain", "example.com", "--email", "sales"], "\n",
         Some("<85>|password not changed for sales@example.com by uid 0: \
               PASSWDPOP_INVALID_PASSWORD (invalid password: it is empty)")),
        (&[], &["--domain", "exa\nmple.com", "--email", "sales"], "pw\n",
         Some("<85>|password not changed for sales@exa\\nmple.com by uid 0: PASSWDPOP_INVALID_DOMAIN")),
        (&["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
         &["--domain", "example.com", "--email", "sales"], "pw\n",
         Some("<85>|password not changed for sales@example.com by uid 65534: PASSWDPOP_")),
        // Checks and command lines that do not parse change nothing: no line.
        (&[], &["--verify", "--domain", "example.com", "--email", "sales"], "pw-log\n", None),
        (&[], &["--bogus"], "", None),
    ];
    let root = fx.root.to_str().unwrap();
    for (as_whom, args, stdin, expected) in cases {
        let mut command = Command::new("unshare");
        command
            .args(["-m", "sh", "-c"])
            .arg("mount -t tmpfs tmpfs /dev && touch /dev/log && mount --bind \"$0\" /dev/log && exec \"$@\"")
            .arg(&socket_path)
            .args(*as_whom)
            .args([BIN, "--root", root, "--rounds", "1000"])
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = spawn_with_stdin(&mut command, stdin.as_bytes());
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert!(
            !text(&out.stderr).contains("mount"),
            "{}",
            text(&out.stderr)
        );
        let mut datagram = vec![0u8; 4096];
        let received = socket.recv(&mut datagram).ok();
        let line = received.map(|len| text(&datagram[..len]));
        match (expected, &line) {
            (None, None) => {}
            (Some(expected), Some(line)) => {
                let (priority, message) = expected.split_once('|').unwrap();
                assert!(line.starts_with(priority), "{args:?}: {line}");
                let tagged = format!(" passwdpop[{pid}]: {message}");
                assert!(line.contains(&tagged), "{args:?}: {line}\nwanted {tagged}");
            }
            _ => panic!("{args:?}: expected {expected:?}, logged {line:?}"),
        }
        if let Some(line) = &line {
            assert!(!line.contains(SECRET) && !line.contains("pw-log"), "{line}");
            assert!(!line.contains("$6$"), "a hash in {line}");
            assert_eq!(line.lines().count(), 1, "{line}");
        }
        assert!(
            socket.recv(&mut datagram).is_err(),
            "more than one line for {args:?}"
        );
    }
}

/// Input that holds no line at all is a password that could not be read
/// (exit 11, as documented); an empty line is an empty password (exit 4).
#[test]
fn a_closed_or_empty_input_is_unreadable_and_an_empty_line_is_invalid() {
    let fx = fixture();
    let command = format!(
        "'{BIN}' --root '{}' --rounds 1000 --domain example.com --email sales",
        fx.root.display()
    );
    #[rustfmt::skip]
    let cases: &[(&str, i32, &str)] = &[
        // shell redirections, exit status, part of the message
        ("<&-", 11, "standard input is closed or empty"),
        ("</dev/null", 11, "standard input is closed or empty"),
        ("--password-stdin-raw </dev/null", 11, "standard input is closed or empty"),
        ("--password-fd 3 3</dev/null", 11, "file descriptor 3 is closed or empty"),
        ("--password-fd 3 3<&-", 11, "file descriptor 3 is not open"),
        ("<<EOF\n\nEOF", 4, "invalid password: it is empty"),
        ("--password-stdin-raw <<EOF\n\nEOF", 0, ""),
    ];
    for (redirections, code, message) in cases {
        let out = run_script(&format!("{command} {redirections}"));
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{redirections}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(message),
            "{redirections}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        verifies(&fx, "sales", b"\n"),
        "the raw empty line is the password"
    );
}

/// The README shows the JSON document exactly as the command prints it.
#[test]
fn the_readme_shows_the_json_the_command_prints() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let example = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json block in README.md")
        .trim();
    let fx = fixture();
    let out = run(
        &fx,
        &[
            "--output",
            "json",
            "--domain",
            "example.com",
            "--email",
            "sales",
        ],
        b"pw\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).trim(), example);
}

/// The second a time falls in.
fn second_of(time: std::time::SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn by_default_the_command_returns_only_once_dovecot_looks_at_the_file_again() {
    use std::os::unix::fs::MetadataExt;
    // (flags, whether every run must return in a later second than its
    // rename, the new file's ctime)
    let cases: [(&[&str], bool); 2] = [(&[], true), (&["--no-wait-visible"], false)];
    for (flags, waits) in cases {
        let fx = Fixture::new();
        let shadow = fx.domain("example.com", b"bob:old:19000:0:99999:7:::\n");
        let mut later = Vec::new();
        for _ in 0..3 {
            let mut args = vec!["--domain", "example.com", "--email", "bob"];
            args.extend_from_slice(flags);
            let output = run(&fx, &args, b"pw\n");
            let returned = second_of(std::time::SystemTime::now());
            assert!(output.status.success(), "{output:?}");
            later.push(returned > std::fs::metadata(&shadow).unwrap().ctime());
        }
        if waits {
            assert_eq!(later, [true; 3], "{flags:?}");
        } else {
            // Three runs of milliseconds each do not all cross a second.
            assert!(later.contains(&false), "{flags:?}: {later:?}");
        }
    }
}
