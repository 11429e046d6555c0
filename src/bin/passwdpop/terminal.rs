//! Asking for a password on a terminal without echo, and giving the terminal
//! back as it was on every way out: an answer, end of input, an error, a
//! signal that ends the process (Ctrl-C, Ctrl-\, a hang-up, kill, a timer…),
//! and a stop (Ctrl-Z, a background read or write) for as long as it lasts.
//!
//! Echo alone is turned off; line editing (ICANON) and the keys that send
//! signals (ISIG) stay as the user had them. The signals that would end or
//! stop the process are held back (blocked, and read from a signalfd) while
//! echo is off; when one comes, the terminal is restored first, then the
//! signal is let through, so the process ends or stops as it would have (a
//! shell sees the death by SIGINT, or the stopped job) with the terminal as
//! it found it. After a stop (and on any SIGCONT, since a SIGSTOP cannot be
//! held) echo goes off again before anything more is read, as sudo does, and
//! a stop by Ctrl-Z asks the question again. A signal the process ignores
//! is not held, so it changes nothing: the question goes on.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{raise, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg, Termios};
use nix::unistd::{getpgrp, tcgetpgrp};
use zeroize::Zeroizing;

/// Signals whose default action ends the process and that are sent, not
/// caused by the instruction running (a fault such as SIGSEGV cannot be held
/// back). SIGPIPE is among them although Rust ignores it, in case it is not.
const FATAL: [Signal; 15] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGPIPE,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGSTKFLT,
];

/// Signals whose default action stops the process (SIGSTOP cannot be held).
const STOPS: [Signal; 3] = [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU];

/// Writes `question` to the terminal and reads one line without echo; the
/// line ending is not part of the answer. At most `limit` bytes are kept
/// (the library refuses longer passwords anyway).
pub fn ask(
    terminal: BorrowedFd<'_>,
    question: &str,
    limit: usize,
) -> io::Result<Zeroizing<Vec<u8>>> {
    // An ignored signal is not held: it is dropped as it comes, and the
    // terminal is never restored for it while the answer is being typed.
    let ignored = ignored();
    let held: SigSet = FATAL
        .into_iter()
        .chain(STOPS)
        .filter(|signal| !ignored.contains(signal))
        .chain([Signal::SIGCONT])
        .collect();
    let signals = SignalFd::with_flags(&held, SfdFlags::SFD_CLOEXEC)?;
    let mut quiet = Quiet::begin(terminal, &held)?;
    say(terminal, question);
    let answer = read_line(&mut quiet, &signals, question, limit);
    drop(quiet);
    // The Enter that ended the line was not echoed either.
    say(terminal, "\n");
    answer
}

/// The signals this process ignores, as the kernel lists them (`SigIgn` in
/// proc(5): bit N-1 for signal N); none when that cannot be read.
fn ignored() -> Vec<Signal> {
    let mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("SigIgn:"))?;
            u64::from_str_radix(line["SigIgn:".len()..].trim(), 16).ok()
        })
        .unwrap_or(0);
    Signal::iterator()
        .filter(|&signal| mask >> (signal as i32 - 1) & 1 == 1)
        .collect()
}

/// The terminal with echo off and the signals held, both undone on drop.
struct Quiet<'fd> {
    terminal: BorrowedFd<'fd>,
    /// The terminal as it is to be given back.
    saved: Termios,
    /// The signal mask as it is to be given back.
    mask: SigSet,
}

impl<'fd> Quiet<'fd> {
    fn begin(terminal: BorrowedFd<'fd>, held: &SigSet) -> io::Result<Quiet<'fd>> {
        let mask = held.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let saved = match tcgetattr(terminal) {
            Ok(saved) => saved,
            Err(err) => {
                let _ = mask.thread_set_mask();
                return Err(err.into());
            }
        };
        // From here on, Drop restores both, whatever happens.
        let quiet = Quiet {
            terminal,
            saved,
            mask,
        };
        quiet.silence()?;
        Ok(quiet)
    }

    /// Turns echo off, once the terminal is ours: a job in the background
    /// stops first, as it would on reading the terminal (with SIGTTOU held,
    /// the kernel would let it change a terminal the shell is using).
    fn silence(&self) -> io::Result<()> {
        if !self.in_foreground() {
            self.let_through(Signal::SIGTTIN);
            if !self.in_foreground() {
                return Err(io::Error::other(
                    "the terminal belongs to another job; run the command in the foreground",
                ));
            }
        }
        let mut silent = self.saved.clone();
        silent
            .local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK | LocalFlags::ECHONL);
        tcsetattr(self.terminal, SetArg::TCSANOW, &silent)?;
        Ok(())
    }

    /// Gives the terminal back as it was.
    fn restore(&self) {
        // TCSANOW, not TCSADRAIN: output to a stopped or gone terminal must
        // not keep us waiting. Errors cannot be reported from here and leave
        // nothing more to try.
        let _ = tcsetattr(self.terminal, SetArg::TCSANOW, &self.saved);
    }

    /// Whether this process's group owns the terminal (a terminal that is
    /// not our controlling one has no such owner: then it is ours).
    fn in_foreground(&self) -> bool {
        tcgetpgrp(self.terminal).map_or(true, |owner| owner == getpgrp())
    }

    /// Lets one held signal take its effect (end or stop the process, or
    /// nothing if it is ignored), then holds it again. The terminal must have
    /// been restored first.
    fn let_through(&self, signal: Signal) {
        if self.mask.contains(signal) {
            // Blocked before we came: it stays pending for whoever unblocks it.
            let _ = raise(signal);
            return;
        }
        let one = SigSet::from(signal);
        // Pending while blocked, delivered as soon as it is unblocked.
        let _ = raise(signal);
        let _ = one.thread_unblock();
        let _ = one.thread_block();
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        self.restore();
        let _ = self.mask.thread_set_mask();
    }
}

/// Reads up to a newline or the end of input, whichever comes first; the
/// held signals are dealt with as they come. In canonical mode the terminal
/// hands over whole lines.
fn read_line(
    quiet: &mut Quiet<'_>,
    signals: &SignalFd,
    question: &str,
    limit: usize,
) -> io::Result<Zeroizing<Vec<u8>>> {
    let terminal = quiet.terminal;
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
                if STOPS.contains(&signal) {
                    quiet.restore();
                    quiet.let_through(signal);
                    // Running again: the terminal is as the shell gave it
                    // back, which is what to restore in the end; what was
                    // typed before the stop was discarded with the question.
                    quiet.saved = tcgetattr(terminal)?;
                    quiet.silence()?;
                    len = 0;
                    say(terminal, "\n");
                    say(terminal, question);
                } else if signal == Signal::SIGCONT {
                    // After a SIGSTOP, which nothing can hold, a shell may
                    // have turned echo on again.
                    quiet.silence()?;
                } else {
                    // The shell's next prompt starts on a line of its own.
                    quiet.restore();
                    say(terminal, "\n");
                    quiet.let_through(signal);
                    // Still here: the signal was blocked before we came.
                    quiet.silence()?;
                    say(terminal, question);
                }
                continue;
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
            return Ok(line);
        }
    }
}

/// Writes to the terminal; a terminal opened read-only gets it on stderr.
fn say(terminal: BorrowedFd<'_>, text: &str) {
    if nix::unistd::write(terminal, text.as_bytes()).is_err() {
        let _ = io::Write::write_all(&mut io::stderr(), text.as_bytes());
    }
}
