//! `--batch`: chpasswd(8) lines from standard input, applied with one
//! rewrite per domain through the library's [`Batch`].
//!
//! A line is `user@domain:password` (or `user:password` with `--domain`);
//! the password is everything after the first `:` and may hold `:`. One
//! trailing CR is dropped, blank lines are skipped. A line that fails is
//! reported, the others still apply (as chpasswd does). Messages show the
//! text before the first `:` and never what follows it.

use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;

use passwdpop::{Batch, Status};
use serde_json::json;
use zeroize::Zeroizing;

use crate::args::Request;
use crate::audit;
use crate::report::{one_line, report, Failure, Output, Success};

/// Input is read in pieces of this size into one zeroized buffer.
const READ_CHUNK: usize = 64 * 1024;

/// One non-blank input line and what became of it.
struct Line {
    number: usize,
    /// The text before the first `:`, as given (never the password).
    account: Vec<u8>,
    domain: Vec<u8>,
    local: Vec<u8>,
    /// The batch entry, or why the line never became one.
    entry: Result<usize, Failure>,
}

pub fn main(encrypted: bool, request: Request) -> ExitCode {
    let output = request.output;
    if io::stdin().is_terminal() {
        let failure = Failure::Usage(
            "--batch reads chpasswd(8) lines from standard input, which is a terminal: \
             they would be echoed; pipe or redirect them instead"
                .into(),
        );
        return report(Err(failure), output);
    }
    let input = match read_all(io::stdin().lock()) {
        Ok(input) => input,
        Err(refused) => {
            let failure = Failure::Other(Status::IoError, refused.to_string());
            return report(Err(failure), output);
        }
    };
    let mut batch = Batch::new(&request.config);
    let mut lines = parse(&input, &request.domain, encrypted, &mut batch);
    // The lines' own errors come first; the commit's cannot hide them.
    let _ = batch.commit();
    let what = if encrypted {
        "hash set"
    } else {
        "password changed"
    };
    let mut first_failure = None;
    for line in &mut lines {
        if let Ok(index) = line.entry {
            if let Some(Err(err)) = batch.result(index) {
                line.entry = Err(Failure::Library(err.clone()));
            }
        }
        let outcome = match &line.entry {
            Ok(_) => Ok(Success {
                verified: false,
                address: crate::address(&line.domain, &line.local),
                locked: false,
                action: None,
            }),
            Err(failure) => Err(Failure::Other(
                failure.status().unwrap_or(Status::InvalidConfig),
                failure.message().to_owned(),
            )),
        };
        audit::Change::of(what, &line.domain, &line.local).log(&outcome);
        if let (Err(failure), None) = (&line.entry, &first_failure) {
            first_failure = failure.status();
        }
    }
    print(&lines, output, encrypted);
    match first_failure {
        None => ExitCode::SUCCESS,
        Some(status) => ExitCode::from(u8::try_from(status.code()).unwrap_or(1)),
    }
}

/// Splits the input into lines and adds each to the batch.
fn parse(input: &[u8], default_domain: &[u8], encrypted: bool, batch: &mut Batch) -> Vec<Line> {
    let mut lines = Vec::new();
    for (index, line) in input.split(|&byte| byte == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            // The whole line might be a password: never shown.
            lines.push(Line {
                number,
                account: Vec::new(),
                domain: Vec::new(),
                local: Vec::new(),
                entry: Err(Failure::Other(
                    Status::InvalidPassword,
                    "no ':' between the account and the password (the line is not shown)".into(),
                )),
            });
            continue;
        };
        let (account, secret) = (&line[..colon], &line[colon + 1..]);
        let (local, domain) = match account.iter().position(|&byte| byte == b'@') {
            Some(at) if default_domain.is_empty() => (&account[..at], &account[at + 1..]),
            Some(at) => (&account[..at], default_domain),
            None => (account, default_domain),
        };
        let entry = if domain.is_empty() {
            Err(Failure::Other(
                Status::InvalidDomain,
                "no domain: write user@domain, or give --domain for bare user names".into(),
            ))
        } else {
            // The full name goes to the library, which checks that an
            // address is in the domain.
            let added = if encrypted {
                batch.add_hash(domain, account, secret)
            } else {
                batch.add(domain, account, secret)
            };
            added.map_err(Failure::Library)
        };
        lines.push(Line {
            number,
            account: account.to_vec(),
            domain: domain.to_vec(),
            local: local.to_vec(),
            entry,
        });
    }
    lines
}

fn print(lines: &[Line], output: Output, encrypted: bool) {
    let printed = match output {
        Output::Text => print_text(lines, encrypted),
        Output::Json => {
            let data: Vec<_> = lines
                .iter()
                .map(|line| {
                    let (result, reason) = match &line.entry {
                        Ok(_) => (1, ""),
                        Err(failure) => (0, one_line(failure.message())),
                    };
                    json!({
                        "email": String::from_utf8_lossy(&line.account),
                        "result": result,
                        "reason": reason,
                    })
                })
                .collect();
            let all = lines.iter().all(|line| line.entry.is_ok());
            let document = json!({
                "cpanelresult": {
                    "apiversion": 2,
                    "func": "passwdpop",
                    "module": "Email",
                    "data": data,
                    "event": { "result": u8::from(all) },
                }
            });
            writeln!(io::stdout(), "{document}")
        }
    };
    if let Err(err) = printed {
        let _ = writeln!(io::stderr(), "passwdpop: could not print the result: {err}");
    }
}

fn print_text(lines: &[Line], encrypted: bool) -> io::Result<()> {
    let mut stderr = io::stderr().lock();
    for line in lines {
        match (&line.entry, line.account.is_empty()) {
            (Ok(_), _) => {}
            (Err(failure), true) => {
                writeln!(stderr, "line {}: {}", line.number, failure.message())?;
            }
            (Err(failure), false) => writeln!(
                stderr,
                "line {}: {}: {}",
                line.number,
                line.account.escape_ascii(),
                failure.message()
            )?,
        }
    }
    let applied = lines.iter().filter(|line| line.entry.is_ok()).count();
    let what = if encrypted {
        "hashes set"
    } else {
        "passwords changed"
    };
    writeln!(io::stdout(), "{applied} of {} {what}", lines.len())
}

/// The longest line taken, its ending not counted: an address (64 + 1 +
/// 253 bytes), `:` and a password (511) or hash (512) fit many times over.
pub const MAX_LINE: usize = 4096;
/// The most input taken: well over the 20 000 accounts of a large domain,
/// and a bound on what a batch can make the command hold in memory.
pub const MAX_INPUT: usize = 64 * 1024 * 1024;
/// The most lines taken, blank ones included: each costs memory of its own
/// (at this limit, 165 MiB at most), and a password costs its hash first.
pub const MAX_LINES: usize = 200_000;

/// Why the input was refused as a whole; it is never shown.
#[derive(Debug)]
enum Refused {
    Io(io::Error),
    LineTooLong(usize),
    TooLarge,
    TooManyLines,
    OutOfMemory,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Io(err) => write!(f, "reading the batch from standard input: {err}"),
            Refused::LineTooLong(number) => write!(
                f,
                "line {number} of the batch is longer than {MAX_LINE} bytes, more than any \
                 account and password (the line is not shown); nothing was changed"
            ),
            Refused::TooLarge => write!(
                f,
                "the batch is larger than {} MiB; nothing was changed: split it",
                MAX_INPUT >> 20
            ),
            Refused::TooManyLines => write!(
                f,
                "the batch has more than {MAX_LINES} lines; nothing was changed: split it"
            ),
            Refused::OutOfMemory => {
                write!(f, "out of memory reading the batch; nothing was changed")
            }
        }
    }
}

/// The limits a batch is read within.
#[derive(Clone, Copy)]
struct Limits {
    line: usize,
    lines: usize,
    input: usize,
}

const LIMITS: Limits = Limits {
    line: MAX_LINE,
    lines: MAX_LINES,
    input: MAX_INPUT,
};

/// All of `input` within the limits, in one buffer that is zeroized when
/// dropped, as is each smaller one it outgrows.
fn read_all(input: impl Read) -> Result<Zeroizing<Vec<u8>>, Refused> {
    read_within(input, LIMITS)
}

/// Reading stops at the first limit crossed, and an allocation that fails
/// is an error, not an abort.
fn read_within(mut input: impl Read, limits: Limits) -> Result<Zeroizing<Vec<u8>>, Refused> {
    let mut buffer = grown(&[], READ_CHUNK.min(limits.input + 1))?;
    let mut len = 0;
    // Where the line being read starts, and how many lines came before it.
    let mut line_start = 0;
    let mut lines = 0;
    loop {
        if len == buffer.len() {
            let wanted = (buffer.len() * 2).min(limits.input + 1);
            if wanted == buffer.len() {
                return Err(Refused::TooLarge);
            }
            buffer = grown(&buffer[..len], wanted)?;
        }
        let read = match input.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Refused::Io(err)),
        };
        for (offset, &byte) in buffer[len..len + read].iter().enumerate() {
            if byte == b'\n' {
                lines += 1;
                if len + offset - line_start > limits.line {
                    return Err(Refused::LineTooLong(lines));
                }
                line_start = len + offset + 1;
            }
        }
        len += read;
        if len - line_start > limits.line {
            return Err(Refused::LineTooLong(lines + 1));
        }
        if lines + usize::from(len > line_start) > limits.lines {
            return Err(Refused::TooManyLines);
        }
    }
    if len > limits.input {
        return Err(Refused::TooLarge);
    }
    buffer.truncate(len);
    Ok(buffer)
}

/// A zeroized buffer of `size` bytes starting with `start`.
fn grown(start: &[u8], size: usize) -> Result<Zeroizing<Vec<u8>>, Refused> {
    let mut buffer = Zeroizing::new(Vec::new());
    buffer
        .try_reserve_exact(size)
        .map_err(|_| Refused::OutOfMemory)?;
    // Within the capacity just reserved: no reallocation.
    buffer.extend_from_slice(start);
    buffer.resize(size, 0);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_entries_or_errors_that_never_show_the_password() {
        let mut batch = Batch::new(&passwdpop::Config::new());
        let input = b"alice@example.com:pw:with:colons\r\n\
            \n\
            bob:secret1\n\
            nocolon-secret2\n\
            carol@example.org:\n\
            Dave@Example.COM:pw\r\r\n\
            bad domain!@x:secret3\n";
        let lines = parse(input, b"", false, &mut batch);
        let summary: Vec<(usize, &[u8], Option<Status>)> = lines
            .iter()
            .map(|line| {
                (
                    line.number,
                    line.account.as_slice(),
                    line.entry.as_ref().err().and_then(Failure::status),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, &b"alice@example.com"[..], None),
                (3, b"bob", Some(Status::InvalidDomain)),
                (4, b"", Some(Status::InvalidPassword)),
                (5, b"carol@example.org", Some(Status::InvalidPassword)),
                // One CR is dropped; a second is the password's.
                (6, b"Dave@Example.COM", None),
                (7, b"bad domain!@x", Some(Status::InvalidDomain)),
            ]
        );
        for line in &lines {
            if let Err(failure) = &line.entry {
                for secret in ["secret", "pw"] {
                    assert!(!failure.message().contains(secret), "{}", failure.message());
                }
            }
        }
        assert_eq!(batch.len(), 2);

        // With --domain, bare names take it; addresses must be in it.
        let mut batch = Batch::new(&passwdpop::Config::new());
        let lines = parse(
            b"bob:pw\nbob@example.com:pw\nbob@example.org:pw\n",
            b"example.com",
            false,
            &mut batch,
        );
        let statuses: Vec<Option<Status>> = lines
            .iter()
            .map(|line| line.entry.as_ref().err().and_then(Failure::status))
            .collect();
        assert_eq!(statuses, [None, None, Some(Status::InvalidUser)]);
    }

    #[test]
    fn reading_grows_past_one_chunk() {
        let input: Vec<u8> = (0..READ_CHUNK * 3 + 5).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            read_all(input.as_slice()).unwrap().as_slice(),
            input.as_slice()
        );
    }

    #[test]
    fn reading_stops_at_the_first_limit_crossed() {
        let line = |bytes: usize| {
            let mut line = vec![b'a'; bytes];
            line.push(b'\n');
            line
        };
        // Small limits, so that the table reads quickly; the command's own
        // are checked by tests/batch_limits.rs.
        let limits = Limits {
            line: 300,
            lines: 1000,
            input: 100_000,
        };
        let at_limit = [line(10), line(300)].concat();
        let over = [line(10), line(301)].concat();
        let many = b"x\n".repeat(1000);
        let too_many = [&many[..], b"x"].concat();
        let large = line(299).repeat(100_000 / 300 + 1);
        /// input, the line refused as too long or the other refusal expected
        type Case<'a> = (&'a [u8], Option<&'a str>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (&at_limit, None),
            (&at_limit[..at_limit.len() - 1], None),
            (&over, Some("LineTooLong(2)")),
            (&over[..over.len() - 1], Some("LineTooLong(2)")),
            (&many, None),
            (&too_many, Some("TooManyLines")),
            (&large, Some("TooLarge")),
            (&large[..100_000], None),
        ];
        for (input, refused) in cases {
            let result = read_within(*input, limits);
            match refused {
                None => assert_eq!(result.unwrap().as_slice(), *input),
                Some(why) => assert_eq!(format!("{:?}", result.unwrap_err()), *why),
            }
        }
    }
}
