//! Asking for a password on a terminal without echo, and giving the terminal
//! back as it was on every way out: an answer, end of input, an error, and
//! a signal (Ctrl-C, Ctrl-\, a hang-up, kill).
//!
//! Echo alone is turned off; line editing (ICANON) and the keys that send
//! signals (ISIG) stay as the user had them. The signals that would end the
//! process are held back (blocked, and read from a signalfd) while echo is
//! off; when one comes, the terminal is restored first, then the signal is
//! raised again with the mask restored, so the process ends as it would have
//! (a shell sees the death by SIGINT) with the terminal as it found it.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{raise, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, Termios};
use zeroize::Zeroizing;

/// Signals whose default action ends the process, held back while echo is off.
const HELD: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
];

/// Writes `question` to the terminal and reads one line without echo; the
/// line ending is not part of the answer. At most `limit` bytes are kept
/// (the library refuses longer passwords anyway).
pub fn ask(
    terminal: BorrowedFd<'_>,
    question: &str,
    limit: usize,
) -> io::Result<Zeroizing<Vec<u8>>> {
    let held: SigSet = HELD.into_iter().collect();
    let signals = SignalFd::with_flags(&held, SfdFlags::SFD_CLOEXEC)?;
    let quiet = Quiet::begin(terminal, &held)?;
    say(terminal, question);
    let answer = read_line(terminal, &signals, limit);
    drop(quiet);
    // The Enter that ended the line was not echoed either.
    say(terminal, "\n");
    match answer? {
        Answer::Line(line) => Ok(line),
        Answer::Signal(signal) => {
            // Ends the process now that the mask is back, unless the signal
            // is ignored: then the question is simply abandoned.
            let _ = raise(signal);
            Err(io::Error::new(
                io::ErrorKind::Interrupted,
                format!("interrupted by {}", signal.as_str()),
            ))
        }
    }
}

/// The terminal with echo off and the signals held, both undone on drop.
struct Quiet<'fd> {
    terminal: BorrowedFd<'fd>,
    saved: Termios,
    mask: SigSet,
}

impl<'fd> Quiet<'fd> {
    fn begin(terminal: BorrowedFd<'fd>, held: &SigSet) -> io::Result<Quiet<'fd>> {
        let saved = tcgetattr(terminal)?;
        let mask = held.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        // From here on, Drop restores both, whatever happens.
        let quiet = Quiet {
            terminal,
            saved,
            mask,
        };
        let mut silent = quiet.saved.clone();
        silent
            .local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK | LocalFlags::ECHONL);
        tcsetattr(terminal, SetArg::TCSANOW, &silent)?;
        Ok(quiet)
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        // TCSANOW, not TCSADRAIN: output to a stopped or gone terminal must
        // not keep us waiting. Errors cannot be reported from here and leave
        // nothing more to try.
        let _ = tcsetattr(self.terminal, SetArg::TCSANOW, &self.saved);
        let _ = self.mask.thread_set_mask();
    }
}

enum Answer {
    Line(Zeroizing<Vec<u8>>),
    Signal(Signal),
}

/// Reads up to a newline or the end of input, whichever comes first, unless a
/// held signal arrives. In canonical mode the terminal hands over whole lines.
fn read_line(terminal: BorrowedFd<'_>, signals: &SignalFd, limit: usize) -> io::Result<Answer> {
    let mut line = Zeroizing::new(vec![0u8; limit]);
    let mut len = 0;
    loop {
        let mut fds = [
            PollFd::new(terminal, PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            result => result?,
        };
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|events| !events.is_empty());
        if ready(&fds[1]) {
            if let Some(info) = signals.read_signal()? {
                let signal = i32::try_from(info.ssi_signo)
                    .ok()
                    .and_then(|number| Signal::try_from(number).ok())
                    .unwrap_or(Signal::SIGTERM);
                return Ok(Answer::Signal(signal));
            }
        }
        if !ready(&fds[0]) {
            continue;
        }
        let mut scratch = Zeroizing::new([0u8; 512]);
        let read = match nix::unistd::read(terminal, &mut scratch[..]) {
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
            result => result?,
        };
        let chunk = &scratch[..read];
        let end = chunk.iter().position(|&byte| byte == b'\n');
        let wanted = &chunk[..end.unwrap_or(read)];
        let kept = wanted.len().min(limit - len);
        line[len..len + kept].copy_from_slice(&wanted[..kept]);
        len += kept;
        if read == 0 || end.is_some() {
            line.truncate(len);
            return Ok(Answer::Line(line));
        }
    }
}

/// Writes to the terminal; a terminal opened read-only gets it on stderr.
fn say(terminal: BorrowedFd<'_>, text: &str) {
    if nix::unistd::write(terminal, text.as_bytes()).is_err() {
        let _ = io::Write::write_all(&mut io::stderr(), text.as_bytes());
    }
}
