//! Finding the entries for one user in a buffer of whole lines without
//! visiting the lines one by one.
//!
//! User names match ASCII-case-insensitively, so a plain substring search
//! for `"\n" + user` would miss `Bob` when asked for `bob`. Two ways round it:
//!
//! - **Anchored**, when the name holds a byte that is not an ASCII letter
//!   (a digit, `.`, `-`, `_`, `+`, any non-ASCII byte), which is the same in
//!   every case: memchr's SIMD "packed pair" search looks for a newline and,
//!   at the right distance after it, that byte, straight in the raw buffer.
//! - **Folded**, for names of letters only: the buffer is copied with bit
//!   0x20 set in every byte (which folds ASCII case) and searched for the
//!   folded `"\n" + user`.
//!
//! Either way the search only proposes candidates; each is confirmed by the
//! exact rule ([`classify`]), so a search may report too much but never too
//! little. Lines starting with `"` are candidates as well: Exim reads them as
//! quoted keys.
//!
//! # Whose entry a line is
//!
//! The file has two readers, and "the entry" must mean the same line to both.
//! Exim 4.96's lsearch (`src/lookups/lsearch.c`) skips a line that is empty
//! (once trailing white space is removed), starts with `#` or starts with
//! white space (a continuation of the line before); a key starting with `"`
//! is quoted and unquoted with Exim's backslash escapes (`\n`, `\x41`,
//! `\101`, `\"`...); any other key ends at `:`, white space or a NUL byte.
//! White space and one optional `:` then separate the key from the data.
//! Keys match ignoring ASCII case. Dovecot's passwd-file
//! (`src/auth/db-passwd-file.c`) skips lines that are empty or start with
//! `#` or `:` and takes everything up to the first `:` as the name (a CR
//! before the LF is dropped, and a NUL ends the line).
//!
//! They agree on `name:...`, `name` alone and `name\r\n`: an [`Kind::Entry`].
//! They disagree on white space or a NUL byte right after the name
//! (`bob :x`, `bob x`, `bob\t:x`: Exim's entry for `bob`, not Dovecot's) and
//! on quoted keys (`"bob":x`: Exim's `bob`, Dovecot's `"bob"`), which are
//! [`Kind::Disputed`]: a change or a verify refuses them rather than act on a
//! line one of the servers ignores. Case is not a dispute here: Dovecot
//! lower-cases the login and so never finds `Bob`, which the README tells
//! admins to avoid, and passwdpop (like Exim) matches it.

use memchr::arch::all::packedpair::Pair;
use memchr::memmem;

/// Finds the entries for one user in buffers of whole lines.
pub struct EntryFinder<'u> {
    user: &'u [u8],
    method: Method,
    /// The folded copy of the current buffer, for [`Method::Folded`].
    folded: Vec<u8>,
}

enum Method {
    Anchored(PairFinder),
    Folded(memmem::Finder<'static>),
}

/// How the two readers of the file take a line that concerns the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Both Exim's lsearch and Dovecot's passwd-file read it as the user's entry.
    Entry,
    /// One of them reads it as the user's entry and the other does not, or
    /// they would read different hashes from it.
    Disputed(Dispute),
}

/// Why Exim and Dovecot disagree about a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispute {
    /// White space or a NUL byte right after the name: Exim's key ends
    /// there, Dovecot's runs on to the `:`.
    SpaceAfterName,
    /// A quoted key: Exim unquotes it, Dovecot keeps the quotes.
    QuotedName,
    /// The line before holds a NUL byte: Exim then reads this line as the
    /// rest of that one and skips it; Dovecot reads it.
    AfterNul,
    /// The hash is the entry's last field and the next line starts with
    /// white space: Exim appends that line to the hash, Dovecot does not.
    Continued,
}

impl Dispute {
    /// What the disagreement is, for messages.
    pub fn explain(self) -> &'static str {
        match self {
            Dispute::SpaceAfterName => "white space or a NUL byte follows the name: Exim's lsearch ends the name there, Dovecot's passwd-file does not",
            Dispute::QuotedName => "the name is in quotes: Exim's lsearch removes them, Dovecot's passwd-file does not",
            Dispute::AfterNul => "the line before holds a NUL byte: Exim's lsearch skips this line, Dovecot's passwd-file does not",
            Dispute::Continued => "the next line starts with white space: Exim's lsearch appends it to the hash, Dovecot's passwd-file does not",
        }
    }
}

impl<'u> EntryFinder<'u> {
    /// `user` must not start with `#`, a space or a tab (validation sees to
    /// it): such lines are comments, blanks and continuations, never entries.
    pub fn new(user: &'u str) -> EntryFinder<'u> {
        let user = user.as_bytes();
        let needle: Vec<u8> = std::iter::once(b'\n').chain(user.iter().copied()).collect();
        let method = match anchor(&needle).and_then(|index| PairFinder::new(&needle, index)) {
            Some(pair) => Method::Anchored(pair),
            None => {
                let folded: Vec<u8> = needle.iter().map(|&byte| fold(byte)).collect();
                Method::Folded(memmem::Finder::new(&folded).into_owned())
            }
        };
        EntryFinder {
            user,
            method,
            folded: Vec::new(),
        }
    }

    /// The start offsets of the lines of `lines` that are entries for the
    /// user or disputed (see [`classify`]), with their kind, in order. `lines` must start at the start of a line; its last
    /// line may lack its newline only at the end of the file.
    /// Fails only when the folded copy cannot be allocated.
    pub fn entries<'a>(
        &'a mut self,
        lines: &'a [u8],
    ) -> Result<Entries<'a>, std::collections::TryReserveError> {
        self.folded.clear();
        if let Method::Folded(_) = self.method {
            self.folded.try_reserve(lines.len())?;
            self.folded.extend(lines.iter().map(|&byte| fold(byte)));
        }
        Ok(Entries {
            user: self.user,
            method: &self.method,
            folded: &self.folded,
            lines,
            next: Some(0),
            quote: None,
        })
    }
}

/// Iterator over the entry starts in one buffer; see [`EntryFinder::entries`].
pub struct Entries<'a> {
    user: &'a [u8],
    method: &'a Method,
    folded: &'a [u8],
    lines: &'a [u8],
    /// Where the next candidate line may start; `None` once the buffer is done.
    next: Option<usize>,
    /// The last search for a line starting with `"`: from where, and what it found.
    quote: Option<(usize, Option<usize>)>,
}

impl Iterator for Entries<'_> {
    type Item = (usize, Kind);

    fn next(&mut self) -> Option<(usize, Kind)> {
        loop {
            let start = self.next?;
            // The first line has no newline before it in the buffer: it is
            // checked as it is; every later candidate is a newline's offset.
            let named = if start == 0 {
                Some(0)
            } else {
                self.next_newline(start - 1).map(|newline| newline + 1)
            };
            let candidate = match (named, self.next_quoted_line(start)) {
                (Some(named), Some(quoted)) => Some(named.min(quoted)),
                (named, quoted) => named.or(quoted),
            };
            // A search resumes one byte after a candidate's newline, not after
            // the whole match: in the folded buffer `*` folds like a newline,
            // so a false candidate can overlap the real one.
            self.next = candidate.map(|at| at + 1);
            let at = candidate?;
            let line = &self.lines[at..];
            if at == 0 || self.lines[at - 1] == b'\n' {
                if let Some(kind) = classify(line, self.user) {
                    return Some((at, kind));
                }
            }
        }
    }
}

impl Entries<'_> {
    /// The start, at or after `from`, of the next line starting with `"`.
    /// Searched once per buffer in the usual case (no such line).
    fn next_quoted_line(&mut self, from: usize) -> Option<usize> {
        if let Some((searched_from, found)) = self.quote {
            if searched_from <= from && found.is_none_or(|at| at >= from) {
                return found;
            }
        }
        let found = if from == 0 && self.lines.first() == Some(&b'"') {
            Some(0)
        } else {
            let begin = from.saturating_sub(1);
            memmem::find(&self.lines[begin..], b"\n\"").map(|at| begin + at + 1)
        };
        self.quote = Some((from, found));
        found
    }

    /// The offset, at or after `from`, of the next newline that may be
    /// followed by an entry for the user; in the folded buffer, possibly of
    /// a byte that folds like a newline (`*`), which the caller drops.
    fn next_newline(&self, from: usize) -> Option<usize> {
        let rest = self.lines.get(from..)?;
        let found = match self.method {
            Method::Folded(finder) => finder.find(&self.folded[from..]),
            Method::Anchored(pair) if rest.len() >= pair.min_haystack_len() => {
                pair.find_prefilter(rest)
            }
            // Too short for the SIMD search: a few bytes at a buffer's end.
            _ => memchr::memchr(b'\n', rest),
        };
        found.map(|at| from + at)
    }
}

/// How a line (with or without its ending, or followed by more lines) reads
/// to Exim's lsearch and Dovecot's passwd-file when looking up `user` (see
/// the module's documentation); `None` when neither takes it as `user`'s.
/// Comments, blank and continuation lines never match because a valid user
/// name never starts with `#` or white space.
pub fn classify(line: &[u8], user: &[u8]) -> Option<Kind> {
    debug_assert!(!matches!(user.first(), None | Some(b'#' | b' ' | b'\t')));
    if line.first() == Some(&b'"') {
        let dovecot = dovecot_name(line).eq_ignore_ascii_case(user);
        return (dovecot || exim_quoted_name_is(line, user))
            .then_some(Kind::Disputed(Dispute::QuotedName));
    }
    if line.len() < user.len() || !line[..user.len()].eq_ignore_ascii_case(user) {
        return None;
    }
    match &line[user.len()..] {
        [] | [b':', ..] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..] => Some(Kind::Entry),
        [byte, ..] if *byte == 0 || is_c_space(*byte) => {
            Some(Kind::Disputed(Dispute::SpaceAfterName))
        }
        _ => None,
    }
}

/// C's `isspace` in the C locale, which Exim's lsearch uses.
pub fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Dovecot's passwd-file name: up to the first `:` or the line's end.
fn dovecot_name(line: &[u8]) -> &[u8] {
    let end = memchr::memchr3(b':', b'\n', 0, line).unwrap_or(line.len());
    let name = &line[..end];
    if line.get(end) == Some(&b'\n') {
        name.strip_suffix(b"\r").unwrap_or(name)
    } else {
        name
    }
}

/// Whether Exim's lsearch reads the line, which starts with `"`, as the
/// quoted key `user` (ignoring ASCII case): the key runs to the closing `"`
/// or the end of the line, with Exim's backslash escapes
/// (`string_interpret_escape`) undone. Exim sees a line up to its newline,
/// with trailing white space removed when the newline is there, cut at a
/// NUL byte (its `fgets` buffer is a C string).
fn exim_quoted_name_is(line: &[u8], user: &[u8]) -> bool {
    let mut content = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
    if let Some(nul) = memchr::memchr(0, content) {
        content = &content[..nul];
    } else if content.len() < line.len() {
        while let [rest @ .., last] = content {
            if !is_c_space(*last) {
                break;
            }
            content = rest;
        }
    }
    let mut key = content[1..].iter().copied();
    let mut matched = 0;
    while let Some(byte) = key.next() {
        let unquoted = match byte {
            b'"' => break,
            b'\\' => unescape(&mut key),
            byte => byte,
        };
        match user.get(matched) {
            Some(expected) if expected.eq_ignore_ascii_case(&unquoted) => matched += 1,
            _ => return false,
        }
    }
    matched == user.len()
}

/// The byte a backslash escape stands for, as Exim's
/// `string_interpret_escape` reads it; `rest` follows the backslash and is
/// advanced past the escape. Up to three octal digits (the value wraps at
/// 256, as Exim stores it in a byte), `\x` with up to two hex digits (none:
/// a NUL byte), `\b \f \n \r \t \v`, any other byte stands for itself, and a
/// backslash at the end for itself.
fn unescape(rest: &mut (impl Iterator<Item = u8> + Clone)) -> u8 {
    let Some(first) = rest.next() else {
        return b'\\';
    };
    let mut digits = |radix: u32, most: usize, mut value: u32| {
        for _ in 0..most {
            let mut ahead = rest.clone();
            match ahead
                .next()
                .and_then(|byte| char::from(byte).to_digit(radix))
            {
                Some(digit) => {
                    value = value * radix + digit;
                    *rest = ahead;
                }
                None => break,
            }
        }
        value as u8
    };
    match first {
        b'0'..=b'7' => digits(8, 2, u32::from(first - b'0')),
        b'x' => digits(16, 2, 0),
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        other => other,
    }
}

fn fold(byte: u8) -> u8 {
    byte | 0x20
}

/// The index in `needle` (a newline, then the user) of the byte to pair with
/// the newline: one that is the same in every case, preferring punctuation
/// and non-ASCII bytes, which are rarer at a fixed column than digits, and
/// the last of equals. `None` when the name is all letters.
fn anchor(needle: &[u8]) -> Option<u8> {
    let rank = |byte: u8| match byte {
        b'a'..=b'z' | b'A'..=b'Z' => None,
        b'0'..=b'9' => Some(1),
        _ => Some(2),
    };
    let (index, _) = needle
        .iter()
        .enumerate()
        .skip(1)
        .take(usize::from(u8::MAX))
        .filter_map(|(index, &byte)| Some((index, rank(byte)?)))
        .max_by_key(|&(index, rank)| (rank, index))?;
    u8::try_from(index).ok()
}

/// memchr's packed-pair search, for the best vector instructions this CPU has.
enum PairFinder {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::packedpair::Finder),
    #[cfg(target_arch = "x86_64")]
    Sse2(memchr::arch::x86_64::sse2::packedpair::Finder),
    #[cfg(target_arch = "aarch64")]
    Neon(memchr::arch::aarch64::neon::packedpair::Finder),
    /// Elsewhere there is none: [`PairFinder::new`] says `None`.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    Unavailable(std::convert::Infallible),
}

impl PairFinder {
    /// A search for `needle[0]` and `needle[index]` at their distance;
    /// `None` where no vector search is available.
    #[allow(unreachable_code, unused_variables)] // on targets without one
    fn new(needle: &[u8], index: u8) -> Option<PairFinder> {
        let pair = Pair::with_indices(needle, 0, index)?;
        #[cfg(target_arch = "x86_64")]
        {
            use memchr::arch::x86_64::{avx2, sse2};
            return avx2::packedpair::Finder::with_pair(needle, pair)
                .map(PairFinder::Avx2)
                .or_else(|| {
                    sse2::packedpair::Finder::with_pair(needle, pair).map(PairFinder::Sse2)
                });
        }
        #[cfg(target_arch = "aarch64")]
        {
            use memchr::arch::aarch64::neon;
            return neon::packedpair::Finder::with_pair(needle, pair).map(PairFinder::Neon);
        }
        None
    }

    fn min_haystack_len(&self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            PairFinder::Avx2(finder) => finder.min_haystack_len(),
            #[cfg(target_arch = "x86_64")]
            PairFinder::Sse2(finder) => finder.min_haystack_len(),
            #[cfg(target_arch = "aarch64")]
            PairFinder::Neon(finder) => finder.min_haystack_len(),
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            PairFinder::Unavailable(never) => match *never {},
        }
    }

    fn find_prefilter(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            PairFinder::Avx2(finder) => finder.find_prefilter(haystack),
            #[cfg(target_arch = "x86_64")]
            PairFinder::Sse2(finder) => finder.find_prefilter(haystack),
            #[cfg(target_arch = "aarch64")]
            PairFinder::Neon(finder) => finder.find_prefilter(haystack),
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            PairFinder::Unavailable(never) => match *never {},
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_anchor_is_a_byte_the_same_in_every_case() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<u8>)] = &[
            ("bob", None),
            ("BoB", None),
            ("user5", Some(5)),
            ("a1b2", Some(4)),              // the last of equals
            ("j.doe2", Some(2)),            // punctuation before digits
            ("x_y-z", Some(4)),
            ("*", Some(1)),
            ("caf\u{e9}", Some(5)),         // the second byte of é
        ];
        for (user, expected) in cases {
            let needle: Vec<u8> = std::iter::once(b'\n').chain(user.bytes()).collect();
            assert_eq!(anchor(&needle), *expected, "{user}");
        }
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn names_with_an_anchor_are_searched_without_folding() {
        assert!(matches!(
            EntryFinder::new("user5").method,
            Method::Anchored(_)
        ));
        assert!(matches!(EntryFinder::new("bob").method, Method::Folded(_)));
    }

    /// Exim's lsearch key for a line given without its newline (`eol`:
    /// there was one), written the plain way from lsearch.c; `None` for a
    /// line it skips.
    fn exim_key(line: &[u8], eol: bool) -> Option<Vec<u8>> {
        let (mut text, eol) = match line.iter().position(|&byte| byte == 0) {
            Some(nul) => (&line[..nul], false),
            None => (line, eol),
        };
        while eol && text.last().is_some_and(|&byte| is_c_space(byte)) {
            text = &text[..text.len() - 1];
        }
        match text.first() {
            None | Some(b'#') => return None,
            Some(&byte) if is_c_space(byte) => return None,
            Some(b'"') => {}
            Some(_) => {
                let end = text
                    .iter()
                    .position(|&byte| byte == b':' || is_c_space(byte))
                    .unwrap_or(text.len());
                return Some(text[..end].to_vec());
            }
        }
        let mut key = Vec::new();
        let mut i = 1;
        while i < text.len() && text[i] != b'"' {
            if text[i] != b'\\' {
                key.push(text[i]);
                i += 1;
                continue;
            }
            i += 1;
            let Some(&escaped) = text.get(i) else {
                key.push(b'\\');
                break;
            };
            let (radix, mut value, most) = match escaped {
                b'0'..=b'7' => (8, u32::from(escaped - b'0'), 2),
                b'x' => (16, 0, 2),
                _ => (0, 0, 0),
            };
            let mut taken = 0;
            while taken < most {
                match text
                    .get(i + 1)
                    .and_then(|&byte| char::from(byte).to_digit(radix))
                {
                    Some(digit) => {
                        value = value * radix + digit;
                        i += 1;
                        taken += 1;
                    }
                    None => break,
                }
            }
            key.push(match escaped {
                b'0'..=b'7' | b'x' => (value % 256) as u8,
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 11,
                other => other,
            });
            i += 1;
        }
        Some(key)
    }

    /// Dovecot's passwd-file name for a line given without its newline.
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

    /// The name passwdpop edits: up to the first `:` of a line that is not
    /// blank, a comment or a continuation.
    fn own_key(line: &[u8]) -> Option<&[u8]> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            None | Some(b'#' | b' ' | b'\t') => None,
            Some(_) => line.split(|&byte| byte == b':').next(),
        }
    }

    /// The three readings of one line compared: all three `user` is an
    /// entry, one or two a dispute.
    pub(crate) fn plain_kind(line: &[u8], eol: bool, user: &str) -> Option<Kind> {
        let user = user.as_bytes();
        let exim = exim_key(line, eol).is_some_and(|key| key.eq_ignore_ascii_case(user));
        let dovecot = dovecot_key(line).is_some_and(|key| key.eq_ignore_ascii_case(user));
        let own = own_key(line).is_some_and(|key| key.eq_ignore_ascii_case(user));
        match (exim, dovecot, own) {
            (true, true, true) => Some(Kind::Entry),
            (false, false, false) => None,
            _ if line.first() == Some(&b'"') => Some(Kind::Disputed(Dispute::QuotedName)),
            _ => Some(Kind::Disputed(Dispute::SpaceAfterName)),
        }
    }

    /// The rule written the plain way: every line start, checked one by one.
    fn plain_entries(lines: &[u8], user: &str) -> Vec<(usize, Kind)> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', lines).map(|newline| newline + 1));
        starts
            .into_iter()
            .filter(|&start| start < lines.len())
            .filter_map(|start| {
                let line = &lines[start..];
                let end = memchr::memchr(b'\n', line);
                let line = &line[..end.unwrap_or(line.len())];
                Some((start, plain_kind(line, end.is_some(), user)?))
            })
            .collect()
    }

    #[test]
    fn exim_and_dovecot_key_rules() {
        use Dispute::{QuotedName, SpaceAfterName};
        use Kind::{Disputed, Entry};
        #[rustfmt::skip]
        let cases: &[(&[u8], &str, Option<Kind>)] = &[
            (b"bob:x", "bob", Some(Entry)),
            (b"BOB:x\n", "bob", Some(Entry)),
            (b"bob\n", "bob", Some(Entry)),
            (b"bob", "bob", Some(Entry)),
            (b"bob\r\n", "bob", Some(Entry)),
            (b"bob\r", "bob", Some(Entry)),
            (b"bob:x y\n", "bob", Some(Entry)),
            // Exim's key ends at white space or NUL, Dovecot's does not.
            (b"bob :x\n", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\t:x", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob x:y", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob smith:x", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob \n", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\r\r\n", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\rx:y", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\x0b:x", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\x0c", "bob", Some(Disputed(SpaceAfterName))),
            (b"bob\0:x", "bob", Some(Disputed(SpaceAfterName))),
            // Quoted keys, with Exim's escapes.
            (b"\"bob\":x", "bob", Some(Disputed(QuotedName))),
            (b"\"BoB\" x", "bob", Some(Disputed(QuotedName))),
            (b"\"bob\n", "bob", Some(Disputed(QuotedName))),
            (b"\"bob  \r\n", "bob", Some(Disputed(QuotedName))),
            (b"\"b\\x6fb\":x", "bob", Some(Disputed(QuotedName))),
            (b"\"b\\157b\":x", "bob", Some(Disputed(QuotedName))),
            (b"\"b\\ob\":x", "bob", Some(Disputed(QuotedName))),
            (b"\"b\\o\\b\":x", "bob", None),
            (b"\"b\\557b\":x", "bob", Some(Disputed(QuotedName))),
            (b"\"a\\\"b\":x", "a\"b", Some(Disputed(QuotedName))),
            (b"\"a\\tb\":x", "a\tb", Some(Disputed(QuotedName))),
            (b"\"bob\\\n", "bob\\", Some(Disputed(QuotedName))),
            (b"\"bob\":x", "\"bob\"", Some(Disputed(QuotedName))),
            (b"\"bo\\x\":x", "bo", None),
            (b"\"bo\0b\":x", "bob", None),
            (b"\"bobby\":x", "bob", None),
            (b"\"bob \":x", "bob", None),
            // Neither reads it as bob's.
            (b"bobby:x", "bob", None),
            (b"bo:x", "bob", None),
            (b"\x0bbob:x", "bob", None),
            (b"bob\"", "bob", None),
        ];
        for (line, user, expected) in cases {
            let shown = line.escape_ascii();
            assert_eq!(
                classify(line, user.as_bytes()),
                *expected,
                "{shown} for {user}"
            );
            let end = memchr::memchr(b'\n', line);
            let text = &line[..end.unwrap_or(line.len())];
            assert_eq!(
                plain_kind(text, end.is_some(), user),
                *expected,
                "plain: {shown} for {user}"
            );
        }
    }

    #[test]
    fn finds_what_the_plain_reading_finds_in_long_random_buffers() {
        // Long enough for the vector searches, with the user, near misses
        // and case changes at every distance from a buffer's ends.
        const USERS: [&str; 6] = ["bob", "user50", "j.doe", "*", "a*", "\u{e9}t\u{e9}"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        for _ in 0..2000 {
            let user = USERS[next(USERS.len())];
            let mut lines = Vec::new();
            for _ in 0..next(40) {
                let mut name: Vec<u8> = user.bytes().collect();
                for byte in &mut name {
                    if next(2) == 0 {
                        *byte = byte.to_ascii_uppercase();
                    }
                }
                match next(12) {
                    0 => name.push(b'x'),
                    1 => drop(name.pop()),
                    2 => name.insert(0, [b'#', b' ', b'\n', b'*', b'"'][next(5)]),
                    3 => name = b"someone".to_vec(),
                    // What only Exim's lsearch reads as the name.
                    4 => name.push([b' ', b'\t', 0, b'\r', 0x0b][next(5)]),
                    5 => name = [&b"\""[..], &name, b"\""].concat(),
                    6 => {
                        let first = format!("\"\\x{:02x}", name[0]);
                        name = [first.as_bytes(), &name[1..]].concat();
                    }
                    _ => {}
                }
                lines.extend_from_slice(&name);
                let filler = next(70);
                lines.extend_from_slice(&b":$6$x$0123456789abcdef0123456789ABCDEF0123456789.0123456789/abcdef01234567890"[..filler]);
                lines.extend_from_slice([&b"\n"[..], b"\r\n", b"\n\n", b""][next(4)]);
            }
            let mut finder = EntryFinder::new(user);
            let found: Vec<(usize, Kind)> = finder.entries(&lines).unwrap().collect();
            assert_eq!(
                found,
                plain_entries(&lines, user),
                "{user:?} in {}",
                lines.escape_ascii()
            );
        }
    }

    #[test]
    fn finds_an_entry_at_every_distance_from_the_buffer_ends() {
        // The vector searches need a minimum haystack (their vector width
        // plus the anchor's index) and hand shorter tails to memchr: put the
        // entry at the very end and at the very start of buffers of every
        // length, for anchors on both sides of those widths.
        let mut users: Vec<String> = ["1", "*", "a1", "1a", "ab"].map(String::from).to_vec();
        for len in [15, 16, 17, 31, 32, 33, 63, 64] {
            users.push(format!("{}1", "a".repeat(len - 1)));
            users.push(format!("1{}", "a".repeat(len - 1)));
            users.push("a".repeat(len));
        }
        for user in &users {
            let mut finder = EntryFinder::new(user);
            for filler in 0..150 {
                for ending in [&b""[..], b"\n", b"\r", b"\r\n", b":x", b":x\n"] {
                    for separator in [&b"\n"[..], b"\r\n", b"*"] {
                        let mut last = vec![b'x'; filler];
                        last.extend_from_slice(separator);
                        last.extend_from_slice(user.as_bytes());
                        last.extend_from_slice(ending);
                        let expected: &[usize] = if separator.ends_with(b"\n") {
                            &[filler + separator.len()]
                        } else {
                            &[]
                        };
                        let found: Vec<usize> =
                            finder.entries(&last).unwrap().map(|(at, _)| at).collect();
                        assert_eq!(found, expected, "{user:?} in {}", last.escape_ascii());
                    }
                }
                let mut first = user.as_bytes().to_vec();
                first.extend_from_slice(b":x\n");
                first.extend(std::iter::repeat_n(b'\n', filler));
                let found: Vec<usize> = finder.entries(&first).unwrap().map(|(at, _)| at).collect();
                assert_eq!(found, [0], "{user:?} in {}", first.escape_ascii());
            }
        }
    }
}
