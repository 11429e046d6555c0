//! Any bytes as a domain's shadow file, then one remove, suspend or
//! unsuspend through the public API, checked against the plain reading of
//! the rules (`tests/common/model.rs`): exactly the model's bytes, or the
//! model's refusal with every byte kept. Each run writes a real file in a
//! fresh temp dir; set `TMPDIR=/dev/shm` (see fuzz/README.md).
//!
//! Input: the first byte picks the operation (bits 0-1) and the user (the
//! bits above); the rest is the file.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use common::model::{check, ModelOp};
use libfuzzer_sys::fuzz_target;

const USERS: [&str; 5] = ["bob", "BOB@example.com", "alice", "b.o-b+1", "*"];
const OPS: [ModelOp; 3] = [ModelOp::Remove, ModelOp::Suspend, ModelOp::Unsuspend];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let op = OPS[usize::from(selector & 0b11) % OPS.len()];
    let user = USERS[usize::from(selector >> 2) % USERS.len()];
    let fx = common::Fixture::new();
    fx.domain("example.com", content);
    let result = match op {
        ModelOp::Remove => fx.config.remove("example.com", user),
        ModelOp::Suspend => fx.config.suspend("example.com", user),
        ModelOp::Unsuspend => fx.config.unsuspend("example.com", user),
    };
    let local = user.split('@').next().unwrap();
    check(content, local, op, &result, &fx.read("example.com"));
    assert!(fx.extra_files("example.com").is_empty());
});
