use super::*;

const H: &str = "$6$rounds=5000$abcdefghijklmnop$NEW";
const DAY: u64 = 20000;

/// Runs a plan to the end, as the store does (again after an ambiguity).
fn run(plan: &mut Plan, input: &[u8]) -> (Pass, Vec<u8>) {
    loop {
        let mut output = Vec::new();
        match plan.run(input, &mut output).unwrap() {
            Pass::Again => continue,
            pass => return (pass, output),
        }
    }
}

fn one(layout: Layout, user: &str, op: Op, input: &[u8]) -> (Outcome, Pass, Vec<u8>) {
    let mut plan = Plan::new(layout, DAY);
    let target = plan.push(user, op);
    let (pass, output) = run(&mut plan, input);
    (plan.outcome(target), pass, output)
}

/// name, op, user, input, outcome, expected output (None: unchanged)
type Case = (
    &'static str,
    Op,
    &'static str,
    &'static [u8],
    Outcome,
    Option<&'static [u8]>,
);

#[test]
fn single_edits() {
    use Op::{Remove, Suspend, Unsuspend};
    use Outcome::{Done, Missing, NothingToUnsuspend, Several};
    let set = || Op::SetHash(H.to_owned());
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("suspend puts one ! in front", Suspend, "bob",
         b"alice:A:1\nbob:$6$x$y:1:0:99999:7:::\n", Done,
         Some(b"alice:A:1\nbob:!$6$x$y:1:0:99999:7:::\n")),
        ("suspend before the prefix", Suspend, "bob",
         b"bob:{SHA512-CRYPT}$6$x$y:1000:1000::/home::\n", Done,
         Some(b"bob:!{SHA512-CRYPT}$6$x$y:1000:1000::/home::\n")),
        ("suspend of a suspended entry changes nothing", Suspend, "bob",
         b"bob:!$6$x$y:1\n", Done, None),
        ("a ! after the prefix is a lock already", Suspend, "bob",
         b"bob:{SHA512-CRYPT}!$6$x$y\n", Done, None),
        ("suspend of an entry without hash field", Suspend, "bob",
         b"bob\n", Done, Some(b"bob:!\n")),
        ("suspend matches case-insensitively and keeps the name", Suspend, "BOB",
         b"Bob:$6$x$y\r\n", Done, Some(b"Bob:!$6$x$y\r\n")),
        ("unsuspend removes every leading !", Unsuspend, "bob",
         b"bob:!!$6$x$y:1:0\n", Done, Some(b"bob:$6$x$y:1:0\n")),
        ("unsuspend removes a ! after the prefix too", Unsuspend, "bob",
         b"bob:!{SHA512-CRYPT}!!$6$x$y\n", Done, Some(b"bob:{SHA512-CRYPT}$6$x$y\n")),
        ("unsuspend of an unlocked entry changes nothing", Unsuspend, "bob",
         b"bob:$6$x$y:1\n", Done, None),
        ("unsuspend of an unlocked entry without hash is nothing to do", Unsuspend, "bob",
         b"bob::1\n", Done, None),
        ("unsuspend never leaves an empty hash", Unsuspend, "bob",
         b"bob:!:1\n", NothingToUnsuspend, None),
        ("nor a bare prefix", Unsuspend, "bob",
         b"bob:{CRYPT}!\n", NothingToUnsuspend, None),
        ("a lock behind white space is a lock (Exim skips it)", Suspend, "bob",
         b"bob: !$6$x$y:1\n", Done, None),
        ("suspend of a plaintext password starting with !", Suspend, "bob",
         b"bob:{PLAIN}!x:1000\n", Done, Some(b"bob:!{PLAIN}!x:1000\n")),
        ("unsuspend keeps a plaintext password's !", Unsuspend, "bob",
         b"bob:!{PLAIN}!x\n", Done, Some(b"bob:{PLAIN}!x\n")),
        ("a plaintext password's ! is nothing to unsuspend", Unsuspend, "bob",
         b"bob:{CLEAR}!x\n", Done, None),
        ("unsuspend removes a lock behind white space", Unsuspend, "bob",
         b"bob: !$6$x$y:1\n", Done, Some(b"bob: $6$x$y:1\n")),
        ("unsuspend removes every lock among white space", Unsuspend, "bob",
         b"bob:! \t!{SHA512-CRYPT} !$6$x$y\n", Done, Some(b"bob: \t{SHA512-CRYPT} $6$x$y\n")),
        ("nor white space alone", Unsuspend, "bob",
         b"bob: ! :1\n", NothingToUnsuspend, None),
        ("remove drops the line", Remove, "bob",
         b"alice:A\nbob:B:1\ncarol:C\n", Done, Some(b"alice:A\ncarol:C\n")),
        ("remove drops the continuation lines", Remove, "bob",
         b"alice:A\nbob:B\n more\n\tdata\ncarol:C\n", Done, Some(b"alice:A\ncarol:C\n")),
        ("continuations after comments and blank lines are the entry's too", Remove, "bob",
         b"bob:B\n# note\n\n  \n cont\n  # still cont\ncarol:C\n", Done,
         Some(b"# note\n\n  \ncarol:C\n")),
        ("remove of the last line without newline", Remove, "bob",
         b"alice:A\nbob:B", Done, Some(b"alice:A\n")),
        ("remove of the only line leaves an empty file", Remove, "bob",
         b"bob:B\n", Done, Some(b"")),
        ("remove keeps CRLF elsewhere", Remove, "bob",
         b"alice:A\r\nbob:B\r\n cont\r\ncarol:C\r\n", Done, Some(b"alice:A\r\ncarol:C\r\n")),
        ("set hash", set(), "bob",
         b"bob:OLD:1:0:99999:7:::\n", Done,
         Some(b"bob:$6$rounds=5000$abcdefghijklmnop$NEW:20000:0:99999:7:::\n")),
        ("set hash keeps the lock", set(), "bob",
         b"bob:!OLD:1\n", Done, Some(b"bob:!$6$rounds=5000$abcdefghijklmnop$NEW:1\n")),
        ("set hash keeps a lock behind white space", set(), "bob",
         b"bob: !OLD:1\n", Done, Some(b"bob: !$6$rounds=5000$abcdefghijklmnop$NEW:1\n")),
        ("set hash on a plaintext password starting with ! locks nothing", set(), "bob",
         b"bob:{PLAIN}!x:1\n", Done, Some(b"bob:{SHA512-CRYPT}$6$rounds=5000$abcdefghijklmnop$NEW:1\n")),
        ("missing", Suspend, "dave", b"alice:A\n#dave:x\n dave:x\n", Missing, None),
        ("a longer name is another user", Remove, "bob", b"bobby:B\nbo:C\n", Missing, None),
        ("ambiguous", Remove, "bob", b"bob:A\nBOB:B\n", Several, None),
        ("empty file", Suspend, "bob", b"", Missing, None),
    ];
    for (name, op, user, input, outcome, expected) in cases {
        let (got, pass, output) = one(Layout::Shadow, user, op, input);
        assert_eq!(got, outcome, "{name}");
        match expected {
            Some(expected) => {
                assert_eq!(pass, Pass::Commit, "{name}");
                assert_eq!(
                    output.escape_ascii().to_string(),
                    expected.escape_ascii().to_string(),
                    "{name}"
                );
            }
            None => assert_eq!(pass, Pass::Unchanged, "{name}"),
        }
    }
}

#[test]
fn set_hash_prefix_follows_the_new_hash() {
    let cases: &[(&str, &[u8], &[u8])] = &[
        (
            "$6$s$d",
            b"bob:{PLAIN}x::\n",
            b"bob:{SHA512-CRYPT}$6$s$d::\n",
        ),
        (
            "$y$j9T$s$d",
            b"bob:{SHA512-CRYPT}$6$a$b::\n",
            b"bob:{CRYPT}$y$j9T$s$d::\n",
        ),
        (
            "$1$s$d",
            b"bob:!{MD5-CRYPT}$1$a$b\n",
            b"bob:!{CRYPT}$1$s$d\n",
        ),
        ("$1$s$d", b"bob:$6$a$b\n", b"bob:$1$s$d\n"),
    ];
    for (hash, input, expected) in cases {
        let (outcome, _, output) = one(
            Layout::PasswdFile,
            "bob",
            Op::SetHash(hash.to_string()),
            input,
        );
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(
            output.escape_ascii().to_string(),
            expected.escape_ascii().to_string(),
            "{hash}"
        );
    }
}

#[test]
fn add_appends_one_entry_in_the_files_conventions() {
    /// layout, input, user, expected output
    type AddCase = (Layout, &'static [u8], &'static str, &'static [u8]);
    #[rustfmt::skip]
    let cases: &[AddCase] = &[
        (Layout::Shadow, b"alice:A:1:0:99999:7:::\n", "Dave",
         b"alice:A:1:0:99999:7:::\ndave:$6$s$d:20000:0:99999:7:::\n"),
        (Layout::Shadow, b"", "dave", b"dave:$6$s$d:20000:0:99999:7:::\n"),
        (Layout::Shadow, b"alice:A", "dave", b"alice:A\ndave:$6$s$d:20000:0:99999:7:::\n"),
        (Layout::Shadow, b"alice:A\r\n", "dave", b"alice:A\r\ndave:$6$s$d:20000:0:99999:7:::\r\n"),
        (Layout::Shadow, b"alice:A\r\nbob:B", "dave", b"alice:A\r\nbob:B\r\ndave:$6$s$d:20000:0:99999:7:::\r\n"),
        (Layout::Shadow, b"alice:A\r", "dave", b"alice:A\r\ndave:$6$s$d:20000:0:99999:7:::\r\n"),
        (Layout::Shadow, b"# only a comment\n\n", "dave", b"# only a comment\n\ndave:$6$s$d:20000:0:99999:7:::\n"),
        (Layout::PasswdFile, b"alice:{SHA512-CRYPT}$6$a$b:5000:5000::/var/vmail/alice::\n", "dave",
         b"alice:{SHA512-CRYPT}$6$a$b:5000:5000::/var/vmail/alice::\ndave:{SHA512-CRYPT}$6$s$d::::::\n"),
        (Layout::PasswdFile, b"alice:!{SHA512-CRYPT}$6$a$b\n", "dave",
         b"alice:!{SHA512-CRYPT}$6$a$b\ndave:{SHA512-CRYPT}$6$s$d::::::\n"),
        (Layout::PasswdFile, b"# c\nalice:$6$a$b:5000\n", "dave",
         b"# c\nalice:$6$a$b:5000\ndave:$6$s$d::::::\n"),
        (Layout::PasswdFile, b"", "dave", b"dave:$6$s$d::::::\n"),
    ];
    for (layout, input, user, expected) in cases {
        let mut plan = Plan::new(*layout, DAY);
        let target = plan.add(user, "$6$s$d");
        let (pass, output) = run(&mut plan, input);
        assert_eq!((plan.outcome(target), pass), (Outcome::Done, Pass::Commit));
        assert_eq!(
            output.escape_ascii().to_string(),
            expected.escape_ascii().to_string(),
            "{}",
            input.escape_ascii()
        );
    }
    for input in [&b"DAVE:x\n"[..], b"alice:A\ndave", b"dave:1\ndave:2\n"] {
        let mut plan = Plan::new(Layout::Shadow, DAY);
        let target = plan.add("dave", "$6$s$d");
        assert_eq!(run(&mut plan, input).0, Pass::Unchanged);
        assert_eq!(plan.outcome(target), Outcome::Exists);
    }
}

#[test]
fn many_users_in_one_pass_the_last_edit_of_a_user_wins() {
    let input: &[u8] = b"# head\nalice:A:1\nbob:B:1\ncarol:C:1\nbob2:X:1\nBOB:dup:1\nerin:E:1\n";
    let mut plan = Plan::new(Layout::Shadow, DAY);
    let alice = plan.push("alice", Op::SetHash("$6$s$first".into()));
    let alice_again = plan.push("ALICE", Op::SetHash("$6$s$last".into()));
    let bob = plan.push("bob", Op::SetHash("$6$s$b".into()));
    let carol = plan.push("carol", Op::SetHash("$6$s$c".into()));
    let nobody = plan.push("nobody", Op::SetHash("$6$s$n".into()));
    let erin = plan.push("erin", Op::SetHash("$6$s$e".into()));
    assert_eq!(alice, alice_again);
    let mut first = Vec::new();
    assert_eq!(plan.run(input, &mut first).unwrap(), Pass::Again);
    let mut output = Vec::new();
    assert_eq!(plan.run(input, &mut output).unwrap(), Pass::Commit);
    assert_eq!(
        output.escape_ascii().to_string(),
        b"# head\nalice:$6$s$last:1\nbob:B:1\ncarol:$6$s$c:1\nbob2:X:1\nBOB:dup:1\nerin:$6$s$e:1\n"
            .escape_ascii()
            .to_string()
    );
    let outcomes: Vec<Outcome> = [alice, bob, carol, nobody, erin]
        .map(|target| plan.outcome(target))
        .to_vec();
    use Outcome::{Done, Missing, Several};
    assert_eq!(outcomes, [Done, Several, Done, Missing, Done]);
}

#[test]
fn a_pass_of_only_ambiguous_users_changes_nothing() {
    let mut plan = Plan::new(Layout::Shadow, DAY);
    let bob = plan.push("bob", Op::Remove);
    let mut output = Vec::new();
    assert_eq!(
        plan.run(&b"bob:1\nbob:2\n"[..], &mut output).unwrap(),
        Pass::Unchanged
    );
    assert_eq!(plan.outcome(bob), Outcome::Several);
}

#[test]
fn a_line_the_mail_servers_read_differently_makes_its_user_ambiguous() {
    // Exim's lsearch reads each of these as bob's entry, Dovecot's
    // passwd-file does not: no operation may edit it, and an addition must
    // not put a second bob next to it.
    for line in [
        &b"bob :x\n"[..],
        b"\"bob\":x\n",
        b"bob\t:x\n",
        b"bob smith:x\n",
    ] {
        for op in [Op::Suspend, Op::Remove, Op::SetHash(H.to_owned())] {
            let (outcome, pass, _) = one(Layout::Shadow, "bob", op.clone(), line);
            let shown = line.escape_ascii();
            assert_eq!(outcome, Outcome::Several, "{op:?} {shown}");
            assert_eq!(pass, Pass::Unchanged, "{op:?} {shown}");
        }
        let mut plan = Plan::new(Layout::Shadow, DAY);
        let bob = plan.add("bob", H);
        assert_eq!(plan.run(line, Vec::new()).unwrap(), Pass::Unchanged);
        assert_eq!(
            plan.outcome(bob),
            Outcome::Exists,
            "{}",
            line.escape_ascii()
        );
    }
}

#[test]
fn a_line_longer_than_the_limit_fails_the_pass_at_its_offset() {
    for (long, fails) in [
        (MAX_LINE - 1, false),
        (MAX_LINE, true),
        (3 * MAX_LINE, true),
    ] {
        let mut input = b"alice:A\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', long));
        input.extend_from_slice(b"\nbob:B\n");
        let mut plan = Plan::new(Layout::Shadow, DAY);
        plan.push("bob", Op::Remove);
        match plan.run(input.as_slice(), Vec::new()) {
            Ok(pass) => assert!(!fails && pass == Pass::Commit, "{long}"),
            Err(err) => {
                assert!(fails, "{long}: {err}");
                assert_eq!(err.kind(), io::ErrorKind::InvalidData);
                let too_long = err
                    .get_ref()
                    .unwrap()
                    .downcast_ref::<LineTooLong>()
                    .unwrap();
                assert_eq!(too_long.offset, 8, "{long}");
            }
        }
    }
}

/// A reader whose reads return at most `most` bytes, the first one interrupted.
struct Trickle<'a> {
    rest: &'a [u8],
    most: usize,
    interrupted: bool,
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
fn short_reads_change_nothing() {
    let input: &[u8] = b"# c\r\nalice:A:1\nbob:OLD:1:x\r\n\tbob:cont\nbobby:B\ncarol:C";
    for op in [Op::Remove, Op::Suspend, Op::SetHash(H.into())] {
        let (_, _, expected) = one(Layout::Shadow, "bob", op.clone(), input);
        for most in [1, 2, 7, input.len()] {
            let mut plan = Plan::new(Layout::Shadow, DAY);
            plan.push("bob", op.clone());
            let reader = Trickle {
                rest: input,
                most,
                interrupted: false,
            };
            let mut output = Vec::new();
            assert_eq!(plan.run(reader, &mut output).unwrap(), Pass::Commit);
            assert_eq!(output, expected, "{op:?} in reads of {most}");
        }
    }
}

#[test]
fn agrees_with_a_single_change_on_random_files() {
    // Every file a single change can rewrite, a one-entry plan rewrites to
    // the same bytes, and both refuse the same files.
    const ALPHABET: &[u8] = b"aA1*:\n\n\r# \tb!{}x\"\0\x0b";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        for user in ["a", "A*", "ab", "a1"] {
            let replacement = Replacement {
                hash: H,
                layout: Layout::Shadow,
                day: DAY,
            };
            let mut single = Vec::new();
            let single_outcome =
                shadow::rewrite_entry(input.as_slice(), &mut single, user, &replacement);
            let (outcome, pass, output) = one(Layout::Shadow, user, Op::SetHash(H.into()), &input);
            // A line the mail servers read differently (an error of the
            // single change) makes the user ambiguous in a plan.
            let expected = match single_outcome.map(|(matches, _)| matches) {
                Ok(shadow::Matches::One) => Outcome::Done,
                Ok(shadow::Matches::None) => Outcome::Missing,
                Ok(shadow::Matches::Several) => Outcome::Several,
                Err(err) => {
                    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
                    Outcome::Several
                }
            };
            assert_eq!(outcome, expected, "{user} in {}", input.escape_ascii());
            if outcome == Outcome::Done {
                assert_eq!(pass, Pass::Commit);
                assert_eq!(output, single, "{user} in {}", input.escape_ascii());
            }
        }
    }
}
