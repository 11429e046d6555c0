//! The command line: clap's flags, plus cpapi2's `key=value` words.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use clap::{Parser, ValueEnum, ValueHint};
use passwdpop::{Config, Layout, Status, UserEtc};
use zeroize::Zeroizing;

use crate::report::{Failure, Output};

const AFTER_HELP: &str = "\
The password is read from standard input (its first line; a trailing LF or
CRLF is dropped), or with --password-fd from an inherited file descriptor.
On a terminal you are asked twice, without echo. A password given on the
command line (password=...) works, as it does for cpapi2, but any user can
read it with ps: avoid it.

Examples:
  echo 'n3w-Secret!' | passwdpop --domain example.com --email sales
  passwdpop --domain example.com --email sales@example.com --password-fd 3 3<pwfile
  passwdpop Email passwdpop domain=example.com email=sales password=12345luggage
  passwdpop --user=bob --output json Email passwdpop domain=example.com email=sales < pwfile
  echo 'guess' | passwdpop --verify --domain example.com --email sales
  echo 'Initial-pw1' | passwdpop --add --email newhire@example.com
  passwdpop --suspend --email leaver@example.com
  passwdpop Email delpop domain=example.com email=leaver
  printf 'alice@example.com:pw1\nbob@example.org:pw2\n' | passwdpop --batch
  passwdpop --batch --encrypted --domain example.com < user-colon-hash-lines

Exit status:
  0   success (password changed; with --verify, it matches)
  2   invalid domain
  3   invalid user
  4   invalid password (an empty line, over 511 bytes, or the two entries differ)
  5   invalid configuration (--root, --user, --rounds, PASSWDPOP_ROOT; or the
      command was installed setuid or setgid, which it refuses)
  6   no such domain (directory or shadow file missing)
  7   no such account
  8   ambiguous account (more than one entry)
  9   unsafe path (symlink, not a regular file, hard-linked, world-writable)
  10  timed out waiting for the lock
  11  input/output error (also: the password could not be read, as from a
      closed or empty input that holds no line at all)
  12  password does not match (--verify)
  13  internal error
  14  invalid hash (--set-hash, --batch --encrypted)
  15  the account already exists (--add, Email addpop)
  64  usage error

--batch reads chpasswd(8) lines: user@domain:password (user:password with
--domain), the password being everything after the first ':'; one trailing
CR is dropped and blank lines are skipped. A failed line is reported on
standard error as 'line N: user@domain: message'; the others still apply.
The exit status is that of the first failed line, 0 when all applied.
A batch takes at most 4096 bytes a line, 200000 lines and 64 MiB in all;
past a limit the whole batch is refused (exit 11) and nothing changes.

Environment:
  PASSWDPOP_ROOT  root directory when neither --root nor --user is given
                  (default /etc/vmail)";

/// The flags; `words` holds cpapi2's `Email passwdpop key=value ...`.
#[derive(Debug, Parser)]
#[command(
    name = "passwdpop",
    version,
    about = "Change (or verify) the password of a virtual mail account in <root>/<domain>/shadow",
    after_help = AFTER_HELP,
    args_override_self = true
)]
pub struct Cli {
    /// The account's domain (taken literally, not percent-decoded)
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<OsString>,

    /// The account: local part or full address (taken literally); a full address also gives the domain
    #[arg(long, value_name = "USER")]
    email: Option<OsString>,

    /// Read the password from this inherited file descriptor (its first line)
    #[arg(long, value_name = "N")]
    password_fd: Option<u32>,

    /// Take all of standard input as the password, line endings included
    #[arg(long, conflicts_with = "password_fd")]
    password_stdin_raw: bool,

    /// Check the password instead of changing it (exit 0 on a match)
    #[arg(long, group = "operation")]
    verify: bool,

    /// Add the account (password read as for a change); exit 15 if it exists
    #[arg(long, group = "operation")]
    add: bool,

    /// Remove the account's entry and its continuation lines
    #[arg(long, group = "operation")]
    remove: bool,

    /// Lock the account: '!' in front of its hash, which is kept
    #[arg(long, group = "operation")]
    suspend: bool,

    /// Unlock the account: the old password works again
    #[arg(long, group = "operation")]
    unsuspend: bool,

    /// Store a crypt(3) hash, read like a password, as the account's hash
    #[arg(long, group = "operation")]
    set_hash: bool,

    /// Change many passwords: chpasswd(8) lines user@domain:password on standard input
    #[arg(long, group = "operation")]
    batch: bool,

    /// With --batch: the lines hold crypt(3) hashes, not passwords (as chpasswd -e)
    #[arg(long, short = 'e', requires = "batch")]
    encrypted: bool,

    /// Directory holding one directory per domain [default: $PASSWDPOP_ROOT or /etc/vmail]
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    root: Option<PathBuf>,

    /// cPanel layout: the root is the etc directory in NAME's home (as cpapi2 --user), never a symlink nor writable by others
    #[arg(long, value_name = "NAME", conflicts_with = "root", value_hint = ValueHint::Username)]
    user: Option<OsString>,

    /// SHA512-crypt rounds, 1000 to 999999999
    #[arg(long, value_name = "N", default_value_t = passwdpop::DEFAULT_ROUNDS)]
    rounds: u32,

    /// Line layout of the shadow file
    #[arg(long, value_enum, default_value_t = LayoutArg::Shadow)]
    layout: LayoutArg,

    /// Longest wait for other writers, in milliseconds (0: try once)
    #[arg(long, value_name = "MS", default_value_t = passwdpop::DEFAULT_LOCK_TIMEOUT_MS)]
    lock_timeout: u32,

    /// Return once the file is replaced, without waiting (up to 1 s) until Dovecot sees the change
    #[arg(long)]
    no_wait_visible: bool,

    /// Output format; json prints cPanel API 2's result object
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// cpapi2-style words: [Email passwdpop|addpop|delpop] domain=DOMAIN email=USER [password=PASSWORD]
    #[arg(value_name = "WORDS")]
    words: Vec<OsString>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    /// user:hash:lastchange:min:max:warn:inactive:expire: (as cPanel writes it)
    Shadow,
    /// Dovecot passwd-file: user:hash:uid:gid:gecos:home:shell:extra_fields
    PasswdFile,
}

/// Where the password comes from.
#[derive(Debug)]
pub enum PasswordSource {
    /// From a `password=` word (percent-decoded).
    Argument(Zeroizing<Vec<u8>>),
    /// From standard input: its first line, or all of it when `raw`.
    Stdin { raw: bool },
    /// The first line read from an inherited descriptor.
    Fd(u32),
}

/// What a run does besides changing or verifying one password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Add,
    Remove,
    Suspend,
    Unsuspend,
    SetHash,
    /// chpasswd(8) lines from standard input; hashes with `encrypted`.
    Batch {
        encrypted: bool,
    },
}

impl Operation {
    /// Whether it reads a password (or hash) for the account.
    pub fn reads_secret(self) -> bool {
        matches!(self, Operation::Add | Operation::SetHash)
    }
}

/// Everything a run needs, parsed and checked.
#[derive(Debug)]
pub struct Request {
    /// For a batch, the domain of bare user names, empty when not given.
    pub domain: Vec<u8>,
    /// Empty for a batch.
    pub email: Vec<u8>,
    pub password: PasswordSource,
    pub verify: bool,
    pub operation: Option<Operation>,
    pub config: Config,
    pub output: Output,
}

/// Whether the raw arguments ask for JSON, for reporting a usage error in the
/// format the caller expects even when the arguments do not parse.
pub fn wants_json(args: &[OsString]) -> bool {
    let mut previous_was_output = false;
    let mut json = false;
    for arg in args.iter().skip(1) {
        let arg = arg.as_bytes();
        if previous_was_output {
            json = arg == b"json";
        } else if let Some(value) = arg.strip_prefix(b"--output=") {
            json = value == b"json";
        }
        previous_was_output = arg == b"--output";
    }
    json
}

/// The marker of cpapi2's password word. An argument holding it anywhere is
/// taken to hold a password, wherever it stands.
const PASSWORD_WORD: &[u8] = b"password=";

/// Whether any argument may hold a password: one with `password=` in it, or
/// a value given to `--password-fd` that is not a number, or a value glued
/// to `--password-stdin-raw` (which takes none).
pub fn holds_password(args: &[OsString]) -> bool {
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    args.iter().enumerate().any(|(index, arg)| {
        let numeric = |value: &[u8]| value.iter().all(u8::is_ascii_digit);
        contains(arg, PASSWORD_WORD)
            || arg.starts_with(b"--password-stdin-raw=")
            || arg
                .strip_prefix(b"--password-fd=")
                .is_some_and(|value| !numeric(value))
            || (*arg == b"--password-fd" && args.get(index + 1).is_some_and(|next| !numeric(next)))
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Parses the arguments. `Err(Ok(text))` is `--help` or `--version` output.
pub fn parse(args: &[OsString]) -> Result<Request, Result<String, Failure>> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            // clap quotes the offending value, and strips escape sequences
            // from it as it does: with a password on the line, say which
            // argument is wrong but never what it holds.
            let text = if !holds_password(args) {
                err.render().to_string()
            } else {
                value_free_message(&err)
            };
            return Err(match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(text),
                _ => Err(Failure::Usage(text)),
            });
        }
    };
    cli.into_request().map_err(Err)
}

impl Cli {
    fn into_request(self) -> Result<Request, Failure> {
        self.refuse_misplaced_password()?;
        let words = Words::parse(&self.words)?;
        let operation = self.operation(words.function)?;
        if matches!(operation, Some(Operation::Batch { .. })) {
            return self.into_batch_request(words, operation);
        }
        if words.password.is_some() && operation.is_some_and(|op| !op.reads_secret()) {
            return Err(usage("this operation takes no password (password=)"));
        }
        let email = one_of("email", words.email, self.email.clone().map(into_bytes))?;
        // A full address names its domain: `--email info@example.com` alone is enough.
        let domain = match (
            words.domain,
            self.domain.clone().map(into_bytes),
            domain_of(&email),
        ) {
            (None, None, Some(domain)) => domain.to_vec(),
            (word, flag, _) => one_of("domain", word, flag)?,
        };
        let password = match (words.password, self.password_fd) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    "the password is given twice (password= and --password-fd)",
                ))
            }
            (Some(_), None) if self.password_stdin_raw => {
                return Err(usage(
                    "password= and --password-stdin-raw exclude each other",
                ))
            }
            (Some(password), None) => PasswordSource::Argument(password),
            (None, Some(fd)) => PasswordSource::Fd(fd),
            (None, None) => PasswordSource::Stdin {
                raw: self.password_stdin_raw,
            },
        };
        let config = self.config()?;
        Ok(Request {
            domain,
            email,
            password,
            verify: self.verify,
            operation,
            config,
            output: self.output,
        })
    }

    /// The operation the flags or the cpapi2 function name ask for.
    fn operation(&self, function: Function) -> Result<Option<Operation>, Failure> {
        let flagged = [
            (self.add, Operation::Add),
            (self.remove, Operation::Remove),
            (self.suspend, Operation::Suspend),
            (self.unsuspend, Operation::Unsuspend),
            (self.set_hash, Operation::SetHash),
            (
                self.batch,
                Operation::Batch {
                    encrypted: self.encrypted,
                },
            ),
        ]
        .into_iter()
        .find_map(|(given, operation)| given.then_some(operation));
        let named = match function {
            Function::Passwdpop => None,
            Function::Addpop => Some(Operation::Add),
            Function::Delpop => Some(Operation::Remove),
        };
        if self.verify && named.is_some() {
            return Err(usage("--verify excludes addpop and delpop"));
        }
        match (flagged, named) {
            (Some(flag), Some(word)) if flag != word => Err(usage(
                "the cpapi2 function and the operation flag ask for different things",
            )),
            (flag, word) => Ok(flag.or(word)),
        }
    }

    fn into_batch_request(
        self,
        words: Words,
        operation: Option<Operation>,
    ) -> Result<Request, Failure> {
        if words.email.is_some() || self.email.is_some() || words.password.is_some() {
            return Err(usage(
                "--batch reads its accounts and passwords from standard input: no --email, email= or password=",
            ));
        }
        if self.password_fd.is_some() || self.password_stdin_raw {
            return Err(usage(
                "--batch reads standard input: no --password-fd or --password-stdin-raw",
            ));
        }
        let domain = match (words.domain, self.domain.clone().map(into_bytes)) {
            (Some(_), Some(_)) => {
                return Err(usage("the domain is given twice (domain= and --domain)"))
            }
            (word, flag) => word.or(flag).unwrap_or_default(),
        };
        let config = self.config()?;
        Ok(Request {
            domain,
            email: Vec::new(),
            password: PasswordSource::Stdin { raw: false },
            verify: false,
            operation,
            config,
            output: self.output,
        })
    }

    fn config(&self) -> Result<Config, Failure> {
        let mut config = Config::new();
        if let Some(name) = &self.user {
            config.set_user_etc(cpanel_mail_root(name)?);
        }
        if let Some(root) = &self.root {
            config.set_root(root).map_err(Failure::Library)?;
        }
        config.set_rounds(self.rounds).map_err(Failure::Library)?;
        config.set_lock_timeout_ms(self.lock_timeout);
        config.set_wait_visible(!self.no_wait_visible);
        config.set_layout(match self.layout {
            LayoutArg::Shadow => Layout::Shadow,
            LayoutArg::PasswdFile => Layout::PasswdFile,
        });
        Ok(config)
    }
}

impl Cli {
    /// A value that holds `password=` is a password word in the wrong place
    /// (`--root password=x`, `email=password=x`): refused here, so that no
    /// message is ever made from it.
    fn refuse_misplaced_password(&self) -> Result<(), Failure> {
        let flags = [
            ("--domain", self.domain.as_deref()),
            ("--email", self.email.as_deref()),
            ("--user", self.user.as_deref()),
            ("--root", self.root.as_deref().map(|root| root.as_os_str())),
        ];
        for (flag, value) in flags {
            if value.is_some_and(|value| contains(value.as_bytes(), PASSWORD_WORD)) {
                return Err(usage(format!(
                    "the value of {flag} holds '{}' (a misplaced password?); it is not shown",
                    String::from_utf8_lossy(PASSWORD_WORD)
                )));
            }
        }
        Ok(())
    }
}

fn value_free_message(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ErrorKind};
    let what = match err.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "invalid value for",
        ErrorKind::UnknownArgument => "unexpected argument",
        ErrorKind::ArgumentConflict => "conflicting argument",
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => "wrong number of values for",
        ErrorKind::NoEquals => "a value with '=' is required for",
        _ => "invalid command line near",
    };
    match err.get(ContextKind::InvalidArg) {
        Some(arg) => format!(
            "error: {what} '{arg}' (the value is not shown: the command line holds a password)\n"
        ),
        None => "error: invalid command line (not shown: it holds a password)\n".to_owned(),
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

fn into_bytes(value: OsString) -> Vec<u8> {
    value.into_encoded_bytes()
}

/// The domain of a full address: what follows its first `@`, when that is
/// not empty (the library checks the rest).
fn domain_of(email: &[u8]) -> Option<&[u8]> {
    let at = email.iter().position(|&byte| byte == b'@')?;
    Some(&email[at + 1..]).filter(|domain| !domain.is_empty())
}

/// A value that may come as a word or as a flag, but not both.
fn one_of(name: &str, word: Option<Vec<u8>>, flag: Option<Vec<u8>>) -> Result<Vec<u8>, Failure> {
    match (word, flag) {
        (Some(_), Some(_)) => Err(usage(format!(
            "the {name} is given twice ({name}= and --{name})"
        ))),
        (Some(value), None) | (None, Some(value)) => Ok(value),
        (None, None) => Err(usage(format!(
            "missing {name}: give {name}=... or --{name}{}",
            if name == "domain" {
                " (or a full address as the email)"
            } else {
                ""
            }
        ))),
    }
}

/// `<home of NAME>/etc`, where cPanel keeps `<domain>/shadow`: opened
/// without following a symlink, and refused unless it is NAME's (or root's)
/// and writable by no one else, since NAME owns the home it lies in.
fn cpanel_mail_root(name: &OsString) -> Result<UserEtc, Failure> {
    let shown = name.to_string_lossy();
    let config_error = |why: String| Failure::Other(Status::InvalidConfig, why);
    let name = name
        .to_str()
        .ok_or_else(|| config_error(format!("--user: '{shown}' is not a valid user name")))?;
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => UserEtc::open(
            &user.dir,
            user.uid.as_raw(),
            user.gid.as_raw(),
            user.dir.join("etc"),
        )
        .map_err(Failure::Library),
        Ok(None) => Err(config_error(format!(
            "--user: no user '{name}' in the passwd database"
        ))),
        Err(err) => Err(config_error(format!("--user: looking up '{name}': {err}"))),
    }
}

/// The cpapi2 function the words name (`Email passwdpop` when none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Function {
    #[default]
    Passwdpop,
    /// `Email addpop`; its `quota=` word is accepted and ignored.
    Addpop,
    Delpop,
}

/// cpapi2's words, percent-decoded. Values are never quoted in messages: one
/// of them is the password.
#[derive(Default)]
struct Words {
    function: Function,
    domain: Option<Vec<u8>>,
    email: Option<Vec<u8>>,
    password: Option<Zeroizing<Vec<u8>>>,
    quota: bool,
}

impl Words {
    fn parse(words: &[OsString]) -> Result<Words, Failure> {
        let mut words: Vec<&[u8]> = words.iter().map(|word| word.as_bytes()).collect();
        let mut parsed = Words::default();
        if words.first().is_some_and(|first| !first.contains(&b'=')) {
            parsed.function =
                match words.get(..2) {
                    Some([b"Email", b"passwdpop"]) => Function::Passwdpop,
                    Some([b"Email", b"addpop"]) => Function::Addpop,
                    Some([b"Email", b"delpop"]) => Function::Delpop,
                    _ => return Err(usage(
                        "expected the module and function 'Email passwdpop', 'Email addpop' or \
                         'Email delpop' (the only ones supported) before the key=value words",
                    )),
                };
            words.drain(..2);
        }
        for (index, word) in words.into_iter().enumerate() {
            let Some(equals) = word.iter().position(|&byte| byte == b'=') else {
                return Err(usage(format!(
                    "word {} is not key=value (keys: domain, email, password)",
                    index + 1
                )));
            };
            let (key, value) = (&word[..equals], &word[equals + 1..]);
            let key_name = String::from_utf8_lossy(key).escape_default().to_string();
            let slot_is_free = match key {
                b"domain" => parsed.domain.is_none(),
                b"email" => parsed.email.is_none(),
                b"password" => parsed.password.is_none(),
                // Quotas are Dovecot's business (its quota plugin and
                // userdb), not the shadow file's: accepted for cPanel's
                // callers, and ignored.
                b"quota" if parsed.function == Function::Addpop => !parsed.quota,
                // Not shown: a password typed as a bare word may hold '='.
                _ => {
                    return Err(usage(format!(
                        "word {} has an unknown key (keys: domain, email, password); \
                         the word is not shown",
                        index + 1
                    )))
                }
            };
            if !slot_is_free {
                return Err(usage(format!("the key '{key_name}' is given twice")));
            }
            let decoded = percent_decode(value)
                .map_err(|why| usage(format!("the value of '{key_name}' {why}")))?;
            if key != b"password" && contains(&decoded, PASSWORD_WORD) {
                return Err(usage(format!(
                    "the value of '{key_name}' holds 'password=' (a misplaced password?); it is not shown"
                )));
            }
            match key {
                b"domain" => parsed.domain = Some(decoded.to_vec()),
                b"email" => parsed.email = Some(decoded.to_vec()),
                b"quota" => parsed.quota = true,
                _ => parsed.password = Some(decoded),
            }
        }
        Ok(parsed)
    }
}

/// Decodes `%XX` escapes (URI encoding, as cpapi2 expects); `+` stays `+`.
fn percent_decode(value: &[u8]) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let mut decoded = Zeroizing::new(Vec::with_capacity(value.len()));
    let mut rest = value;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte != b'%' {
            decoded.push(byte);
            rest = tail;
            continue;
        }
        let hex = |digit: Option<&u8>| digit.and_then(|&d| char::from(d).to_digit(16));
        let (Some(high), Some(low)) = (hex(tail.first()), hex(tail.get(1))) else {
            return Err("has a malformed %-escape");
        };
        let byte = (high * 16 + low) as u8;
        if byte == 0 {
            return Err("decodes to a NUL byte");
        }
        decoded.push(byte);
        rest = &tail[2..];
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// input, decoded bytes or the reason it is refused
    type DecodeCase = (&'static [u8], Result<&'static [u8], &'static str>);

    #[test]
    fn percent_decoding() {
        let cases: &[DecodeCase] = &[
            (b"plain", Ok(b"plain")),
            (b"a%20b", Ok(b"a b")),
            (b"%3a%3A", Ok(b"::")),
            (b"1+1", Ok(b"1+1")),
            (b"%25", Ok(b"%")),
            (b"%ff", Ok(b"\xff")),
            (b"", Ok(b"")),
            (b"%", Err("has a malformed %-escape")),
            (b"%2", Err("has a malformed %-escape")),
            (b"%zz", Err("has a malformed %-escape")),
            (b"a%00b", Err("decodes to a NUL byte")),
        ];
        for (input, expected) in cases {
            let got = percent_decode(input);
            assert_eq!(
                got.as_ref().map(|v| v.as_slice()).map_err(|e| *e),
                *expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn json_is_detected_before_parsing() {
        let args = |list: &[&str]| -> Vec<OsString> { list.iter().map(OsString::from).collect() };
        assert!(wants_json(&args(&[
            "passwdpop",
            "--output",
            "json",
            "--bogus"
        ])));
        assert!(wants_json(&args(&["passwdpop", "--output=json"])));
        assert!(!wants_json(&args(&["passwdpop", "--output=text"])));
        assert!(!wants_json(&args(&["passwdpop", "password=json"])));
    }
}
