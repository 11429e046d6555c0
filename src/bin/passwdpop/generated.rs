//! The files generated from the command line's clap definitions, so that
//! they never disagree with `--help`: the man page `man/passwdpop.1` and the
//! shell completions in `completions/`. They are checked in (a build needs
//! neither clap_mangen nor clap_complete); each test regenerates one and
//! fails when the checked-in copy differs. Regenerate them all with
//! `PASSWDPOP_BLESS_MAN=1 cargo test --bin passwdpop generated`.

use std::path::Path;

use clap::{ArgAction, Command, CommandFactory};
use clap_complete::Shell;

const REGENERATE: &str = "PASSWDPOP_BLESS_MAN=1 cargo test --bin passwdpop generated";

fn command() -> Command {
    let mut command = crate::args::Cli::command();
    command.build();
    command
}

/// Compares `generated` with the checked-in file (rewriting it first when
/// blessing), so a stale file fails the test with the command that fixes it.
fn check_file(relative: &str, generated: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("PASSWDPOP_BLESS_MAN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{relative} is stale; run {REGENERATE}"
    );
}

/// The man page's FILES section: each path and what it is. The names in
/// the domain directory come from the library.
fn files() -> Vec<(String, &'static str)> {
    let domain = "/etc/vmail/DOMAIN";
    vec![
        (
            format!("{domain}/"),
            "The domain directory: a change holds an exclusive flock(2) on it, \
             which a shell script can take too with flock(1).",
        ),
        (
            format!("{domain}/{}", passwdpop::SHADOW_NAME),
            "The password file of DOMAIN, as Exim and Dovecot read it. Instead of \
             /etc/vmail: the --root directory, the etc directory in NAME's home \
             with --user, or $PASSWDPOP_ROOT.",
        ),
        (
            format!("{domain}/shadow.lock"),
            "The lock file of shadow-utils and cPanel, holding the writer's PID; \
             it exists only while a change is written.",
        ),
        (
            format!("{domain}/{}*", passwdpop::TEMP_PREFIX),
            "Temporary files of a change: the new file before it is renamed over \
             the old one, and those of the lock. A killed writer's leftovers are \
             removed by the next change.",
        ),
        (
            "/usr/share/doc/libpasswdpop0/README.md.gz".to_owned(),
            "The README, with the Exim and Dovecot configuration; RELIABILITY.md.gz \
             and BENCHMARKS.md.gz are next to it. After make install: \
             PREFIX/share/doc/passwdpop/README.md.",
        ),
    ]
}

/// Related manual pages, in the order of the man page's SEE ALSO section.
const SEE_ALSO: &[(&str, u8)] = &[
    ("passwdpopd", 8),
    ("shadow", 5),
    ("crypt", 5),
    ("crypt", 3),
    ("mkpasswd", 1),
    ("passwd", 1),
    ("chpasswd", 8),
    ("doveadm-pw", 1),
    ("dovecot", 1),
    ("exim", 8),
];

/// Text as roff prints it: backslashes and minus signs escaped, the
/// apostrophe through clap_mangen's `Aq` string, no line read as a request.
fn roff_text(text: &str) -> String {
    let escaped = text
        .replace('\\', r"\e")
        .replace('-', r"\-")
        .replace('\'', r"\*(Aq");
    if escaped.starts_with('.') {
        format!(r"\&{escaped}")
    } else {
        escaped
    }
}

/// A `.SH` line; a heading of more than one word is quoted.
fn section(heading: &str) -> String {
    if heading.contains(' ') {
        format!(".SH \"{heading}\"\n")
    } else {
        format!(".SH {heading}\n")
    }
}

/// SYNOPSIS with every option's argument (`[--root DIR]`), which
/// clap_mangen's own synopsis leaves out. `.SY`/`.OP` keep each option on
/// one line when the synopsis wraps.
fn synopsis(command: &Command) -> String {
    let mut roff = format!(".SH SYNOPSIS\n.SY {}\n", command.get_name());
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        if arg.is_positional() {
            continue;
        }
        let mut flags = Vec::new();
        if let Some(short) = arg.get_short() {
            flags.push(format!("-{short}"));
        }
        if let Some(long) = arg.get_long() {
            flags.push(format!("--{long}"));
        }
        let flags = roff_text(&flags.join("|"));
        let takes_value = arg.get_num_args().is_some_and(|range| range.takes_values())
            && !matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::Help);
        if !takes_value {
            roff.push_str(&format!(".OP {flags}\n"));
            continue;
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|value| !value.is_hide_set())
            .map(|value| value.get_name().to_owned())
            .collect();
        let value = if possible.is_empty() {
            arg.get_value_names()
                .map(|names| names.join(" "))
                .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
        } else {
            possible.join("|")
        };
        roff.push_str(&format!(".OP {flags} {}\n", roff_text(&value)));
    }
    for arg in command.get_positionals().filter(|arg| !arg.is_hide_set()) {
        let name = arg
            .get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let repeated = arg
            .get_num_args()
            .is_some_and(|range| range.max_values() > 1);
        roff.push_str(&format!(
            "[\\fI{}\\fR{}]\n",
            roff_text(&name),
            if repeated { " .\\|.\\|." } else { "" }
        ));
    }
    roff.push_str(".YS\n");
    roff
}

/// The help's trailing text, split into its paragraphs: prose, which joins
/// the DESCRIPTION, and `Heading:` paragraphs of indented lines, which become
/// sections of their own (EXAMPLES, EXIT STATUS, ENVIRONMENT). A paragraph
/// whose lines are `TERM  text` pairs is a list; any other is shown as is.
fn after_help(command: &Command) -> (String, String) {
    let text = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|text| text.to_string())
        .unwrap_or_default();
    let (mut description, mut sections) = (String::new(), String::new());
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut lines = paragraph.lines();
        let first = lines.next().unwrap_or_default();
        let body: Vec<&str> = lines.collect();
        let is_heading = first.ends_with(':')
            && !first.starts_with(' ')
            && !body.is_empty()
            && body.iter().all(|line| line.starts_with(' '));
        if !is_heading {
            description.push_str(".PP\n");
            for line in paragraph.lines() {
                description.push_str(&roff_text(line.trim()));
                description.push('\n');
            }
            continue;
        }
        let heading = first.trim_end_matches(':').to_uppercase();
        sections.push_str(&section(&heading));
        match list_items(&body) {
            Some(items) => {
                // One line per item, as in a table, not a paragraph each.
                sections.push_str(".PD 0\n");
                for (term, text) in items {
                    sections.push_str(&format!(
                        ".TP\n\\fB{}\\fR\n{}\n",
                        roff_text(&term),
                        roff_text(&text)
                    ));
                }
                sections.push_str(".PD\n");
            }
            None => {
                let indent = body.iter().map(|l| l.len() - l.trim_start().len()).min();
                sections.push_str(".PP\n.RS 4\n.nf\n");
                for line in &body {
                    sections.push_str(&roff_text(&line[indent.unwrap_or(0)..]));
                    sections.push('\n');
                }
                sections.push_str(".fi\n.RE\n");
            }
        }
    }
    (description, sections)
}

/// `TERM  text` lines (two or more spaces after the term), where a deeper
/// indented line continues the text above it; None if any line is neither.
fn list_items(body: &[&str]) -> Option<Vec<(String, String)>> {
    let indent = body.iter().map(|l| l.len() - l.trim_start().len()).min()?;
    let mut items: Vec<(String, String)> = Vec::new();
    for line in body {
        let depth = line.len() - line.trim_start().len();
        let content = line.trim();
        if depth > indent {
            let (_, text) = items.last_mut()?;
            text.push(' ');
            text.push_str(content);
            continue;
        }
        let (term, text) = content.split_once("  ")?;
        items.push((term.to_owned(), text.trim().to_owned()));
    }
    Some(items)
}

fn files_and_see_also() -> String {
    let mut roff = String::from(".SH FILES\n");
    for (path, text) in files() {
        roff.push_str(&format!(
            ".TP\n\\fI{}\\fR\n{}\n",
            roff_text(&path),
            roff_text(text)
        ));
    }
    roff.push_str(&section("SEE ALSO"));
    let pages: Vec<String> = SEE_ALSO
        .iter()
        .map(|(name, section)| format!(".BR {} ({})", roff_text(name), section))
        .collect();
    roff.push_str(&pages.join(",\n"));
    roff.push('\n');
    roff
}

/// clap_mangen's page, section by section, with our SYNOPSIS, the help's
/// trailing text as proper sections instead of one unfilled EXTRA, and
/// FILES and SEE ALSO added. The version is in the title line already.
fn man_page() -> String {
    let command = command();
    let mut rendered = Vec::new();
    clap_mangen::Man::new(command.clone())
        .date("")
        .render(&mut rendered)
        .unwrap();
    let rendered = String::from_utf8(rendered).unwrap();
    let (extra_description, extra_sections) = after_help(&command);
    let mut page = String::new();
    // Each chunk after the first starts with its `.SH` line's heading.
    for (i, chunk) in rendered.split("\n.SH ").enumerate() {
        let heading = chunk.lines().next().unwrap_or_default();
        match (i, heading) {
            (0, _) => page.push_str(chunk),
            (_, "SYNOPSIS") => page.push_str(&synopsis(&command)),
            (_, "DESCRIPTION") => {
                page.push_str(&format!(".SH {chunk}\n"));
                page.push_str(&extra_description);
            }
            (_, "EXTRA") => page.push_str(&extra_sections),
            (_, "VERSION") => {}
            _ => page.push_str(&format!(".SH {chunk}\n")),
        }
        if i == 0 {
            page.push('\n');
        }
    }
    page.push_str(&files_and_see_also());
    page
}

#[test]
fn man_page_is_up_to_date() {
    check_file("man/passwdpop.1", man_page().as_bytes());
}

#[test]
fn man_page_has_the_sections_a_reader_looks_for() {
    let page = man_page();
    let headings: Vec<&str> = page
        .lines()
        .filter_map(|line| line.strip_prefix(".SH "))
        .collect();
    for wanted in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "FILES",
        "\"SEE ALSO\"",
    ] {
        assert!(headings.contains(&wanted), "no {wanted} in {headings:?}");
    }
    assert_eq!(headings.last(), Some(&"\"SEE ALSO\""));
}

#[test]
fn synopsis_shows_each_options_argument() {
    let command = command();
    let synopsis = synopsis(&command);
    // Every option that takes a value shows it; flags show none.
    let cases: &[(&str, &str)] = &[
        (r"\-\-domain", r".OP \-\-domain DOMAIN"),
        (r"\-\-root", r".OP \-\-root DIR"),
        (r"\-\-rounds", r".OP \-\-rounds N"),
        (r"\-\-layout", r".OP \-\-layout shadow|passwd\-file"),
        (r"\-\-verify", r".OP \-\-verify"),
    ];
    for (option, line) in cases {
        let found = synopsis
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(option))
            .unwrap_or_else(|| panic!("{option} missing from\n{synopsis}"));
        assert_eq!(found, *line);
    }
    for arg in command.get_arguments().filter(|arg| !arg.is_positional()) {
        let long = arg.get_long().unwrap();
        assert!(
            synopsis.contains(&format!(r"\-\-{}", long.replace('-', r"\-"))),
            "--{long} missing from\n{synopsis}"
        );
    }
    assert!(synopsis.contains(r"[\fIWORDS\fR .\|.\|.]"), "{synopsis}");
}

#[test]
fn after_help_paragraphs_become_lists_or_verbatim_text() {
    let command = Command::new("t").after_help(
        "Prose on\ntwo lines.\n\nExit status:\n  0   fine\n  13  broken,\n      badly\n\n\
         Examples:\n  t --a  x\n  t -b",
    );
    let (description, sections) = after_help(&command);
    assert_eq!(description, ".PP\nProse on\ntwo lines.\n");
    assert_eq!(
        sections,
        ".SH \"EXIT STATUS\"\n.PD 0\n.TP\n\\fB0\\fR\nfine\n.TP\n\\fB13\\fR\nbroken, badly\n.PD\n\
         .SH EXAMPLES\n.PP\n.RS 4\n.nf\nt \\-\\-a  x\nt \\-b\n.fi\n.RE\n"
    );
}

#[test]
fn roff_text_cannot_start_a_request() {
    let cases = [
        ("plain", "plain"),
        ("--root", r"\-\-root"),
        (r"a\b", r"a\eb"),
        ("NAME's", r"NAME\*(Aqs"),
        (".SH x", r"\&.SH x"),
    ];
    for (input, expected) in cases {
        assert_eq!(roff_text(input), expected, "{input}");
    }
}

/// Where each shell's completion file lives in the source tree.
const COMPLETIONS: &[(Shell, &str)] = &[
    (Shell::Bash, "completions/passwdpop.bash"),
    (Shell::Zsh, "completions/_passwdpop"),
    (Shell::Fish, "completions/passwdpop.fish"),
];

fn completion(shell: Shell) -> Vec<u8> {
    let mut command = command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "passwdpop", &mut script);
    script
}

#[test]
fn completions_are_up_to_date() {
    for (shell, path) in COMPLETIONS {
        check_file(path, &completion(*shell));
    }
}

#[test]
fn completions_offer_every_option() {
    let command = command();
    for (shell, _) in COMPLETIONS {
        let script = String::from_utf8(completion(*shell)).unwrap();
        for arg in command.get_arguments().filter(|arg| !arg.is_positional()) {
            let long = arg.get_long().unwrap();
            // fish names the option without its dashes (`-l root`).
            let needle = match shell {
                Shell::Fish => format!("-l {long}"),
                _ => format!("--{long}"),
            };
            assert!(script.contains(&needle), "{shell}: no {needle}");
        }
        for layout in ["shadow", "passwd-file"] {
            assert!(script.contains(layout), "{shell}: no layout {layout}");
        }
    }
}
