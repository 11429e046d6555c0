#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]

mod admin;
mod batch;
mod config;
mod edit;
mod error;
pub mod ffi;
mod given_hash;
mod hash;
mod hash_field;
mod idn;
mod lock;
mod outcome;
mod permissions;
mod search;
pub mod sha512crypt;
mod shadow;
mod store;
mod sys;
mod user_etc;
mod validate;
mod visible;

pub use batch::Batch;
pub use config::{
    Config, Layout, DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_ROOT, DEFAULT_ROUNDS, MAX_ROUNDS, MIN_ROUNDS,
    ROOT_ENV,
};
pub use error::{Error, Status};
pub use given_hash::MAX_HASH_LEN;
pub use lock::{DOTLOCK_NAME, UNREADABLE_DOTLOCK_AGE};
pub use outcome::Outcome;
pub use store::{SHADOW_NAME, TEMP_PREFIX};
pub use user_etc::UserEtc;
pub use validate::{MAX_DOMAIN_LEN, MAX_PASSWORD_LEN, MAX_USER_LEN};

use validate::{check_password, Domain, User};

/// A new SHA512-crypt hash of `password`, `$6$rounds=N$<16-char salt>$<86-char hash>`,
/// with a salt from the OS: what a change writes (before any `!` or `{SCHEME}`).
pub fn sha512_crypt(password: impl AsRef<[u8]>, rounds: u32) -> Result<String, Error> {
    let password = password.as_ref();
    check_password(password)?;
    config::check_rounds(rounds)?;
    hash::sha512_crypt(password, rounds)
}

/// The crate version, as `passwdpop_version()` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Config {
    /// Sets the password of `user` in `domain` (the `Email::passwdpop` call):
    /// validates the arguments, hashes the password with SHA512-crypt, and
    /// replaces that one entry of `<root>/<domain>/shadow` atomically under the
    /// domain lock. `user` is a local part or a full address in `domain`.
    pub fn change(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        self.change_entry(domain, user, password).map(drop)
    }

    /// [`Config::change`], also telling which entry was changed: its name
    /// as stored and whether it stays locked.
    pub fn change_entry(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<Outcome, Error> {
        let (domain, user) = parse_arguments(domain.as_ref(), user.as_ref(), password.as_ref())?;
        #[cfg(feature = "test-hooks")]
        if domain.as_str() == "panic.passwdpop.test" {
            panic!("forced by the test-hooks feature");
        }
        let root = self.checked_root()?;
        // Hashing takes milliseconds: done before the lock, never under it.
        let hash = hash::sha512_crypt(password.as_ref(), self.rounds())?;
        let (stored, renamed) = store::replace_hash(
            root,
            &domain,
            &user,
            &hash,
            self.layout(),
            self.lock_timeout(),
        )?;
        self.after_rename(renamed);
        Ok(Outcome::new(&stored, None))
    }

    /// Checks a password the way Exim's `crypteq` and Dovecot would: `Ok` on a
    /// match, [`Status::PasswordMismatch`] otherwise. The first entry for the
    /// user counts (as in Exim's lsearch and Dovecot's passwd-file); a locked
    /// (`!`) entry never matches.
    pub fn verify(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        match self.verify_entry(domain, user, password)?.mismatch() {
            None => Ok(()),
            Some(mismatch) => Err(mismatch.clone()),
        }
    }

    /// [`Config::verify`], with a mismatch told in the [`Outcome`] (see
    /// [`Outcome::mismatch`]) next to the entry's name as stored and whether
    /// it is locked. Errors other than a mismatch are `Err` as in `verify`.
    pub fn verify_entry(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<Outcome, Error> {
        let (domain, user) = parse_arguments(domain.as_ref(), user.as_ref(), password.as_ref())?;
        let root = self.checked_root()?;
        let stored = store::read_entry(root, &domain, &user)?;
        let mismatch = hash::verify(password.as_ref(), &stored.hash).err();
        Ok(Outcome::new(&stored, mismatch))
    }
}

/// [`Config::change`] with the default configuration.
pub fn passwdpop(
    domain: impl AsRef<[u8]>,
    user: impl AsRef<[u8]>,
    password: impl AsRef<[u8]>,
) -> Result<(), Error> {
    Config::new().change(domain, user, password)
}

/// The argument rules, in argument order: the first bad one wins.
fn parse_arguments(domain: &[u8], user: &[u8], password: &[u8]) -> Result<(Domain, User), Error> {
    let (domain, user) = parse_target(domain, user)?;
    check_password(password)?;
    Ok((domain, user))
}

/// The domain, then the user in it.
fn parse_target(domain: &[u8], user: &[u8]) -> Result<(Domain, User), Error> {
    let domain = Domain::parse(domain)?;
    let user = User::parse(user, &domain)?;
    Ok((domain, user))
}
