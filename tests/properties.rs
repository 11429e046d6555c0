//! Property tests over malformed files: any bytes as the shadow file, a user
//! present, absent or duplicated in differing case, both layouts. A change
//! either fails cleanly (no entry, or several) and leaves every byte and no
//! stray file, or replaces the hash of the user's one entry and nothing else.
//! The invariants live in `common::assert_change_invariants`; the fuzz target
//! in fuzz/ checks the same ones. `PROPTEST_CASES` sets the cases per test.

mod common;

use std::collections::BTreeMap;
use std::fmt;

use common::{entries_for, has_dispute, has_scheme, lines, split_line_ending, Fixture};
use passwdpop::Layout;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const DOMAIN: &str = "example.com";

/// Users to change: local parts and full addresses, in the files' or another case.
const USERS: &[&str] = &[
    "bob",
    "BOB@example.com",
    "alice",
    "carol",
    "b.o-b+1",
    "Carol@EXAMPLE.com",
    // `*` folds like a newline in the library's search.
    "*",
    "a*b",
];

/// Names written in files: the users in several cases, and near misses.
const NAMES: &[&str] = &[
    "bob", "Bob", "BOB", "alice", "ALICE", "carol", "b.o-b+1", "B.O-B+1", "bobby", "bo", "ali",
    "*", "**", "a*b", "A*B", "a*",
];

/// The library reads through a buffer of this size, so a line may straddle
/// two reads: `store.rs`'s `IO_BUFFER`.
const BUFFER: usize = 64 * 1024;

/// One attempted change.
#[derive(Clone)]
struct Case {
    content: Vec<u8>,
    user: &'static str,
    password: Vec<u8>,
    layout: Layout,
}

/// Byte strings shown escaped, so a shrunk failure can be pasted into a test.
impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Case {{ content: b\"{}\", user: {:?}, password: b\"{}\", layout: {:?} }}",
            self.content.escape_ascii(),
            self.user,
            self.password.escape_ascii(),
            self.layout
        )
    }
}

/// Bytes of one line: anything but LF (mapped to CR, itself worth having).
fn junk(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    let byte = any::<u8>().prop_map(|byte| if byte == b'\n' { b'\r' } else { byte });
    proptest::collection::vec(byte, len)
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(NAMES).prop_map(|name| name.as_bytes().to_vec())
}

/// Hash fields as found in the wild (locked, `{SCHEME}`-prefixed, empty), the
/// edge cases of `!` and `{…}`, and junk.
fn hash_field() -> impl Strategy<Value = Vec<u8>> {
    let known: &[&[u8]] = &[
        b"",
        b"!",
        b"!!",
        b"*",
        b"$6$rounds=5000$aaaaaaaaaaaaaaaa$old",
        b"!$6$x$y",
        b"{SHA512-CRYPT}$6$x$y",
        b"{SHA512-CRYPT}!$6$x$y",
        b"!{PLAIN}secret",
        b"!!{x}",
        b"{}x",
        b"{open",
        b"{{}",
        b"!{}",
    ];
    prop_oneof![
        3 => prop::sample::select(known).prop_map(<[u8]>::to_vec),
        1 => junk(0..12),
    ]
}

/// Fields 3 and on: shadow-like values and junk (which may hold more `:`).
fn more_fields() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let known: &[&[u8]] = &[b"19000", b"", b"0", b"99999", b"7", b"1000"];
    let field = prop_oneof![
        3 => prop::sample::select(known).prop_map(<[u8]>::to_vec),
        1 => junk(0..8),
    ];
    proptest::collection::vec(field, 0..8)
}

/// What follows a name that only Exim's lsearch reads as the name (the
/// last one closes a quoted name).
const AFTER_NAME: &[&[u8]] = &[b" :", b"\t", b" ", b"\":"];

/// A line without its ending: mostly entries (with one field or more), and
/// the lines that are never entries.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        name(),
        prop::option::weighted(0.85, (hash_field(), more_fields())),
    )
        .prop_map(|(mut line, fields)| {
            if let Some((hash, more)) = fields {
                for field in std::iter::once(hash).chain(more) {
                    line.push(b':');
                    line.extend(field);
                }
            }
            line
        });
    let indent = prop::sample::select(&[b' ', b'\t'][..]);
    prop_oneof![
        8 => entry,
        1 => junk(0..20).prop_map(|text| [b"#".as_slice(), &text].concat()),
        1 => (indent, name(), junk(0..10))
            .prop_map(|(indent, name, rest)| [&[indent][..], &name, b":", &rest].concat()),
        // Names Exim's lsearch reads and Dovecot's passwd-file does not.
        1 => (name(), prop::sample::select(AFTER_NAME), hash_field()).prop_map(
            |(name, after, hash)| {
                let quote = if after == b"\":" { &b"\""[..] } else { b"" };
                [quote, &name, after, &hash].concat()
            }
        ),
        1 => Just(Vec::new()),
        1 => junk(0..20),
    ]
}

/// A file of lines, each ending LF or CRLF, the last one also a lone CR or
/// nothing; sometimes after a filler line that puts the next lines (or the
/// filler itself, which may be an entry) across the library's first read.
fn structured_file() -> impl Strategy<Value = Vec<u8>> {
    let ending = prop_oneof![3 => Just(&b"\n"[..]), 2 => Just(&b"\r\n"[..])];
    let endings: &'static [&'static [u8]] = &[b"", b"\r", b"\n", b"\r\n"];
    let last_ending = prop::sample::select(endings);
    let filler = prop::option::weighted(0.15, (name(), BUFFER - 200..BUFFER + 200));
    (
        filler,
        proptest::collection::vec((line(), ending), 0..10),
        line(),
        last_ending,
    )
        .prop_map(|(filler, body, last, last_ending)| {
            let mut file = Vec::new();
            if let Some((name, len)) = filler {
                file.extend_from_slice(&name);
                file.push(b':');
                file.resize(len - 1, b'x');
                file.push(b'\n');
            }
            for (line, ending) in body {
                file.extend(line);
                file.extend_from_slice(ending);
            }
            file.extend(last);
            file.extend_from_slice(last_ending);
            file
        })
}

/// Bytes drawn mostly from the ones that matter to the format (names,
/// separators, line ends, `!`, braces, comment and continuation starts).
fn biased_bytes() -> impl Strategy<Value = Vec<u8>> {
    let tokens: &[&[u8]] = &[
        b"bob",
        b"BOB",
        b"alice",
        b"\nbob",
        b"\nBob:",
        b"\nalice:",
        b"\nCAROL:",
        b"\nb.o-b+1:",
        b":",
        b":",
        b"\n",
        b"\n",
        b"\r\n",
        b"\r",
        b"!",
        b"{x}",
        b"{",
        b"}",
        b"#",
        b" ",
        b"\t",
        b"\xff",
        b"19000",
    ];
    let token = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(<[u8]>::to_vec),
        1 => any::<u8>().prop_map(|byte| vec![byte]),
    ];
    proptest::collection::vec(token, 0..60).prop_map(|tokens| tokens.concat())
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..1024)
}

/// Any file content, with a user, a password (any bytes but NUL) and a layout.
fn case(content: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Case> {
    let layout = prop_oneof![Just(Layout::Shadow), Just(Layout::PasswdFile)];
    let password = proptest::collection::vec(1..=u8::MAX, 1..40);
    (content, prop::sample::select(USERS), password, layout).prop_map(
        |(content, user, password, layout)| Case {
            content,
            user,
            password,
            layout,
        },
    )
}

/// `cases` per test unless `PROPTEST_CASES` says otherwise. Each case costs
/// a 1000-round hash, a locked atomic replace and a crypt(3) check.
fn config(cases: u32) -> ProptestConfig {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else {
        ProptestConfig::with_cases(cases)
    }
}

fn check(case: &Case) {
    let fx = Fixture::new();
    fx.change_and_check(
        DOMAIN,
        &case.content,
        case.user,
        &case.password,
        case.layout,
    );
}

proptest! {
    #![proptest_config(config(2048))]
    #[test]
    fn structured_files(case in case(structured_file())) {
        check(&case);
    }
}

proptest! {
    #![proptest_config(config(1024))]
    #[test]
    fn bytes_biased_to_the_format(case in case(biased_bytes())) {
        check(&case);
    }
}

proptest! {
    #![proptest_config(config(256))]
    #[test]
    fn arbitrary_bytes_as_the_file(case in case(arbitrary_bytes())) {
        check(&case);
    }
}

/// What a case exercises, judged from its content alone (no change made).
fn labels(case: &Case) -> Vec<&'static str> {
    let user = case.user.split('@').next().unwrap();
    let lines = lines(&case.content);
    if has_dispute(&lines, user) {
        return vec!["line read differently by Exim and Dovecot"];
    }
    let entries = entries_for(&lines, user);
    let &[entry] = entries.as_slice() else {
        return vec![if entries.is_empty() {
            "no entry"
        } else {
            "several entries"
        }];
    };
    let (content, ending) = split_line_ending(lines[entry]);
    let mut fields = content.split(|&byte| byte == b':');
    let written = fields.next().unwrap();
    let hash = fields.next().unwrap_or_default();
    let unlocked = &hash[hash.iter().take_while(|&&byte| byte == b'!').count()..];
    let field_count = content.split(|&byte| byte == b':').count();
    let mut labels = vec![
        "one entry",
        match case.layout {
            Layout::Shadow => "shadow layout",
            Layout::PasswdFile => "passwd-file layout",
        },
        match ending {
            b"\r\n" => "CRLF",
            b"\n" => "LF",
            b"\r" => "lone CR at the end",
            _ => "no ending",
        },
        match field_count {
            1 => "no hash field",
            2 => "two fields",
            _ => "three fields or more",
        },
    ];
    let extra = [
        (hash.starts_with(b"!"), "locked"),
        (has_scheme(unlocked), "scheme prefix"),
        (written != user.as_bytes(), "name in another case"),
        (case.user.contains('@'), "full address"),
        (case.content.len() > BUFFER, "file over 64 KiB"),
    ];
    labels.extend(extra.iter().filter(|(yes, _)| *yes).map(|(_, label)| label));
    labels
}

/// The generators reach every kind of case often enough to matter: checked on
/// a fixed sample, so it cannot fail by chance.
#[test]
fn generators_reach_every_kind_of_case() {
    const SAMPLES: usize = 2000;
    let every_kind: &[&str] = &[
        "no entry",
        "several entries",
        "one entry",
        "shadow layout",
        "passwd-file layout",
        "CRLF",
        "LF",
        "lone CR at the end",
        "no ending",
        "no hash field",
        "two fields",
        "three fields or more",
        "locked",
        "scheme prefix",
        "name in another case",
        "full address",
        "file over 64 KiB",
        "line read differently by Exim and Dovecot",
    ];
    #[rustfmt::skip]
    let generators: [(&str, BoxedStrategy<Case>, &[&str]); 3] = [
        ("structured", case(structured_file()).boxed(), every_kind),
        ("biased", case(biased_bytes()).boxed(), &["no entry", "several entries", "one entry"]),
        ("arbitrary", case(arbitrary_bytes()).boxed(), &["no entry"]),
    ];
    let mut runner = TestRunner::deterministic();
    for (name, strategy, expected) in generators {
        let mut seen = BTreeMap::<&str, usize>::new();
        for _ in 0..SAMPLES {
            let case = strategy.new_tree(&mut runner).unwrap().current();
            for label in labels(&case) {
                *seen.entry(label).or_default() += 1;
            }
        }
        for label in expected {
            let count = seen.get(label).copied().unwrap_or_default();
            assert!(
                count >= SAMPLES / 100,
                "{name}: '{label}' in {count} of {SAMPLES} samples: {seen:?}"
            );
        }
    }
}

/// name, the change, what it returned, the file after it
type WrongCase<'a> = (
    &'a str,
    &'a common::Change<'a>,
    Result<(), passwdpop::Error>,
    Vec<u8>,
);

/// The invariants themselves reject each way a rewrite could go wrong, so a
/// passing property means something.
#[test]
fn the_invariants_reject_wrong_rewrites() {
    let fx = Fixture::new();
    fx.domain(DOMAIN, b"");
    let no_such = fx.config.change(DOMAIN, "bob", "pw").unwrap_err();
    fx.domain(DOMAIN, b"bob\nBob\n");
    let ambiguous = fx.config.change(DOMAIN, "bob", "pw").unwrap_err();

    let day = common::day_number();
    let hash = common::make_hash(b"pw", "rounds=1000$abcdefghijklmnop");
    let other_hash = common::make_hash(b"other", "rounds=1000$abcdefghijklmnop");
    let slow_hash = common::make_hash(b"pw", "rounds=5000$abcdefghijklmnop");
    let before: &[u8] = b"# c\nbob:!{PLAIN}x:19000:0:::::\r\nalice:a\n";
    let file = |line: &str| format!("# c\n{line}\r\nalice:a\n").into_bytes();
    let right = file(&format!("bob:!{{SHA512-CRYPT}}{hash}:{day}:0:::::"));
    let change = |before: &'static [u8], layout| common::Change {
        before,
        user: "bob",
        password: b"pw",
        layout,
        days: day..=day,
    };
    let shadow = change(before, Layout::Shadow);
    let passwd_file = change(before, Layout::PasswdFile);
    let absent = change(b"alice:a\n", Layout::Shadow);
    // A passwd-file line in the shadow layout: its uid is no day.
    let uid_line: &[u8] = b"bob:{SHA512-CRYPT}!x:5000:5000::/home/bob::\n";
    let uid_file = |line: &str| format!("{line}\n").into_bytes();
    let not_shadow = change(uid_line, Layout::Shadow);
    let long_line: &'static [u8] = [b"bob:x\nalice:".as_slice(), &[b'y'; 65_536], b"\n"]
        .concat()
        .leak();
    let too_long = change(long_line, Layout::Shadow);

    let outcome = common::assert_change_invariants(&shadow, &Ok(()), &right);
    assert_eq!(outcome, common::Outcome::Changed);
    let uid_right = uid_file(&format!(
        "bob:{{SHA512-CRYPT}}!{hash}:5000:5000::/home/bob::"
    ));
    let outcome = common::assert_change_invariants(&not_shadow, &Ok(()), &uid_right);
    assert_eq!(outcome, common::Outcome::Changed);
    #[rustfmt::skip]
    let wrong: Vec<WrongCase> = vec![
        ("lock lost", &shadow, Ok(()), file(&format!("bob:{{SHA512-CRYPT}}{hash}:{day}:0:::::"))),
        ("prefix lost", &shadow, Ok(()), file(&format!("bob:!{hash}:{day}:0:::::"))),
        ("day not set", &shadow, Ok(()), file(&format!("bob:!{{SHA512-CRYPT}}{hash}:19000:0:::::"))),
        ("day set in passwd-file", &passwd_file, Ok(()), right.clone()),
        ("field 4 changed", &shadow, Ok(()), file(&format!("bob:!{{SHA512-CRYPT}}{hash}:{day}:1:::::"))),
        ("field added", &shadow, Ok(()), file(&format!("bob:!{{SHA512-CRYPT}}{hash}:{day}:0::::::"))),
        ("name's case changed", &shadow, Ok(()), file(&format!("Bob:!{{SHA512-CRYPT}}{hash}:{day}:0:::::"))),
        ("another password", &shadow, Ok(()), file(&format!("bob:!{{SHA512-CRYPT}}{other_hash}:{day}:0:::::"))),
        ("other rounds", &shadow, Ok(()), file(&format!("bob:!{{SHA512-CRYPT}}{slow_hash}:{day}:0:::::"))),
        ("lock after the prefix lost", &not_shadow, Ok(()), uid_file(&format!("bob:{{SHA512-CRYPT}}{hash}:5000:5000::/home/bob::"))),
        ("uid taken for a day", &not_shadow, Ok(()), uid_file(&format!("bob:{{SHA512-CRYPT}}!{hash}:{day}:5000::/home/bob::"))),
        ("ending changed", &shadow, Ok(()), [&right[..right.len() - 10], b"\nalice:a\n"].concat()),
        ("other line changed", &shadow, Ok(()), [b"# C", &right[3..]].concat()),
        ("line dropped", &shadow, Ok(()), right[..right.len() - 8].to_vec()),
        ("nothing changed", &shadow, Ok(()), before.to_vec()),
        ("no such account, but there is", &shadow, Err(no_such.clone()), before.to_vec()),
        ("ambiguous, but one entry", &shadow, Err(ambiguous), before.to_vec()),
        ("failed but changed", &absent, Err(no_such.clone()), b"alice:b\n".to_vec()),
        ("a line over the limit, but changed", &too_long, Ok(()), long_line.to_vec()),
        ("a line over the limit, but no such account", &too_long, Err(no_such), long_line.to_vec()),
    ];
    for (name, change, result, after) in &wrong {
        let caught = std::panic::catch_unwind(|| {
            common::assert_change_invariants(change, result, after);
        });
        assert!(caught.is_err(), "{name}: accepted {}", after.escape_ascii());
    }
}
