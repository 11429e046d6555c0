//! cPanel's layout: a cPanel user's mail domains live in `~USER/etc/<domain>/`,
//! in a home the user owns.
//!
//! Owning their home, the user can put anything at `~/etc`, a symlink to
//! another user's `etc` (or to `/etc`) included, while we run as root. So
//! `etc` is opened without following a symlink, must belong to the user (or
//! root) and be writable by no one else (a group that may write must be the
//! user's own), and is kept open: every later path is opened relative to
//! that descriptor, so swapping `~/etc` after the check changes nothing.
//! Below it, [`crate::store`] follows no symlink either.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Status};

/// A cPanel user's `etc` directory, open and checked: give it to
/// [`crate::Config::set_user_etc`].
#[derive(Clone, Debug)]
pub struct UserEtc {
    dir: Arc<OwnedFd>,
    shown: PathBuf,
}

impl UserEtc {
    /// Opens `<home>/etc` of the account with `uid` and primary group `gid`,
    /// as the password database gives them. `shown` is how every message
    /// names that directory: its path for an administrator, or `~USER/etc`
    /// for a client who must not learn the host's layout.
    pub fn open(
        home: &Path,
        uid: u32,
        gid: u32,
        shown: impl Into<PathBuf>,
    ) -> Result<UserEtc, Error> {
        let shown = shown.into();
        let directory = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // The home itself is where the password database says; its parent
        // (/home) is root's, so the user cannot swap it.
        let home = rfs::open(home, directory, Mode::empty()).map_err(|err| {
            Error::new(
                Status::NoSuchDomain,
                format!("{}: opening the home directory: {err}", shown.display()),
            )
        })?;
        let dir = rfs::openat(&home, "etc", directory | OFlags::NOFOLLOW, Mode::empty()).map_err(
            |err| match err {
                Errno::LOOP | Errno::NOTDIR => unsafe_path(
                    &shown,
                    "is a symlink or not a directory; refusing to use it",
                ),
                Errno::NOENT => Error::new(
                    Status::NoSuchDomain,
                    format!("{} does not exist", shown.display()),
                ),
                err => Error::io(format_args!("opening {}", shown.display()), err),
            },
        )?;
        let stat = rfs::fstat(&dir)
            .map_err(|err| Error::io(format_args!("examining {}", shown.display()), err))?;
        if stat.st_uid != uid && stat.st_uid != 0 {
            return Err(unsafe_path(
                &shown,
                &format!(
                    "belongs to uid {}, not to its user (uid {uid}) or root; refusing to use it",
                    stat.st_uid
                ),
            ));
        }
        if stat.st_mode & 0o002 != 0 {
            return Err(unsafe_path(
                &shown,
                "is writable by everyone; refusing to use it",
            ));
        }
        if stat.st_mode & 0o020 != 0 && stat.st_gid != gid {
            return Err(unsafe_path(
                &shown,
                &format!(
                    "is writable by group {}, not only by its user's group {gid}; refusing to use it",
                    stat.st_gid
                ),
            ));
        }
        Ok(UserEtc {
            dir: Arc::new(dir),
            shown,
        })
    }

    /// How messages name the directory.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    pub(crate) fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

/// Two handles are the same root when they share the open directory.
impl PartialEq for UserEtc {
    fn eq(&self, other: &UserEtc) -> bool {
        Arc::ptr_eq(&self.dir, &other.dir)
    }
}

impl Eq for UserEtc {}

fn unsafe_path(shown: &Path, why: &str) -> Error {
    Error::new(Status::UnsafePath, format!("{} {why}", shown.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A home with `etc` made by `make`, opened as its owner (this process).
    fn open_with(make: impl FnOnce(&Path)) -> Result<UserEtc, Error> {
        let home = tempfile::tempdir().unwrap();
        make(home.path());
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        UserEtc::open(home.path(), uid, gid, "~bob/etc")
    }

    fn mkdir_mode(path: &Path, mode: u32) {
        std::fs::create_dir(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn etc_must_be_a_private_directory_of_the_user() {
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().to_path_buf();
        type Make = Box<dyn FnOnce(&Path)>;
        type Expected = Result<(), (Status, &'static str)>;
        let cases: Vec<(&str, Make, Expected)> = vec![
            (
                "private",
                Box::new(|home| mkdir_mode(&home.join("etc"), 0o750)),
                Ok(()),
            ),
            (
                "group-writable by the user's group",
                Box::new(|home| mkdir_mode(&home.join("etc"), 0o770)),
                Ok(()),
            ),
            (
                "missing",
                Box::new(|_| {}),
                Err((Status::NoSuchDomain, "~bob/etc does not exist")),
            ),
            (
                "a symlink to another directory",
                Box::new(move |home| {
                    std::os::unix::fs::symlink(&target, home.join("etc")).unwrap()
                }),
                Err((
                    Status::UnsafePath,
                    "~bob/etc is a symlink or not a directory",
                )),
            ),
            (
                "a file",
                Box::new(|home| std::fs::write(home.join("etc"), "").unwrap()),
                Err((
                    Status::UnsafePath,
                    "~bob/etc is a symlink or not a directory",
                )),
            ),
            (
                "world-writable",
                Box::new(|home| mkdir_mode(&home.join("etc"), 0o777)),
                Err((Status::UnsafePath, "~bob/etc is writable by everyone")),
            ),
        ];
        for (what, make, expected) in cases {
            match (open_with(make), expected) {
                (Ok(etc), Ok(())) => assert_eq!(etc.shown(), Path::new("~bob/etc"), "{what}"),
                (Err(err), Err((status, message))) => {
                    assert_eq!(err.status(), status, "{what}: {err}");
                    assert!(err.message().starts_with(message), "{what}: {err}");
                }
                (got, expected) => panic!("{what}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn etc_of_someone_else_or_writable_by_another_group_is_refused() {
        let home = tempfile::tempdir().unwrap();
        mkdir_mode(&home.path().join("etc"), 0o770);
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        let shown = "/home/bob/etc";
        // Root may own a user's etc, so as root the directory is given away
        // to a third uid first.
        let owner = if uid == 0 {
            let owner = 54_321;
            std::os::unix::fs::chown(home.path().join("etc"), Some(owner), None).unwrap();
            owner
        } else {
            uid
        };
        let err = UserEtc::open(home.path(), owner + 1, gid, shown).unwrap_err();
        assert_eq!(err.status(), Status::UnsafePath);
        assert_eq!(
            err.message(),
            format!(
                "/home/bob/etc belongs to uid {owner}, not to its user (uid {}) or root; \
                 refusing to use it",
                owner + 1
            )
        );
        assert!(UserEtc::open(home.path(), owner, gid, shown).is_ok());
        let err = UserEtc::open(home.path(), owner, gid.wrapping_add(1), shown).unwrap_err();
        assert_eq!(err.status(), Status::UnsafePath);
        assert_eq!(
            err.message(),
            format!(
                "/home/bob/etc is writable by group {gid}, not only by its user's group {}; \
                 refusing to use it",
                gid.wrapping_add(1)
            )
        );
    }

    #[test]
    fn a_missing_home_is_no_such_domain_named_as_shown() {
        let err =
            UserEtc::open(Path::new("/nonexistent-home-xyz"), 1000, 1000, "~bob/etc").unwrap_err();
        assert_eq!(err.status(), Status::NoSuchDomain);
        assert!(
            err.message()
                .starts_with("~bob/etc: opening the home directory"),
            "{err}"
        );
        assert!(!err.message().contains("nonexistent"), "{err}");
    }
}
