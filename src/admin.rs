//! The account operations besides a password change, one account at a time:
//! add, remove, suspend, unsuspend, and storing a given hash. Each is one
//! pass of [`Plan`] under the domain lock, with the same validation, path
//! checks and atomic replacement as a change.

use crate::config::Config;
use crate::edit::{Op, Outcome, Plan};
use crate::error::{Error, Status};
use crate::given_hash::GivenHash;
use crate::store;
use crate::validate::{check_password, Domain, User};
use crate::{hash, parse_target};

impl Config {
    /// Adds an entry for `user` (lower-cased) at the end of the domain's
    /// file, with a new SHA512-crypt hash of `password` (`Email::addpop`).
    /// [`Status::AccountExists`] when the domain has an entry for the user in
    /// any case; the domain must exist.
    pub fn add(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        let (domain, user) = parse_target(domain.as_ref(), user.as_ref())?;
        check_password(password.as_ref())?;
        let root = self.checked_root()?;
        let hash = hash::sha512_crypt(password.as_ref(), self.rounds())?;
        let mut plan = Plan::new(self.layout(), store::today());
        let target = plan.add(user.as_str(), &hash);
        self.run_plan(&domain, &user, &mut plan, target, root)
    }

    /// Removes `user`'s entry and the continuation lines that belong to it
    /// (`Email::delpop`).
    pub fn remove(&self, domain: impl AsRef<[u8]>, user: impl AsRef<[u8]>) -> Result<(), Error> {
        self.edit_one(domain.as_ref(), user.as_ref(), Op::Remove)
    }

    /// Locks `user`'s entry with a `!` in front of its hash, unless it is
    /// locked already. The hash is kept: [`Config::unsuspend`] restores it.
    pub fn suspend(&self, domain: impl AsRef<[u8]>, user: impl AsRef<[u8]>) -> Result<(), Error> {
        self.edit_one(domain.as_ref(), user.as_ref(), Op::Suspend)
    }

    /// Removes every `!` that locks `user`'s entry (in front of the hash, or
    /// right after its `{SCHEME}` prefix). An entry with nothing behind its
    /// `!` is refused with [`Status::InvalidHash`]: unlocking it would leave
    /// it without a hash.
    pub fn unsuspend(&self, domain: impl AsRef<[u8]>, user: impl AsRef<[u8]>) -> Result<(), Error> {
        self.edit_one(domain.as_ref(), user.as_ref(), Op::Unsuspend)
    }

    /// Stores `hash` (a complete crypt(3) hash, without `{SCHEME}` prefix) as
    /// `user`'s hash, as a change would store a new one; see [`GivenHash`]
    /// for what is accepted ([`Status::InvalidHash`] otherwise).
    pub fn set_hash(
        &self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        hash: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        let (domain, user) = parse_target(domain.as_ref(), user.as_ref())?;
        let hash = GivenHash::parse(hash.as_ref())?;
        let root = self.checked_root()?;
        let mut plan = Plan::new(self.layout(), store::today());
        let target = plan.push(user.as_str(), Op::SetHash(hash.as_str().to_owned()));
        self.run_plan(&domain, &user, &mut plan, target, root)
    }

    fn edit_one(&self, domain: &[u8], user: &[u8], op: Op) -> Result<(), Error> {
        let (domain, user) = parse_target(domain, user)?;
        let root = self.checked_root()?;
        let mut plan = Plan::new(self.layout(), store::today());
        let target = plan.push(user.as_str(), op);
        self.run_plan(&domain, &user, &mut plan, target, root)
    }

    fn run_plan(
        &self,
        domain: &Domain,
        user: &User,
        plan: &mut Plan,
        target: usize,
        root: crate::config::Root<'_>,
    ) -> Result<(), Error> {
        let renamed = store::edit(root, domain, self.lock_timeout(), |old, new| {
            plan.run(old, new)
        })?;
        outcome_result(plan.outcome(target), root, domain, user)?;
        if let Some(renamed) = renamed {
            self.after_rename(renamed);
        }
        Ok(())
    }
}

/// The error for what became of one user's edit, if it is one.
pub(crate) fn outcome_result(
    outcome: Outcome,
    root: crate::config::Root<'_>,
    domain: &Domain,
    user: &User,
) -> Result<(), Error> {
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Missing => Err(store::no_such_account(domain, user)),
        Outcome::Several => Err(store::ambiguous_account(root, domain, user)),
        Outcome::Exists => Err(Error::new(
            Status::AccountExists,
            format!(
                "the account '{}' already exists in {} (user names match case-insensitively)",
                user.as_str(),
                domain.as_str()
            ),
        )),
        Outcome::NothingToUnsuspend => Err(Error::new(
            Status::InvalidHash,
            format!(
                "'{}' in {} has no hash behind its '!': unsuspending would leave it without one; \
                 set a password or hash instead",
                user.as_str(),
                domain.as_str()
            ),
        )),
    }
}
