//! Any bytes as a domain's shadow file, then one change through the public
//! API, checked against the invariants the property tests use
//! (`tests/common/mod.rs`): a clean "no entry" or "several entries" error
//! with every byte kept, or exactly the user's one entry changed, only in
//! its hash (and the shadow layout's last-change) field. Each run writes a
//! real file in a fresh temp dir; set `TMPDIR=/dev/shm` so that the
//! library's fsyncs cost nothing (see fuzz/README.md).
//!
//! Input: the first byte picks the user (bits 0-1) and the layout (bit 2);
//! the rest is the file.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use passwdpop::Layout;

/// A local part, the same in another case as a full address, a second
/// user, a name with the punctuation a user may hold, and names with `*`.
/// Names of letters only take the library's folded search (where `*` would
/// fold like a newline); the others its pair search on a newline and a
/// byte that is the same in every case.
const USERS: [&str; 6] = ["bob", "BOB@example.com", "alice", "b.o-b+1", "*", "a*b"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let user = USERS[usize::from(selector >> 3) % USERS.len()];
    let layout = if selector & 0b100 == 0 {
        Layout::Shadow
    } else {
        Layout::PasswdFile
    };
    let fx = common::Fixture::new();
    fx.change_and_check("example.com", content, user, b"fuzz pw", layout);
});
