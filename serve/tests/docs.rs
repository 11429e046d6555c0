//! The man page documents every flag the daemon has.

use std::process::Command;

#[test]
fn the_man_page_names_every_flag_and_subcommand() {
    let out = Command::new(env!("CARGO_BIN_EXE_passwdpopd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/passwdpopd.8")).unwrap();
    let mut flags: Vec<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .collect();
    flags.sort();
    flags.dedup();
    assert!(flags.len() > 15, "{flags:?}");
    for flag in flags {
        if flag == "--help" || flag == "--version" {
            continue;
        }
        // roff writes a '-' in a flag as '\-'.
        let in_roff = flag.replace('-', "\\-");
        assert!(
            man.contains(&in_roff),
            "passwdpopd.8 does not document {flag}"
        );
    }
    for subcommand in ["token add", "token remove", "token list"] {
        assert!(man.contains(subcommand), "{subcommand}");
    }
}
