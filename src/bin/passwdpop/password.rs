//! Getting the password without putting it anywhere it could leak: every
//! buffer is zeroized, nothing is echoed.

use std::fs::File;
use std::io::{self, IsTerminal, Read};

use passwdpop::Status;
use zeroize::Zeroizing;

use crate::args::PasswordSource;
use crate::report::Failure;

/// More than any valid password (511 bytes) plus its line ending; longer
/// input is passed on whole, and the library rejects it as too long.
const MAX_INPUT: usize = 4096;

pub fn read_password(source: PasswordSource, verify: bool) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match source {
        PasswordSource::Argument(password) => Ok(password),
        PasswordSource::Stdin { raw: false } if io::stdin().is_terminal() => prompt(verify),
        PasswordSource::Stdin { raw } => read_input(io::stdin().lock(), !raw)
            .map_err(|err| input_error(format!("reading the password from standard input: {err}"))),
        PasswordSource::Fd(fd) => {
            // Through /proc, so that no unsafe from_raw_fd is needed.
            let file = File::open(format!("/proc/self/fd/{fd}")).map_err(|err| {
                input_error(format!("file descriptor {fd} cannot be read: {err}"))
            })?;
            read_input(file, true).map_err(|err| {
                input_error(format!(
                    "reading the password from file descriptor {fd}: {err}"
                ))
            })
        }
    }
}

fn input_error(message: String) -> Failure {
    Failure::Other(Status::IoError, message)
}

/// Reads into one fixed, zeroized buffer (a growing Vec would leave copies
/// behind). With `first_line`, stops at the first LF and drops it and a CR before it.
fn read_input(mut input: impl Read, first_line: bool) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(vec![0u8; MAX_INPUT]);
    let mut len = 0;
    while len < MAX_INPUT {
        let read = match input.read(&mut buffer[len..]) {
            Ok(0) => break,
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
    Ok(buffer)
}

/// Asks on the terminal without echo: twice for a new password, as passwd(1) does.
fn prompt(verify: bool) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let ask = |question: &str| {
        rpassword::prompt_password(question)
            .map(|answer| Zeroizing::new(answer.into_bytes()))
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
        let cases: &[(&[u8], bool, &[u8])] = &[
            (b"secret\n", true, b"secret"),
            (b"secret\r\n", true, b"secret"),
            (b"secret", true, b"secret"),
            (b"one\ntwo\n", true, b"one"),
            (b"\n", true, b""),
            (b"", true, b""),
            (b"trailing space \n", true, b"trailing space "),
            (b"secret\r\n", false, b"secret\r\n"),
            (b"one\ntwo\n", false, b"one\ntwo\n"),
            (&long, true, &long[..MAX_INPUT]),
        ];
        for (input, first_line, expected) in cases {
            let got = read_input(*input, *first_line).unwrap();
            assert_eq!(got.as_slice(), *expected, "{input:?}");
        }
    }
}
