//! The C library calls the command makes that have no safe wrapper in its
//! dependencies (nix lacks `getauxval` and the authpriv facility); the only
//! module of the command with `unsafe` besides one borrowed descriptor in
//! `password.rs`.

use std::ffi::{CStr, CString};

/// Whether the kernel started this process with privileges its caller does
/// not have (a setuid or setgid file, file capabilities): `AT_SECURE`.
pub fn is_secure_execution() -> bool {
    // SAFETY: getauxval reads the process's auxiliary vector and has no
    // preconditions; an unknown type gives 0.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// How important a log line is (syslog(3) levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Notice,
}

/// The name every line is logged under, with the PID: `passwdpop[PID]`.
const IDENT: &CStr = c"passwdpop";

/// Sends one line to syslog with the authpriv facility, as passwd(1) and
/// chpasswd(8) do: through the C library, which writes to /dev/log and
/// drops the line quietly when no syslog daemon listens. A NUL in `line`
/// (it never has one: callers escape what they quote) ends it early.
pub fn log_authpriv(level: Level, line: &str) {
    let line = CString::new(line.split('\0').next().unwrap_or_default()).unwrap_or_default();
    let level = match level {
        Level::Info => libc::LOG_INFO,
        Level::Notice => libc::LOG_NOTICE,
    };
    // SAFETY: IDENT is a static NUL-terminated string, as openlog requires
    // (it keeps the pointer); the format is a constant "%s" with one
    // NUL-terminated argument that outlives the call.
    unsafe {
        libc::openlog(IDENT.as_ptr(), libc::LOG_PID, libc::LOG_AUTHPRIV);
        libc::syslog(libc::LOG_AUTHPRIV | level, c"%s".as_ptr(), line.as_ptr());
        libc::closelog();
    }
}
