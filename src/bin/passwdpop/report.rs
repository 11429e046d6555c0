//! What the command prints, and its exit status.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use passwdpop::{Error, Status};
use serde_json::json;

/// Exit status for a command line that does not parse (sysexits' EX_USAGE).
pub const EXIT_USAGE: u8 = 64;

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

    fn message(&self) -> &str {
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
    pub address: String,
}

/// Prints the outcome and returns the exit status.
pub fn report(outcome: Result<Success, Failure>, output: Output) -> ExitCode {
    match output {
        Output::Json => {
            let (result, reason) = match &outcome {
                Ok(_) => (1, String::new()),
                Err(failure) => (0, one_line(failure.message())),
            };
            let document = json!({
                "cpanelresult": {
                    "apiversion": 2,
                    "func": "passwdpop",
                    "module": "Email",
                    "data": [{ "reason": reason, "result": result }],
                    "event": { "result": result },
                }
            });
            println!("{document}");
        }
        Output::Text => match &outcome {
            Ok(success) if success.verified => println!("password matches for {}", success.address),
            Ok(success) => println!("password changed for {}", success.address),
            Err(Failure::Usage(message)) if message.starts_with("error:") => {
                let _ = write!(std::io::stderr(), "{message}");
            }
            Err(Failure::Usage(message)) => {
                eprintln!("passwdpop: {message}\nTry 'passwdpop --help' for more information.")
            }
            Err(failure) => eprintln!("passwdpop: {}", failure.message()),
        },
    }
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(failure.exit_code()),
    }
}

/// clap's messages span lines (usage, hints); a JSON reason is the first.
fn one_line(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}
