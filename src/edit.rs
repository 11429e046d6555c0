//! Many edits of one shadow file in one streaming pass: set a hash, suspend,
//! unsuspend or remove the entries of any number of users, and append a new
//! entry. No file system here, as in [`crate::shadow`].
//!
//! Each line's key is looked up in a hash map of the users asked for
//! (lower-cased, since names match ASCII-case-insensitively), so a pass
//! costs O(lines + edits), never O(lines × edits). A key found there is
//! confirmed by the same rule a single change uses ([`classify`]), so
//! "the entry for bob" means the same line to every operation; a line that
//! Exim's lsearch and Dovecot's passwd-file read differently makes its user
//! ambiguous, never edited.
//!
//! A user with two entries is ambiguous and must not be edited, but that is
//! only known at the second entry, after the first was written out edited.
//! The pass then asks to be run again ([`Pass::Again`]) over the same input
//! with that user left alone; the caller discards the first output.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use crate::config::Layout;
use crate::hash_field::{self, HashField};
use crate::search::{classify, is_c_space, Kind};
use crate::shadow::{self, split_ending, LineTooLong, Replacement, MAX_LINE};
use crate::validate::MAX_USER_LEN;

/// Default shadow(5) fields after the hash of a new entry's day number, as
/// `useradd` writes them: min 0, max 99999, warn 7, inactive, expire, reserved.
const NEW_SHADOW_FIELDS: &[u8] = b":0:99999:7:::";
/// A new passwd-file entry's empty uid, gid, gecos, home, shell and extra
/// fields: Dovecot's passwd-file passdb takes them, a static userdb supplies
/// the rest.
const NEW_PASSWD_FILE_FIELDS: &[u8] = b"::::::";

/// One change to one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Store this hash as a change does (keeping a `!` lock, the prefix
    /// rule, the shadow layout's day field).
    SetHash(String),
    /// One `!` in front of the hash, unless it is locked already.
    Suspend,
    /// Every `!` that locks the hash removed.
    Unsuspend,
    /// The line and its continuation lines removed.
    Remove,
}

/// What became of one user's edits after a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied (or already as asked: suspending a suspended entry).
    Done,
    /// No entry for the user.
    Missing,
    /// More than one entry for the user; nothing changed for it.
    Several,
    /// An addition whose user already has an entry.
    Exists,
    /// Unsuspending would leave the entry without any hash.
    NothingToUnsuspend,
}

/// What the caller should do with the output of a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The output differs from the input: replace the file with it.
    Commit,
    /// Nothing to change: discard the output.
    Unchanged,
    /// Discard the output and run the pass again over the same input.
    Again,
}

struct Target {
    /// The user as validated (a local part), for [`classify`].
    user: String,
    ops: Vec<Op>,
    matches: u32,
    /// Ambiguous in an earlier pass: counted, never edited.
    excluded: bool,
    changed: bool,
    refused: bool,
}

/// The new entry of an addition.
struct Addition {
    target: usize,
    hash: String,
}

/// The edits planned for one file.
pub struct Plan {
    targets: Vec<Target>,
    by_key: HashMap<Vec<u8>, usize>,
    addition: Option<Addition>,
    layout: Layout,
    day: u64,
}

impl Plan {
    /// `day` is today's day number, for the shadow layout's last-change field.
    pub fn new(layout: Layout, day: u64) -> Plan {
        Plan {
            targets: Vec::new(),
            by_key: HashMap::new(),
            addition: None,
            layout,
            day,
        }
    }

    /// Adds an edit of `user`'s entry (a validated local part); edits of one
    /// user apply in the order given. Returns the user's target number.
    pub fn push(&mut self, user: &str, op: Op) -> usize {
        let target = self.target(user);
        self.targets[target].ops.push(op);
        target
    }

    /// Plans a new entry for `user`, lower-cased, with `hash` (and the file's
    /// prefix convention in the passwd-file layout). One per plan.
    pub fn add(&mut self, user: &str, hash: &str) -> usize {
        let target = self.target(user);
        self.addition = Some(Addition {
            target,
            hash: hash.to_owned(),
        });
        target
    }

    fn target(&mut self, user: &str) -> usize {
        let key = user.to_ascii_lowercase().into_bytes();
        let next = self.targets.len();
        let target = *self.by_key.entry(key).or_insert(next);
        if target == next {
            self.targets.push(Target {
                user: user.to_owned(),
                ops: Vec::new(),
                matches: 0,
                excluded: false,
                changed: false,
                refused: false,
            });
        }
        target
    }

    /// What became of a target's edits in the last pass.
    pub fn outcome(&self, target: usize) -> Outcome {
        let state = &self.targets[target];
        let is_addition = self
            .addition
            .as_ref()
            .is_some_and(|add| add.target == target);
        match state.matches {
            _ if is_addition && state.matches > 0 => Outcome::Exists,
            0 if is_addition => Outcome::Done,
            0 => Outcome::Missing,
            _ if state.excluded || state.matches > 1 => Outcome::Several,
            _ if state.refused => Outcome::NothingToUnsuspend,
            _ => Outcome::Done,
        }
    }

    /// Copies `input` to `output` with the planned edits.
    pub fn run<R: Read, W: Write>(&mut self, input: R, mut output: W) -> io::Result<Pass> {
        for target in &mut self.targets {
            target.matches = 0;
            target.changed = false;
            target.refused = false;
        }
        let (layout, day) = (self.layout, self.day);
        let mut state = PassState::default();
        let mut edited = Vec::new();
        let mut key = Vec::with_capacity(MAX_USER_LEN);
        // The two rules of `search` that look past a line: Exim's lsearch
        // skips the line after one holding a NUL byte, and appends a line
        // starting with white space to the entry above (to its hash, when
        // that is the last field).
        let mut after_nul = false;
        let mut hash_ends_entry_of: Option<usize> = None;
        for_each_line(input, |line| {
            let (content, ending) = split_ending(line);
            if let Some(target) = hash_ends_entry_of.take() {
                // Removing the entry removes that line too, which leaves
                // nothing to disagree on; any other edit must not go on.
                let target = &mut self.targets[target];
                let continued = line
                    .first()
                    .is_some_and(|&byte| byte != b'\n' && is_c_space(byte));
                if continued && target.ops.iter().any(|op| *op != Op::Remove) {
                    target.matches += 2;
                }
            }
            let line_after_nul = std::mem::replace(&mut after_nul, line.contains(&0));
            if let Some(owner) = state.removing {
                if is_continuation(content) {
                    self.targets[owner].changed = true;
                    return Ok(());
                }
                if !is_ignored_by_lsearch(content) {
                    state.removing = None;
                }
            }
            if state.first_hash.is_none() && is_entry(content) {
                state.first_hash = Some(has_prefix(content));
            }
            state.note_line(content, ending);
            let Some((target, disputed)) = self.lookup(line, content, &mut key) else {
                return output.write_all(line);
            };
            let target_state = &mut self.targets[target];
            // A disputed line counts as two entries: the user is ambiguous.
            if disputed || line_after_nul {
                target_state.matches += 2;
            } else {
                target_state.matches += 1;
                if memchr::memchr_iter(b':', content).count() <= 1 {
                    hash_ends_entry_of = Some(target);
                }
            }
            if target_state.matches > 1 || target_state.excluded || target_state.ops.is_empty() {
                return output.write_all(line);
            }
            edited.clear();
            edited.extend_from_slice(content);
            for op in &target_state.ops {
                match apply(op, &edited, layout, day) {
                    Applied::Line(line) => edited = line,
                    Applied::Removed => {
                        target_state.changed = true;
                        state.removing = Some(target);
                        state.forget_line();
                        return Ok(());
                    }
                    Applied::Refused => {
                        target_state.refused = true;
                        return output.write_all(line);
                    }
                }
            }
            if edited != content {
                target_state.changed = true;
            }
            edited.extend_from_slice(ending);
            output.write_all(&edited)
        })?;
        if let Some(addition) = &self.addition {
            let target = &mut self.targets[addition.target];
            if target.matches == 0 {
                target.changed = true;
                output.write_all(&state.new_entry(&target.user, &addition.hash, layout, day))?;
            }
        }
        let mut again = false;
        for target in &mut self.targets {
            if target.matches > 1 && !target.excluded {
                target.excluded = true;
                target.changed = false;
                again = true;
            }
        }
        let changed = self.targets.iter().any(|target| target.changed);
        Ok(match (again, changed) {
            (true, true) => Pass::Again,
            (_, true) => Pass::Commit,
            (_, false) => Pass::Unchanged,
        })
    }

    /// The target whose entry `line` is, if any, and whether the line is
    /// disputed between the mail servers.
    fn lookup(&self, line: &[u8], content: &[u8], key: &mut Vec<u8>) -> Option<(usize, bool)> {
        if content.first() == Some(&b'"') {
            // A quoted key may hold escapes: ask every target (such lines
            // are rare, and always disputed).
            let target = self
                .targets
                .iter()
                .position(|target| classify(line, target.user.as_bytes()).is_some())?;
            return Some((target, true));
        }
        let candidate = candidate_key(content)?;
        if candidate.len() > MAX_USER_LEN {
            return None;
        }
        key.clear();
        key.extend(candidate.iter().map(u8::to_ascii_lowercase));
        let target = *self.by_key.get(key.as_slice())?;
        match classify(line, self.targets[target].user.as_bytes())? {
            Kind::Entry => Some((target, false)),
            Kind::Disputed(_) => Some((target, true)),
        }
    }
}

/// What a pass has learnt of the file so far.
#[derive(Default)]
struct PassState {
    /// The ending of the last line written that had one; a new line gets the same.
    last_ending: Option<&'static [u8]>,
    /// How the last line written ends, and the one before it.
    last: LastLine,
    previous: LastLine,
    /// Whether the first entry's hash had a `{SCHEME}` prefix.
    first_hash: Option<bool>,
    /// Dropping the continuation lines of this target's removed entry.
    removing: Option<usize>,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum LastLine {
    /// None yet, or one ending with a newline.
    #[default]
    Terminated,
    /// Without a newline: the file does not end with one.
    Bare,
    /// With a lone CR: a CRLF file cut short.
    Cr,
}

impl PassState {
    fn note_line(&mut self, content: &[u8], ending: &[u8]) {
        self.previous = self.last;
        self.last = match ending {
            b"\n" => {
                self.last_ending = Some(b"\n");
                LastLine::Terminated
            }
            b"\r\n" => {
                self.last_ending = Some(b"\r\n");
                LastLine::Terminated
            }
            b"\r" => LastLine::Cr,
            _ if content.is_empty() => LastLine::Terminated,
            _ => LastLine::Bare,
        };
    }

    /// The line just noted was removed: the output ends as it did before.
    fn forget_line(&mut self) {
        self.last = self.previous;
    }

    /// The bytes that append an entry: a line ending for a last line without
    /// one, then the entry, both with the file's line ending.
    fn new_entry(&self, user: &str, hash: &str, layout: Layout, day: u64) -> Vec<u8> {
        let ending: &[u8] = match (self.last, self.last_ending) {
            (LastLine::Cr, _) => b"\r\n",
            (_, Some(ending)) => ending,
            (_, None) => b"\n",
        };
        let mut bytes = Vec::new();
        match self.last {
            LastLine::Terminated => {}
            LastLine::Bare => bytes.extend_from_slice(ending),
            LastLine::Cr => bytes.push(b'\n'),
        }
        bytes.extend(user.bytes().map(|byte| byte.to_ascii_lowercase()));
        bytes.push(b':');
        match layout {
            Layout::Shadow => {
                bytes.extend_from_slice(hash.as_bytes());
                bytes.push(b':');
                bytes.extend_from_slice(day.to_string().as_bytes());
                bytes.extend_from_slice(NEW_SHADOW_FIELDS);
            }
            Layout::PasswdFile => {
                if self.first_hash == Some(true) {
                    bytes.extend_from_slice(shadow::scheme_prefix_for(hash.as_bytes()));
                }
                bytes.extend_from_slice(hash.as_bytes());
                bytes.extend_from_slice(NEW_PASSWD_FILE_FIELDS);
            }
        }
        bytes.extend_from_slice(ending);
        bytes
    }
}

enum Applied {
    Line(Vec<u8>),
    Removed,
    Refused,
}

/// One op on an entry's content (without its line ending).
fn apply(op: &Op, content: &[u8], layout: Layout, day: u64) -> Applied {
    let (user, hash, rest) = split_hash(content);
    let mut line = Vec::with_capacity(content.len() + 1);
    match op {
        Op::Remove => return Applied::Removed,
        Op::SetHash(hash) => {
            let replacement = Replacement { hash, layout, day };
            shadow::replace_entry(content, &replacement, &mut line);
        }
        Op::Suspend => {
            line.extend_from_slice(user);
            line.push(b':');
            if !hash_field::is_locked(hash) {
                line.push(b'!');
            }
            line.extend_from_slice(hash);
            line.extend_from_slice(rest);
        }
        Op::Unsuspend => {
            let field = HashField::parse(hash);
            if !field.is_locked() {
                line.extend_from_slice(content);
                return Applied::Line(line);
            }
            if field.digest.is_empty() {
                return Applied::Refused;
            }
            line.extend_from_slice(user);
            line.push(b':');
            line.extend_from_slice(&field.unlocked());
            line.extend_from_slice(rest);
        }
    }
    Applied::Line(line)
}

/// An entry's user, hash field, and the rest from the `:` after the hash.
fn split_hash(content: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let Some(colon) = memchr::memchr(b':', content) else {
        return (content, b"", b"");
    };
    let user = &content[..colon];
    let after = &content[colon + 1..];
    let hash_end = memchr::memchr(b':', after).unwrap_or(after.len());
    (user, &after[..hash_end], &after[hash_end..])
}

/// Whether an entry's hash has a `{SCHEME}` prefix (for the file's convention).
fn has_prefix(content: &[u8]) -> bool {
    !HashField::parse(split_hash(content).1).prefix.is_empty()
}

/// The key a line may be an entry for, before [`classify`] decides: up
/// to a `:`, white space or a NUL byte (where Exim's lsearch ends a key;
/// quoted keys are looked up apart). Never a key for comments, blank and
/// continuation lines.
fn candidate_key(content: &[u8]) -> Option<&[u8]> {
    if !is_entry(content) {
        return None;
    }
    let end = content
        .iter()
        .position(|&byte| byte == b':' || byte == 0 || is_c_space(byte))
        .unwrap_or(content.len());
    Some(&content[..end])
}

/// Lines that may hold an entry: not blank, not a comment, not a continuation.
fn is_entry(content: &[u8]) -> bool {
    !matches!(content.first(), None | Some(b'#') | Some(b' ' | b'\t'))
}

/// What Exim's lsearch skips while reading an entry's data, without ending
/// it: comments and lines of white space only.
fn is_ignored_by_lsearch(content: &[u8]) -> bool {
    content.starts_with(b"#") || content.iter().all(u8::is_ascii_whitespace)
}

/// A line lsearch joins to the entry above it: white space, then something.
fn is_continuation(content: &[u8]) -> bool {
    content.first().is_some_and(u8::is_ascii_whitespace) && !is_ignored_by_lsearch(content)
}

/// Hands over every line of `input`, with its ending; the last may lack one.
/// A line longer than [`MAX_LINE`] (its ending included) is an error,
/// [`LineTooLong`], as for a single change: memory stays bounded whatever
/// the file holds.
fn for_each_line<R: Read>(
    mut input: R,
    mut handle: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let most = MAX_LINE + 1;
    let mut buffer = Vec::new();
    grow(&mut buffer, shadow::READ_BUFFER.min(most))?;
    // `buffer[..filled]` starts at a line start, at byte `offset` of the input.
    let mut filled = 0;
    let mut offset = 0u64;
    loop {
        if filled == buffer.len() {
            if filled >= most {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LineTooLong { offset },
                ));
            }
            let len = buffer.len().saturating_mul(2).min(most);
            grow(&mut buffer, len)?;
        }
        let read = match input.read(&mut buffer[filled..]) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        };
        let at_end = read == 0;
        let carried = filled;
        filled += read;
        let complete = if at_end {
            filled
        } else {
            match memchr::memrchr(b'\n', &buffer[carried..filled]) {
                Some(newline) => carried + newline + 1,
                None => continue,
            }
        };
        let mut start = 0;
        while start < complete {
            let end = memchr::memchr(b'\n', &buffer[start..complete])
                .map_or(complete, |at| start + at + 1);
            if end - start > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LineTooLong {
                        offset: offset + start as u64,
                    },
                ));
            }
            handle(&buffer[start..end])?;
            start = end;
        }
        if at_end {
            return Ok(());
        }
        buffer.copy_within(complete..filled, 0);
        filled -= complete;
        offset += complete as u64;
    }
}

/// Grows `buffer` to `len` zeroed bytes; running out of memory is an error,
/// never an abort of the host.
fn grow(buffer: &mut Vec<u8>, len: usize) -> io::Result<()> {
    buffer
        .try_reserve_exact(len.saturating_sub(buffer.len()))
        .map_err(|err| io::Error::new(io::ErrorKind::OutOfMemory, err))?;
    buffer.resize(len, 0);
    Ok(())
}

#[cfg(test)]
mod tests;
