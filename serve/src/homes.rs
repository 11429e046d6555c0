//! cPanel's layout (`--user-homes`): a cPanel user's mail domains live in
//! `~USER/etc/<domain>/`, and `/etc/userdomains` names each domain's owner.
//!
//! The library's [`UserEtc`] opens `~USER/etc` safely (no symlink followed,
//! the user's or root's, writable by no one else) and keeps it open for the
//! request. What is the daemon's own: only accounts with a user's uid are
//! cPanel users, so a token or a domain owner naming `root` or a system
//! account (whose home may be `/`) is refused, and messages name the
//! directory `~USER/etc`, never the host's home path.

use std::path::Path;

use passwdpop::UserEtc;

use crate::service::Failure;

/// cPanel's map of domains to the users who own them, for requests that
/// name no user (self-service, poppassd).
pub const USERDOMAINS: &str = "/etc/userdomains";

/// The uids of login users (`UID_MIN` and `UID_MAX` of Debian's and RHEL's
/// login.defs); outside are root, the system accounts and `nobody`.
const USER_UIDS: std::ops::RangeInclusive<u32> = 1000..=60000;

/// Opens `~user/etc` for one request, through the library's checks.
pub fn open_user_etc(user: &str) -> Result<UserEtc, Failure> {
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
    let shown = format!("~{}/etc", user.escape_default());
    UserEtc::open(&entry.dir, uid, entry.gid.as_raw(), shown).map_err(Failure::from)
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
