//! The README's configuration blocks, taken out of README.md so that what the
//! documentation shows is what the tests run.

use std::path::Path;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

/// The root the README's blocks name; the tests replace it and nothing else.
pub const DOCUMENTED_ROOT: &str = "/etc/vmail";

/// The fenced block on the line after `<!-- interop-test: NAME -->`, verbatim.
pub fn block(name: &str) -> String {
    let marker = format!("<!-- interop-test: {name} -->");
    assert_eq!(
        README.matches(&marker).count(),
        1,
        "README.md must hold {marker} exactly once"
    );
    let mut lines = README.lines().skip_while(|line| line.trim() != marker);
    lines.next();
    let fence = lines.next().unwrap_or_default();
    assert!(
        fence.starts_with("```"),
        "{marker} must be followed by a fenced block, not {fence:?}"
    );
    let body: Vec<&str> = lines.take_while(|line| !line.starts_with("```")).collect();
    body.join("\n") + "\n"
}

/// [`block`] with the documented root replaced by `root`.
pub fn block_with_root(name: &str, root: &Path) -> String {
    let text = block(name);
    assert!(
        text.contains(DOCUMENTED_ROOT),
        "the {name} block no longer names {DOCUMENTED_ROOT}: update the tests"
    );
    text.replace(DOCUMENTED_ROOT, root.to_str().unwrap())
}
