//! cPanel's layout: a cPanel user's mail domains live in `~USER/etc/<domain>/`,
//! in a home the user owns.
//!
//! Owning their home, the user can put anything at `~/etc`, a symlink to
//! another user's `etc` (or to `/etc`) included, while we run as root. So
//! `etc` is opened without following a symlink, must belong to the user (or
//! root) and be writable by no one else, by its mode or its ACL (a group
//! that may write must be the user's own), and is kept open: every later
//! path is opened relative to that descriptor, so swapping `~/etc` after the
//! check changes nothing.
//! Below it, [`crate::store`] follows no symlink either.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Status};
use crate::permissions::read_sized;

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
        if let Some(writer) = acl_writer(&dir, uid, gid, &shown)? {
            return Err(unsafe_path(
                &shown,
                &format!("lets {writer} write to it (an ACL entry); refusing to use it"),
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

/// The name of the extended attribute holding a POSIX access ACL.
const ACCESS_ACL: &CStr = c"system.posix_acl_access";
/// Its layout (`<linux/posix_acl_xattr.h>`): a little-endian u32 version,
/// then 8-byte entries of tag (u16), permissions (u16) and id (u32).
const ACL_VERSION: u32 = 2;
const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_WRITE: u16 = 0x02;

/// Who, besides the user (`uid`) and their group (`gid`), may write to the
/// directory through a named entry of its access ACL: the mode bits alone
/// miss them, since with an ACL the group bits are only the mask.
fn acl_writer(dir: &OwnedFd, uid: u32, gid: u32, shown: &Path) -> Result<Option<String>, Error> {
    let acl = match read_sized(|buf| rfs::fgetxattr(dir, ACCESS_ACL, buf)) {
        Ok(acl) => acl,
        Err(Errno::NODATA | Errno::NOTSUP) => return Ok(None),
        Err(err) => {
            return Err(Error::io(
                format_args!("reading the ACL of {}", shown.display()),
                err,
            ))
        }
    };
    let entries = parse_acl(&acl)
        .ok_or_else(|| unsafe_path(shown, "has an ACL in an unknown format; refusing to use it"))?;
    let mask_allows_write = entries
        .iter()
        .any(|&(tag, perm, _)| tag == ACL_MASK && perm & ACL_WRITE != 0);
    if !mask_allows_write {
        return Ok(None);
    }
    Ok(entries.iter().find_map(|&(tag, perm, id)| {
        let writes = perm & ACL_WRITE != 0;
        match tag {
            ACL_USER if writes && id != uid => Some(format!("uid {id}")),
            ACL_GROUP if writes && id != gid => Some(format!("group {id}")),
            _ => None,
        }
    }))
}

/// The entries of an access ACL as (tag, permissions, id); `None` when the
/// bytes are not an ACL of the version we know.
fn parse_acl(acl: &[u8]) -> Option<Vec<(u16, u16, u32)>> {
    let (version, entries) = acl.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*version) != ACL_VERSION || entries.len() % 8 != 0 {
        return None;
    }
    Some(
        entries
            .chunks_exact(8)
            .map(|entry| {
                let tag = u16::from_le_bytes([entry[0], entry[1]]);
                let perm = u16::from_le_bytes([entry[2], entry[3]]);
                let id = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
                (tag, perm, id)
            })
            .collect(),
    )
}

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

    /// An ACL entry: tag, permissions, id.
    type Entry = (u16, u16, u32);

    /// An access ACL of the owner, one named entry, the mask and the rest.
    fn acl(named: Entry, mask: u16) -> Vec<u8> {
        let undefined = u32::MAX;
        let mut entries = vec![
            (0x01, 0o7, undefined),
            named,
            (0x04, 0o5, undefined),
            (ACL_MASK, mask, undefined),
            (0x20, 0o5, undefined),
        ];
        entries.sort_by_key(|&(tag, _, id)| (tag, id));
        let mut bytes = ACL_VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            bytes.extend_from_slice(&tag.to_le_bytes());
            bytes.extend_from_slice(&perm.to_le_bytes());
            bytes.extend_from_slice(&id.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn an_acl_letting_someone_else_write_is_refused() {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        let cases: &[(Entry, u16, Option<&str>)] = &[
            (
                (ACL_USER, 0o7, 54_321),
                0o7,
                Some("lets uid 54321 write to it"),
            ),
            (
                (ACL_GROUP, 0o3, 54_322),
                0o7,
                Some("lets group 54322 write to it"),
            ),
            // The mask takes write away from every named entry.
            ((ACL_USER, 0o7, 54_321), 0o5, None),
            ((ACL_USER, 0o5, 54_321), 0o7, None),
            ((ACL_USER, 0o7, uid), 0o7, None),
            ((ACL_GROUP, 0o7, gid), 0o7, None),
        ];
        for &(named, mask, refused) in cases {
            let home = tempfile::tempdir().unwrap();
            mkdir_mode(&home.path().join("etc"), 0o750);
            let etc = std::fs::File::open(home.path().join("etc")).unwrap();
            match rfs::fsetxattr(
                &etc,
                ACCESS_ACL,
                &acl(named, mask),
                rfs::XattrFlags::empty(),
            ) {
                Ok(()) => {}
                Err(Errno::NOTSUP) => {
                    eprintln!("no POSIX ACLs on this file system; nothing checked");
                    return;
                }
                Err(err) => panic!("setting {named:?}: {err}"),
            }
            let opened = UserEtc::open(home.path(), uid, gid, "~bob/etc");
            match (opened, refused) {
                (Ok(_), None) => {}
                (Err(err), Some(why)) => {
                    assert_eq!(err.status(), Status::UnsafePath, "{named:?}: {err}");
                    assert!(
                        err.message().starts_with(&format!("~bob/etc {why}")),
                        "{err}"
                    );
                }
                (got, _) => panic!("{named:?} mask {mask:o}: got {got:?}, expected {refused:?}"),
            }
        }
    }

    #[test]
    fn an_acl_of_an_unknown_version_or_length_is_not_parsed() {
        assert_eq!(parse_acl(&2u32.to_le_bytes()), Some(Vec::new()));
        assert_eq!(parse_acl(&3u32.to_le_bytes()), None);
        assert_eq!(parse_acl(&[2, 0, 0, 0, 1, 0, 7]), None);
        assert_eq!(parse_acl(&[2, 0]), None);
        assert_eq!(
            parse_acl(&acl((ACL_USER, 0o7, 7), 0o7))
                .unwrap()
                .iter()
                .find(|entry| entry.0 == ACL_USER),
            Some(&(ACL_USER, 0o7, 7))
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
