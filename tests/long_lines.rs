//! A line longer than the limit (64 KiB, its ending included) is refused by a
//! change and by a verify with `IoError`, naming the file and the line, and
//! nothing changes. A file without newlines, such as a sparse file of zeros,
//! is such a line: reading it must neither take memory in proportion to it
//! nor abort the process when memory runs out.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use common::{spawn_with_stdin, Fixture};
use passwdpop::Status;

const DOMAIN: &str = "example.com";
const LIMIT: usize = 64 * 1024;
const SIXTEEN_GIB: u64 = 16 << 30;

fn assert_refused(fx: &Fixture, line: u64, before: &[u8]) {
    let shadow = fx.root.join(DOMAIN).join("shadow");
    for (what, result) in [
        ("change", fx.config.change(DOMAIN, "bob", "new-pw")),
        ("verify", fx.config.verify(DOMAIN, "bob", "old-pw")),
    ] {
        let err = result.expect_err(what);
        assert_eq!(err.status(), Status::IoError, "{what}: {err}");
        let expected = format!(
            "{} line {line} is longer than 65536 bytes",
            shadow.display()
        );
        assert!(err.message().contains(&expected), "{what}: {err}");
    }
    assert!(fx.read(DOMAIN) == before, "the file changed");
    assert_eq!(fx.extra_files(DOMAIN), Vec::<String>::new());
}

#[test]
fn a_line_just_over_the_limit_is_refused_and_one_at_it_is_not() {
    let fx = Fixture::new();
    let old = common::make_hash(b"old-pw", "rounds=1000$abcdefghijklmnop");
    // The second line: `alice:` and filler up to `len` bytes, then `ending`.
    // (Before bob's entry: verify, like the mail servers, stops reading there.)
    let file = |len: usize, ending: &str| {
        let mut filler = format!("alice:x:{}", "1".repeat(len));
        filler.truncate(len);
        format!("# users\n{filler}{ending}bob:{old}:19000:0:99999:7:::\ncarol:y\n").into_bytes()
    };
    for (len, ending) in [(LIMIT, "\n"), (LIMIT - 1, "\r\n")] {
        let content = file(len, ending);
        fx.domain(DOMAIN, &content);
        assert_refused(&fx, 2, &content);
    }
    // At the limit: both work.
    fx.domain(DOMAIN, &file(LIMIT - 1, "\n"));
    fx.config.verify(DOMAIN, "bob", "old-pw").unwrap();
    fx.config.change(DOMAIN, "bob", "new-pw").unwrap();
    fx.config.verify(DOMAIN, "bob", "new-pw").unwrap();
}

/// A 16 GiB sparse file (no block on disk) is one line of zeros.
fn sparse_shadow(fx: &Fixture) -> std::path::PathBuf {
    let shadow = fx.domain(DOMAIN, b"");
    File::options()
        .write(true)
        .open(&shadow)
        .unwrap()
        .set_len(SIXTEEN_GIB)
        .unwrap();
    shadow
}

#[test]
fn a_sparse_16_gib_file_is_refused_at_once() {
    let fx = Fixture::new();
    let shadow = sparse_shadow(&fx);
    let shadow_text = shadow.display().to_string();
    for (what, result) in [
        ("change", fx.config.change(DOMAIN, "bob", "new-pw")),
        ("verify", fx.config.verify(DOMAIN, "bob", "old-pw")),
    ] {
        let err = result.expect_err(what);
        assert_eq!(err.status(), Status::IoError, "{what}: {err}");
        assert!(
            err.message().contains(&format!("{shadow_text} line 1 ")),
            "{what}: {err}"
        );
    }
    let meta = fs::metadata(&shadow).unwrap();
    assert_eq!(meta.len(), SIXTEEN_GIB);
    assert_eq!(meta.blocks(), 0, "still sparse: nothing was written");
    assert_eq!(fx.extra_files(DOMAIN), Vec::<String>::new());
}

/// The host process under an address-space limit (`ulimit -v`), as a mail
/// daemon may run: before the limit on lines, reading the sparse file grew
/// a buffer until an allocation failed, and the process aborted (SIGABRT,
/// exit 134 from a shell). Now it gets the I/O error's exit status.
#[test]
fn under_an_address_space_limit_the_command_fails_cleanly() {
    let fx = Fixture::new();
    sparse_shadow(&fx);
    let root = fx.root.to_str().unwrap();
    for verify in [false, true] {
        let mut command = Command::new("sh");
        command
            .args(["-c", "ulimit -v 1000000 && exec \"$@\"", "sh"])
            .arg(env!("CARGO_BIN_EXE_passwdpop"))
            .args(["--root", root, "--rounds", "1000", "--domain", DOMAIN])
            .args(["--email", "bob"])
            .args(verify.then_some("--verify"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = spawn_with_stdin(&mut command, b"new-pw\n")
            .wait_with_output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(Status::IoError.code()),
            "verify {verify}: {output:?}"
        );
        assert!(stderr.contains("line 1 is longer"), "{stderr}");
    }
}
