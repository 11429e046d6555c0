//! What can go wrong, as a status (stable numbers for C) and a message for people.

use std::ffi::CStr;
use std::fmt;

/// The class of a failure. The numbers are the C ABI's status codes and never
/// change once released; `0` is success and is not a `Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// A required pointer argument was NULL (C ABI only).
    NullArgument = 1,
    /// The domain is not a valid domain name.
    InvalidDomain = 2,
    /// The user (local part or full address) is not valid.
    InvalidUser = 3,
    /// The password is empty, too long or contains a NUL byte.
    InvalidPassword = 4,
    /// A configuration value was rejected.
    InvalidConfig = 5,
    /// The domain directory or its shadow file does not exist.
    NoSuchDomain = 6,
    /// The shadow file has no entry for the user.
    NoSuchAccount = 7,
    /// The shadow file has more than one entry for the user.
    AmbiguousAccount = 8,
    /// A path is a symlink, not a regular file, hard-linked, or world-writable.
    UnsafePath = 9,
    /// The domain stayed locked by another writer for the whole lock timeout.
    LockTimeout = 10,
    /// Reading or writing failed; the message carries the operating system's reason.
    IoError = 11,
    /// `verify`: the password does not match the stored hash.
    PasswordMismatch = 12,
    /// A bug in passwdpop (for example a caught panic).
    InternalError = 13,
    /// A hash given to store verbatim is not a complete hash libxcrypt takes.
    InvalidHash = 14,
    /// `add`: the domain already has an entry for the user.
    AccountExists = 15,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 15] = [
        Status::NullArgument,
        Status::InvalidDomain,
        Status::InvalidUser,
        Status::InvalidPassword,
        Status::InvalidConfig,
        Status::NoSuchDomain,
        Status::NoSuchAccount,
        Status::AmbiguousAccount,
        Status::UnsafePath,
        Status::LockTimeout,
        Status::IoError,
        Status::PasswordMismatch,
        Status::InternalError,
        Status::InvalidHash,
        Status::AccountExists,
    ];

    /// The C status code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status for a C status code; `None` for `0` (success) and unknown codes.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == code)
    }

    /// A short, fixed description of the class (what `passwdpop_strerror` returns).
    pub fn description(self) -> &'static str {
        self.c_description()
            .to_str()
            .expect("descriptions are ASCII")
    }

    /// [`Status::description`] as a C string, for the C ABI.
    pub(crate) fn c_description(self) -> &'static CStr {
        match self {
            Status::NullArgument => c"a required argument is NULL",
            Status::InvalidDomain => c"invalid domain",
            Status::InvalidUser => c"invalid user",
            Status::InvalidPassword => c"invalid password",
            Status::InvalidConfig => c"invalid configuration",
            Status::NoSuchDomain => c"no such domain",
            Status::NoSuchAccount => c"no such account",
            Status::AmbiguousAccount => c"ambiguous account: more than one entry matches",
            Status::UnsafePath => c"unsafe path",
            Status::LockTimeout => c"timed out waiting for the lock",
            Status::IoError => c"input/output error",
            Status::PasswordMismatch => c"password does not match",
            Status::InternalError => c"internal error",
            Status::InvalidHash => c"invalid hash",
            Status::AccountExists => c"the account already exists",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A failure: its [`Status`] and a message specific to this call.
///
/// Messages name domains, users and paths, and carry the operating system's
/// reason for I/O failures. They never contain the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn io(what: impl fmt::Display, err: impl Into<std::io::Error>) -> Error {
        Error::new(Status::IoError, format!("{what}: {}", err.into()))
    }

    /// The class of the failure.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The detailed message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shows untrusted bytes (a user name, a domain) inside a message: escaped, so
/// the message stays one printable line without NUL, and cut short, so a
/// megabyte argument does not make a megabyte message.
pub(crate) fn quoted(bytes: &[u8]) -> String {
    const SHOWN: usize = 80;
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut text = String::from("'");
    text.extend(shown.escape_ascii().map(char::from));
    text.push('\'');
    if bytes.len() > SHOWN {
        text.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_positive_and_round_trip() {
        for (index, status) in Status::ALL.into_iter().enumerate() {
            assert_eq!(status.code(), index as i32 + 1);
            assert_eq!(Status::from_code(status.code()), Some(status));
        }
        assert_eq!(Status::from_code(0), None);
        assert_eq!(Status::from_code(16), None);
        assert_eq!(Status::from_code(-1), None);
    }

    #[test]
    fn quoted_escapes_and_truncates() {
        assert_eq!(quoted(b"bob"), "'bob'");
        assert_eq!(quoted(b"a\0b\n\xff"), "'a\\x00b\\n\\xff'");
        let long = vec![b'x'; 1000];
        let shown = quoted(&long);
        assert!(shown.len() < 120, "{shown}");
        assert!(shown.ends_with("... (1000 bytes)"));
    }
}
