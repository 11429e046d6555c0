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
//! exact rule ([`is_entry_for`]), so a search may report too much but never
//! too little.

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
    /// user, in order. `lines` must start at the start of a line; its last
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
}

impl Iterator for Entries<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            let start = self.next?;
            // The first line has no newline before it in the buffer: it is
            // checked as it is; every later candidate is a newline's offset.
            let candidate = if start == 0 {
                Some(0)
            } else {
                self.next_newline(start - 1).map(|newline| newline + 1)
            };
            // A search resumes one byte after a candidate's newline, not after
            // the whole match: in the folded buffer `*` folds like a newline,
            // so a false candidate can overlap the real one.
            self.next = candidate.map(|at| at + 1);
            let at = candidate?;
            let line = &self.lines[at..];
            if (at == 0 || self.lines[at - 1] == b'\n') && is_entry_for(line, self.user) {
                return Some(at);
            }
        }
    }
}

impl Entries<'_> {
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

/// Whether a line (with or without its ending, or followed by more lines) is
/// an entry whose user is `user`. Looks at no more than `user.len() + 2`
/// bytes. Comments, blank and continuation lines never match because a valid
/// user name never starts with `#` or white space.
pub fn is_entry_for(line: &[u8], user: &[u8]) -> bool {
    debug_assert!(!matches!(user.first(), None | Some(b'#' | b' ' | b'\t')));
    line.len() >= user.len()
        && line[..user.len()].eq_ignore_ascii_case(user)
        && matches!(
            &line[user.len()..],
            [] | [b':', ..] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..]
        )
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
mod tests {
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

    /// The rule written the plain way: every line start, checked one by one.
    fn plain_entries(lines: &[u8], user: &str) -> Vec<usize> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', lines).map(|newline| newline + 1));
        starts.retain(|&start| {
            let line = &lines[start..];
            let line = &line[..memchr::memchr(b'\n', line).map_or(line.len(), |at| at)];
            let content = line.strip_suffix(b"\r").unwrap_or(line);
            let name = content
                .split(|&byte| byte == b':')
                .next()
                .unwrap_or_default();
            !matches!(line.first(), None | Some(b'#' | b' ' | b'\t'))
                && name.eq_ignore_ascii_case(user.as_bytes())
        });
        starts
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
                match next(8) {
                    0 => name.push(b'x'),
                    1 => drop(name.pop()),
                    2 => name.insert(0, [b'#', b' ', b'\n', b'*'][next(4)]),
                    3 => name = b"someone".to_vec(),
                    _ => {}
                }
                lines.extend_from_slice(&name);
                let filler = next(70);
                lines.extend_from_slice(&b":$6$x$0123456789abcdef0123456789ABCDEF0123456789.0123456789/abcdef01234567890"[..filler]);
                lines.extend_from_slice([&b"\n"[..], b"\r\n", b"\n\n", b""][next(4)]);
            }
            let mut finder = EntryFinder::new(user);
            let found: Vec<usize> = finder.entries(&lines).unwrap().collect();
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
                        let found: Vec<usize> = finder.entries(&last).unwrap().collect();
                        assert_eq!(found, expected, "{user:?} in {}", last.escape_ascii());
                    }
                }
                let mut first = user.as_bytes().to_vec();
                first.extend_from_slice(b":x\n");
                first.extend(std::iter::repeat_n(b'\n', filler));
                let found: Vec<usize> = finder.entries(&first).unwrap().collect();
                assert_eq!(found, [0], "{user:?} in {}", first.escape_ascii());
            }
        }
    }
}
