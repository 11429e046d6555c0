//! The library and the `passwdpop` command run inside other people's
//! processes and from root shells: they must never link an async runtime.
//! Only this package (the daemon) may.

use std::process::Command;

const RUNTIMES: [&str; 6] = ["tokio", "async-std", "smol", "hyper", "rustls", "mio"];

#[test]
fn the_library_and_its_command_link_no_async_runtime() {
    for features in ["--no-default-features", "--all-features"] {
        let out = Command::new(env!("CARGO"))
            .args([
                "tree",
                "--offline",
                "-p",
                "passwdpop",
                "-e",
                "normal",
                "--prefix",
                "none",
                features,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8(out.stdout).unwrap();
        assert!(tree.starts_with("passwdpop v"), "{tree}");
        // The default features build the command (clap, nix...): the check
        // must see a real tree, not an empty one.
        if features == "--all-features" {
            assert!(tree.lines().any(|line| line.starts_with("clap ")), "{tree}");
        }
        for runtime in RUNTIMES {
            let prefix = format!("{runtime} v");
            assert!(
                !tree.lines().any(|line| line.starts_with(&prefix)),
                "{features}: passwdpop depends on {runtime}:\n{tree}"
            );
        }
    }
    // And the check can fail: the daemon's own tree has tokio.
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "passwdpopd",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|line| line.starts_with("tokio v")));
}
