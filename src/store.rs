//! The file system side: finding `<root>/<domain>/shadow` safely, and replacing
//! it atomically under the domain lock.
//!
//! Every path below the root is opened relative to the domain directory's file
//! descriptor with `O_NOFOLLOW`, so a symlink swapped in between a check and a
//! use is never followed. The replacement follows shadow-utils' commonio: a temp
//! file in the same directory, created exclusively, given the original's owner
//! and mode before any byte is written, every write checked, fsynced, renamed
//! over the original, and the directory fsynced.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat, Timespec, Timestamps};
use rustix::io::Errno;

use crate::config::{Layout, Root};
pub use crate::edit::Pass;
use crate::error::{Error, Status};
use crate::lock::{lock_domain, DomainLock};
use crate::shadow::{self, Matches, Replacement, Stored};
use crate::validate::{Domain, User};
use crate::visible::Renamed;

/// The file each domain directory holds.
pub const SHADOW_NAME: &str = "shadow";
/// Every temp file we create starts with this, so that leftovers of a killed
/// writer can be recognised and removed.
pub const TEMP_PREFIX: &str = ".shadow.passwdpop-";

/// The writer's buffer is small on purpose: runs of unchanged lines (up to a
/// whole read buffer, [`shadow::READ_BUFFER`]) are larger, and BufWriter passes those straight to the
/// file instead of copying them once more.
const WRITE_BUFFER: usize = 8 * 1024;
/// How much new content may pile up before its writeback is started.
const WRITEBACK_CHUNK: u64 = 1024 * 1024;
const SECONDS_PER_DAY: u64 = 86_400;

/// A unique name for a temp file of ours in a domain directory.
pub fn temp_name(kind: &str) -> Result<String, Error> {
    let mut random = [0u8; 8];
    rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::empty())
        .map_err(|err| Error::io("reading random bytes for a temp file name", err))?;
    Ok(format!(
        "{TEMP_PREFIX}{:016x}.{kind}",
        u64::from_ne_bytes(random)
    ))
}

/// A domain directory, opened without following symlinks. A `File` so that
/// std's `File::try_lock` (flock) can lock it.
pub struct DomainDir {
    fd: File,
    path: PathBuf,
}

impl DomainDir {
    /// Makes the latest rename in the directory durable. If this fails the
    /// change may not survive a power loss, which the caller must hear about.
    fn sync(&self) -> Result<(), Error> {
        rfs::fsync(&self.fd).map_err(|err| {
            Error::io(
                format_args!("syncing the directory {}", self.path.display()),
                err,
            )
        })
    }

    pub fn open(root: Root<'_>, domain: &Domain) -> Result<DomainDir, Error> {
        let path = root.shown.join(domain.as_str());
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened;
        let root_fd = match root.dir {
            Some(dir) => dir,
            None => {
                opened = open_root_path(root.shown, domain)?;
                opened.as_fd()
            }
        };
        let fd = match rfs::openat(
            root_fd,
            domain.as_str(),
            dir_flags | OFlags::NOFOLLOW,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                return Err(Error::new(
                    Status::NoSuchDomain,
                    format!(
                        "no domain {}: {} does not exist",
                        domain.as_str(),
                        path.display()
                    ),
                ))
            }
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let what = match rfs::statat(root_fd, domain.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
                        "is a symlink"
                    }
                    _ => "is not a directory",
                };
                return Err(unsafe_path(&path, what));
            }
            Err(err) => return Err(Error::io(format_args!("opening {}", path.display()), err)),
        };
        let stat = rfs::fstat(&fd)
            .map_err(|err| Error::io(format_args!("examining {}", path.display()), err))?;
        if stat.st_mode & 0o002 != 0 {
            return Err(unsafe_path(
                &path,
                "is world-writable (anyone could plant files or locks in it)",
            ));
        }
        Ok(DomainDir {
            fd: File::from(fd),
            path,
        })
    }

    fn shadow_path(&self) -> PathBuf {
        self.path.join(SHADOW_NAME)
    }

    /// Opens `shadow` for reading after checking that it is a regular file with
    /// one link. Opening does not block, even on a FIFO.
    fn open_shadow(&self) -> Result<(File, Stat), Error> {
        let path = self.shadow_path();
        let before = match rfs::statat(&self.fd, SHADOW_NAME, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => {
                return Err(Error::new(
                    Status::NoSuchDomain,
                    format!(
                        "no shadow file for this domain: {} does not exist",
                        path.display()
                    ),
                ))
            }
            Err(err) => return Err(Error::io(format_args!("examining {}", path.display()), err)),
        };
        check_shadow_stat(&path, &before)?;
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd =
            rfs::openat(&self.fd, SHADOW_NAME, flags, Mode::empty()).map_err(|err| match err {
                Errno::LOOP => unsafe_path(&path, "is a symlink"),
                err => Error::io(format_args!("opening {}", path.display()), err),
            })?;
        let stat = rfs::fstat(&fd)
            .map_err(|err| Error::io(format_args!("examining {}", path.display()), err))?;
        check_shadow_stat(&path, &stat)?;
        Ok((File::from(fd), stat))
    }

    /// Removes temp files of ours that a killed writer left behind. Only called
    /// under the domain lock, when no other writer of ours can own one.
    fn remove_leftovers(&self) {
        let Ok(mut entries) = rfs::Dir::read_from(&self.fd) else {
            return;
        };
        while let Some(Ok(entry)) = entries.next() {
            if entry
                .file_name()
                .to_bytes()
                .starts_with(TEMP_PREFIX.as_bytes())
            {
                let _ = rfs::unlinkat(&self.fd, entry.file_name(), AtFlags::empty());
            }
        }
    }
}

fn check_shadow_stat(path: &Path, stat: &Stat) -> Result<(), Error> {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {}
        FileType::Symlink => return Err(unsafe_path(path, "is a symlink")),
        FileType::Directory => return Err(unsafe_path(path, "is a directory, not a regular file")),
        _ => return Err(unsafe_path(path, "is not a regular file")),
    }
    // No link is not a danger but a race: a writer renamed a new file over
    // the name while we looked; what we have is a complete older version.
    if stat.st_nlink > 1 {
        return Err(unsafe_path(
            path,
            &format!(
                "has {} hard links; replacing it would silently fork them",
                stat.st_nlink
            ),
        ));
    }
    Ok(())
}

/// A root given by its path, opened (following symlinks: the root is the
/// administrator's to choose).
fn open_root_path(root: &Path, domain: &Domain) -> Result<OwnedFd, Error> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rfs::open(root, dir_flags, Mode::empty()).map_err(|err| match err {
        Errno::NOENT => Error::new(
            Status::NoSuchDomain,
            format!(
                "no domain {}: the root {} does not exist",
                domain.as_str(),
                root.display()
            ),
        ),
        err => Error::io(format_args!("opening the root {}", root.display()), err),
    })
}

fn unsafe_path(path: &Path, what: &str) -> Error {
    Error::new(
        Status::UnsafePath,
        format!("{} {what}; refusing to use it", path.display()),
    )
}

/// Replaces the hash of `user`'s entry with `hash`, atomically, under the
/// lock; returns the entry as it was, and when the new file took the name,
/// for the caller's wait until every reader sees it (`Config::after_rename`).
pub fn replace_hash(
    root: Root<'_>,
    domain: &Domain,
    user: &User,
    hash: &str,
    layout: Layout,
    lock_timeout: Duration,
) -> Result<(Stored, Renamed), Error> {
    let replacement = Replacement {
        hash,
        layout,
        day: today(),
    };
    let mut outcome = (Matches::None, None);
    let renamed = edit(root, domain, lock_timeout, |old, new| {
        outcome = shadow::rewrite_entry(old, new, user.as_str(), &replacement)?;
        Ok(match outcome {
            (Matches::One, Some(_)) => Pass::Commit,
            _ => Pass::Unchanged,
        })
    })?;
    match (outcome, renamed) {
        ((Matches::One, Some(stored)), Some(renamed)) => Ok((stored, renamed)),
        ((Matches::Several, _), _) => Err(ambiguous_account(root, domain, user)),
        _ => Err(no_such_account(domain, user)),
    }
}

pub fn no_such_account(domain: &Domain, user: &User) -> Error {
    Error::new(
        Status::NoSuchAccount,
        format!("no account '{}' in {}", user.as_str(), domain.as_str()),
    )
}

pub fn ambiguous_account(root: Root<'_>, domain: &Domain, user: &User) -> Error {
    Error::new(
        Status::AmbiguousAccount,
        format!(
            "more than one entry for '{}' in {} (user names match case-insensitively); fix the file by hand",
            user.as_str(),
            root.shown.join(domain.as_str()).join(SHADOW_NAME).display()
        ),
    )
}

/// Rewrites `<root>/<domain>/shadow` under the domain lock: `pass` copies
/// the old content to the new file with its edits and says what to do with
/// the result. [`Pass::Again`] runs it once more from the start over the
/// same old file, into a fresh temp file. Returns when the new file took
/// the name (for the caller's [`Config::after_rename`]), or `None` when the
/// file was left as it was.
///
/// [`Config::after_rename`]: crate::Config
pub fn edit(
    root: Root<'_>,
    domain: &Domain,
    lock_timeout: Duration,
    mut pass: impl FnMut(&mut dyn Read, &mut dyn Write) -> std::io::Result<Pass>,
) -> Result<Option<Renamed>, Error> {
    let dir = DomainDir::open(root, domain)?;
    // Fail fast on a missing or unsafe file before waiting for the lock.
    drop(dir.open_shadow()?);
    let lock = lock_domain(&dir.fd, &dir.path, lock_timeout)?;
    dir.remove_leftovers();
    let (old_file, old_stat) = dir.open_shadow()?;
    let path = dir.shadow_path();
    let temp = loop {
        let temp = TempFile::create(&dir, &old_file, &old_stat)?;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, EarlyWriteback::new(&temp.file));
        let decision = pass(&mut &old_file, &mut writer)
            .and_then(|decision| writer.flush().map(|()| decision))
            .map_err(|err| read_error("rewriting", &path, err, &old_file))?;
        drop(writer);
        match decision {
            Pass::Commit => break temp,
            Pass::Unchanged => return Ok(None),
            Pass::Again => {
                drop(temp);
                (&old_file)
                    .seek(SeekFrom::Start(0))
                    .map_err(|err| Error::io(format_args!("rereading {}", path.display()), err))?;
            }
        }
    };
    let renamed = temp.commit(&old_stat, &lock)?;
    drop(lock);
    // The replaced file has no name left: closing it frees its pages, which
    // takes milliseconds for a large file, so it happens after the unlock.
    drop(old_file);
    // The rename is made durable after the unlock, so that the next writer
    // need not wait for it. No caller hears of success before its own sync,
    // and whatever rename that sync makes durable is ours or a later one,
    // whose file was read from ours under the lock and synced before it.
    dir.sync()?;
    Ok(Some(renamed))
}

/// `user`'s first entry, read without a lock: the file is only ever
/// replaced whole.
pub fn read_entry(root: Root<'_>, domain: &Domain, user: &User) -> Result<Stored, Error> {
    let dir = DomainDir::open(root, domain)?;
    let (file, _) = dir.open_shadow()?;
    shadow::find_entry(&file, user.as_str())
        .map_err(|err| read_error("reading", &dir.shadow_path(), err, &file))?
        .ok_or_else(|| no_such_account(domain, user))
}

/// An I/O error while `doing` something to the shadow file at `path`; a line
/// over the length limit, or one the mail servers would not agree is the
/// entry, is named by its number.
fn read_error(doing: &str, path: &Path, err: std::io::Error, mut file: &File) -> Error {
    if let Some((line, dispute)) = shadow::disputed_line(&err, &mut file) {
        return Error::new(
            Status::AmbiguousAccount,
            format!(
                "{} line {line}: Exim and Dovecot would not agree whose entry it is ({}); fix the file by hand",
                path.display(),
                dispute.explain()
            ),
        );
    }
    match shadow::too_long_line(&err, &mut file) {
        Some(line) => Error::new(
            Status::IoError,
            format!(
                "{} line {line} is longer than {} bytes, the limit for a line; refusing to use the file",
                path.display(),
                shadow::MAX_LINE
            ),
        ),
        None => Error::io(format_args!("{doing} {}", path.display()), err),
    }
}

/// Days since 1970-01-01 UTC, for the shadow layout's last-change field.
pub fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / SECONDS_PER_DAY)
}

/// Writes to the temp file and starts its writeback every few MiB: the disk
/// works while we copy, and the fsync at the end, under the lock, waits less.
struct EarlyWriteback<'f> {
    file: &'f File,
    written: u64,
    started_up_to: u64,
}

impl<'f> EarlyWriteback<'f> {
    fn new(file: &'f File) -> Self {
        EarlyWriteback {
            file,
            written: 0,
            started_up_to: 0,
        }
    }
}

impl Write for EarlyWriteback<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = (&mut &*self.file).write(bytes)?;
        self.written += written as u64;
        if self.written - self.started_up_to >= WRITEBACK_CHUNK {
            let len = self.written - self.started_up_to;
            crate::sys::start_writeback(self.file, self.started_up_to, len);
            self.started_up_to = self.written;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The new content on its way to replacing `shadow`; removed on drop unless committed.
struct TempFile<'d> {
    dir: &'d DomainDir,
    name: String,
    file: File,
    committed: bool,
}

impl<'d> TempFile<'d> {
    /// Creates the temp file 0600 and gives it the original's owner, group,
    /// mode and extended attributes (POSIX ACLs and security labels live
    /// there), all before the first byte of content, never granting more
    /// than the original on the way ([`crate::permissions`]).
    fn create(
        dir: &'d DomainDir,
        original_file: &File,
        original: &Stat,
    ) -> Result<TempFile<'d>, Error> {
        let name = temp_name("tmp")?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&dir.fd, &name, flags, Mode::from_raw_mode(0o600)).map_err(|err| {
            Error::io(
                format_args!("creating a temp file in {}", dir.path.display()),
                err,
            )
        })?;
        let temp = TempFile {
            dir,
            name,
            file: File::from(fd),
            committed: false,
        };
        crate::permissions::copy(original_file, original, &temp.file)
            .map_err(|(what, err)| temp.error(&what, err))?;
        Ok(temp)
    }

    fn error(&self, what: &str, err: Errno) -> Error {
        Error::io(
            format_args!("{what} {}", self.dir.path.join(&self.name).display()),
            err,
        )
    }

    /// Makes the modification time strictly later than the original's (in whole
    /// seconds, which is all Dovecot compares), fsyncs and renames over
    /// `shadow` if the domain's dotlock is still ours. The caller then syncs
    /// the directory ([`DomainDir::sync`]).
    fn commit(mut self, original: &Stat, lock: &DomainLock<'_>) -> Result<Renamed, Error> {
        let written = rfs::fstat(&self.file).map_err(|err| self.error("examining", err))?;
        if written.st_mtime <= original.st_mtime {
            let later = original.st_mtime.checked_add(1).ok_or_else(|| {
                Error::new(
                    Status::IoError,
                    format!(
                        "{} has the largest possible modification time; a later one cannot be set",
                        self.dir.shadow_path().display()
                    ),
                )
            })?;
            let times = Timestamps {
                last_access: Timespec {
                    tv_sec: 0,
                    tv_nsec: rfs::UTIME_OMIT,
                },
                last_modification: Timespec {
                    tv_sec: later,
                    tv_nsec: 0,
                },
            };
            rfs::futimens(&self.file, &times)
                .map_err(|err| self.error("setting the time of", err))?;
        }
        rfs::fsync(&self.file).map_err(|err| self.error("syncing", err))?;
        // The fsync may have taken long enough for a dotlock-only writer to
        // break our lock: never rename over a file someone else is writing.
        // On failure the temp file is removed when `self` drops.
        lock.ensure_held(&self.dir.path)?;
        let shadow_path = self.dir.shadow_path();
        rfs::renameat(&self.dir.fd, &self.name, &self.dir.fd, SHADOW_NAME).map_err(|err| {
            Error::io(
                format_args!("renaming the new file over {}", shadow_path.display()),
                err,
            )
        })?;
        self.committed = true;
        Ok(Renamed::now())
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rfs::unlinkat(&self.dir.fd, &self.name, AtFlags::empty());
        }
    }
}
