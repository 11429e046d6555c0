//! Finding and replacing one entry in the bytes of a shadow file. No file system
//! here: input is any `BufRead`, output any `Write`, so the rules are tested on
//! byte strings.
//!
//! A line is an entry unless it is blank, a `#` comment, or starts with a space
//! or tab (a continuation line to Exim's lsearch). Non-entries are copied byte for
//! byte and never matched. Entries are `user:hash[:more fields]`; user names
//! match ASCII-case-insensitively, as in Exim's lsearch. A line that Exim's
//! lsearch and Dovecot's passwd-file would not both read as the user's entry
//! (see [`crate::search`]) stops a change or a verify with [`DisputedLine`].

use std::collections::TryReserveError;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::config::Layout;
use crate::hash_field::HashField;
use crate::search::{is_c_space, Dispute, EntryFinder, Kind};

/// Bytes read at a time.
pub const READ_BUFFER: usize = 64 * 1024;

/// The longest line read, its line ending included: 64 KiB. A shadow(5) or
/// passwd-file line is a few hundred bytes (a `$6$` hash is 106 to 123), a
/// passwd-file line with many extra fields a few KiB. A longer line, or a
/// file without newlines (a sparse file of zeros, say), is refused with
/// [`LineTooLong`] before anything is written, so the read buffer never
/// grows beyond `MAX_LINE + 1` bytes whatever the file holds.
pub const MAX_LINE: usize = 64 * 1024;

/// A line longer than [`MAX_LINE`], found at byte `offset` (where the line
/// starts). Carried inside an [`io::Error`] of kind `InvalidData`; see
/// [`too_long_line`] for its line number.
#[derive(Debug)]
pub struct LineTooLong {
    pub offset: u64,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the line at byte {} is longer than {MAX_LINE} bytes",
            self.offset
        )
    }
}

impl std::error::Error for LineTooLong {}

/// A line that concerns the user but that Exim's lsearch and Dovecot's
/// passwd-file would not both read as the user's entry, at byte `offset`
/// (where the line starts). Carried inside an [`io::Error`] of kind
/// `InvalidData`: reading stops there, and a change discards its output.
#[derive(Debug)]
pub struct DisputedLine {
    pub offset: u64,
    pub dispute: Dispute,
}

impl fmt::Display for DisputedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the line at byte {}: {}",
            self.offset,
            self.dispute.explain()
        )
    }
}

impl std::error::Error for DisputedLine {}

/// If `err` is a [`LineTooLong`], the number (from 1) of that line, counted
/// by reading `input` again from its start. For messages only: the error
/// path may re-read what the happy path streams once.
pub fn too_long_line<R: Read + Seek>(err: &io::Error, input: R) -> Option<u64> {
    let too_long = err.get_ref()?.downcast_ref::<LineTooLong>()?;
    line_number(input, too_long.offset)
}

/// If `err` is a [`DisputedLine`], the number (from 1) of that line and why
/// it is disputed, as [`too_long_line`] counts.
pub fn disputed_line<R: Read + Seek>(err: &io::Error, input: R) -> Option<(u64, Dispute)> {
    let disputed = err.get_ref()?.downcast_ref::<DisputedLine>()?;
    Some((line_number(input, disputed.offset)?, disputed.dispute))
}

/// The number (from 1) of the line starting at byte `offset` of `input`.
fn line_number<R: Read + Seek>(mut input: R, offset: u64) -> Option<u64> {
    let mut newlines = 0;
    let mut left = offset;
    let mut buffer = [0; 8192];
    input.seek(SeekFrom::Start(0)).ok()?;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = match input.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        newlines += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
        left -= read as u64;
    }
    Some(newlines + 1)
}

/// Allocation failure is an error to report, never an abort of the host
/// process: every buffer whose size depends on the file grows through this.
fn out_of_memory(err: TryReserveError) -> io::Error {
    io::Error::new(io::ErrorKind::OutOfMemory, err)
}

/// What to write into the matching entry.
#[derive(Clone, Copy, Debug)]
pub struct Replacement<'a> {
    /// The new `$6$...` hash, without any `!` or `{SCHEME}` decoration.
    pub hash: &'a str,
    pub layout: Layout,
    /// Days since 1970-01-01 UTC, for the shadow layout's last-change field.
    pub day: u64,
}

/// How many entries matched the user while the file was copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matches {
    /// No entry: the output is a plain copy and must be discarded.
    None,
    /// Exactly one entry, now replaced in the output.
    One,
    /// Two or more: copying stopped at the second; the output must be discarded.
    Several,
}

/// The entry a change rewrote or a verification read, as the file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The user name as written in the file; its case may differ from the
    /// name asked for.
    pub name: Vec<u8>,
    /// Field 2 with any `!` and `{SCHEME}`: as read by a verification, as
    /// written by a change.
    pub hash: Vec<u8>,
}

impl Stored {
    /// `content` is an entry line without its ending, matched for `user`.
    fn of(content: &[u8], user: &str) -> io::Result<Stored> {
        // The match compares the first `user.len()` bytes, ignoring ASCII
        // case (see `search::classify`): those bytes are the name as stored.
        let name = &content[..user.len().min(content.len())];
        let hash = fields(content).nth(1).unwrap_or_default();
        Ok(Stored {
            name: copy(name)?,
            hash: copy(hash)?,
        })
    }
}

/// A copy of bytes of the file, or an error if memory ran out.
fn copy(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(bytes.len()).map_err(out_of_memory)?;
    copy.extend_from_slice(bytes);
    Ok(copy)
}

/// The scheme prefix written when the old hash had one (Dovecot's convention):
/// `{SHA512-CRYPT}` for the `$6$` hashes a change makes, `{CRYPT}` (any
/// crypt(3) hash) for another method's hash stored verbatim.
pub(crate) fn scheme_prefix_for(hash: &[u8]) -> &'static [u8] {
    if hash.starts_with(b"$6$") {
        b"{SHA512-CRYPT}"
    } else {
        b"{CRYPT}"
    }
}

/// Copies `input` to `output`, replacing the hash of the entry for `user`;
/// with [`Matches::One`], also the entry as it was.
pub fn rewrite_entry<R: Read, W: Write>(
    input: R,
    output: W,
    user: &str,
    replacement: &Replacement<'_>,
) -> io::Result<(Matches, Option<Stored>)> {
    rewrite_entry_buffered(input, READ_BUFFER, MAX_LINE, output, user, replacement)
}

#[cfg(test)]
fn rewrite<R: Read, W: Write>(
    input: R,
    output: W,
    user: &str,
    replacement: &Replacement<'_>,
) -> io::Result<Matches> {
    rewrite_buffered(input, READ_BUFFER, MAX_LINE, output, user, replacement)
}

#[cfg(test)]
fn rewrite_buffered<R: Read, W: Write>(
    input: R,
    buffer_len: usize,
    max_line: usize,
    output: W,
    user: &str,
    replacement: &Replacement<'_>,
) -> io::Result<Matches> {
    rewrite_entry_buffered(input, buffer_len, max_line, output, user, replacement)
        .map(|(matches, _)| matches)
}

fn rewrite_entry_buffered<R: Read, W: Write>(
    input: R,
    buffer_len: usize,
    max_line: usize,
    mut output: W,
    user: &str,
    replacement: &Replacement<'_>,
) -> io::Result<(Matches, Option<Stored>)> {
    let mut rewritten = Vec::new();
    let mut matches = Matches::None;
    let mut found = None;
    scan(input, buffer_len, max_line, user, |piece| match piece {
        Piece::Other(bytes) => output.write_all(bytes).map(|()| Step::Continue),
        Piece::Entry(_) if matches == Matches::One => {
            matches = Matches::Several;
            Ok(Step::Stop)
        }
        Piece::Entry(line) => {
            matches = Matches::One;
            let (content, ending) = split_ending(line);
            rewritten.clear();
            // The new line is the old one with another hash and day: this
            // is room for all of it, so the pushes below never reallocate.
            let prefix = scheme_prefix_for(replacement.hash.as_bytes());
            let room = line.len() + prefix.len() + replacement.hash.len() + 20;
            rewritten.try_reserve(room).map_err(out_of_memory)?;
            replace_entry(content, replacement, &mut rewritten);
            found = Some(Stored::of(&rewritten, user)?);
            rewritten.extend_from_slice(ending);
            output.write_all(&rewritten).map(|()| Step::Continue)
        }
    })?;
    Ok(match matches {
        Matches::One => (matches, found),
        _ => (matches, None),
    })
}

/// The first entry for `user`, as Exim's lsearch and Dovecot's passwd-file
/// would read it: its name and its hash field (field 2, as stored, with any
/// `!` or `{SCHEME}`). Reading stops at that entry. An entry without a
/// second field has an empty hash.
pub fn find_entry<R: Read>(input: R, user: &str) -> io::Result<Option<Stored>> {
    find_entry_buffered(input, READ_BUFFER, MAX_LINE, user)
}

fn find_entry_buffered<R: Read>(
    input: R,
    buffer_len: usize,
    max_line: usize,
    user: &str,
) -> io::Result<Option<Stored>> {
    let mut found = None;
    scan(input, buffer_len, max_line, user, |piece| {
        Ok(match piece {
            Piece::Other(_) => Step::Continue,
            Piece::Entry(line) => {
                found = Some(Stored::of(split_ending(line).0, user)?);
                Step::Stop
            }
        })
    })?;
    Ok(found)
}

#[cfg(test)]
fn find_hash<R: Read>(input: R, user: &str) -> io::Result<Option<Vec<u8>>> {
    find_hash_buffered(input, READ_BUFFER, MAX_LINE, user)
}

#[cfg(test)]
fn find_hash_buffered<R: Read>(
    input: R,
    buffer_len: usize,
    max_line: usize,
    user: &str,
) -> io::Result<Option<Vec<u8>>> {
    find_entry_buffered(input, buffer_len, max_line, user)
        .map(|found| found.map(|stored| stored.hash))
}

/// What [`scan`] hands over, in file order.
enum Piece<'a> {
    /// Bytes that hold no entry for the user: whole lines, often many at once.
    Other(&'a [u8]),
    /// One whole line (with its ending) that is an entry for the user, to
    /// Exim's lsearch and Dovecot's passwd-file alike.
    Entry(&'a [u8]),
}

#[derive(PartialEq, Eq)]
enum Step {
    Continue,
    Stop,
}

/// Streams `input` through one buffer and hands over runs of other lines
/// straight from it. The entries are found by [`EntryFinder`], which does
/// not visit the lines one by one. A partial line at the end of a read is
/// moved to the front of the buffer and completed by the next read. The
/// buffer starts at `buffer_len` bytes and grows (fallibly) only for a
/// longer line, up to `max_line + 1` bytes: a line longer than `max_line`
/// (its ending included) is an error, [`LineTooLong`].
///
/// A line that concerns the user but is disputed between the mail servers
/// (see [`crate::search`]) is an error, [`DisputedLine`]. Two of those
/// rules look past the line itself: the line before must hold no NUL byte,
/// and when the hash is the entry's last field, the next line must not
/// start with white space. An entry that ends the buffer exactly waits at
/// its front for the next read, which brings the byte after it.
fn scan<R: Read>(
    mut input: R,
    buffer_len: usize,
    max_line: usize,
    user: &str,
    mut handle: impl FnMut(Piece<'_>) -> io::Result<Step>,
) -> io::Result<()> {
    let mut finder = EntryFinder::new(user);
    let most = max_line + 1;
    let mut buffer = Vec::new();
    grow(&mut buffer, buffer_len.clamp(1, most))?;
    // `buffer[..filled]` is read and not yet handed over; it starts at a
    // line start, at byte `offset` of the input. `after_nul`: the line
    // before it holds a NUL byte.
    let mut filled = 0;
    let mut offset = 0u64;
    let mut after_nul = false;
    let too_long = |offset| {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            LineTooLong { offset },
        ))
    };
    loop {
        if filled == buffer.len() {
            // The buffer holds one partial line (or an entry waiting for
            // the byte after it) and is full.
            if filled >= most {
                return too_long(offset);
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
        // The bytes carried over hold no newline, but for a waiting entry,
        // which ends with one: only the new bytes can end another line.
        let waiting = carried > 0 && buffer[carried - 1] == b'\n';
        let complete = if at_end {
            filled
        } else {
            match memchr::memrchr(b'\n', &buffer[carried..filled]) {
                Some(newline) => carried + newline + 1,
                None if waiting => carried,
                None => continue,
            }
        };
        // Only the first new line can be too long: every later one starts
        // at least a byte into a buffer of at most `max_line + 1` bytes.
        let first_start = if waiting { carried } else { 0 };
        let first_end = memchr::memchr(b'\n', &buffer[carried..complete])
            .map_or(complete, |newline| carried + newline + 1);
        if first_end - first_start > max_line {
            return too_long(offset + first_start as u64);
        }
        let lines = &buffer[..complete];
        // The byte after the last line: `None` at the end of the input.
        let after_lines = buffer[..filled].get(complete).copied();
        let mut run_start = 0;
        let mut wait_from = None;
        for (start, kind) in finder.entries(lines).map_err(out_of_memory)? {
            let end =
                memchr::memchr(b'\n', &lines[start..]).map_or(lines.len(), |at| start + at + 1);
            let line = &lines[start..end];
            let next_byte = if end < complete {
                Some(lines[end])
            } else {
                after_lines
            };
            let dispute = match kind {
                Kind::Disputed(dispute) => Some(dispute),
                _ if previous_line_has_nul(lines, start, after_nul) => Some(Dispute::AfterNul),
                _ if !hash_is_last_field(line) => None,
                _ if next_byte.is_none() && !at_end => {
                    // Ends the buffer: wait for the byte after it.
                    wait_from = Some(start);
                    break;
                }
                _ if next_byte.is_some_and(|byte| byte != b'\n' && is_c_space(byte)) => {
                    Some(Dispute::Continued)
                }
                _ => None,
            };
            if let Some(dispute) = dispute {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    DisputedLine {
                        offset: offset + start as u64,
                        dispute,
                    },
                ));
            }
            if run_start < start {
                handle(Piece::Other(&lines[run_start..start]))?;
            }
            if handle(Piece::Entry(line))? == Step::Stop {
                return Ok(());
            }
            run_start = end;
        }
        let handed_up_to = wait_from.unwrap_or(complete);
        if run_start < handed_up_to {
            handle(Piece::Other(&lines[run_start..handed_up_to]))?;
        }
        if at_end {
            return Ok(());
        }
        if handed_up_to > 0 {
            after_nul = last_line_has_nul(&buffer[..handed_up_to]);
        }
        buffer.copy_within(handed_up_to..filled, 0);
        filled -= handed_up_to;
        offset += handed_up_to as u64;
    }
}

/// Whether the line before the one starting at `start` holds a NUL byte;
/// `before_buffer` says so for the line before the buffer.
fn previous_line_has_nul(lines: &[u8], start: usize, before_buffer: bool) -> bool {
    if start == 0 {
        return before_buffer;
    }
    last_line_has_nul(&lines[..start])
}

/// Whether the last line of `lines` (which end with a newline) holds a NUL byte.
fn last_line_has_nul(lines: &[u8]) -> bool {
    let body = &lines[..lines.len() - 1];
    let start = memchr::memrchr(b'\n', body).map_or(0, |newline| newline + 1);
    memchr::memchr(0, &lines[start..]).is_some()
}

/// Whether nothing follows the hash of an entry line (with its ending): a
/// line Exim's lsearch would continue would change the hash it reads.
fn hash_is_last_field(line: &[u8]) -> bool {
    memchr::memchr_iter(b':', split_ending(line).0).count() <= 1
}

/// Grows `buffer` to `len` zeroed bytes, or says that memory ran out.
fn grow(buffer: &mut Vec<u8>, len: usize) -> io::Result<()> {
    buffer
        .try_reserve_exact(len.saturating_sub(buffer.len()))
        .map_err(out_of_memory)?;
    buffer.resize(len, 0);
    Ok(())
}

/// Splits off the line ending: `\r\n`, `\n`, or nothing on a last line without
/// one — or a lone `\r` there, what is left of a CRLF file cut short.
pub(crate) fn split_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let ending_len = if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") || line.ends_with(b"\r") {
        1
    } else {
        0
    };
    line.split_at(line.len() - ending_len)
}

fn fields(content: &[u8]) -> std::slice::Split<'_, u8, impl FnMut(&u8) -> bool> {
    content.split(|&byte| byte == b':')
}

/// Writes `content` with field 2 replaced, and for the shadow layout field 3
/// set to today on a line shaped like shadow(5) (see [`is_shadow_line`]).
/// Keeps the user name as written, every other field, and the hash's
/// decoration ([`HashField`]): the lock marks in front, a `{SCHEME}` prefix
/// (as [`scheme_prefix_for`] the new hash) and the lock marks after it.
pub(crate) fn replace_entry(content: &[u8], replacement: &Replacement<'_>, out: &mut Vec<u8>) {
    let mut fields = content.splitn(3, |&byte| byte == b':');
    let user = fields.next().unwrap_or_default();
    let old_hash = fields.next().unwrap_or_default();
    let rest = fields.next();

    out.extend_from_slice(user);
    out.push(b':');
    // A change never unlocks: the lock marks (and the white space among
    // them) stay where they were, in front and after the prefix.
    let old = HashField::parse(old_hash);
    out.extend_from_slice(old.lead);
    if !old.prefix.is_empty() {
        out.extend_from_slice(scheme_prefix_for(replacement.hash.as_bytes()));
        out.extend_from_slice(old.inner);
    }
    out.extend_from_slice(replacement.hash.as_bytes());
    if let Some(rest) = rest {
        out.push(b':');
        match rest.iter().position(|&byte| byte == b':') {
            Some(end) if replacement.layout == Layout::Shadow && is_shadow_line(content) => {
                out.extend_from_slice(replacement.day.to_string().as_bytes());
                out.extend_from_slice(&rest[end..]);
            }
            _ => out.extend_from_slice(rest),
        }
    }
}

/// Whether a line (without its ending) is shaped like a shadow(5) entry:
/// exactly nine fields, the third to the eighth (last change, minimum,
/// maximum, warning, inactivity, expiry) each empty or decimal digits. Only
/// then is field 3 a day number that a change may set: on any other line,
/// such as Dovecot's passwd-file `user:hash:uid:gid:gecos:home:shell:extra`,
/// field 3 means something else (a uid) and is left alone.
fn is_shadow_line(content: &[u8]) -> bool {
    let mut count = 0;
    for field in content.split(|&byte| byte == b':') {
        count += 1;
        if (3..=8).contains(&count) && !field.iter().all(u8::is_ascii_digit) {
            return false;
        }
    }
    count == 9
}

/// The length of a leading Dovecot scheme prefix such as `{SHA512-CRYPT}`
/// or `{PLAIN}`, braces included.
pub fn scheme_prefix_len(hash: &[u8]) -> Option<usize> {
    let rest = hash.strip_prefix(b"{")?;
    let close = rest.iter().position(|&byte| byte == b'}')?;
    (close > 0).then_some(close + 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_field::is_locked;
    use crate::search::is_c_space;

    const NEW: &str = "$6$rounds=5000$abcdefghijklmnop$NEW";

    /// name, layout, input, user, expected output
    type RewriteCase = (
        &'static str,
        Layout,
        &'static [u8],
        &'static str,
        &'static [u8],
    );
    /// input, user, expected hash
    type FindCase = (&'static [u8], &'static str, Option<&'static [u8]>);

    fn run(input: &[u8], user: &str, layout: Layout) -> (Matches, Vec<u8>) {
        let replacement = Replacement {
            hash: NEW,
            layout,
            day: 20000,
        };
        let mut output = Vec::new();
        let matches = rewrite(input, &mut output, user, &replacement).unwrap();
        (matches, output)
    }

    #[test]
    fn replaces_one_entry_and_keeps_every_other_byte() {
        use Layout::{PasswdFile, Shadow};
        #[rustfmt::skip]
        let cases: &[RewriteCase] = &[
            ("shadow layout sets last change", Shadow,
             b"bob:OLD:19000:0:99999:7:::\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n"),
            ("passwd-file layout keeps field 3", PasswdFile,
             b"bob:OLD:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n"),
            ("two-field line gets no new field", Shadow,
             b"bob:OLD\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("one-field line gains its hash field", Shadow,
             b"bob\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("empty hash field", Shadow,
             b"bob::19000:0:99999:7:::\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n"),
            ("empty last-change field is set", Shadow,
             b"bob:OLD::0:99999:7:::\n", "bob",
             b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n"),
            ("CRLF kept", Shadow,
             b"alice:A:1\r\nbob:OLD:1::::::\r\ncarol:C:1\r\n", "bob",
             b"alice:A:1\r\nbob:$6$rounds=5000$abcdefghijklmnop$NEW:20000::::::\r\ncarol:C:1\r\n"),
            ("lone final CR kept", Shadow,
             b"alice:a:1\r\nbob:OLD\r", "bob",
             b"alice:a:1\r\nbob:$6$rounds=5000$abcdefghijklmnop$NEW\r"),
            ("missing final newline kept", Shadow,
             b"alice:A:1\nbob:OLD:1::::::", "bob",
             b"alice:A:1\nbob:$6$rounds=5000$abcdefghijklmnop$NEW:20000::::::"),
            ("non-UTF-8 elsewhere kept", Shadow,
             b"\xff\xfe:x\nbob:OLD:1\n# caf\xe9\n", "bob",
             b"\xff\xfe:x\nbob:$6$rounds=5000$abcdefghijklmnop$NEW:1\n# caf\xe9\n"),
            ("user name keeps its case", Shadow,
             b"Bob:OLD:1\n", "bOB",
             b"Bob:$6$rounds=5000$abcdefghijklmnop$NEW:1\n"),
            ("locked account stays locked", Shadow,
             b"bob:!$6$x$y:1::::::\n", "bob",
             b"bob:!$6$rounds=5000$abcdefghijklmnop$NEW:20000::::::\n"),
            ("lone ! stays", Shadow,
             b"bob:!:1\n", "bob",
             b"bob:!$6$rounds=5000$abcdefghijklmnop$NEW:1\n"),
            ("several ! stay", Shadow,
             b"bob:!!:1\n", "bob",
             b"bob:!!$6$rounds=5000$abcdefghijklmnop$NEW:1\n"),
            ("scheme prefix rewritten", PasswdFile,
             b"bob:{PLAIN}secret:1000\n", "bob",
             b"bob:{SHA512-CRYPT}$6$rounds=5000$abcdefghijklmnop$NEW:1000\n"),
            ("lock before prefix", PasswdFile,
             b"bob:!{SHA512-CRYPT}$6$x$y\n", "bob",
             b"bob:!{SHA512-CRYPT}$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("lock after prefix", PasswdFile,
             b"bob:{SHA512-CRYPT}!$6$x$y:5000:5000::/home/bob::\n", "bob",
             b"bob:{SHA512-CRYPT}!$6$rounds=5000$abcdefghijklmnop$NEW:5000:5000::/home/bob::\n"),
            ("locks after prefix, shadow layout", Shadow,
             b"bob:{SHA512-CRYPT}!!$6$x$y:19000:0:99999:7:::\n", "bob",
             b"bob:{SHA512-CRYPT}!!$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n"),
            ("locks on both sides of a prefix", PasswdFile,
             b"bob:!{CRYPT}!!$1$x\n", "bob",
             b"bob:!{SHA512-CRYPT}!!$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("after a plaintext prefix ! is the password's", PasswdFile,
             b"bob:!{PLAIN}!!secret\n", "bob",
             b"bob:!{SHA512-CRYPT}$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("a plaintext password starting with ! is no lock", PasswdFile,
             b"bob:{clear}!x:1000\n", "bob",
             b"bob:{SHA512-CRYPT}$6$rounds=5000$abcdefghijklmnop$NEW:1000\n"),
            ("white space before the lock stays (Exim skips it)", Shadow,
             b"bob: !$6$x$y:19000:0:99999:7:::\n", "bob",
             b"bob: !$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n"),
            ("white space among locks stays", Shadow,
             b"bob:\t! !$6$x$y:1\n", "bob",
             b"bob:\t! !$6$rounds=5000$abcdefghijklmnop$NEW:1\n"),
            ("white space before a prefix stays", PasswdFile,
             b"bob: {SHA512-CRYPT} !$6$x$y\n", "bob",
             b"bob: {SHA512-CRYPT} !$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("a lock after a non-crypt prefix stays", PasswdFile,
             b"bob:{SSHA}!abc=\n", "bob",
             b"bob:{SHA512-CRYPT}!$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("prefix and a lone lock", PasswdFile,
             b"bob:{CRYPT}!\n", "bob",
             b"bob:{SHA512-CRYPT}!$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("comments, blanks and continuations never match", Shadow,
             b"# bob:X\n\n bob:X\n\tbob:X\nbob:OLD\n", "bob",
             b"# bob:X\n\n bob:X\n\tbob:X\nbob:$6$rounds=5000$abcdefghijklmnop$NEW\n"),
            ("prefix of another user does not match", Shadow,
             b"bobby:B\nbo:C\nbob:OLD\n", "bob",
             b"bobby:B\nbo:C\nbob:$6$rounds=5000$abcdefghijklmnop$NEW\n"),
        ];
        for (name, layout, input, user, expected) in cases {
            let (matches, output) = run(input, user, *layout);
            assert_eq!(matches, Matches::One, "{name}");
            assert_eq!(
                output.escape_ascii().to_string(),
                expected.escape_ascii().to_string(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_day_field_is_set_only_on_lines_shaped_like_shadow() {
        use Layout::{PasswdFile, Shadow};
        /// layout, the entry after `bob:OLD`, what follows the new hash
        type DayCase = (Layout, &'static str, &'static str);
        #[rustfmt::skip]
        let cases: &[DayCase] = &[
            // shadow(5) lines, as shadow-utils writes them.
            (Shadow, ":19700:0:99999:7:::", ":20000:0:99999:7:::"),
            (Shadow, ":::::::", ":20000::::::"),
            (Shadow, ":0:1:2:3:4:5:reserved", ":20000:1:2:3:4:5:reserved"),
            (Shadow, ":19700:0:99999:7:::\r\n", ":20000:0:99999:7:::\r\n"),
            // Dovecot passwd-file lines: the uid stays.
            (Shadow, ":5000:5000::/var/vmail/example.org/erin::", ":5000:5000::/var/vmail/example.org/erin::"),
            (Shadow, ":5000:5000::/var/vmail/example.org/erin::userdb_quota_rule=*:storage=1G",
                     ":5000:5000::/var/vmail/example.org/erin::userdb_quota_rule=*:storage=1G"),
            (Shadow, ":5000:5000::/home/erin:/bin/false::", ":5000:5000::/home/erin:/bin/false::"),
            // Near misses of the shape: one field too few or too many, a
            // sign, a letter, white space in a numeric field.
            (Shadow, ":19700:0:99999:7::", ":19700:0:99999:7::"),
            (Shadow, ":19700:0:99999:7::::", ":19700:0:99999:7::::"),
            (Shadow, ":19700:0:99999:7:-1::", ":19700:0:99999:7:-1::"),
            (Shadow, ":19700:0:99999:7::x:", ":19700:0:99999:7::x:"),
            (Shadow, ": 19700:0:99999:7:::", ": 19700:0:99999:7:::"),
            (Shadow, ":19700", ":19700"),
            // A nine-field passwd-file line whose fields are all numbers or
            // empty has the shape; only the layout tells them apart.
            (Shadow, ":5000:5000:::::", ":20000:5000:::::"),
            (PasswdFile, ":5000:5000:::::", ":5000:5000:::::"),
            (PasswdFile, ":19700:0:99999:7:::", ":19700:0:99999:7:::"),
        ];
        for (layout, rest, expected_rest) in cases {
            let input = format!("alice:A:1\nbob:{{SHA512-CRYPT}}$6$x$y{rest}");
            let expected = format!("alice:A:1\nbob:{{SHA512-CRYPT}}{NEW}{expected_rest}");
            let (matches, output) = run(input.as_bytes(), "bob", *layout);
            assert_eq!(matches, Matches::One, "{input:?}");
            assert_eq!(
                String::from_utf8(output).unwrap(),
                expected,
                "{layout:?} {input:?}"
            );
        }
    }

    /// A reader whose reads return at most `most` bytes, as reads may, and
    /// whose first read is interrupted (EINTR), which must be retried.
    struct Trickle<'a> {
        rest: &'a [u8],
        most: usize,
        interrupted: bool,
    }

    fn trickle(input: &[u8], most: usize) -> Trickle<'_> {
        Trickle {
            rest: input,
            most,
            interrupted: false,
        }
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let len = buffer.len().min(self.most).min(self.rest.len());
            buffer[..len].copy_from_slice(&self.rest[..len]);
            self.rest = &self.rest[len..];
            Ok(len)
        }
    }

    #[test]
    fn buffer_boundaries_change_nothing() {
        let input: &[u8] = b"# c\r\nalice:A:1\nbob:OLD:1:x\r\n\tbob:cont\nbobby:B\ncarol:C";
        let replacement = Replacement {
            hash: NEW,
            layout: Layout::Shadow,
            day: 7,
        };
        let mut expected = Vec::new();
        rewrite(input, &mut expected, "bob", &replacement).unwrap();
        for capacity in 1..input.len() + 2 {
            for reads_of in [1, 2, 7, input.len()] {
                let mut output = Vec::new();
                let reader = trickle(input, reads_of);
                assert_eq!(
                    rewrite_buffered(reader, capacity, MAX_LINE, &mut output, "bob", &replacement)
                        .unwrap(),
                    Matches::One
                );
                assert_eq!(output, expected, "capacity {capacity}, reads of {reads_of}");
                for user in ["carol", "alice", "bob"] {
                    let reader = trickle(input, reads_of);
                    assert!(
                        find_hash_buffered(reader, capacity, MAX_LINE, user)
                            .unwrap()
                            .is_some(),
                        "{user} at {capacity}"
                    );
                }
            }
        }
        assert!(expected.ends_with(
            b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:1:x\r\n\tbob:cont\nbobby:B\ncarol:C"
        ));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_at_any_buffer_size() {
        // With a limit of 8 bytes, line ending included. Verify stops
        // reading at the first entry, as the mail servers do; a change reads
        // the whole file unless it meets a second entry.
        /// input, the number of the too-long line a change and a verify
        /// of bob meet first
        type LimitCase = (&'static [u8], Option<u64>, Option<u64>);
        #[rustfmt::skip]
        let cases: &[LimitCase] = &[
            (b"bob:1234\n", Some(1), Some(1)),
            (b"bob:123\n", None, None),
            (b"bob:123\nbob:12345", Some(2), None),
            (b"bob:123\nbob:123", None, None),
            (b"x\n\nbob:12\r\n\n", None, None),
            (b"x\n\nbob:123\r\n\n", Some(3), Some(3)),
            (b"x\n\nalice:1\r\n", Some(3), Some(3)),
            (b"alice:12345678901234567890\nbob:1\n", Some(1), Some(1)),
            (b"bob:1\n# a comment, too long\n", Some(2), None),
            (b"bob:1:\n\t12345\n\t1234567\n", Some(3), None),
            (&[0; 9], Some(1), Some(1)),
            (&[0; 8], None, None),
        ];
        let replacement = Replacement {
            hash: NEW,
            layout: Layout::Shadow,
            day: 7,
        };
        for (input, change_meets, verify_meets) in cases {
            for capacity in [1, 2, 3, 8, 9, 10, 64] {
                for reads_of in [1, 3, 100] {
                    let shown = format!("{} at {capacity}, {reads_of}", input.escape_ascii());
                    let reader = trickle(input, reads_of);
                    let changed =
                        rewrite_buffered(reader, capacity, 8, io::sink(), "bob", &replacement)
                            .map(drop);
                    let reader = trickle(input, reads_of);
                    let found = find_hash_buffered(reader, capacity, 8, "bob").map(drop);
                    for (result, meets) in [(changed, change_meets), (found, verify_meets)] {
                        let line = result.err().map(|err| {
                            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{shown}");
                            too_long_line(&err, io::Cursor::new(input)).expect(&shown)
                        });
                        assert_eq!(line, *meets, "{shown}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_real_limit_is_64_kib_with_the_line_ending() {
        // bob's line, `len` bytes and then `ending`, between two others
        // (or last, without an ending).
        for (len, ending, refused) in [
            (MAX_LINE - 1, &b"\n"[..], false),
            (MAX_LINE - 2, b"\r\n", false),
            (MAX_LINE, b"", false),
            (MAX_LINE, b"\n", true),
            (MAX_LINE - 1, b"\r\n", true),
            (MAX_LINE + 1, b"", true),
        ] {
            let mut input = b"alice:x\nbob:".to_vec();
            input.resize(8 + len, b'h');
            if !ending.is_empty() {
                input.extend_from_slice(ending);
                input.extend_from_slice(b"carol:y\n");
            }
            let replacement = Replacement {
                hash: NEW,
                layout: Layout::Shadow,
                day: 1,
            };
            let shown = format!("{len} {}", ending.escape_ascii());
            let changed = rewrite(&input[..], io::sink(), "bob", &replacement);
            let found = find_hash(&input[..], "nobody");
            assert_eq!(changed.is_err(), refused, "{shown}");
            assert_eq!(found.is_err(), refused, "{shown}");
            if let Err(err) = changed {
                assert_eq!(too_long_line(&err, io::Cursor::new(&input)), Some(2));
                assert!(err.to_string().contains("longer than 65536 bytes"), "{err}");
            }
        }
    }

    #[test]
    fn names_with_a_star_which_folds_like_a_newline() {
        // `*` | 0x20 == `\n` | 0x20: false candidates overlap real ones.
        /// input, user, what a change finds, what verify reads
        type StarCase = (&'static [u8], &'static str, Matches, Option<&'static [u8]>);
        let cases: &[StarCase] = &[
            (b"alice:x:1\n\n*:HASH:1\n", "*", Matches::One, Some(b"HASH")),
            (
                b"alice:x:1\na\na*:HASH:1\n",
                "a*",
                Matches::One,
                Some(b"HASH"),
            ),
            (
                b"x*\n*:FIRST:1\n*:SECOND:1\n",
                "*",
                Matches::Several,
                Some(b"FIRST"),
            ),
            (b"*\n\n\n*\n[\n\n\n", "*", Matches::Several, Some(b"")),
            (b"**\n*:A\n", "*", Matches::One, Some(b"A")),
        ];
        for (input, user, matches, hash) in cases {
            assert_eq!(run(input, user, Layout::Shadow).0, *matches, "{input:?}");
            assert_eq!(
                find_hash(*input, user).unwrap().as_deref(),
                *hash,
                "{input:?}"
            );
        }
    }

    /// A line index and why it is disputed.
    type PlainDispute = (usize, Dispute);
    /// What a change answers, what a verify reads.
    type PlainChange = Result<Matches, PlainDispute>;
    type PlainVerify = Result<Option<Vec<u8>>, PlainDispute>;

    /// What the rules say, written the plain way: split on newlines, each
    /// line read as Exim, Dovecot and passwdpop would (see
    /// `search::tests::plain_kind`), then the two rules that look at the
    /// neighbours. What a change must answer, and what a verify must read.
    fn plain_reading(input: &[u8], user: &str) -> (PlainChange, PlainVerify) {
        let lines: Vec<&[u8]> = input.split(|&byte| byte == b'\n').collect();
        let mut relevant = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let eol = index + 1 < lines.len();
            let content = line.strip_suffix(b"\r").unwrap_or(line);
            let kind = match crate::search::tests::plain_kind(line, eol, user) {
                None => continue,
                Some(Kind::Entry) if index > 0 && lines[index - 1].contains(&0) => {
                    Kind::Disputed(Dispute::AfterNul)
                }
                Some(Kind::Entry)
                    if content.iter().filter(|&&byte| byte == b':').count() <= 1
                        && lines
                            .get(index + 1)
                            .and_then(|next| next.first())
                            .is_some_and(|&byte| is_c_space(byte)) =>
                {
                    Kind::Disputed(Dispute::Continued)
                }
                Some(kind) => kind,
            };
            let hash = content
                .split(|&byte| byte == b':')
                .nth(1)
                .unwrap_or_default();
            relevant.push((index, kind, hash.to_vec()));
        }
        let change = match relevant.as_slice() {
            [] => Ok(Matches::None),
            [(index, Kind::Disputed(why), _), ..] => Err((*index, *why)),
            [(_, Kind::Entry, _)] => Ok(Matches::One),
            [(_, Kind::Entry, _), (index, Kind::Disputed(why), _), ..] => Err((*index, *why)),
            [(_, Kind::Entry, _), (_, Kind::Entry, _), ..] => Ok(Matches::Several),
        };
        let verify = match relevant.first() {
            None => Ok(None),
            Some((index, Kind::Disputed(why), _)) => Err((*index, *why)),
            Some((_, Kind::Entry, hash)) => Ok(Some(hash.clone())),
        };
        (change, verify)
    }

    /// A dispute reported by the library, as a line index.
    fn disputed_index(input: &[u8], err: &io::Error) -> PlainDispute {
        let (line, why) = disputed_line(err, io::Cursor::new(input))
            .unwrap_or_else(|| panic!("not a disputed line: {err}"));
        (usize::try_from(line).unwrap() - 1, why)
    }

    #[test]
    fn lines_the_mail_servers_read_differently_are_refused() {
        use Dispute::{AfterNul, Continued, QuotedName, SpaceAfterName};
        /// input, what a change answers, what a verify reads (`Err`: the
        /// disputed line's index)
        type DisputeCase = (
            &'static [u8],
            Result<Matches, PlainDispute>,
            Result<Option<&'static [u8]>, PlainDispute>,
        );
        #[rustfmt::skip]
        let cases: &[DisputeCase] = &[
            // The review's case: Exim reads the first line, Dovecot the second.
            (b"bob :OLD\nbob:OLD2\n", Err((0, SpaceAfterName)), Err((0, SpaceAfterName))),
            (b"bob:OLD\nbob :OLD2\n", Err((1, SpaceAfterName)), Ok(Some(b"OLD"))),
            (b"alice:A\nbob\tOLD\n", Err((1, SpaceAfterName)), Err((1, SpaceAfterName))),
            (b"bob smith:OLD\nbob:X\n", Err((0, SpaceAfterName)), Err((0, SpaceAfterName))),
            (b"\"bob\":OLD\nbob:X\n", Err((0, QuotedName)), Err((0, QuotedName))),
            (b"\"b\\x6fb\" OLD\n", Err((0, QuotedName)), Err((0, QuotedName))),
            (b"\"bobby\":OLD\nbob:X\n", Ok(Matches::One), Ok(Some(b"X"))),
            // A NUL byte makes Exim skip the next line.
            (b"x\0y\nbob:OLD\n", Err((1, AfterNul)), Err((1, AfterNul))),
            (b"x\0y\n\nbob:OLD\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            (b"bob\0:OLD\n", Err((0, SpaceAfterName)), Err((0, SpaceAfterName))),
            // A continuation line joins the hash when it is the last field.
            (b"bob:OLD\n cont\n", Err((0, Continued)), Err((0, Continued))),
            (b"bob:OLD\r\n\tcont\n", Err((0, Continued)), Err((0, Continued))),
            (b"bob\n cont\n", Err((0, Continued)), Err((0, Continued))),
            (b"bob:OLD:1\n cont\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            (b"bob:OLD\n\n cont\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            (b"bob:OLD\n# c\n cont\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            (b"bob:OLD\ncarol:x\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            // What both read alike.
            (b"bob:OLD\r\nbobby x\n", Ok(Matches::One), Ok(Some(b"OLD"))),
            (b"BOB:OLD\r", Ok(Matches::One), Ok(Some(b"OLD"))),
        ];
        let replacement = Replacement {
            hash: NEW,
            layout: Layout::Shadow,
            day: 1,
        };
        for (input, change, verify) in cases {
            let shown = input.escape_ascii();
            for capacity in [1, 2, 3, 7, 64] {
                let changed = rewrite_buffered(
                    trickle(input, 2),
                    capacity,
                    MAX_LINE,
                    io::sink(),
                    "bob",
                    &replacement,
                )
                .map_err(|err| disputed_index(input, &err));
                assert_eq!(changed, *change, "{shown} at {capacity}");
                let found = find_hash_buffered(trickle(input, 2), capacity, MAX_LINE, "bob")
                    .map_err(|err| disputed_index(input, &err));
                let verify = verify.map(|hash| hash.map(<[u8]>::to_vec));
                assert_eq!(found, verify, "{shown} at {capacity}");
            }
            assert_eq!(
                plain_reading(input, "bob"),
                (*change, verify.map(|hash| hash.map(<[u8]>::to_vec))),
                "plain: {shown}"
            );
        }
    }

    #[test]
    fn agrees_with_the_plain_reading_on_random_files_and_buffer_sizes() {
        // Users of letters only and users with a byte the same in every case
        // take the two ways of [`EntryFinder`]; some files are long enough
        // for its vector search.
        const ALPHABET: &[u8] = b"aA1*:\n\n\r# \tb!{}x\"\0\x0b\\";
        const USERS: [&str; 7] = ["a", "A*", "*", "ab", "*a*", "a1", "1B"];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let replacement = Replacement {
            hash: NEW,
            layout: Layout::PasswdFile,
            day: 1,
        };
        let mut disputes = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let len = (next() % if next() % 4 == 0 { 400 } else { 40 }) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let user = USERS[(next() % USERS.len() as u64) as usize];
            let (expected_change, expected_verify) = plain_reading(&input, user);
            if let Err((_, why)) = expected_change {
                disputes.insert(format!("{why:?}"));
            }
            for capacity in [1, 2, 3, 5, 8, 64, 4096] {
                let reads_of = 1 + (next() % 64) as usize;
                let mut output = Vec::new();
                let changed = rewrite_buffered(
                    trickle(&input, reads_of),
                    capacity,
                    MAX_LINE,
                    &mut output,
                    user,
                    &replacement,
                )
                .map_err(|err| disputed_index(&input, &err));
                let shown = input.escape_ascii();
                assert_eq!(
                    changed, expected_change,
                    "{user:?} in {shown} at {capacity}"
                );
                if changed == Ok(Matches::None) {
                    assert_eq!(output, input);
                }
                let found = find_hash_buffered(&input[..], capacity, MAX_LINE, user)
                    .map_err(|err| disputed_index(&input, &err));
                assert_eq!(found, expected_verify, "{user:?} in {shown}");
            }
        }
        // Every kind of dispute was met.
        assert_eq!(disputes.len(), 4, "{disputes:?}");
    }

    #[test]
    fn no_match_and_ambiguous() {
        #[rustfmt::skip]
        let cases: &[(&[u8], &str, Matches)] = &[
            (b"", "bob", Matches::None),
            (b"alice:A\n# bob:B\n bob:C\n", "bob", Matches::None),
            (b"bob:A\nalice:x\nBOB:B\n", "bob", Matches::Several),
            (b"bob:A\nbob:B\n", "bob", Matches::Several),
        ];
        for (input, user, expected) in cases {
            assert_eq!(run(input, user, Layout::Shadow).0, *expected, "{input:?}");
        }
    }

    #[test]
    fn the_entry_found_keeps_the_name_as_stored_and_its_locks() {
        /// input, user, the name as stored, whether it is locked
        type NameCase = (&'static [u8], &'static str, &'static [u8], bool);
        #[rustfmt::skip]
        let cases: &[NameCase] = &[
            (b"alice:A\nDan:$6$x:1\n", "dan", b"Dan", false),
            (b"DAN:$6$x\r\n", "Dan", b"DAN", false),
            (b"dan\n", "DAN", b"dan", false),
            (b"dan:!$6$x:1\n", "dan", b"dan", true),
            (b"dan:!!{SHA512-CRYPT}$6$x\n", "dan", b"dan", true),
            (b"dan:{SHA512-CRYPT}!$6$x\n", "dan", b"dan", true),
            (b"dan:{SHA512-CRYPT}$6$x!\n", "dan", b"dan", false),
            (b"dan: !$6$x\n", "dan", b"dan", true),
            (b"dan: $6$x\n", "dan", b"dan", false),
            (b"dan:{PLAIN}!x\n", "dan", b"dan", false),
            (b"dan:\n", "dan", b"dan", false),
        ];
        for &(input, user, name, locked) in cases {
            let found = find_entry(input, user).unwrap().unwrap();
            assert_eq!(found.name, name, "{input:?}");
            assert_eq!(is_locked(&found.hash), locked, "{input:?}");
            let mut output = Vec::new();
            let (matches, rewritten) = rewrite_entry(
                input,
                &mut output,
                user,
                &Replacement {
                    hash: NEW,
                    layout: Layout::Shadow,
                    day: 1,
                },
            )
            .unwrap();
            // What a change reports is the entry as written.
            let written = find_entry(&output[..], user).unwrap();
            assert_eq!((matches, &rewritten), (Matches::One, &written), "{input:?}");
            assert_eq!(rewritten.unwrap().name, found.name, "{input:?}");
        }
        let mut output = Vec::new();
        let replacement = Replacement {
            hash: NEW,
            layout: Layout::Shadow,
            day: 1,
        };
        for input in [&b"alice:A\n"[..], b"dan:A\nDAN:B\n"] {
            let (_, found) = rewrite_entry(input, &mut output, "dan", &replacement).unwrap();
            assert_eq!(found, None, "{input:?}");
        }
    }

    #[test]
    fn find_hash_takes_the_first_entry() {
        #[rustfmt::skip]
        let cases: &[FindCase] = &[
            (b"alice:A:1\nbob:B:2\n", "bob", Some(b"B")),
            (b"Bob:B1\r\nbob:B2\n", "BOB", Some(b"B1")),
            (b"# bob:X\n bob:Y\nbob\n", "bob", Some(b"")),
            (b"bob:!{CRYPT}$6$x", "bob", Some(b"!{CRYPT}$6$x")),
            (b"alice:A\n", "bob", None),
        ];
        for (input, user, expected) in cases {
            let found = find_hash(*input, user).unwrap();
            assert_eq!(found.as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn scheme_prefixes_and_locks() {
        assert_eq!(scheme_prefix_len(b"{SHA512-CRYPT}$6$"), Some(14));
        assert_eq!(scheme_prefix_len(b"{}x"), None);
        assert_eq!(scheme_prefix_len(b"{open"), None);
        assert_eq!(scheme_prefix_len(b"$6$"), None);
    }
}
