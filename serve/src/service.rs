//! The one `Service` every protocol calls: settings, throttle, tokens and the
//! blocking pool. Protocol modules turn bytes into these calls and results
//! into bytes; everything about credentials is decided here.
//!
//! No oracle: a wrong password, an unknown account, a suspended account, a
//! bad token and a throttled client all get [`Denied`] `failure_delay` after
//! the request was complete, or a whole multiple of it when the check takes
//! longer (from its last byte read, so a client holding back the end of its
//! body cannot see the bare check time).
//! An unknown or suspended account costs one SHA512-crypt hash like a wrong
//! password does, and every failed check lasts as long as the slowest
//! recent check of a stored hash (stored hashes may have more rounds than
//! `--rounds`; see `check_time`).

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use passwdpop::{Config, Status};
use zeroize::Zeroizing;

use crate::account::Account;
use crate::check_time::CheckPadding;
use crate::homes::{open_user_etc, owner_of_domain, USERDOMAINS};
use crate::pool::Pool;
use crate::settings::{Roots, Settings};
use crate::throttle::{Client, Throttle};
use crate::tokens::{Kind, Tokens};

/// Why credentials were not accepted; the client learns nothing more.
#[derive(Debug)]
pub enum Denied {
    /// Locked out by the throttle: no credential was checked.
    Throttled,
    /// Wrong, unknown, suspended or unusable; `.0` is for the log only.
    BadCredentials(&'static str),
}

/// A failed library call: the status name for the log, a message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: &'static str,
    pub message: String,
}

impl From<passwdpop::Error> for Failure {
    fn from(err: passwdpop::Error) -> Self {
        Failure {
            status: status_name(err.status()),
            message: err.message().to_owned(),
        }
    }
}

impl Failure {
    pub(crate) fn new(status: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

pub struct Service {
    settings: Settings,
    throttle: Throttle,
    pool: Pool,
    tokens: RwLock<Arc<Tokens>>,
    /// How long every failed check lasts.
    check_padding: CheckPadding,
}

impl Service {
    /// Loads the tokens file if one is configured; errors name the file.
    pub fn new(settings: Settings, pool: Pool) -> Result<Service, String> {
        let tokens = match &settings.tokens {
            Some(path) => Tokens::load(path)?,
            None => Tokens::default(),
        };
        Ok(Service {
            throttle: Throttle::new(
                settings.max_failures_per_ip,
                settings.max_failures_per_account,
                settings.lockout,
            ),
            settings,
            pool,
            tokens: RwLock::new(Arc::new(tokens)),
            check_padding: CheckPadding::new(Instant::now()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// SIGHUP: a new tokens file takes effect; a broken one is reported and
    /// the old tokens stay.
    pub fn reload_tokens(&self) -> Result<(), String> {
        let Some(path) = &self.settings.tokens else {
            return Ok(());
        };
        let tokens = Tokens::load(path)?;
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tokens);
        Ok(())
    }

    /// The client as the per-client count sees it: `None` for a trusted
    /// client (`--trusted-client`, a webmail host speaking for all its
    /// users), which only the per-account limit applies to.
    fn counted(&self, peer: Option<Client>) -> Option<Client> {
        match peer {
            Some(Client::Ip(ip))
                if self
                    .settings
                    .trusted_clients
                    .iter()
                    .any(|trusted| trusted.to_canonical() == ip.to_canonical()) =>
            {
                None
            }
            other => other,
        }
    }

    /// Checks `account`'s current password (self-service, poppassd).
    /// `started` is when the request was complete; a failure is answered
    /// a whole number of `failure_delay`s after it (see `delay_failure`).
    pub async fn login(
        &self,
        peer: Option<Client>,
        account: &Account,
        password: Zeroizing<Vec<u8>>,
        started: Instant,
    ) -> Result<(), Denied> {
        let key = account.key();
        let Some(attempt) = self.throttle.begin(self.counted(peer), Some(&key)) else {
            self.delay_failure(started).await;
            return Err(Denied::Throttled);
        };
        let config = self.settings.library.clone();
        let roots = self.settings.roots.clone();
        let (local, domain) = (account.local.clone(), account.domain.clone());
        let checked = self
            .pool
            .run(move || {
                // Timed on the worker: the wait for a free thread is not the
                // check's.
                let ran = Instant::now();
                let checked = verify_costing_a_hash(&roots, config, &domain, &local, &password);
                (checked, ran, ran.elapsed())
            })
            .await;
        let (checked, ran, took) = checked.unwrap_or_else(|| {
            let now = Instant::now();
            (Err(Checked::StoodIn("InternalError")), now, Duration::ZERO)
        });
        // Every check counts, stand-ins too: whatever slows one (a costly
        // hash, a busy processor) then lengthens all failures alike.
        self.check_padding.note(took, Instant::now());
        match checked {
            Ok(()) => {
                attempt.succeeded();
                Ok(())
            }
            Err(Checked::Real(status) | Checked::StoodIn(status)) => {
                drop(attempt);
                let padding = self.check_padding.current(ran);
                tokio::time::sleep_until((ran + padding).into()).await;
                self.delay_failure(started).await;
                Err(Denied::BadCredentials(status))
            }
        }
    }

    /// Checks an admin token (`NAME:TOKEN`); the token's name and kind on
    /// success.
    pub async fn admin(
        &self,
        peer: Option<Client>,
        name: &str,
        token: &[u8],
        started: Instant,
    ) -> Result<(String, Kind), Denied> {
        let Some(attempt) = self.throttle.begin(self.counted(peer), None) else {
            self.delay_failure(started).await;
            return Err(Denied::Throttled);
        };
        let tokens = Arc::clone(&self.tokens.read().unwrap_or_else(|p| p.into_inner()));
        match tokens.check(name, token) {
            Some((name, kind)) => {
                attempt.succeeded();
                Ok((name.to_owned(), kind))
            }
            None => {
                drop(attempt);
                self.delay_failure(started).await;
                Err(Denied::BadCredentials("BadToken"))
            }
        }
    }

    /// Credentials that cannot even be checked (not an address, a malformed
    /// header): counted against the client and answered at the same pace.
    pub async fn reject(&self, peer: Option<Client>, started: Instant) {
        drop(self.throttle.begin(self.counted(peer), None));
        self.delay_failure(started).await;
    }

    /// A refusal that is not about credentials (a malformed request) still
    /// waits like one when it follows a credential check.
    pub async fn delay_failure(&self, started: Instant) {
        let at = failure_answer_time(started, Instant::now(), self.settings.failure_delay);
        tokio::time::sleep_until(at.into()).await;
    }

    /// Sets `account`'s password. `owner` is the cPanel user whose home holds
    /// the files (`--user-homes` only; ignored otherwise).
    pub async fn change(
        &self,
        owner: Option<String>,
        account: &Account,
        password: Zeroizing<Vec<u8>>,
    ) -> Result<(), Failure> {
        self.admin_operation(owner, account, Operation::Change(password))
            .await
    }

    /// One library call on `account`, on the blocking pool.
    pub async fn admin_operation(
        &self,
        owner: Option<String>,
        account: &Account,
        operation: Operation,
    ) -> Result<(), Failure> {
        let base = self.settings.library.clone();
        let roots = self.settings.roots.clone();
        let (local, domain) = (account.local.clone(), account.domain.clone());
        self.pool
            .run(move || {
                let config = library_config(&roots, base, owner.as_deref(), &domain)?;
                let (domain, local) = (domain.as_str(), local.as_str());
                let done = match &operation {
                    Operation::Change(password) => config.change(domain, local, password).map(drop),
                    Operation::Add(password) => config.add(domain, local, password),
                    Operation::Remove => config.remove(domain, local),
                    Operation::Suspend => config.suspend(domain, local),
                    Operation::Unsuspend => config.unsuspend(domain, local),
                };
                done.map_err(Failure::from)
            })
            .await
            .unwrap_or_else(|| Err(Failure::new("InternalError", "internal error")))
    }
}

/// What a request asks the library to do to one account.
pub enum Operation {
    Change(Zeroizing<Vec<u8>>),
    Add(Zeroizing<Vec<u8>>),
    Remove,
    Suspend,
    Unsuspend,
}

/// The library call behind a login. A mismatch against a real hash has cost
/// one hash; every other failure (no such account or domain, a locked `!`
/// entry, an unreadable file) pays for one here, so the time taken does not
/// tell them apart.
fn verify_costing_a_hash(
    roots: &Roots,
    base: Config,
    domain: &str,
    local: &str,
    password: &[u8],
) -> Result<(), Checked> {
    let rounds = base.rounds();
    let outcome = library_config(roots, base, None, domain).and_then(|config| {
        config
            .verify(domain, local, password)
            .map_err(Failure::from)
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(failure) => {
            let hashed = failure.status == "PasswordMismatch"
                && failure.message == Status::PasswordMismatch.description();
            if hashed {
                Err(Checked::Real(failure.status))
            } else {
                let _ = passwdpop::sha512_crypt(password, rounds);
                Err(Checked::StoodIn(failure.status))
            }
        }
    }
}

/// When to answer a failure decided at `now` for a request complete at
/// `started`: the first whole multiple of `delay` after `started` that is
/// not before `now`, and never `started` itself. Checks shorter than the
/// delay (the usual case) are all answered at exactly `delay`; a check
/// that outlasts it (stored hashes of very many rounds, a slow disk) is
/// answered at the next multiple, so what a client can time is the number
/// of delays, not the check's own duration.
fn failure_answer_time(started: Instant, now: Instant, delay: Duration) -> Instant {
    if delay.is_zero() {
        return now;
    }
    let elapsed = now.saturating_duration_since(started);
    let periods = elapsed.as_nanos().div_ceil(delay.as_nanos()).max(1);
    u32::try_from(periods)
        .ok()
        .and_then(|periods| delay.checked_mul(periods))
        .and_then(|wait| started.checked_add(wait))
        .unwrap_or(now)
}

/// A failed check: against the account's stored hash, or a stand-in hash
/// because there was none to check; the status name is for the log.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    Real(&'static str),
    StoodIn(&'static str),
}

/// The configuration for one request: the fixed root, or under
/// `--user-homes` the owner's `etc` directory, open (messages name it
/// `~USER/etc`, never the host's home path).
fn library_config(
    roots: &Roots,
    mut config: Config,
    owner: Option<&str>,
    domain: &str,
) -> Result<Config, Failure> {
    let Roots::UserHomes = roots else {
        return Ok(config);
    };
    let owner = match owner {
        Some(owner) => owner.to_owned(),
        None => owner_of_domain(Path::new(USERDOMAINS), domain)?,
    };
    config.set_user_etc(open_user_etc(&owner)?);
    Ok(config)
}

/// The status's name as the log shows it.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::NullArgument => "NullArgument",
        Status::InvalidDomain => "InvalidDomain",
        Status::InvalidUser => "InvalidUser",
        Status::InvalidPassword => "InvalidPassword",
        Status::InvalidConfig => "InvalidConfig",
        Status::NoSuchDomain => "NoSuchDomain",
        Status::NoSuchAccount => "NoSuchAccount",
        Status::AmbiguousAccount => "AmbiguousAccount",
        Status::UnsafePath => "UnsafePath",
        Status::LockTimeout => "LockTimeout",
        Status::IoError => "IoError",
        Status::PasswordMismatch => "PasswordMismatch",
        Status::InternalError => "InternalError",
        Status::InvalidHash => "InvalidHash",
        Status::AccountExists => "AccountExists",
        #[allow(unreachable_patterns)]
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `verify_costing_a_hash` tells a mismatch against a real hash (which
    /// has cost a hash) from every other failure by the library's message:
    /// this pins that message, so a change to it fails here, not silently.
    #[test]
    fn failures_are_answered_at_a_whole_number_of_delays() {
        let started = Instant::now();
        let ms = Duration::from_millis;
        for (delay, decided, answered) in [
            (ms(300), ms(0), ms(300)),
            (ms(300), ms(5), ms(300)),
            (ms(300), ms(299), ms(300)),
            (ms(300), ms(300), ms(300)),
            (ms(300), ms(301), ms(600)),
            (ms(300), ms(899), ms(900)),
            (ms(2000), ms(1), ms(2000)),
            (ms(0), ms(7), ms(7)),
        ] {
            assert_eq!(
                failure_answer_time(started, started + decided, delay) - started,
                answered,
                "delay {delay:?}, decided after {decided:?}"
            );
        }
    }

    #[test]
    fn only_a_real_mismatch_carries_the_plain_mismatch_message() {
        let dir = tempfile::tempdir().unwrap();
        let domain = dir.path().join("example.com");
        std::fs::create_dir(&domain).unwrap();
        let hash = passwdpop::sha512_crypt("right", 1000).unwrap();
        std::fs::write(
            domain.join("shadow"),
            format!("bob:{hash}:1::::::\nsam:!{hash}:1::::::\n"),
        )
        .unwrap();
        let mut config = Config::new();
        config.set_root(dir.path()).unwrap();
        let plain = Status::PasswordMismatch.description();
        let cases: &[(&str, &str, bool)] = &[
            ("bob", "wrong", true),     // hashed, mismatched
            ("sam", "right", false),    // suspended: no hash computed
            ("nobody", "right", false), // unknown: no hash computed
        ];
        for (user, password, hashed) in cases {
            let failure = Failure::from(config.verify("example.com", user, password).unwrap_err());
            let looks_hashed = failure.status == "PasswordMismatch" && failure.message == plain;
            assert_eq!(looks_hashed, *hashed, "{user}: {failure:?}");
            assert_eq!(
                verify_costing_a_hash(
                    &Roots::Fixed(dir.path().into()),
                    config.clone(),
                    "example.com",
                    user,
                    password.as_bytes()
                ),
                Err(if *hashed {
                    Checked::Real(failure.status)
                } else {
                    Checked::StoodIn(failure.status)
                })
            );
        }
    }

    #[test]
    fn under_user_homes_root_and_system_accounts_are_not_cpanel_users() {
        let mut settings = crate::settings::resolve(crate::args::Flags {
            user_homes: true,
            ..Default::default()
        })
        .unwrap();
        settings.roots = Roots::UserHomes;
        let service = Service::new(settings, Pool::new(1)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let account = Account::from_parts("bob@example.com", None, None).unwrap();
        for user in ["root", "daemon", "nobody"] {
            let failure = runtime
                .block_on(service.admin_operation(Some(user.into()), &account, Operation::Remove))
                .unwrap_err();
            assert_eq!(failure.status, "InvalidConfig", "{user}");
            assert!(
                failure.message.contains("system account"),
                "{}",
                failure.message
            );
        }
    }
}
