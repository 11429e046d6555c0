//! Property tests of remove, suspend and unsuspend on real files: for any
//! file, the library does what the plain reading of the rules
//! (`common::model`) says, or refuses and changes nothing.

mod common;

use common::model::{check, ModelOp};
use common::Fixture;
use proptest::prelude::*;

const DOMAIN: &str = "example.com";

/// Lines that are entries for the users asked about in every case, near
/// misses, continuations (which belong to the entry above them), comments
/// and blank lines, and hash fields locked in every way.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let names: &[&[u8]] = &[b"bob", b"Bob", b"BOB", b"alice", b"bobby", b"bo", b"b.o-b"];
    let hashes: &[&[u8]] = &[
        b"",
        b":",
        b":!",
        b":!!$6$x$y",
        b":$6$x$y:19000:0:99999:7:::",
        b":{SHA512-CRYPT}$6$x$y::",
        b":!{SHA512-CRYPT}$6$x$y",
        b":{SHA512-CRYPT}!$6$x$y",
        b":{CRYPT}!",
        b": !$6$x$y",
        b":\t! !{sha512-crypt} !$6$x$y",
        b": ",
        b":{PLAIN}!x",
        b":!{CLEAR}!!x",
        b":{SSHA}!abc=",
        b":{}x",
        b":*",
    ];
    let others: &[&[u8]] = &[
        b" continued",
        b"\tbob:x",
        b"  ",
        b"",
        b"# bob:x",
        b" # still data",
        b"\x0bvt",
    ];
    prop_oneof![
        4 => (prop::sample::select(names), prop::sample::select(hashes))
            .prop_map(|(name, hash)| [name, hash].concat()),
        2 => prop::sample::select(others).prop_map(<[u8]>::to_vec),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    let endings: &[&[u8]] = &[b"\n", b"\r\n"];
    let last: &[&[u8]] = &[b"\n", b"\r\n", b"", b"\r"];
    (
        proptest::collection::vec((line(), prop::sample::select(endings)), 0..8),
        prop::sample::select(last),
    )
        .prop_map(|(lines, last)| {
            let mut file = Vec::new();
            let count = lines.len();
            for (index, (line, ending)) in lines.into_iter().enumerate() {
                file.extend(line);
                file.extend_from_slice(if index + 1 == count { last } else { ending });
            }
            file
        })
}

fn op() -> impl Strategy<Value = ModelOp> {
    prop_oneof![
        Just(ModelOp::Remove),
        Just(ModelOp::Suspend),
        Just(ModelOp::Unsuspend)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn operations_do_what_the_plain_rules_say(
        content in file(),
        user in prop::sample::select(&["bob", "BOB", "alice"][..]),
        op in op(),
    ) {
        let fx = Fixture::new();
        fx.domain(DOMAIN, &content);
        let result = match op {
            ModelOp::Remove => fx.config.remove(DOMAIN, user),
            ModelOp::Suspend => fx.config.suspend(DOMAIN, user),
            ModelOp::Unsuspend => fx.config.unsuspend(DOMAIN, user),
        };
        check(&content, user, op, &result, &fx.read(DOMAIN));
        prop_assert!(fx.extra_files(DOMAIN).is_empty());
    }
}

/// The model itself catches wrong rewrites: a test that cannot fail proves nothing.
#[test]
fn the_model_rejects_wrong_results() {
    let before = b"bob:$6$x$y:1\n cont\nalice:a\n";
    let wrong: &[(ModelOp, &[u8])] = &[
        (ModelOp::Remove, b" cont\nalice:a\n"),
        (ModelOp::Remove, b"alice:a"),
        (ModelOp::Suspend, b"bob:$6$x$y!:1\n cont\nalice:a\n"),
        (ModelOp::Suspend, b"bob:!!$6$x$y:1\n cont\nalice:a\n"),
        (ModelOp::Unsuspend, b"bob:$6$x$:1\n cont\nalice:a\n"),
    ];
    for (op, after) in wrong {
        let caught = std::panic::catch_unwind(|| check(before, "bob", *op, &Ok(()), after));
        assert!(caught.is_err(), "{op:?} {}", after.escape_ascii());
    }
    check(before, "bob", ModelOp::Remove, &Ok(()), b"alice:a\n");
    check(
        before,
        "bob",
        ModelOp::Suspend,
        &Ok(()),
        b"bob:!$6$x$y:1\n cont\nalice:a\n",
    );
    // Exim reads the continuation into a last-field hash: a removal, which
    // takes both lines away, may go on.
    check(b"bob:$6$x$y\n cont\n", "bob", ModelOp::Remove, &Ok(()), b"");
}
