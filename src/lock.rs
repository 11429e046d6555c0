//! The lock a writer holds on a domain while it replaces the shadow file.
//!
//! Two locks, taken in this order and released in reverse:
//!
//! 1. `flock(LOCK_EX)` on the domain directory itself. The directory is never
//!    renamed, so unlike a lock on `shadow` (which the rename replaces) it keeps
//!    protecting; and flock locks belong to an open file description, so they
//!    exclude threads of one process too (fcntl locks would not). The kernel
//!    drops it when a killed holder's descriptors close. Shell scripts take it
//!    with `flock(1)` on the directory.
//! 2. The dotlock `shadow.lock` of shadow-utils and cPanel: a file holding the
//!    owner's PID, created with `link()` from a unique temp file so that exactly
//!    one creator wins. Tools that only know this convention wait for us, and we
//!    for them. Because every passwdpop writer already holds the flock, breaking
//!    a stale dotlock cannot race with another passwdpop writer.
//!
//! A dotlock is held while its PID is alive (our own PID counts as alive, as in
//! shadow-utils) or, when it holds no PID, until it is 10 minutes old. A process
//! in another PID namespace looks dead: its lock would be broken.
//!
//! `shadow.lock` is never unlinked by name: a writer that knows only the
//! dotlock convention may have broken the same stale lock (or ours) and
//! linked its own meanwhile. A lock is first renamed to a name of ours, which
//! is atomic, and removed only if what was renamed is the file we judged (its
//! inode, which a descriptor we keep open stops the kernel from reusing);
//! anything else is renamed back at once. What remains is the moment between
//! the two renames, when the name is free: a third dotlock-only writer
//! linking its lock then makes the restore fail, and two foreign writers
//! both believe they hold the lock. That needs a stale lock, two such writers
//! and this timing; see RELIABILITY.md.

use std::fs::{File, TryLockError};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use rustix::process::{getpid, test_kill_process, Pid};

use crate::error::{Error, Status};
use crate::store::{temp_name, TEMP_PREFIX};

/// The dotlock's name in the domain directory.
pub const DOTLOCK_NAME: &str = "shadow.lock";
/// A dotlock without a PID in it is broken once it is this old.
pub const UNREADABLE_DOTLOCK_AGE: Duration = Duration::from_secs(10 * 60);

const FIRST_BACKOFF: Duration = Duration::from_micros(20);
const MAX_BACKOFF: Duration = Duration::from_millis(1);
const MAX_QUICK_RETRIES: u32 = 8;

/// Both locks on one domain; released on drop (dotlock first).
#[derive(Debug)]
pub struct DomainLock<'d> {
    dotlock: Dotlock<'d>,
    _flock: DirFlock<'d>,
}

/// Takes both locks on the open domain directory, waiting at most `timeout`
/// in all (zero: try once).
pub fn lock_domain<'d>(
    dir: &'d File,
    dir_path: &Path,
    timeout: Duration,
) -> Result<DomainLock<'d>, Error> {
    let mut wait = Wait::new(timeout);
    let flock = loop {
        // std's File::try_lock is flock(LOCK_EX | LOCK_NB).
        match dir.try_lock() {
            Ok(()) => break DirFlock { dir },
            Err(TryLockError::WouldBlock) => {
                if !wait.another_try() {
                    return Err(Error::new(
                        Status::LockTimeout,
                        format!(
                            "{} is locked by another passwdpop writer (flock) for longer than {} ms",
                            dir_path.display(),
                            timeout.as_millis()
                        ),
                    ));
                }
            }
            Err(TryLockError::Error(err)) => {
                return Err(Error::io(
                    format_args!("locking {}", dir_path.display()),
                    err,
                ))
            }
        }
    };
    let dotlock = take_dotlock(dir.as_fd(), dir_path, &mut wait, timeout)?;
    Ok(DomainLock {
        dotlock,
        _flock: flock,
    })
}

impl DomainLock<'_> {
    /// Fails unless `shadow.lock` is still the file we linked. A writer that
    /// knows only the dotlock convention and judged our lock stale (or took
    /// it for one it had judged before we took it over) may have unlinked it
    /// by name and linked its own: it then writes as well, and a rename of
    /// ours would lose its update, or ours would be lost by its rename.
    /// Checked right before the rename, this leaves only the time between
    /// this `statat` and the rename itself; see RELIABILITY.md.
    pub fn ensure_held(&self, dir_path: &Path) -> Result<(), Error> {
        let lost = |what: &str| {
            Error::new(
                Status::IoError,
                format!(
                    "the lock {} {what}: another writer took it; nothing changed",
                    dir_path.join(DOTLOCK_NAME).display()
                ),
            )
        };
        match rfs::statat(self.dotlock.dir, DOTLOCK_NAME, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if self.dotlock.mine.is(&stat) => Ok(()),
            Ok(_) => Err(lost("is no longer ours")),
            Err(Errno::NOENT) => Err(lost("was removed")),
            Err(err) => Err(Error::io(
                format_args!(
                    "checking the lock {}",
                    dir_path.join(DOTLOCK_NAME).display()
                ),
                err,
            )),
        }
    }
}

#[derive(Debug)]
struct DirFlock<'d> {
    dir: &'d File,
}

impl Drop for DirFlock<'_> {
    fn drop(&mut self) {
        // Explicit, because a child forked meanwhile shares the description.
        let _ = self.dir.unlock();
    }
}

#[derive(Debug)]
struct Dotlock<'d> {
    dir: BorrowedFd<'d>,
    mine: LockFile,
}

impl Drop for Dotlock<'_> {
    fn drop(&mut self) {
        // Only if `shadow.lock` is still ours: a foreign writer that judged
        // it stale may have replaced it with its own.
        let _ = remove_if_same(self.dir, &self.mine);
    }
}

/// A lock file as we saw it: its identity, and the file kept open so that
/// its inode number cannot go to another file while we may still remove it.
#[derive(Debug)]
struct LockFile {
    dev: u64,
    ino: u64,
    _pin: Option<File>,
}

impl LockFile {
    fn is(&self, stat: &rfs::Stat) -> bool {
        stat.st_dev == self.dev && stat.st_ino == self.ino
    }
}

/// What became of a `shadow.lock` we meant to remove.
#[derive(Debug, PartialEq, Eq)]
enum Removal {
    /// It was the file we meant, and it is gone.
    Removed,
    /// There was no `shadow.lock`.
    Gone,
    /// `shadow.lock` is another file (a writer replaced it); it was left in
    /// place, or renamed back.
    Other,
}

/// Removes `shadow.lock` if it is `expected`, never another writer's lock:
/// see the module documentation.
fn remove_if_same(dir: BorrowedFd<'_>, expected: &LockFile) -> Result<Removal, Errno> {
    match rfs::statat(dir, DOTLOCK_NAME, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) if expected.is(&stat) => {}
        Ok(_) => return Ok(Removal::Other),
        Err(Errno::NOENT) => return Ok(Removal::Gone),
        Err(err) => return Err(err),
    }
    // Unique among passwdpop writers, which all hold the directory flock; a
    // fixed name only if the OS gives no random bytes.
    let aside = temp_name("aside").unwrap_or_else(|_| format!("{TEMP_PREFIX}aside.lock"));
    match rfs::renameat(dir, DOTLOCK_NAME, dir, &aside) {
        Ok(()) => {}
        Err(Errno::NOENT) => return Ok(Removal::Gone),
        Err(err) => return Err(err),
    }
    let renamed = rfs::statat(dir, &aside, AtFlags::SYMLINK_NOFOLLOW)?;
    if expected.is(&renamed) {
        match rfs::unlinkat(dir, &aside, AtFlags::empty()) {
            Ok(()) => return Ok(Removal::Removed),
            // A directory, say: it stays the lock it was.
            Err(err) => {
                put_back(dir, &aside);
                return Err(err);
            }
        }
    }
    put_back(dir, &aside);
    Ok(Removal::Other)
}

/// Renames a lock we set aside back to `shadow.lock`, unless a new lock took
/// the name meanwhile: then the set-aside lock cannot return, and its name is
/// removed (its owner removes `shadow.lock` by name when done, as the
/// convention does).
fn put_back(dir: BorrowedFd<'_>, aside: &str) {
    match rfs::renameat_with(dir, aside, dir, DOTLOCK_NAME, RenameFlags::NOREPLACE) {
        Ok(()) => return,
        // A file system without RENAME_NOREPLACE: link() never replaces either.
        Err(Errno::INVAL | Errno::NOSYS) => {
            let _ = rfs::linkat(dir, aside, dir, DOTLOCK_NAME, AtFlags::empty());
        }
        Err(_) => {}
    }
    let _ = rfs::unlinkat(dir, aside, AtFlags::empty());
}

/// Who holds a dotlock, as far as its file says.
#[derive(Debug, PartialEq, Eq)]
enum Holder {
    /// Held by a live process (or one we cannot tell is dead).
    Live(String),
    /// The holder is gone: the lock may be broken.
    Stale,
    /// The lock vanished while we looked.
    Gone,
}

fn take_dotlock<'d>(
    dir: BorrowedFd<'d>,
    dir_path: &Path,
    wait: &mut Wait,
    timeout: Duration,
) -> Result<Dotlock<'d>, Error> {
    let pid_file = PidFile::create(dir, dir_path)?;
    // Retries without sleeping after the lock vanished or was broken, but only
    // a few in a row, so that an odd lock file cannot make us spin past the deadline.
    let mut quick_retries = 0;
    loop {
        match rfs::linkat(dir, &pid_file.name, dir, DOTLOCK_NAME, AtFlags::empty()) {
            Ok(()) => {
                return Ok(Dotlock {
                    dir,
                    mine: pid_file.into_lock_file(),
                })
            }
            Err(Errno::EXIST) => {}
            Err(err) => {
                return Err(Error::io(
                    format_args!("creating {}/{DOTLOCK_NAME}", dir_path.display()),
                    err,
                ))
            }
        }
        // `None`: the lock is gone or was broken, so linking may succeed now.
        let live_holder = match examine_dotlock(dir) {
            Found::Gone => None,
            Found::Live(holder) => Some(holder),
            Found::Stale(stale) => match remove_if_same(dir, &stale) {
                Ok(Removal::Removed | Removal::Gone) => None,
                Ok(Removal::Other) => Some("a writer that replaced a stale lock".to_owned()),
                Err(err) => Some(format!("a stale lock that cannot be removed ({err})")),
            },
        };
        let holder = match live_holder {
            None if quick_retries < MAX_QUICK_RETRIES => {
                quick_retries += 1;
                continue;
            }
            None => "a lock that keeps coming back".to_owned(),
            Some(holder) => holder,
        };
        quick_retries = 0;
        if !wait.another_try() {
            return Err(Error::new(
                Status::LockTimeout,
                format!(
                    "{}/{DOTLOCK_NAME} is held by {holder} for longer than {} ms",
                    dir_path.display(),
                    timeout.as_millis()
                ),
            ));
        }
    }
}

/// What `shadow.lock` turned out to be.
enum Found {
    /// Held by a live process (or one we cannot tell is dead).
    Live(String),
    /// Stale: this file may be removed.
    Stale(LockFile),
    /// The lock vanished while we looked.
    Gone,
}

/// Reads the dotlock and judges whether its holder is still there.
fn examine_dotlock(dir: BorrowedFd<'_>) -> Found {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rfs::openat(dir, DOTLOCK_NAME, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Found::Gone,
        // Unreadable (a symlink, no permission...): respect it until it is old.
        Err(_) => {
            let stat = rfs::statat(dir, DOTLOCK_NAME, AtFlags::SYMLINK_NOFOLLOW).ok();
            return found(judge_by_age(stat), stat, None);
        }
    };
    let stat = rfs::fstat(&fd).ok();
    let mut content = Vec::with_capacity(32);
    let mut file = File::from(fd);
    let read_ok = (&mut file).take(64).read_to_end(&mut content).is_ok();
    let holder = match (parse_pid(&content).filter(|_| read_ok), stat) {
        (Some(pid), Some(stat)) => judge_by_pid(pid, stat.st_mtime),
        _ => judge_by_age(stat),
    };
    found(holder, stat, Some(file))
}

fn found(holder: Holder, stat: Option<rfs::Stat>, file: Option<File>) -> Found {
    match (holder, stat) {
        (Holder::Live(holder), _) => Found::Live(holder),
        (Holder::Stale, Some(stat)) => Found::Stale(LockFile {
            dev: stat.st_dev,
            ino: stat.st_ino,
            _pin: file,
        }),
        (Holder::Stale | Holder::Gone, _) => Found::Gone,
    }
}

fn parse_pid(content: &[u8]) -> Option<Pid> {
    let text = std::str::from_utf8(content.trim_ascii()).ok()?;
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Pid::from_raw(text.parse().ok()?)
}

/// A lock is held while its PID is alive; our own PID counts as alive, as in
/// shadow-utils — unless this process started after the lock was written.
/// Then the lock is a dead writer's whose PID we inherited (a container's
/// PID 1 restarted after a SIGKILL): without this rule it would lock the
/// domain for good. We hold the flock, so no passwdpop writer of ours holds
/// the dotlock. The rule is not applied to other PIDs: a lock file's mtime in
/// the past (`touch`, a clock stepped forward, an NFS server's clock) must
/// never make a live foreign holder's lock look stale.
fn judge_by_pid(pid: Pid, locked_at: i64) -> Holder {
    let raw = pid.as_raw_nonzero();
    if pid != getpid() {
        return match test_kill_process(pid) {
            Err(Errno::SRCH) => Holder::Stale,
            _ => Holder::Live(format!("process {raw}")),
        };
    }
    // One second of slack: the two clocks are rounded differently.
    if process_start_time(pid).is_some_and(|started| locked_at.saturating_add(1) < started) {
        return Holder::Stale;
    }
    Holder::Live(format!("this process (pid {raw})"))
}

/// When a process started, in seconds since the epoch, from /proc.
fn process_start_time(pid: Pid) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero())).ok()?;
    // Field 22, counted after the command name, which may hold spaces and ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let boot_time: i64 = boot
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let ticks_per_second = crate::sys::clock_ticks_per_second();
    boot_time.checked_add(i64::try_from(ticks / ticks_per_second).ok()?)
}

fn judge_by_age(stat: Option<rfs::Stat>) -> Holder {
    let Some(stat) = stat else {
        return Holder::Gone;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let modified = u64::try_from(stat.st_mtime).unwrap_or(0);
    if now.saturating_sub(modified) >= UNREADABLE_DOTLOCK_AGE.as_secs() {
        Holder::Stale
    } else {
        Holder::Live("a lock file without a PID in it".into())
    }
}

/// The unique file that is hard-linked to `shadow.lock`; its name is removed
/// on drop.
struct PidFile<'d> {
    dir: BorrowedFd<'d>,
    name: String,
    file: Option<File>,
    dev: u64,
    ino: u64,
}

impl<'d> PidFile<'d> {
    fn create(dir: BorrowedFd<'d>, dir_path: &Path) -> Result<PidFile<'d>, Error> {
        let name = temp_name("lock")?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(dir, &name, flags, Mode::from_raw_mode(0o600)).map_err(|err| {
            Error::io(
                format_args!("creating a lock file in {}", dir_path.display()),
                err,
            )
        })?;
        let mut pid_file = PidFile {
            dir,
            name,
            file: None,
            dev: 0,
            ino: 0,
        };
        let stat = rfs::fstat(&fd).map_err(|err| {
            Error::io(
                format_args!("examining a lock file in {}", dir_path.display()),
                err,
            )
        })?;
        (pid_file.dev, pid_file.ino) = (stat.st_dev, stat.st_ino);
        let pid = getpid().as_raw_nonzero().to_string();
        let mut file = File::from(fd);
        std::io::Write::write_all(&mut file, pid.as_bytes()).map_err(|err| {
            Error::io(
                format_args!("writing a lock file in {}", dir_path.display()),
                err,
            )
        })?;
        pid_file.file = Some(file);
        Ok(pid_file)
    }

    /// Our lock, once linked to `shadow.lock`.
    fn into_lock_file(mut self) -> LockFile {
        LockFile {
            dev: self.dev,
            ino: self.ino,
            _pin: self.file.take(),
        }
    }
}

impl Drop for PidFile<'_> {
    fn drop(&mut self) {
        let _ = rfs::unlinkat(self.dir, &self.name, AtFlags::empty());
    }
}

/// The one deadline for all waiting, with short, doubling sleeps so that a
/// waiter does not oversleep a lock that is held for milliseconds.
struct Wait {
    deadline: Instant,
    backoff: Duration,
}

impl Wait {
    fn new(timeout: Duration) -> Wait {
        Wait {
            deadline: Instant::now() + timeout,
            backoff: FIRST_BACKOFF,
        }
    }

    /// Sleeps before the next try; false when the deadline has passed.
    fn another_try(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        sleep(self.backoff.min(self.deadline - now));
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_parse_with_or_without_newline() {
        let cases: &[(&[u8], Option<i32>)] = &[
            (b"1234", Some(1234)),
            (b"1234\n", Some(1234)),
            (b" 1234 \r\n", Some(1234)),
            (b"", None),
            (b"0", None),
            (b"-5", None),
            (b"+5", None),
            (b"12ab", None),
            (b"99999999999", None),
            (b"\xff", None),
        ];
        for (content, expected) in cases {
            assert_eq!(
                parse_pid(content).map(Pid::as_raw_nonzero).map(i32::from),
                *expected,
                "{content:?}"
            );
        }
    }

    fn lock_file(path: &Path) -> LockFile {
        let stat = rfs::statat(rfs::CWD, path, AtFlags::SYMLINK_NOFOLLOW).unwrap();
        LockFile {
            dev: stat.st_dev,
            ino: stat.st_ino,
            _pin: File::open(path).ok(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_the_lock_file_we_judged_is_ever_removed() {
        // (what shadow.lock is when we remove it, the outcome, what is left)
        #[rustfmt::skip]
        let cases: &[(&str, Result<Removal, Errno>, &[&str])] = &[
            ("the file we judged", Ok(Removal::Removed), &[]),
            ("missing", Ok(Removal::Gone), &[]),
            ("another writer's lock", Ok(Removal::Other), &["shadow.lock"]),
            ("the directory we judged", Err(Errno::ISDIR), &["shadow.lock"]),
        ];
        for (what, outcome, left) in cases {
            let scratch = tempfile::tempdir().unwrap();
            let dir = File::open(scratch.path()).unwrap();
            let lock = scratch.path().join(DOTLOCK_NAME);
            if *what == "the directory we judged" {
                std::fs::create_dir(&lock).unwrap();
            } else {
                std::fs::write(&lock, "1").unwrap();
            }
            let judged = lock_file(&lock);
            match *what {
                "missing" => std::fs::remove_file(&lock).unwrap(),
                "another writer's lock" => {
                    let theirs = scratch.path().join("theirs");
                    std::fs::write(&theirs, "2").unwrap();
                    std::fs::rename(&theirs, &lock).unwrap();
                }
                _ => {}
            }
            let removal = remove_if_same(dir.as_fd(), &judged);
            assert_eq!(
                removal.as_ref().map_err(|err| *err),
                outcome.as_ref().map_err(|err| *err),
                "{what}"
            );
            assert_eq!(names(scratch.path()), *left, "{what}");
            if *what == "another writer's lock" {
                assert_eq!(std::fs::read(&lock).unwrap(), b"2");
            }
        }
    }

    #[test]
    fn releasing_leaves_a_lock_that_another_writer_put_in_place_of_ours() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = File::open(scratch.path()).unwrap();
        let lock = lock_domain(&dir, scratch.path(), Duration::ZERO).unwrap();
        // A writer that judged our lock stale (another PID namespace, say)
        // replaced it with its own.
        let theirs = scratch.path().join("theirs");
        std::fs::write(&theirs, "1").unwrap();
        std::fs::rename(&theirs, scratch.path().join(DOTLOCK_NAME)).unwrap();
        drop(lock);
        assert_eq!(names(scratch.path()), ["shadow.lock"]);
        assert_eq!(
            std::fs::read(scratch.path().join(DOTLOCK_NAME)).unwrap(),
            b"1"
        );

        // Our own lock is removed, and nothing else is left behind.
        std::fs::remove_file(scratch.path().join(DOTLOCK_NAME)).unwrap();
        drop(lock_domain(&dir, scratch.path(), Duration::ZERO).unwrap());
        assert_eq!(names(scratch.path()), Vec::<String>::new());
    }

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64)
    }

    #[test]
    fn own_pid_is_live_for_a_lock_written_since_we_started() {
        assert!(matches!(judge_by_pid(getpid(), now()), Holder::Live(_)));
    }

    #[test]
    fn a_lock_older_than_this_process_is_stale() {
        let started = process_start_time(getpid()).expect("/proc is mounted");
        assert!(started <= now() && started > now() - 3600);
        assert_eq!(judge_by_pid(getpid(), started - 60), Holder::Stale);
        assert!(matches!(judge_by_pid(getpid(), i64::MAX), Holder::Live(_)));
        // Another live process's lock is never judged by its age.
        let init = Pid::from_raw(1).unwrap();
        assert!(matches!(judge_by_pid(init, 0), Holder::Live(_)));
    }
}
