//! cPanel's layout (`--user-homes`): a cPanel user's mail domains live in
//! `~USER/etc/<domain>/`, and `/etc/userdomains` names each domain's owner.
//!
//! A cPanel user owns their home, so they can put anything at `~/etc`, a
//! symlink to another user's `etc` included, and the daemon runs as root.
//! So `etc` is opened without following a symlink, must belong to the user
//! (or root) and be writable by no one else (a group that may write must be
//! the user's own), and the library is handed that
//! open directory as `/proc/self/fd/N`: swapping `~/etc` after the check
//! changes nothing, since every path the library opens goes through the
//! directory already open. Below it the library follows no symlink itself.
//! Only accounts with a user's uid are cPanel users: a token or a domain
//! owner naming `root` or a system account (whose home may be `/`) is
//! refused.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::service::Failure;

/// cPanel's map of domains to the users who own them, for requests that
/// name no user (self-service, poppassd).
pub const USERDOMAINS: &str = "/etc/userdomains";

/// The uids of login users (`UID_MIN` and `UID_MAX` of Debian's and RHEL's
/// login.defs); outside are root, the system accounts and `nobody`.
const USER_UIDS: std::ops::RangeInclusive<u32> = 1000..=60000;

/// A cPanel user's `etc` directory, open and checked.
pub struct UserEtc {
    user: String,
    dir: OwnedFd,
}

impl UserEtc {
    /// Opens `~user/etc` for one request.
    pub fn open(user: &str) -> Result<UserEtc, Failure> {
        let shown = format!("~{}/etc", user.escape_default());
        let entry = match nix::unistd::User::from_name(user) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Err(config_error(format!("no user '{}'", user.escape_default()))),
            Err(err) => {
                return Err(config_error(format!(
                    "looking up user '{}': {err}",
                    user.escape_default()
                )))
            }
        };
        let uid = entry.uid.as_raw();
        if !USER_UIDS.contains(&uid) {
            return Err(config_error(format!(
                "'{}' is a system account (uid {uid}), not a cPanel user",
                user.escape_default()
            )));
        }
        let directory = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // The home itself is where the password database says; its parent
        // (/home) is root's, so the user cannot swap it.
        let home = rustix::fs::open(&entry.dir, directory, Mode::empty()).map_err(|err| {
            Failure::new(
                "NoSuchDomain",
                format!("the home of '{}': {err}", user.escape_default()),
            )
        })?;
        let dir = rustix::fs::openat(&home, "etc", directory | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|err| match err {
                rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => unsafe_path(format!(
                    "{shown} is a symlink or not a directory; refusing to use it"
                )),
                err => Failure::new("NoSuchDomain", format!("{shown}: {err}")),
            })?;
        let stat = rustix::fs::fstat(&dir)
            .map_err(|err| Failure::new("IoError", format!("{shown}: {err}")))?;
        if stat.st_uid != uid && stat.st_uid != 0 {
            return Err(unsafe_path(format!(
                "{shown} belongs to uid {}, not to '{}' (uid {uid}); refusing to use it",
                stat.st_uid,
                user.escape_default()
            )));
        }
        if stat.st_mode & 0o002 != 0 {
            return Err(unsafe_path(format!(
                "{shown} is writable by everyone; refusing to use it"
            )));
        }
        if stat.st_mode & 0o020 != 0 && stat.st_gid != entry.gid.as_raw() {
            return Err(unsafe_path(format!(
                "{shown} is writable by group {}, not only by '{}'; refusing to use it",
                stat.st_gid,
                user.escape_default()
            )));
        }
        Ok(UserEtc {
            user: user.to_owned(),
            dir,
        })
    }

    /// The root to give the library: the open directory itself.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.dir.as_raw_fd()))
    }

    /// How messages show the root to clients: never the host's home path.
    pub fn shown(&self) -> String {
        format!("~{}/etc", self.user)
    }
}

/// The user owning `domain` in a cPanel `/etc/userdomains` (`domain: user`).
pub fn owner_of_domain(path: &Path, domain: &str) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::new("NoSuchDomain", format!("{}: {err}", path.display())))?;
    let wanted = domain.trim_end_matches('.');
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
        .map(|(_, user)| user.trim().to_owned())
        .filter(|user| !user.is_empty() && user != "nobody")
        .ok_or_else(|| {
            Failure::new(
                "NoSuchDomain",
                format!("no owner of '{wanted}' in {}", path.display()),
            )
        })
}

fn config_error(why: String) -> Failure {
    Failure::new("InvalidConfig", why)
}

fn unsafe_path(why: String) -> Failure {
    Failure::new("UnsafePath", why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userdomains_names_each_domains_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("userdomains");
        std::fs::write(
            &path,
            "example.com: alice\nExample.ORG: bob\n*: nobody\nparked.test: nobody\n",
        )
        .unwrap();
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("example.com", Ok("alice")),
            ("example.com.", Ok("alice")),
            ("example.org", Ok("bob")),
            ("parked.test", Err("no owner of 'parked.test'")),
            ("missing.test", Err("no owner of 'missing.test'")),
        ];
        for (domain, expected) in cases {
            let got = owner_of_domain(&path, domain);
            match expected {
                Ok(user) => assert_eq!(got.unwrap(), *user),
                Err(part) => {
                    let failure = got.unwrap_err();
                    assert_eq!(failure.status, "NoSuchDomain");
                    assert!(failure.message.contains(part), "{}", failure.message);
                }
            }
        }
    }
}
