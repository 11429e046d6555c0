//! The account operations' rules written the plain way, from the README,
//! without the library's parser: what remove, suspend and unsuspend must
//! make of a file, for the property tests and the fuzz target to compare
//! the library with.

use super::{hash_parts, lines, readings_for, split_line_ending};

/// An operation on one user's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelOp {
    Remove,
    Suspend,
    Unsuspend,
}

/// What the operation must give for `before`: `Ok(after)` or the status.
pub fn expected(before: &[u8], user: &str, op: ModelOp) -> Result<Vec<u8>, passwdpop::Status> {
    use passwdpop::Status;
    let old = lines(before);
    let entry = match readings_for(&old, user).as_slice() {
        [] => return Err(Status::NoSuchAccount),
        [(entry, true)] => *entry,
        // A line with one ':' followed by a continuation line is read by
        // Exim with the continuation in its hash: disputed, unless the
        // operation removes both.
        [(entry, false)]
            if op == ModelOp::Remove && readings_for(&old[..=*entry], user) == [(*entry, true)] =>
        {
            *entry
        }
        _ => return Err(Status::AmbiguousAccount),
    };
    let mut after = Vec::new();
    for line in &old[..entry] {
        after.extend_from_slice(line);
    }
    let (content, ending) = split_line_ending(old[entry]);
    let mut rest = entry + 1;
    match op {
        ModelOp::Remove => {
            // Exim's lsearch joins every later line that starts with white
            // space to the entry, skipping comments and blank lines.
            while let Some(line) = old.get(rest) {
                let (text, _) = split_line_ending(line);
                let blank = text.iter().all(u8::is_ascii_whitespace);
                let comment = text.first() == Some(&b'#');
                let continuation = !blank && text.first().is_some_and(u8::is_ascii_whitespace);
                if continuation {
                    rest += 1;
                } else if blank || comment {
                    after.extend_from_slice(line);
                    rest += 1;
                } else {
                    break;
                }
            }
        }
        ModelOp::Suspend | ModelOp::Unsuspend => {
            let (name, hash, more) = match content.iter().position(|&b| b == b':') {
                None => (content, &b""[..], &b""[..]),
                Some(colon) => {
                    let after_name = &content[colon + 1..];
                    let end = after_name
                        .iter()
                        .position(|&b| b == b':')
                        .unwrap_or(after_name.len());
                    (&content[..colon], &after_name[..end], &after_name[end..])
                }
            };
            let (lead, prefix, inner, digest) = hash_parts(hash);
            let locked = lead.contains(&b'!') || inner.contains(&b'!');
            let unbang = |bytes: &[u8]| {
                bytes
                    .iter()
                    .copied()
                    .filter(|&b| b != b'!')
                    .collect::<Vec<u8>>()
            };
            let new_hash = match op {
                _ if locked == (op == ModelOp::Suspend) => hash.to_vec(),
                ModelOp::Suspend => [b"!".as_slice(), hash].concat(),
                _ if digest.is_empty() => return Err(Status::InvalidHash),
                _ => [unbang(lead).as_slice(), prefix, &unbang(inner), digest].concat(),
            };
            if new_hash == hash {
                after.extend_from_slice(old[entry]);
            } else {
                after.extend_from_slice(name);
                after.push(b':');
                after.extend_from_slice(&new_hash);
                after.extend_from_slice(more);
                after.extend_from_slice(ending);
            }
        }
    }
    for line in &old[rest..] {
        after.extend_from_slice(line);
    }
    Ok(after)
}

/// Asserts that the library did what [`expected`] says; a file it refuses
/// must be left as it was.
pub fn check(
    before: &[u8],
    user: &str,
    op: ModelOp,
    result: &Result<(), passwdpop::Error>,
    after: &[u8],
) {
    let shown = || format!("{op:?} {user} in {}", before.escape_ascii());
    match (expected(before, user, op), result) {
        (Ok(expected), Ok(())) => assert!(
            expected == after,
            "{}:\n expected {}\n      got {}",
            shown(),
            expected.escape_ascii(),
            after.escape_ascii()
        ),
        (Err(status), Err(err)) => {
            assert_eq!(err.status(), status, "{}: {err}", shown());
            assert!(before == after, "{}: refused but changed", shown());
        }
        (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", shown()),
    }
}
