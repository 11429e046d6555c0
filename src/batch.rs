//! Many password (or hash) changes at once, one rewrite per domain.
//!
//! A loop of single changes rewrites and syncs the whole file once per
//! account: O(accounts × file) bytes. A batch hashes every password first,
//! in parallel and before any lock, then takes each domain's lock once and
//! applies all of that domain's entries in one pass ([`Plan`]). One domain
//! lock at a time: a commit never holds two.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::admin::outcome_result;
use crate::config::Config;
use crate::edit::{Op, Plan};
use crate::error::{Error, Status};
use crate::given_hash::GivenHash;
use crate::validate::{check_password, Domain, User};
use crate::{hash, parse_target, store};

/// A set of changes, applied by [`Batch::commit`]; see the module docs.
#[derive(Debug)]
pub struct Batch {
    config: Config,
    entries: Vec<Entry>,
    /// One per entry once committed.
    results: Option<Vec<Result<(), Error>>>,
}

#[derive(Debug)]
struct Entry {
    domain: Domain,
    user: User,
    secret: Secret,
}

enum Secret {
    /// Zeroized when hashed, or when the batch is dropped.
    Password(Zeroizing<Vec<u8>>),
    Hash(String),
    /// Hashing failed; the entry's result says why.
    Failed(Error),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<hidden>)"),
            Secret::Hash(hash) => write!(f, "Hash({hash})"),
            Secret::Failed(err) => write!(f, "Failed({err})"),
        }
    }
}

impl Batch {
    /// An empty batch that will use `config`'s root, rounds, layout, lock
    /// timeout and threads.
    pub fn new(config: &Config) -> Batch {
        Batch {
            config: config.clone(),
            entries: Vec::new(),
            results: None,
        }
    }

    /// Adds a password change, checking its arguments now (domain, user,
    /// password); a refused entry is not added. Returns the entry's index.
    pub fn add(
        &mut self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        password: impl AsRef<[u8]>,
    ) -> Result<usize, Error> {
        self.check_open()?;
        let (domain, user) = parse_target(domain.as_ref(), user.as_ref())?;
        check_password(password.as_ref())?;
        let password = Zeroizing::new(password.as_ref().to_vec());
        Ok(self.push(domain, user, Secret::Password(password)))
    }

    /// Adds a change to a given hash (see [`Config::set_hash`]), checking
    /// its arguments now; a refused entry is not added. Returns its index.
    pub fn add_hash(
        &mut self,
        domain: impl AsRef<[u8]>,
        user: impl AsRef<[u8]>,
        hash: impl AsRef<[u8]>,
    ) -> Result<usize, Error> {
        self.check_open()?;
        let (domain, user) = parse_target(domain.as_ref(), user.as_ref())?;
        let hash = GivenHash::parse(hash.as_ref())?;
        Ok(self.push(domain, user, Secret::Hash(hash.as_str().to_owned())))
    }

    fn push(&mut self, domain: Domain, user: User, secret: Secret) -> usize {
        self.entries.push(Entry {
            domain,
            user,
            secret,
        });
        self.entries.len() - 1
    }

    fn check_open(&self) -> Result<(), Error> {
        match self.results {
            None => Ok(()),
            Some(_) => Err(Error::new(
                Status::InvalidConfig,
                "this batch was committed already; start a new one",
            )),
        }
    }

    /// How many entries were added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies every entry: `Ok` when all applied, else the error of the
    /// first entry (in index order) that did not. Failing entries do not
    /// stop the others; an account named twice ends with the last entry's
    /// password. A second commit is [`Status::InvalidConfig`].
    pub fn commit(&mut self) -> Result<(), Error> {
        self.check_open()?;
        let results = self.apply();
        let first_failure = results.iter().find_map(|result| result.clone().err());
        self.results = Some(results);
        first_failure.map_or(Ok(()), Err)
    }

    /// The outcome of entry `index`; `None` before the commit or past the end.
    pub fn result(&self, index: usize) -> Option<&Result<(), Error>> {
        self.results.as_ref()?.get(index)
    }

    fn apply(&mut self) -> Vec<Result<(), Error>> {
        let root = match self.config.checked_root() {
            Ok(root) => root,
            Err(err) => return vec![Err(err); self.entries.len()],
        };
        hash_all(
            &mut self.entries,
            self.config.rounds(),
            self.config.hashing_threads(),
        );
        let mut results: Vec<Result<(), Error>> = vec![Ok(()); self.entries.len()];
        // Domains in the order they first appear, each with its entries.
        let mut domains: Vec<(&Domain, Vec<usize>)> = Vec::new();
        let mut slot_of: HashMap<&str, usize> = HashMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            if let Secret::Failed(err) = &entry.secret {
                results[index] = Err(err.clone());
                continue;
            }
            let slot = *slot_of.entry(entry.domain.as_str()).or_insert_with(|| {
                domains.push((&entry.domain, Vec::new()));
                domains.len() - 1
            });
            domains[slot].1.push(index);
        }
        // The latest rename: once every reader sees it, they see them all.
        let mut last_renamed = None;
        for (domain, indexes) in domains {
            let mut plan = Plan::new(self.config.layout(), store::today());
            let targets: Vec<usize> = indexes
                .iter()
                .map(|&index| {
                    let entry = &self.entries[index];
                    let hash = match &entry.secret {
                        Secret::Hash(hash) => hash.clone(),
                        _ => unreachable!("hashed above; failures were set aside"),
                    };
                    plan.push(entry.user.as_str(), Op::SetHash(hash))
                })
                .collect();
            let edited = store::edit(root, domain, self.config.lock_timeout(), |old, new| {
                plan.run(old, new)
            });
            if let Ok(Some(renamed)) = edited {
                last_renamed = Some(renamed);
            }
            for (&index, &target) in indexes.iter().zip(&targets) {
                results[index] = match &edited {
                    Err(err) => Err(err.clone()),
                    Ok(_) => outcome_result(
                        plan.outcome(target),
                        root,
                        domain,
                        &self.entries[index].user,
                    ),
                };
            }
        }
        // Once per commit, however many domains it replaced.
        if let Some(renamed) = last_renamed {
            self.config.after_rename(renamed);
        }
        results
    }
}

/// Passwords waiting to be hashed, with their entry's index.
type Queue = Mutex<std::vec::IntoIter<(usize, Zeroizing<Vec<u8>>)>>;

/// Replaces every password by its hash, on up to `threads` threads (this one
/// included) taking passwords from one queue; each password is zeroized as
/// soon as it is hashed. A thread that cannot be started leaves its share to
/// the others: a host would rather wait than fail.
///
/// Plain spawned threads, not `std::thread::scope`: a scope records the
/// calling thread's handle in a thread-local that is never freed, which
/// valgrind reports against the host at exit.
fn hash_all(entries: &mut [Entry], rounds: u32, threads: usize) {
    let work: Vec<(usize, Zeroizing<Vec<u8>>)> = entries
        .iter_mut()
        .enumerate()
        .filter_map(|(index, entry)| match &mut entry.secret {
            Secret::Password(password) => Some((index, std::mem::take(password))),
            _ => None,
        })
        .collect();
    let helpers = threads.clamp(1, work.len().max(1)) - 1;
    let queue = Arc::new(Mutex::new(work.into_iter()));
    let drain = move |queue: &Queue| {
        let mut done = Vec::new();
        loop {
            // A poisoned queue means a panicking hash elsewhere; that panic
            // reaches the caller through its join. Go on with the rest.
            let next = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .next();
            let Some((index, password)) = next else {
                return done;
            };
            let secret = match hash::sha512_crypt(&password, rounds) {
                Ok(hash) => Secret::Hash(hash),
                Err(err) => Secret::Failed(err),
            };
            done.push((index, secret));
        }
    };
    let mut handles = Vec::new();
    for _ in 0..helpers {
        let queue = Arc::clone(&queue);
        let started = std::thread::Builder::new()
            .name("passwdpop-hash".into())
            .spawn(move || drain(&queue));
        match started {
            Ok(handle) => handles.push(handle),
            Err(_) => break,
        }
    }
    let mut done = drain(&queue);
    for handle in handles {
        match handle.join() {
            Ok(theirs) => done.extend(theirs),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    for (index, secret) in done {
        entries[index].secret = secret;
    }
}
