//! A scratch root with domain directories, for tests that touch the file system.
#![allow(dead_code)]

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use passwdpop::Config;
use tempfile::TempDir;

pub mod model;

pub struct Fixture {
    _dir: TempDir,
    pub root: PathBuf,
    pub config: Config,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vmail");
        fs::create_dir(&root).unwrap();
        let mut config = Config::new();
        config.set_root(&root).unwrap();
        config.set_rounds(1000).unwrap();
        config.set_lock_timeout_ms(5_000);
        Fixture {
            _dir: dir,
            root,
            config,
        }
    }

    /// Creates `<root>/<domain>/shadow` (0640) holding `content`.
    pub fn domain(&self, domain: &str, content: &[u8]) -> PathBuf {
        let dir = self.root.join(domain);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        let shadow = dir.join("shadow");
        fs::write(&shadow, content).unwrap();
        fs::set_permissions(&shadow, fs::Permissions::from_mode(0o640)).unwrap();
        shadow
    }

    pub fn read(&self, domain: &str) -> Vec<u8> {
        fs::read(self.root.join(domain).join("shadow")).unwrap()
    }

    /// Names in a domain directory other than `shadow`.
    pub fn extra_files(&self, domain: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join(domain))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "shadow")
            .collect();
        names.sort();
        names
    }
}

/// The hash field of `user`'s line, read independently of the library.
pub fn hash_of(content: &[u8], user: &str) -> String {
    let text = String::from_utf8_lossy(content);
    let line = text
        .lines()
        .find(|line| line.split(':').next() == Some(user))
        .unwrap_or_else(|| panic!("no line for {user}"));
    line.split(':').nth(1).unwrap().to_owned()
}

#[link(name = "crypt")]
extern "C" {
    fn crypt(
        phrase: *const std::ffi::c_char,
        setting: *const std::ffi::c_char,
    ) -> *mut std::ffi::c_char;
}

static CRYPT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A `$6$` hash made by libxcrypt.
pub fn make_hash(password: &[u8], salt: &str) -> String {
    let _guard = CRYPT_LOCK.lock().unwrap();
    let phrase = CString::new(password).unwrap();
    let setting = CString::new(format!("$6${salt}")).unwrap();
    // SAFETY: as in crypt_accepts.
    let out = unsafe { crypt(phrase.as_ptr(), setting.as_ptr()) };
    assert!(!out.is_null());
    let hash = unsafe { std::ffi::CStr::from_ptr(out) }
        .to_str()
        .unwrap()
        .to_owned();
    assert!(hash.starts_with("$6$"), "{hash}");
    hash
}

/// Whether libxcrypt's `crypt(3)` (what Exim and Dovecot call) accepts `password` for `hash`.
pub fn crypt_accepts(password: &[u8], hash: &str) -> bool {
    let _guard = CRYPT_LOCK.lock().unwrap();
    let phrase = CString::new(password).unwrap();
    let setting = CString::new(hash).unwrap();
    // SAFETY: NUL-terminated inputs; crypt's static buffer is guarded by CRYPT_LOCK
    // and copied out before the guard is dropped.
    let out = unsafe { crypt(phrase.as_ptr(), setting.as_ptr()) };
    !out.is_null() && unsafe { std::ffi::CStr::from_ptr(out) }.to_bytes() == hash.as_bytes()
}

/// Days since 1970-01-01 UTC, what the shadow layout writes as last change.
pub fn day_number() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    since.as_secs() / 86_400
}

/// Which way a change went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    NoSuchAccount,
    Ambiguous,
    /// A line longer than [`MAX_LINE`].
    TooLong,
}

/// The longest line the library reads, its ending included (64 KiB).
pub const MAX_LINE: usize = 64 * 1024;

impl Fixture {
    /// Writes `content` as `domain`'s shadow file, changes `user`'s password
    /// (a local part or `local@domain`) with `layout`, and asserts what the
    /// change must have done (see [`assert_change_invariants`]).
    pub fn change_and_check(
        &self,
        domain: &str,
        content: &[u8],
        user: &str,
        password: &[u8],
        layout: passwdpop::Layout,
    ) -> Outcome {
        self.domain(domain, content);
        let mut config = self.config.clone();
        config.set_layout(layout);
        let first_day = day_number();
        let result = config.change(domain, user, password);
        let days = first_day..=day_number();
        assert_eq!(self.extra_files(domain), Vec::<String>::new(), "{result:?}");
        let local_part = user.split('@').next().unwrap();
        let change = Change {
            before: content,
            user: local_part,
            password,
            layout,
            days,
        };
        assert_change_invariants(&change, &result, &self.read(domain))
    }
}

/// A change attempted on a file holding `before`.
pub struct Change<'a> {
    pub before: &'a [u8],
    /// The local part, as entries spell it (compared ASCII-case-insensitively).
    pub user: &'a str,
    pub password: &'a [u8],
    pub layout: passwdpop::Layout,
    /// The day numbers taken just before and just after the change.
    pub days: std::ops::RangeInclusive<u64>,
}

/// Asserts what a change must have done, judged from the README's rules
/// without the library's parser. On an error: nothing changed, and the error
/// is no entry, several, a line the mail servers read differently, or a line
/// over the length limit. On success: the user has exactly one entry, and
/// only its line changed, only in the hash field (and, in the shadow layout
/// on a line shaped like shadow(5), the last-change field).
pub fn assert_change_invariants(
    change: &Change<'_>,
    result: &Result<(), passwdpop::Error>,
    after: &[u8],
) -> Outcome {
    use passwdpop::Status;
    let old_lines = lines(change.before);
    let readings = readings_for(&old_lines, change.user);
    // A change stops at a disputed line or a second entry.
    let stop = readings
        .iter()
        .enumerate()
        .find(|&(nth, &(_, agreed))| !agreed || nth == 1)
        .map(|(_, &(line, agreed))| (line, agreed));
    let entries: Vec<usize> = readings
        .iter()
        .take_while(|&&(_, agreed)| agreed)
        .map(|&(line, _)| line)
        .collect();
    // A line over the limit up to that point is an I/O error.
    let too_long = old_lines
        .iter()
        .position(|line| line.len() > MAX_LINE)
        .filter(|&at| stop.is_none_or(|(line, _)| at <= line));
    let (outcome, line) = match (result, entries.as_slice(), stop, too_long) {
        (Err(err), _, _, Some(_)) if err.status() == Status::IoError => (Outcome::TooLong, 0),
        (Ok(()), &[line], None, None) => (Outcome::Changed, line),
        (Err(err), [], None, None) if err.status() == Status::NoSuchAccount => {
            (Outcome::NoSuchAccount, 0)
        }
        (Err(err), _, Some(_), None) if err.status() == Status::AmbiguousAccount => {
            (Outcome::Ambiguous, 0)
        }
        (result, _, _, too_long) => panic!(
            "{result:?}, but the lines for {} are {readings:?} (line, read alike) (too long: {too_long:?})",
            change.user
        ),
    };
    if outcome != Outcome::Changed {
        assert!(change.before == after, "a failed change modified the file");
        return outcome;
    }
    let new_lines = lines(after);
    assert_eq!(new_lines.len(), old_lines.len(), "number of lines");
    for (i, (old, new)) in old_lines.iter().zip(&new_lines).enumerate() {
        assert!(
            i == line || old == new,
            "line {i} is not the entry but changed: {} -> {}",
            old.escape_ascii(),
            new.escape_ascii()
        );
    }
    assert_changed_line(change, old_lines[line], new_lines[line]);
    outcome
}

/// Lines with their endings; a last line may have none.
pub fn lines(content: &[u8]) -> Vec<&[u8]> {
    content.split_inclusive(|&byte| byte == b'\n').collect()
}

/// The indices of the lines that are entries for `user` (a local part),
/// read alike by Exim, Dovecot and passwdpop, up to the first disputed line.
pub fn entries_for(lines: &[&[u8]], user: &str) -> Vec<usize> {
    readings_for(lines, user)
        .into_iter()
        .take_while(|&(_, agreed)| agreed)
        .map(|(line, _)| line)
        .collect()
}

/// Whether a line is disputed between the readers before the first entry
/// or between the first and the second.
pub fn has_dispute(lines: &[&[u8]], user: &str) -> bool {
    let readings = readings_for(lines, user);
    readings.iter().take(2).any(|&(_, agreed)| !agreed)
}

/// The lines that Exim's lsearch, Dovecot's passwd-file or passwdpop read
/// as `user`'s entry, in order, each with whether all three do (`true`) or
/// only some (`false`: a change or verify must refuse it). Written the
/// plain way from the README's rules; see `src/search.rs` for the sources.
pub fn readings_for(lines: &[&[u8]], user: &str) -> Vec<(usize, bool)> {
    let user = user.as_bytes();
    let mut readings = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (text, eol) = match line.strip_suffix(b"\n") {
            Some(text) => (text, true),
            None => (&line[..], false),
        };
        let exim = exim_key(text, eol).is_some_and(|key| key.eq_ignore_ascii_case(user));
        let dovecot = dovecot_key(text).is_some_and(|key| key.eq_ignore_ascii_case(user));
        let (content, _) = split_line_ending(line);
        let own = !matches!(content.first(), None | Some(b'#' | b' ' | b'\t'))
            && content
                .split(|&byte| byte == b':')
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(user));
        if !(exim || dovecot || own) {
            continue;
        }
        // Exim skips the line after one holding a NUL; it appends a line
        // starting with white space to an entry whose hash ends it.
        let after_nul = i > 0 && lines[i - 1].contains(&0);
        let continued = content.iter().filter(|&&byte| byte == b':').count() <= 1
            && lines
                .get(i + 1)
                .and_then(|next| next.first())
                .is_some_and(|&byte| byte != b'\n' && is_c_space(byte));
        readings.push((i, exim && dovecot && own && !after_nul && !continued));
    }
    readings
}

/// C's isspace in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Exim 4.96 lsearch's key of a line given without its newline (`eol`:
/// it had one); `None` for a line it skips.
fn exim_key(line: &[u8], eol: bool) -> Option<Vec<u8>> {
    let (mut text, eol) = match line.iter().position(|&byte| byte == 0) {
        Some(nul) => (&line[..nul], false),
        None => (line, eol),
    };
    while eol && text.last().is_some_and(|&byte| is_c_space(byte)) {
        text = &text[..text.len() - 1];
    }
    let first = *text.first()?;
    if first == b'#' || is_c_space(first) {
        return None;
    }
    if first != b'"' {
        let end = text
            .iter()
            .position(|&byte| byte == b':' || is_c_space(byte))
            .unwrap_or(text.len());
        return Some(text[..end].to_vec());
    }
    let mut key = Vec::new();
    let mut rest = text[1..].iter().copied().peekable();
    while let Some(byte) = rest.next() {
        if byte == b'"' {
            break;
        }
        if byte != b'\\' {
            key.push(byte);
            continue;
        }
        let Some(escaped) = rest.next() else {
            key.push(b'\\');
            break;
        };
        let (radix, start) = match escaped {
            b'0'..=b'7' => (8, u32::from(escaped - b'0')),
            b'x' => (16, 0),
            _ => (0, 0),
        };
        let mut value = start;
        for _ in 0..if radix == 0 { 0 } else { 2 } {
            match rest
                .peek()
                .and_then(|&byte| char::from(byte).to_digit(radix))
            {
                Some(digit) => {
                    value = value * radix + digit;
                    rest.next();
                }
                None => break,
            }
        }
        key.push(match escaped {
            b'0'..=b'7' | b'x' => (value & 0xff) as u8,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 11,
            other => other,
        });
    }
    Some(key)
}

/// Dovecot passwd-file's name for a line given without its newline.
fn dovecot_key(line: &[u8]) -> Option<Vec<u8>> {
    let line = &line[..line
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(line.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.first() {
        None | Some(b'#' | b':') => None,
        Some(_) => line.split(|&byte| byte == b':').next().map(<[u8]>::to_vec),
    }
}

/// `(content, ending)`, the ending CRLF, LF, a lone CR (only a last line,
/// having no LF, can end so) or nothing.
pub fn split_line_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let len = if line.ends_with(b"\r\n") {
        2
    } else {
        usize::from(line.ends_with(b"\n") || line.ends_with(b"\r"))
    };
    line.split_at(line.len() - len)
}

/// A hash field's `(lead, prefix, inner, digest)`, the plain way: lock marks
/// (white space and `!`s) in front, a `{SCHEME}`, lock marks after it unless
/// it is a plaintext scheme (whose `!` is the password's), the rest.
pub fn hash_parts(hash: &[u8]) -> (&[u8], &[u8], &[u8], &[u8]) {
    let marks = |bytes: &[u8]| {
        bytes
            .iter()
            .take_while(|&&b| b == b'!' || b" \t\n\x0b\x0c\r".contains(&b))
            .count()
    };
    let (lead, rest) = hash.split_at(marks(hash));
    let scheme = match rest.strip_prefix(b"{") {
        Some(after) => match after.iter().position(|&b| b == b'}') {
            Some(close) if close > 0 => close + 2,
            _ => 0,
        },
        None => 0,
    };
    let (prefix, rest) = rest.split_at(scheme);
    let plaintext = [&b"{PLAIN}"[..], b"{CLEAR}", b"{CLEARTEXT}"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(prefix));
    let inner = if prefix.is_empty() || plaintext {
        0
    } else {
        marks(rest)
    };
    let (inner, digest) = rest.split_at(inner);
    (lead, prefix, inner, digest)
}

fn assert_changed_line(change: &Change<'_>, old: &[u8], new: &[u8]) {
    let shown = || format!("{} -> {}", old.escape_ascii(), new.escape_ascii());
    let (old_content, old_ending) = split_line_ending(old);
    let (new_content, new_ending) = split_line_ending(new);
    assert_eq!(old_ending, new_ending, "line ending: {}", shown());
    let old_fields: Vec<&[u8]> = old_content.split(|&byte| byte == b':').collect();
    let new_fields: Vec<&[u8]> = new_content.split(|&byte| byte == b':').collect();
    // A line without a hash field gains one; no other field is ever added.
    assert_eq!(
        new_fields.len(),
        old_fields.len().max(2),
        "fields: {}",
        shown()
    );
    assert_eq!(new_fields[0], old_fields[0], "user name: {}", shown());

    let old_hash = old_fields.get(1).copied().unwrap_or_default();
    // The lock marks stay where they were, around the new prefix.
    let (lead, prefix, inner, _) = hash_parts(old_hash);
    let mut decoration = lead.to_vec();
    if !prefix.is_empty() {
        decoration.extend_from_slice(b"{SHA512-CRYPT}");
        decoration.extend_from_slice(inner);
    }
    let new_hash = new_fields[1]
        .strip_prefix(decoration.as_slice())
        .unwrap_or_else(|| panic!("no {} in front: {}", decoration.escape_ascii(), shown()));
    let new_hash = std::str::from_utf8(new_hash).unwrap_or_default();
    assert!(is_fresh_hash(new_hash, 1000), "not a new hash: {}", shown());
    assert!(
        crypt_accepts(change.password, new_hash),
        "crypt(3) rejects the password: {}",
        shown()
    );

    let unchanged_from = match change.layout {
        passwdpop::Layout::Shadow if is_shadow_shaped(&old_fields) => {
            let day = String::from_utf8_lossy(new_fields[2]);
            assert!(
                change.days.clone().any(|today| today.to_string() == day),
                "last change should be one of {:?}: {}",
                change.days,
                shown()
            );
            3
        }
        _ => 2,
    };
    assert_eq!(
        new_fields.get(unchanged_from..).unwrap_or_default(),
        old_fields.get(unchanged_from..).unwrap_or_default(),
        "other fields: {}",
        shown()
    );
}

/// shadow(5)'s shape: nine fields, the third to the eighth empty or digits.
/// Only such a line's third field is a day number that a change sets.
pub fn is_shadow_shaped(fields: &[&[u8]]) -> bool {
    fields.len() == 9
        && fields[2..8]
            .iter()
            .all(|field| field.iter().all(u8::is_ascii_digit))
}

/// Whether a hash (after any `!`) starts with Dovecot's `{X}`, X not empty.
pub fn has_scheme(hash: &[u8]) -> bool {
    match hash {
        [b'{', rest @ ..] => rest
            .iter()
            .position(|&byte| byte == b'}')
            .is_some_and(|close| close > 0),
        _ => false,
    }
}

/// `$6$rounds=N$<16-character salt>$<86-character hash>` in crypt's base64 alphabet.
pub fn is_fresh_hash(hash: &str, rounds: u32) -> bool {
    let crypt64 = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'/')
    };
    hash.strip_prefix(&format!("$6$rounds={rounds}$"))
        .and_then(|rest| rest.split_once('$'))
        .is_some_and(|(salt, digest)| crypt64(salt, 16) && crypt64(digest, 86))
}

/// Starts `command` with `stdin` fed to it and closed, as a script piping a
/// password in would.
pub fn spawn_with_stdin(command: &mut Command, stdin: &[u8]) -> Child {
    let mut child = command.stdin(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may exit before reading (a usage error): that is its answer.
    let _ = input.write_all(stdin);
    child
}
