//! What the command prints, and its exit status.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use passwdpop::{Error, Status};
use serde_json::json;

/// Exit status for a command line that does not parse (sysexits' EX_USAGE).
pub const EXIT_USAGE: u8 = 64;
/// Exit status of a setuid or setgid copy of the command, which refuses to
/// run: the installation is wrong, as for a rejected configuration.
pub const EXIT_SECURE_EXECUTION: u8 = Status::InvalidConfig as u8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One line on success; the error on standard error
    Text,
    /// cPanel API 2's result object on standard output
    Json,
}

/// Why a run failed.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong; the message never holds the password.
    Usage(String),
    /// The library refused or failed.
    Library(Error),
    /// Something outside the library, classed like a library status.
    Other(Status, String),
}

impl Failure {
    /// Exit statuses are the library's status codes; usage errors have their own.
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Library(err) => status_exit_code(err.status()),
            Failure::Other(status, _) => status_exit_code(*status),
        }
    }

    /// The library status it is classed as; `None` for a usage error.
    pub fn status(&self) -> Option<Status> {
        match self {
            Failure::Usage(_) => None,
            Failure::Library(err) => Some(err.status()),
            Failure::Other(status, _) => Some(*status),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(message) | Failure::Other(_, message) => message,
            Failure::Library(err) => err.message(),
        }
    }
}

fn status_exit_code(status: Status) -> u8 {
    u8::try_from(status.code()).expect("status codes are small")
}

/// What succeeded, for the one line of text output.
pub struct Success {
    pub verified: bool,
    /// The name as the file has it, `@`, the domain.
    pub address: String,
    /// The entry is locked, and a change kept it so.
    pub locked: bool,
    /// What an operation other than a change or verify did, said before the
    /// address ("account added:").
    pub action: Option<&'static str>,
}

/// A note on standard error that does not change the outcome.
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "passwdpop: warning: {message}");
}

/// Prints the outcome and returns the exit status. A result that cannot be
/// printed (stdout closed or full) does not change the exit status: the
/// password was changed, or not, all the same.
pub fn report(outcome: Result<Success, Failure>, output: Output) -> ExitCode {
    report_as(outcome, output, "passwdpop")
}

/// [`report`] for the cPanel API 2 function `func` (its JSON result names it).
pub fn report_as(outcome: Result<Success, Failure>, output: Output, func: &str) -> ExitCode {
    let message = outcome.as_ref().err().map(|failure| failure.message());
    let printed = match output {
        Output::Json => {
            let (result, reason) = match &message {
                None => (1, ""),
                Some(message) => (0, one_line(message)),
            };
            let document = json!({
                "cpanelresult": {
                    "apiversion": 2,
                    "func": func,
                    "module": "Email",
                    "data": [{ "reason": reason, "result": result }],
                    "event": { "result": result },
                }
            });
            writeln!(std::io::stdout(), "{document}")
        }
        Output::Text => match (&outcome, message) {
            (
                Ok(Success {
                    action: Some(action),
                    address,
                    ..
                }),
                _,
            ) => writeln!(std::io::stdout(), "{action} {address}"),
            (Ok(success), _) => {
                let verb = if success.verified {
                    "matches"
                } else {
                    "changed"
                };
                let note = if success.locked && !success.verified {
                    "; the account stays locked ('!' in front of its hash) until it is unlocked"
                } else {
                    ""
                };
                writeln!(
                    std::io::stdout(),
                    "password {verb} for {}{note}",
                    success.address
                )
            }
            (Err(Failure::Usage(_)), Some(message)) if message.starts_with("error:") => {
                write!(std::io::stderr(), "{message}")
            }
            (Err(Failure::Usage(_)), Some(message)) => writeln!(
                std::io::stderr(),
                "passwdpop: {message}\nTry 'passwdpop --help' for more information."
            ),
            (Err(_), message) => {
                writeln!(
                    std::io::stderr(),
                    "passwdpop: {}",
                    message.unwrap_or_default()
                )
            }
        },
    };
    if let Err(err) = printed {
        let _ = writeln!(
            std::io::stderr(),
            "passwdpop: could not print the result: {err}"
        );
    }
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(failure.exit_code()),
    }
}

/// clap's messages span lines (usage, hints); a JSON reason is the first.
pub fn one_line(message: &str) -> &str {
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first)
}
