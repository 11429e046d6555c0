//! The poppassd protocol, as webmail password drivers speak it:
//!
//! ```text
//! S: 200 passwdpopd hello, who are you?
//! C: user bob@example.com        S: 200 Your password please.
//! C: pass CURRENT                S: 200 Your new password please.   (or 500 …, then close)
//! C: newpass NEW                 S: 200 Password changed, thank-you. (or 500 <reason>)
//! C: quit                        S: 200 Bye.
//! ```
//!
//! Keywords in any case; lines end in LF or CRLF; each line must arrive
//! within 10 s and the whole session end within 60 s; the third unknown or
//! out-of-sequence command closes it (a client keeping a slot with chatter
//! would otherwise hold it for ever). The change is made at `newpass`. Every
//! success line starts with exactly `200`, which is all some clients look at.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::account::Account;
use crate::log::{self, Outcome};
use crate::service::{Denied, Service};
use crate::throttle::Client;

pub const GREETING: &str = "200 passwdpopd hello, who are you?";
pub const LINE_TIMEOUT: Duration = Duration::from_secs(10);
/// A real session is four lines and two hashes: a minute is ample.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Unknown or out-of-sequence commands tolerated before the session closes.
pub const MAX_BAD_COMMANDS: u32 = 3;
/// A password is at most 511 bytes; with the keyword and line end this is ample.
pub const MAX_LINE: usize = 1024;

const INCORRECT: &str = "500 Old password is incorrect.";
const THROTTLED: &str = "500 Too many failed attempts; try again later.";

enum State {
    Start,
    User(String),
    LoggedIn(Account),
    Changed,
}

/// Serves one connection until `quit`, a fatal answer, a slow or oversized
/// line, or shutdown (between lines only: a change is never cut).
pub async fn serve<IO>(
    io: IO,
    peer: Option<Client>,
    peer_label: String,
    service: &Service,
    shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut account = None;
    let end = session(io, peer, &peer_label, service, shutdown, &mut account).await;
    record(&peer_label, account.as_deref(), Outcome::SessionEnd, end);
}

/// The session's commands; what ended it, for the log.
async fn session<IO>(
    io: IO,
    peer: Option<Client>,
    peer_label: &str,
    service: &Service,
    mut shutdown: watch::Receiver<bool>,
    last_account: &mut Option<String>,
) -> &'static str
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let session_end = tokio::time::Instant::now() + SESSION_TIMEOUT;
    let mut conn = BufReader::new(io);
    if send(&mut conn, GREETING).await.is_err() {
        return "Gone";
    }
    let mut state = State::Start;
    let mut bad_commands = 0;
    let mut line = Zeroizing::new(Vec::with_capacity(128));
    loop {
        line.clear();
        let read = tokio::select! {
            read = read_line(&mut conn, &mut line) => read,
            _ = tokio::time::sleep_until(session_end) => {
                let _ = send(&mut conn, "500 Session too long.").await;
                return "SessionTimeout";
            }
            _ = crate::server::stopped(&mut shutdown) => {
                let _ = send(&mut conn, "500 Server shutting down.").await;
                return "Shutdown";
            }
        };
        match read {
            Ok(true) => {}
            Ok(false) => return "Gone",
            Err((answer, end)) => {
                let _ = send(&mut conn, answer).await;
                return end;
            }
        }
        let started = Instant::now();
        let (keyword, argument) = split_command(&line);
        let keyword = keyword.to_ascii_lowercase();
        let (answer, close) = match (keyword.as_slice(), &state) {
            (b"quit", _) => ("200 Bye.".to_owned(), true),
            (b"user", State::Start | State::User(_)) => match std::str::from_utf8(argument) {
                Ok(user) if !user.is_empty() => {
                    state = State::User(user.to_owned());
                    ("200 Your password please.".to_owned(), false)
                }
                _ => ("500 Username required.".to_owned(), false),
            },
            (b"pass", State::User(user)) => {
                let password = Zeroizing::new(argument.to_vec());
                let default_domain = service.settings().default_domain.as_deref();
                let account = Account::from_parts(user, None, default_domain);
                let key = account.as_ref().ok().map(Account::key);
                last_account.clone_from(&key);
                let login = match account {
                    Ok(account) => service
                        .login(peer, &account, password, started)
                        .await
                        .map(|()| account),
                    Err(_) => {
                        // Not an address: a failure like any other, at the same pace.
                        service.reject(peer, started).await;
                        Err(Denied::BadCredentials("InvalidUser"))
                    }
                };
                match login {
                    Ok(account) => {
                        record(peer_label, key.as_deref(), Outcome::LoggedIn, "Ok");
                        state = State::LoggedIn(account);
                        ("200 Your new password please.".to_owned(), false)
                    }
                    Err(Denied::Throttled) => {
                        record(peer_label, key.as_deref(), Outcome::Throttled, "Throttled");
                        (THROTTLED.to_owned(), true)
                    }
                    Err(Denied::BadCredentials(status)) => {
                        record(peer_label, key.as_deref(), Outcome::Denied, status);
                        (INCORRECT.to_owned(), true)
                    }
                }
            }
            (b"newpass", State::LoggedIn(account)) => {
                let password = Zeroizing::new(argument.to_vec());
                match service.change(None, account, password).await {
                    Ok(()) => {
                        record(peer_label, Some(&account.key()), Outcome::Changed, "Ok");
                        state = State::Changed;
                        ("200 Password changed, thank-you.".to_owned(), false)
                    }
                    Err(failure) => {
                        record(
                            peer_label,
                            Some(&account.key()),
                            Outcome::Failed,
                            failure.status,
                        );
                        (format!("500 {}", one_line(&failure.message)), false)
                    }
                }
            }
            (b"user" | b"pass" | b"newpass", _) => {
                bad_commands += 1;
                ("500 Command out of sequence.".to_owned(), false)
            }
            _ => {
                bad_commands += 1;
                ("500 Unknown command.".to_owned(), false)
            }
        };
        let too_many = bad_commands >= MAX_BAD_COMMANDS;
        let answer = if too_many {
            "500 Too many bad commands.".to_owned()
        } else {
            answer
        };
        if send(&mut conn, &answer).await.is_err() {
            return "Gone";
        }
        if too_many {
            return "TooManyBadCommands";
        }
        if close {
            return match keyword.as_slice() {
                b"quit" => "Quit",
                _ => "Refused",
            };
        }
    }
}

/// Reads one line (without its LF or CRLF) into `line`. `Ok(false)` at end of
/// input; `Err` with the answer to send (and the log's reason) when the line
/// is too slow or too long.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    conn: &mut R,
    line: &mut Zeroizing<Vec<u8>>,
) -> Result<bool, (&'static str, &'static str)> {
    let limited = async {
        loop {
            let available = match conn.fill_buf().await {
                Ok(available) => available,
                Err(_) => return Ok(false),
            };
            if available.is_empty() {
                return Ok(false);
            }
            let (taken, done) = match available.iter().position(|&byte| byte == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            line.extend_from_slice(&available[..taken]);
            conn.consume(taken);
            if line.len() > MAX_LINE {
                return Err(("500 Line too long.", "LineTooLong"));
            }
            if done {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(true);
            }
        }
    };
    match tokio::time::timeout(LINE_TIMEOUT, limited).await {
        Ok(result) => result,
        Err(_) => Err(("500 Timeout waiting for a command.", "LineTimeout")),
    }
}

/// `keyword argument`: the argument is everything after the first space, as
/// is (a password may hold spaces, even at its ends).
fn split_command(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&byte| byte == b' ') {
        Some(at) => (&line[..at], &line[at + 1..]),
        None => (line, &[]),
    }
}

async fn send<W: AsyncWrite + Unpin>(conn: &mut W, line: &str) -> std::io::Result<()> {
    conn.write_all(format!("{line}\r\n").as_bytes()).await?;
    conn.flush().await
}

/// A library message as one protocol line.
fn one_line(message: &str) -> String {
    message.replace(['\r', '\n'], " ")
}

fn record(peer: &str, account: Option<&str>, outcome: Outcome, status: &str) {
    log::write(&log::Record {
        peer,
        protocol: "poppassd",
        account,
        outcome,
        status,
        http: None,
        token: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_at_the_first_space_only() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"user bob@example.com", b"user", b"bob@example.com"),
            (b"PASS  two  spaces ", b"PASS", b" two  spaces "),
            (b"quit", b"quit", b""),
            (b"newpass ", b"newpass", b""),
        ];
        for (line, keyword, argument) in cases {
            assert_eq!(split_command(line), (*keyword, *argument));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_after_60_s_however_busy_the_client_keeps_it() {
        use tokio::io::AsyncBufReadExt as _;
        let settings = crate::settings::resolve(crate::args::Flags {
            root: Some("/nonexistent".into()),
            ..Default::default()
        })
        .unwrap();
        let service = Service::new(settings, crate::pool::Pool::new(1)).unwrap();
        let (client, server) = tokio::io::duplex(4096);
        let (_stop, shutdown) = watch::channel(false);
        let started = tokio::time::Instant::now();
        let served = async {
            serve(server, None, "test".into(), &service, shutdown).await;
            started.elapsed()
        };
        let chatter = async {
            let (reader, mut writer) = tokio::io::split(client);
            let mut lines = BufReader::new(reader).lines();
            let mut answers = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                answers.push(line);
                // A valid line every 9 s: each within the line timeout.
                tokio::time::sleep(Duration::from_secs(9)).await;
                let _ = writer.write_all(b"user bob@example.com\r\n").await;
            }
            answers
        };
        let (took, answers) = tokio::join!(served, chatter);
        assert_eq!(answers.last().unwrap(), "500 Session too long.");
        assert!(answers.len() > 3, "{answers:?}");
        assert!(
            took >= SESSION_TIMEOUT && took < SESSION_TIMEOUT + LINE_TIMEOUT,
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn lines_end_in_lf_or_crlf_and_are_bounded() {
        let input: &[u8] = b"user a@b.test\r\npass x\ny\r\r\n";
        let mut reader = BufReader::new(input);
        let mut line = Zeroizing::new(Vec::new());
        let mut lines = Vec::new();
        while read_line(&mut reader, &mut line).await.unwrap() {
            lines.push(line.to_vec());
            line.clear();
        }
        assert_eq!(
            lines,
            [
                b"user a@b.test".to_vec(),
                b"pass x".to_vec(),
                b"y\r".to_vec()
            ]
        );

        let long = vec![b'a'; MAX_LINE + 10];
        let mut reader = BufReader::new(long.as_slice());
        let mut line = Zeroizing::new(Vec::new());
        assert_eq!(
            read_line(&mut reader, &mut line).await,
            Err(("500 Line too long.", "LineTooLong"))
        );
    }
}
