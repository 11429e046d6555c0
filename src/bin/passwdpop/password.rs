//! Getting the password without putting it anywhere it could leak: every
//! buffer is zeroized, nothing is echoed.

use std::io::{self, IsTerminal, Read};
use std::os::fd::{AsFd, BorrowedFd, RawFd};

use passwdpop::Status;
use zeroize::Zeroizing;

use crate::args::PasswordSource;
use crate::report::Failure;
use crate::terminal;

/// More than any valid password (511 bytes) plus its line ending; longer
/// input is passed on whole, and the library rejects it as too long.
const MAX_INPUT: usize = 4096;

/// A terminal is always asked, without echo, whatever the source says: reading
/// it as a file would echo the password.
pub fn read_password(source: PasswordSource, verify: bool) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match source {
        PasswordSource::Argument(password) => Ok(password),
        PasswordSource::Stdin { .. } if io::stdin().is_terminal() => {
            prompt(io::stdin().as_fd(), verify)
        }
        PasswordSource::Stdin { raw } => {
            let source = "standard input";
            read_input(io::stdin().lock(), !raw)
                .map_err(|err| unreadable(source, err))?
                .ok_or_else(|| nothing_to_read(source))
        }
        PasswordSource::Fd(fd) => {
            let inherited = InheritedFd::new(fd)?;
            if inherited.is_terminal() {
                return prompt(inherited.borrow(), verify);
            }
            let source = format!("file descriptor {fd}");
            read_input(inherited, true)
                .map_err(|err| unreadable(&source, err))?
                .ok_or_else(|| nothing_to_read(&source))
        }
    }
}

fn unreadable(source: &str, err: io::Error) -> Failure {
    input_error(format!("reading the password from {source}: {err}"))
}

/// Input that ends before its first byte holds no password at all: the
/// caller closed it, or gave /dev/null (the two look the same from here:
/// the Rust runtime opens /dev/null on a closed standard input). That is a
/// password that could not be read, unlike an empty first line, which is an
/// empty (invalid) password.
fn nothing_to_read(source: &str) -> Failure {
    input_error(format!(
        "no password to read: {source} is closed or empty (an empty password would be an empty line)"
    ))
}

/// A descriptor the caller handed us (`3<pwfile`, a pipe, a socket), read at
/// its current offset and with the rights it was opened with, never reopened.
struct InheritedFd(RawFd);

impl InheritedFd {
    fn new(fd: u32) -> Result<InheritedFd, Failure> {
        let not_open = || input_error(format!("file descriptor {fd} is not open"));
        let fd = RawFd::try_from(fd).map_err(|_| not_open())?;
        // Checked through /proc first: borrowing a number that is not open
        // would break the borrow's promise.
        std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).map_err(|_| not_open())?;
        Ok(InheritedFd(fd))
    }

    fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor was inherited open (checked in `new`) and
        // nothing in this single-threaded program closes it.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }

    fn is_terminal(&self) -> bool {
        self.borrow().is_terminal()
    }
}

impl Read for InheritedFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(rustix::io::read(self.borrow(), buf)?)
    }
}

fn input_error(message: String) -> Failure {
    Failure::Other(Status::IoError, message)
}

/// Reads into one fixed, zeroized buffer (a growing Vec would leave copies
/// behind). With `first_line`, stops at the first LF and drops it and a CR
/// before it. `None` when the input ends before its first byte.
fn read_input(mut input: impl Read, first_line: bool) -> io::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut buffer = Zeroizing::new(vec![0u8; MAX_INPUT]);
    let mut len = 0;
    let mut any = false;
    while len < MAX_INPUT {
        let read = match input.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(read) if !any => {
                any = true;
                read
            }
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let newline = first_line
            .then(|| {
                buffer[len..len + read]
                    .iter()
                    .position(|&byte| byte == b'\n')
            })
            .flatten();
        if let Some(at) = newline {
            len += at;
            if buffer[..len].ends_with(b"\r") {
                len -= 1;
            }
            break;
        }
        len += read;
    }
    buffer.truncate(len);
    Ok(any.then_some(buffer))
}

/// Asks on the terminal without echo: twice for a new password, as passwd(1) does.
fn prompt(terminal: BorrowedFd<'_>, verify: bool) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let ask = |question: &str| {
        terminal::ask(terminal, question, MAX_INPUT)
            .map_err(|err| input_error(format!("reading the password from the terminal: {err}")))
    };
    if verify {
        return ask("Password: ");
    }
    let first = ask("New password: ")?;
    let second = ask("Retype new password: ")?;
    if first != second {
        return Err(Failure::Other(
            Status::InvalidPassword,
            "the two passwords differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rules() {
        let long = vec![b'x'; 5000];
        /// input, first line only, what is read
        type InputCase<'a> = (&'a [u8], bool, Option<&'a [u8]>);
        let cases: &[InputCase] = &[
            (b"secret\n", true, Some(b"secret")),
            (b"secret\r\n", true, Some(b"secret")),
            (b"secret", true, Some(b"secret")),
            (b"one\ntwo\n", true, Some(b"one")),
            (b"\n", true, Some(b"")),
            (b"\r\n", true, Some(b"")),
            (b"", true, None),
            (b"", false, None),
            (b"trailing space \n", true, Some(b"trailing space ")),
            (b"secret\r\n", false, Some(b"secret\r\n")),
            (b"one\ntwo\n", false, Some(b"one\ntwo\n")),
            (&long, true, Some(&long[..MAX_INPUT])),
        ];
        for (input, first_line, expected) in cases {
            let got = read_input(*input, *first_line).unwrap();
            assert_eq!(got.as_deref().map(Vec::as_slice), *expected, "{input:?}");
        }
    }
}
