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
        Err(err) => {
            let failure = Failure::Other(
                Status::IoError,
                format!("reading the batch from standard input: {err}"),
            );
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

/// All of `input`, in one buffer that is zeroized when dropped, as is each
/// smaller one it outgrows.
fn read_all(mut input: impl Read) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(vec![0u8; READ_CHUNK]);
    let mut len = 0;
    loop {
        if len == buffer.len() {
            let mut larger = Zeroizing::new(vec![0u8; buffer.len() * 2]);
            larger[..len].copy_from_slice(&buffer[..len]);
            buffer = larger;
        }
        match input.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    buffer.truncate(len);
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
}
