//! The audit trail: one syslog line (facility authpriv) per change, made or
//! refused, as passwd(1) and chpasswd(8) leave one. Never a password or a
//! hash: a line holds the account, the caller's uid, and for a refusal the
//! status name and the library's message (which never holds the password).
//! Checks (`--verify`) change nothing and are not logged; the mail servers
//! log their own logins.

use passwdpop::Status;

use crate::report::{Failure, Success};
use crate::sys::{log_authpriv, Level};

/// A change about to be tried, with the account as the caller named it.
pub struct Change {
    address: String,
    /// What is logged: "password changed", "account added"...
    what: &'static str,
}

impl Change {
    /// `domain` and `email` as given (not yet validated: shown escaped).
    pub fn new(domain: &[u8], email: &[u8]) -> Change {
        let local = email.split(|&byte| byte == b'@').next().unwrap_or_default();
        Change {
            address: format!("{}@{}", escaped(local), escaped(domain)),
            what: "password changed",
        }
    }

    /// Another change than a password's: `what` is "account added",
    /// "account removed"... as the log line says it.
    pub fn of(what: &'static str, domain: &[u8], email: &[u8]) -> Change {
        Change {
            what,
            ..Change::new(domain, email)
        }
    }

    /// Logs how the change ended: info for a change made (passwd(1)'s
    /// level), notice for one refused or failed.
    pub fn log(&self, outcome: &Result<Success, Failure>) {
        let uid = nix::unistd::getuid();
        let (level, line) = match outcome {
            Ok(success) => (
                Level::Info,
                format!("{} for {} by uid {uid}", self.what, success.address),
            ),
            Err(failure) => (
                Level::Notice,
                format!(
                    "{} for {} by uid {uid}: {} ({})",
                    refused(self.what),
                    self.address,
                    failure.status().map_or("usage error".into(), status_name),
                    escaped(failure.message().as_bytes())
                ),
            ),
        };
        log_authpriv(level, &line);
    }
}

/// "password changed" as refused: "password not changed".
fn refused(what: &str) -> String {
    match what.split_once(' ') {
        Some((thing, done)) => format!("{thing} not {done}"),
        None => format!("not {what}"),
    }
}

/// The C name of a status, `PASSWDPOP_NO_SUCH_ACCOUNT`, from its Rust name.
fn status_name(status: Status) -> String {
    let mut name = String::from("PASSWDPOP");
    for character in format!("{status:?}").chars() {
        if character.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(character.to_ascii_uppercase());
    }
    name
}

/// Printable ASCII as is, anything else escaped: a log line stays one line.
fn escaped(bytes: &[u8]) -> String {
    let mut shown = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b' '..=b'~' if byte != b'\\' => shown.push(char::from(byte)),
            b'\n' => shown.push_str("\\n"),
            _ => shown.push_str(&format!("\\x{byte:02x}")),
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_c_names() {
        let cases = [
            (Status::InvalidDomain, "PASSWDPOP_INVALID_DOMAIN"),
            (Status::NoSuchAccount, "PASSWDPOP_NO_SUCH_ACCOUNT"),
            (Status::IoError, "PASSWDPOP_IO_ERROR"),
            (Status::PasswordMismatch, "PASSWDPOP_PASSWORD_MISMATCH"),
        ];
        for (status, name) in cases {
            assert_eq!(status_name(status), name);
        }
        let header = include_str!("../../../include/passwdpop.h");
        for status in Status::ALL {
            let name = status_name(status);
            assert!(
                header.contains(&format!("#define {name} {}\n", status.code())),
                "{name}"
            );
        }
    }

    #[test]
    fn addresses_stay_on_one_line() {
        let change = Change::new(b"example.com\nforged", b"bob\r\x1b[0m@x");
        assert_eq!(change.address, "bob\\x0d\\x1b[0m@example.com\\nforged");
    }
}
