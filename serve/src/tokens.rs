//! Admin API tokens: a file of `NAME:sha256hex` lines, `NAME:sha256hex:whm`
//! for a server admin's token. Only digests are stored, so reading the file
//! does not give a token away; the file must be mode 0600 (or stricter) and
//! owned by the user the daemon runs as.
//!
//! The kind is the token's, not the client's: under `--user-homes` only a
//! token stored as `whm` may act for another cPanel user, whichever word
//! (`cpanel` or `whm`) the request's Authorization header uses.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Longest token name (cPanel's user names are far shorter).
pub const MAX_NAME_LEN: usize = 64;
/// Characters of a new token: cPanel's API tokens are 32 of `[A-Z0-9]`.
const TOKEN_LEN: usize = 32;
const TOKEN_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The loaded file: names, SHA-256 digests and kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    digest: [u8; 32],
    kind: Kind,
}

/// Whose token: a cPanel user's (acts for the user of its name) or the
/// server admin's (WHM's; may name any cPanel user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Whm,
}

impl Tokens {
    /// Reads and checks the file (owner, mode, syntax); errors name the file.
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text = read_checked(path)?;
        Tokens::parse(&text).map_err(|why| format!("{}: {why}", path.display()))
    }

    fn parse(text: &str) -> Result<Tokens, String> {
        let mut entries: Vec<Entry> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", index + 1);
            let (name, rest) = line
                .split_once(':')
                .ok_or_else(|| bad("expected NAME:sha256hex or NAME:sha256hex:whm"))?;
            check_name(name).map_err(|why| bad(&why))?;
            let (hex, kind) = match rest.split_once(':') {
                None => (rest, Kind::User),
                Some((hex, "whm")) => (hex, Kind::Whm),
                Some((_, other)) => {
                    return Err(bad(&format!(
                        "'{}' after the digest; only 'whm' may stand there",
                        other.escape_default()
                    )))
                }
            };
            let digest = parse_hex(hex).ok_or_else(|| bad("the digest is not 64 hex digits"))?;
            if entries.iter().any(|known| known.name == name) {
                return Err(bad(&format!("'{name}' appears twice")));
            }
            entries.push(Entry {
                name: name.to_owned(),
                digest,
                kind,
            });
        }
        Ok(Tokens { entries })
    }

    /// The token's name and kind when `NAME:TOKEN` names a stored NAME with
    /// the right TOKEN. Every stored digest is compared, in constant time,
    /// so neither a name nor a prefix of a token can be timed.
    pub fn check(&self, name: &str, token: &[u8]) -> Option<(&str, Kind)> {
        let digest: [u8; 32] = Sha256::digest(token).into();
        let mut found = None;
        for known in &self.entries {
            let same_name = known.name.as_bytes().ct_eq(name.as_bytes());
            let same_digest = known.digest.ct_eq(&digest);
            if bool::from(same_name & same_digest) {
                found = Some((known.name.as_str(), known.kind));
            }
        }
        found
    }

    /// Every stored name with its kind, in the file's order.
    pub fn names(&self) -> impl Iterator<Item = (&str, Kind)> {
        self.entries
            .iter()
            .map(|entry| (entry.name.as_str(), entry.kind))
    }

    fn render(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            let kind = match entry.kind {
                Kind::User => "",
                Kind::Whm => ":whm",
            };
            let _ = writeln!(text, "{}:{}{kind}", entry.name, to_hex(&entry.digest));
        }
        text
    }
}

/// `token add`: stores NAME's digest and kind (replacing an old token of
/// that name) and returns the new token, which is shown once and never
/// stored.
pub fn add(path: &Path, name: &str, kind: Kind) -> Result<Zeroizing<String>, String> {
    check_name(name).map_err(|why| format!("token name: {why}"))?;
    let mut tokens = load_or_empty(path)?;
    let token = new_token()?;
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    tokens.entries.retain(|known| known.name != name);
    tokens.entries.push(Entry {
        name: name.to_owned(),
        digest,
        kind,
    });
    store(path, &tokens)?;
    Ok(token)
}

/// `token remove`: an unknown name is an error, so a typo is noticed.
pub fn remove(path: &Path, name: &str) -> Result<(), String> {
    let mut tokens = Tokens::load(path)?;
    let before = tokens.entries.len();
    tokens.entries.retain(|known| known.name != name);
    if tokens.entries.len() == before {
        return Err(format!("{}: no token named '{name}'", path.display()));
    }
    store(path, &tokens)
}

fn load_or_empty(path: &Path) -> Result<Tokens, String> {
    match fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Tokens::default()),
        _ => Tokens::load(path),
    }
}

/// The file's text, after checking that only the daemon's user can read or
/// write it: a token file others can write lets them add a token.
fn read_checked(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = fs::symlink_metadata(path).map_err(|err| format!("{shown}: {err}"))?;
    if !meta.file_type().is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(format!(
            "{shown}: owned by uid {}, not by uid {euid} that runs passwdpopd",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{shown}: mode {:04o}; it must be 0600 (chmod 600 {shown})",
            meta.mode() & 0o7777
        ));
    }
    fs::read_to_string(path).map_err(|err| format!("{shown}: {err}"))
}

/// Written to a 0600 temp file beside it, then renamed: a crash leaves the
/// old file or the new one.
fn store(path: &Path, tokens: &Tokens) -> Result<(), String> {
    let shown = path.display();
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{shown}: not a file name"))?;
    let temp = dir.join(format!(".{}.new", file_name.to_string_lossy()));
    let _ = fs::remove_file(&temp);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(tokens.render().as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    result.map_err(|err| {
        let _ = fs::remove_file(&temp);
        format!("{shown}: {err}")
    })
}

fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
        Err(format!(
            "'{}' must be 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 . _ -",
            name.escape_default()
        ))
    } else {
        Ok(())
    }
}

fn new_token() -> Result<Zeroizing<String>, String> {
    let mut token = Zeroizing::new(String::with_capacity(TOKEN_LEN));
    let mut random = Zeroizing::new([0u8; 64]);
    while token.len() < TOKEN_LEN {
        rustix::rand::getrandom(&mut random[..], rustix::rand::GetRandomFlags::empty())
            .map_err(|err| format!("reading random bytes: {err}"))?;
        // 252 = 7 * 36: taking only bytes below it keeps every character
        // equally likely.
        for &byte in random.iter().filter(|&&byte| byte < 252) {
            if token.len() < TOKEN_LEN {
                token.push(char::from(TOKEN_ALPHABET[usize::from(byte % 36)]));
            }
        }
    }
    Ok(token)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_check_remove_round_trip_and_store_only_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let alice = add(&path, "alice", Kind::User).unwrap();
        let bob = add(&path, "bob", Kind::User).unwrap();
        let ops = add(&path, "ops", Kind::Whm).unwrap();
        assert_eq!(alice.len(), TOKEN_LEN);
        assert!(alice.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
        assert_ne!(*alice, *bob);
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(alice.as_str()), "{text}");
        assert!(text.starts_with(&format!(
            "alice:{}\n",
            to_hex(&Sha256::digest(alice.as_bytes()))
        )));
        assert!(text.ends_with(&format!(
            "\nops:{}:whm\n",
            to_hex(&Sha256::digest(ops.as_bytes()))
        )));

        let tokens = Tokens::load(&path).unwrap();
        assert_eq!(
            tokens.names().collect::<Vec<_>>(),
            [
                ("alice", Kind::User),
                ("bob", Kind::User),
                ("ops", Kind::Whm)
            ]
        );
        type Case<'a> = (&'a str, &'a [u8], Option<(&'a str, Kind)>);
        let cases: &[Case] = &[
            ("alice", alice.as_bytes(), Some(("alice", Kind::User))),
            ("bob", bob.as_bytes(), Some(("bob", Kind::User))),
            ("ops", ops.as_bytes(), Some(("ops", Kind::Whm))),
            ("alice", bob.as_bytes(), None),
            ("ops", alice.as_bytes(), None),
            ("carol", alice.as_bytes(), None),
            ("alice", b"", None),
            ("alice", &alice.as_bytes()[..31], None),
        ];
        for (name, token, expected) in cases {
            assert_eq!(tokens.check(name, token), *expected, "{name}");
        }

        // A new token for the same name replaces the old one, kind included.
        let alice2 = add(&path, "alice", Kind::Whm).unwrap();
        let tokens = Tokens::load(&path).unwrap();
        assert_eq!(tokens.check("alice", alice.as_bytes()), None);
        assert_eq!(
            tokens.check("alice", alice2.as_bytes()),
            Some(("alice", Kind::Whm))
        );

        remove(&path, "alice").unwrap();
        assert!(remove(&path, "alice")
            .unwrap_err()
            .contains("no token named 'alice'"));
        let tokens = Tokens::load(&path).unwrap();
        assert_eq!(
            tokens.names().map(|(name, _)| name).collect::<Vec<_>>(),
            ["bob", "ops"]
        );
    }

    #[test]
    fn unsafe_or_malformed_files_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let digest = "a".repeat(64);
        let cases: &[(String, u32, &str)] = &[
            (format!("ops:{digest}\n"), 0o644, "mode 0644"),
            (format!("ops:{digest}\n"), 0o640, "mode 0640"),
            ("ops\n".into(), 0o600, "line 1: expected NAME:sha256hex"),
            (
                format!("ops:{digest}:root\n"),
                0o600,
                "line 1: 'root' after the digest",
            ),
            (
                format!("ops:{digest}:\n"),
                0o600,
                "line 1: '' after the digest",
            ),
            ("# c\nops:abc\n".into(), 0o600, "line 2: the digest"),
            (format!("o p:{digest}\n"), 0o600, "line 1: 'o p'"),
            (
                format!("ops:{digest}\nops:{digest}\n"),
                0o600,
                "appears twice",
            ),
        ];
        for (text, mode, expected) in cases {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            let message = Tokens::load(&path).unwrap_err();
            assert!(message.contains(path.to_str().unwrap()), "{message}");
            assert!(message.contains(expected), "{message}");
            // `token add` refuses to touch such a file as well.
            assert!(add(&path, "new", Kind::User).is_err());
            assert_eq!(&fs::read_to_string(&path).unwrap(), text);
        }
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(check_name("ops-1.example_2").is_ok());
    }
}
