//! Hash checkers that share no code with passwdpop: mkpasswd (whois),
//! `doveadm pw`, Python's crypt module. (libxcrypt's crypt(3) is
//! tests/common's `crypt_accepts`.)

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

/// What the bytes of a test password are drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Printable ASCII, spaces and `:` included.
    Ascii,
    /// Valid UTF-8 with characters of 2, 3 and 4 bytes.
    Utf8,
    /// Any byte but NUL, most of them not UTF-8 (controls, LF, 0x80..=0xff).
    Raw,
}

/// A deterministic password of exactly `len` bytes.
pub fn password(len: usize, kind: Kind) -> Vec<u8> {
    let bytes: Vec<u8> = match kind {
        Kind::Ascii => (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect(),
        Kind::Utf8 => {
            let mut text = String::new();
            for c in ['é', '€', '𝄞', 'ß', 'a', 'ж'].iter().cycle() {
                if text.len() + c.len_utf8() > len {
                    break;
                }
                text.push(*c);
            }
            // Pad with ASCII to the exact length.
            while text.len() < len {
                text.push('x');
            }
            text.into_bytes()
        }
        Kind::Raw => (0..len).map(|i| (0x80 + i * 37) as u8 % 255 + 1).collect(),
    };
    assert_eq!(bytes.len(), len);
    assert!(!bytes.contains(&0));
    match kind {
        Kind::Ascii => assert!(bytes.is_ascii()),
        Kind::Utf8 => assert!(std::str::from_utf8(&bytes).is_ok() && !bytes.is_ascii()),
        Kind::Raw => assert!(std::str::from_utf8(&bytes).is_err()),
    }
    bytes
}

/// The salt and rounds of `$6$rounds=N$salt$hash`.
pub fn salt_and_rounds(hash: &str) -> (&str, &str) {
    let fields: Vec<&str> = hash.split('$').collect();
    let rounds = fields[2]
        .strip_prefix("rounds=")
        .expect("rounds= in the hash");
    (fields[3], rounds)
}

/// What `mkpasswd` computes from the hash's own salt and rounds.
pub fn mkpasswd(password: &[u8], hash: &str) -> String {
    let (salt, rounds) = salt_and_rounds(hash);
    let output = Command::new("mkpasswd")
        .args(["-m", "sha-512", "-S", salt, "-R", rounds, "--"])
        .arg(OsStr::from_bytes(password))
        .output()
        .unwrap();
    assert!(output.status.success(), "mkpasswd failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_owned()
}

/// Whether `doveadm pw -t` (no configuration needed: `-O`) verifies the hash
/// with Dovecot's `{SHA512-CRYPT}` scheme.
pub fn doveadm_accepts(password: &[u8], hash: &str) -> bool {
    let output = Command::new("doveadm")
        .args(["-O", "pw", "-t", &format!("{{SHA512-CRYPT}}{hash}"), "-p"])
        .arg(OsStr::from_bytes(password))
        .output()
        .unwrap();
    let verified = String::from_utf8_lossy(&output.stdout).contains("(verified)");
    assert_eq!(output.status.success(), verified, "doveadm: {output:?}");
    verified
}

/// Python's `crypt.crypt(password, hash) == hash` for each pair. Python
/// passes a `str` to crypt(3) as UTF-8, so only UTF-8 passwords can be asked.
pub fn python_accepts(cases: &[(Vec<u8>, String)]) -> Vec<bool> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/python_crypt.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for (password, hash) in cases {
        let hex: String = password.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(stdin, "{hex} {hash}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python_crypt.py failed");
    let answers: Vec<bool> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line == "match")
        .collect();
    assert_eq!(answers.len(), cases.len());
    answers
}

/// A password of the same length and kind as `password` that differs in its
/// first character.
pub fn other_password(password: &[u8]) -> Vec<u8> {
    let mut other = password.to_vec();
    match std::str::from_utf8(password)
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(first) => {
            let replacement = if first == 'x' { b'y' } else { b'x' };
            other[..first.len_utf8()].fill(replacement);
        }
        None => other[0] = if other[0] == 0x81 { 0x82 } else { 0x81 },
    }
    assert_ne!(other, password);
    other
}
