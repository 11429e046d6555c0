//! `passwdpop`: change (or verify) a virtual mail account's password from a
//! hook script, cpapi2-compatible. Built over the library's safe Rust API.

mod admin;
mod args;
mod audit;
mod batch;
#[cfg(test)]
mod generated;
mod password;
mod report;
mod sys;
mod terminal;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use passwdpop::Status;
use report::{report, Failure, Output, Success};

fn main() -> ExitCode {
    // Before any argument, variable or byte of input is looked at.
    if sys::is_secure_execution() {
        let _ = writeln!(std::io::stderr(), "{REFUSAL}");
        return ExitCode::from(report::EXIT_SECURE_EXECUTION);
    }
    let args: Vec<OsString> = std::env::args_os().collect();
    let fallback_output = if args::wants_json(&args) {
        Output::Json
    } else {
        Output::Text
    };
    let request = match args::parse(&args) {
        Ok(request) => request,
        Err(Ok(help_or_version)) => {
            let _ = std::io::stdout().write_all(help_or_version.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(Err(failure)) => return report(Err(failure), fallback_output),
    };
    let output = request.output;
    if let Some(operation) = request.operation {
        return admin::main(operation, request);
    }
    let change = (!request.verify).then(|| audit::Change::new(&request.domain, &request.email));
    let outcome = run(request);
    if let Some(change) = change {
        change.log(&outcome);
    }
    report(outcome, output)
}

/// What a setuid or setgid copy of the command says instead of running: it
/// would let any local user reset any mailbox, and everything it reads
/// (arguments, environment, input) comes from that user.
const REFUSAL: &str = "passwdpop: refusing to run setuid or setgid: it would let any local user \
reset any mailbox; run it as root (for example through a sudo rule for exactly this command) or use passwdpopd";

fn run(request: args::Request) -> Result<Success, Failure> {
    let password = password::read_password(request.password, request.verify)?;
    let config = &request.config;
    let (domain, email) = (&request.domain, &request.email);
    let outcome = if request.verify {
        config.verify_entry(domain, email, &password)
    } else {
        config.change_entry(domain, email, &password)
    }
    .map_err(Failure::Library)?;
    let address = address(domain, outcome.name().as_bytes());
    if outcome.name().bytes().any(|byte| byte.is_ascii_uppercase()) {
        report::warn(&format!(
            "the entry is named '{}', not in lower case: Dovecot looks up the lower-cased \
             login case-sensitively and never finds it (Exim and passwdpop do); rename it '{}'",
            outcome.name(),
            outcome.name().to_ascii_lowercase()
        ));
    }
    if let Some(mismatch) = outcome.mismatch() {
        let plain = mismatch.message() == Status::PasswordMismatch.description();
        let message = if plain {
            format!("password does not match for {address}")
        } else {
            format!(
                "password does not match for {address}: {}",
                mismatch.message()
            )
        };
        return Err(Failure::Other(Status::PasswordMismatch, message));
    }
    Ok(Success {
        verified: request.verify,
        address,
        locked: outcome.is_locked(),
        action: None,
    })
}

/// `local@domain` as the user will recognise it (both were validated by now).
pub fn address(domain: &[u8], local: &[u8]) -> String {
    let domain = domain.strip_suffix(b".").unwrap_or(domain);
    format!(
        "{}@{}",
        String::from_utf8_lossy(local),
        String::from_utf8_lossy(domain).to_ascii_lowercase()
    )
}
