//! The refusal to run with privileges the caller does not have.

/// Whether the kernel started this process with privileges its caller does
/// not have (a setuid or setgid file, file capabilities): `AT_SECURE`.
/// Such a copy of the command would let any local user reset any mailbox,
/// and everything it reads (arguments, environment, standard input) comes
/// from that user.
pub fn is_secure_execution() -> bool {
    // SAFETY: getauxval reads the process's auxiliary vector and has no
    // preconditions; an unknown type gives 0.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The one line printed instead of doing anything.
pub const REFUSAL: &str = "passwdpop: refusing to run setuid or setgid: it would let any local user \
reset any mailbox; run it as root (for example through a sudo rule for exactly this command) or use passwdpopd";
