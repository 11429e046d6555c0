//! Where the shadow files are and how to write them.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Status};
use crate::sys;
use crate::user_etc::UserEtc;
use crate::visible::Renamed;

/// Root used when neither `PASSWDPOP_ROOT` nor [`Config::set_root`] says otherwise.
pub const DEFAULT_ROOT: &str = "/etc/vmail";
/// Environment variable naming the root; ignored in setuid/setgid processes.
pub const ROOT_ENV: &str = "PASSWDPOP_ROOT";
/// SHA512-crypt rounds by default (the algorithm's own default).
pub const DEFAULT_ROUNDS: u32 = 5_000;
/// Fewest rounds accepted (the SHA-crypt specification's minimum).
pub const MIN_ROUNDS: u32 = 1_000;
/// Most rounds accepted (the SHA-crypt specification's maximum).
pub const MAX_ROUNDS: u32 = 999_999_999;
/// How long a change waits for other writers by default.
pub const DEFAULT_LOCK_TIMEOUT_MS: u32 = 10_000;

/// How entries are laid out in `<root>/<domain>/shadow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// shadow(5) style, as cPanel writes it: `user:hash:lastchange:min:max:warn:inactive:expire:`.
    /// A change sets `lastchange` to today when the entry has that field.
    #[default]
    Shadow,
    /// Dovecot passwd-file: `user:hash:uid:gid:gecos:home:shell:extra_fields`.
    /// Only the hash is ever changed.
    PasswdFile,
}

/// Settings for [`Config::change`] and [`Config::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    root: RootSetting,
    rounds: u32,
    lock_timeout: Duration,
    layout: Layout,
    threads: u32,
    wait_visible: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// Defaults: root from `PASSWDPOP_ROOT` (unless the process is setuid or
    /// setgid, where the environment belongs to the caller) else `/etc/vmail`,
    /// 5000 rounds, 10 s lock timeout, shadow layout.
    pub fn new() -> Config {
        let from_env = if sys::is_secure_execution() {
            None
        } else {
            std::env::var_os(ROOT_ENV)
        };
        Config {
            root: RootSetting::Path {
                from_env: from_env.is_some(),
                path: from_env.map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from),
            },
            rounds: DEFAULT_ROUNDS,
            lock_timeout: Duration::from_millis(DEFAULT_LOCK_TIMEOUT_MS.into()),
            layout: Layout::Shadow,
            threads: 0,
            wait_visible: false,
        }
    }

    /// The directory that holds one directory per domain (after
    /// [`Config::set_user_etc`], how messages name it).
    pub fn root(&self) -> &Path {
        match &self.root {
            RootSetting::Path { path, .. } => path,
            RootSetting::UserEtc(etc) => etc.shown(),
        }
    }

    /// Sets the root; it must be an absolute path.
    pub fn set_root(&mut self, root: impl AsRef<Path>) -> Result<(), Error> {
        let root = root.as_ref();
        check_root(root, false)?;
        self.root = RootSetting::Path {
            path: root.to_path_buf(),
            from_env: false,
        };
        Ok(())
    }

    /// Makes a cPanel user's `etc`, already open and checked, the root:
    /// every domain is then opened relative to that directory, never by its
    /// path again, and messages name it as [`UserEtc::shown`].
    pub fn set_user_etc(&mut self, etc: UserEtc) {
        self.root = RootSetting::UserEtc(etc);
    }

    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// Sets the SHA512-crypt rounds, `1000..=999999999`.
    pub fn set_rounds(&mut self, rounds: u32) -> Result<(), Error> {
        check_rounds(rounds)?;
        self.rounds = rounds;
        Ok(())
    }

    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// Sets how long a change waits for other writers; 0 tries once and never waits.
    pub fn set_lock_timeout_ms(&mut self, ms: u32) {
        self.lock_timeout = Duration::from_millis(ms.into());
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn set_layout(&mut self, layout: Layout) {
        self.layout = layout;
    }

    /// Threads a batch commit hashes on; 0 means one per available core.
    pub fn threads(&self) -> u32 {
        self.threads
    }

    /// Sets the threads a batch commit hashes on (0: one per available core).
    pub fn set_threads(&mut self, threads: u32) {
        self.threads = threads;
    }

    /// [`Config::threads`] with 0 resolved to the cores this process may use.
    pub(crate) fn hashing_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            threads => threads as usize,
        }
    }

    pub fn wait_visible(&self) -> bool {
        self.wait_visible
    }

    /// Whether a change returns only once every reader sees it: Dovecot's
    /// passwd-file looks at the file at most once per second, so the change
    /// then waits, after the rename and the unlock, until the wall clock
    /// reaches the next second (at most 1 s of latency; other writers are not
    /// held up). Off by default: the calling program decides; the
    /// `passwdpop` command turns it on.
    pub fn set_wait_visible(&mut self, wait: bool) {
        self.wait_visible = wait;
    }

    /// To be called once per replacement (a change, an admin operation, a
    /// batch's commit), after the rename and the unlock: waits until every
    /// reader sees the new file if [`Config::set_wait_visible`] asked for it.
    pub(crate) fn after_rename(&self, renamed: Renamed) {
        if self.wait_visible {
            renamed.wait_until_visible();
        }
    }

    /// The root, checked here because `PASSWDPOP_ROOT` may have held
    /// anything. An empty or relative value is refused, not replaced by the
    /// default: a caller who set the variable meant some other directory.
    pub(crate) fn checked_root(&self) -> Result<Root<'_>, Error> {
        match &self.root {
            RootSetting::Path { path, from_env } => {
                check_root(path, *from_env)?;
                Ok(Root {
                    shown: path,
                    dir: None,
                })
            }
            RootSetting::UserEtc(etc) => Ok(Root {
                shown: etc.shown(),
                dir: Some(etc.dir()),
            }),
        }
    }
}

/// The root as set.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RootSetting {
    /// A path; `from_env` when it came from `PASSWDPOP_ROOT`, so that an
    /// error names the variable.
    Path { path: PathBuf, from_env: bool },
    /// A cPanel user's `etc`, open; messages name it as [`UserEtc::shown`].
    UserEtc(UserEtc),
}

/// Where the domain directories are, for the store: a path, or an open
/// directory and how messages name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Root<'a> {
    pub shown: &'a Path,
    pub dir: Option<BorrowedFd<'a>>,
}

/// SHA-crypt's own limits on rounds.
pub(crate) fn check_rounds(rounds: u32) -> Result<(), Error> {
    if (MIN_ROUNDS..=MAX_ROUNDS).contains(&rounds) {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidConfig,
            format!("rounds must be between {MIN_ROUNDS} and {MAX_ROUNDS}, not {rounds}"),
        ))
    }
}

fn check_root(root: &Path, from_env: bool) -> Result<(), Error> {
    let message = match (root.is_absolute(), from_env) {
        (true, _) => return Ok(()),
        (false, false) => format!("the root must be an absolute path, not {root:?}"),
        (false, true) if root.as_os_str().is_empty() => format!(
            "{ROOT_ENV} is set but empty; set it to an absolute path, or unset it for {DEFAULT_ROOT}"
        ),
        (false, true) => format!("{ROOT_ENV} must be an absolute path, not {root:?}"),
    };
    Err(Error::new(Status::InvalidConfig, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_validate_and_leave_config_unchanged_on_error() {
        let mut config = Config::new();
        let before = config.clone();
        for rounds in [0, 999, 1_000_000_000, u32::MAX] {
            assert_eq!(
                config.set_rounds(rounds).unwrap_err().status(),
                Status::InvalidConfig
            );
        }
        for root in ["", "relative", "./x", "vmail/"] {
            assert_eq!(
                config.set_root(root).unwrap_err().status(),
                Status::InvalidConfig
            );
        }
        assert_eq!(config, before);

        config.set_rounds(1000).unwrap();
        config.set_rounds(999_999_999).unwrap();
        config.set_root("/srv/vmail").unwrap();
        config.set_lock_timeout_ms(0);
        config.set_layout(Layout::PasswdFile);
        assert!(!config.wait_visible());
        config.set_wait_visible(true);
        assert!(config.wait_visible());
        assert!(matches!(
            config.root,
            RootSetting::Path {
                from_env: false,
                ..
            }
        ));
        config.set_threads(3);
        assert_eq!(config.threads(), 3);
        assert_eq!(config.hashing_threads(), 3);
        config.set_threads(0);
        assert!(config.hashing_threads() >= 1);
        assert_eq!(config.rounds(), 999_999_999);
        assert_eq!(config.root(), Path::new("/srv/vmail"));
        assert_eq!(config.lock_timeout(), Duration::ZERO);
        assert_eq!(config.layout(), Layout::PasswdFile);
    }

    #[test]
    fn a_root_from_the_environment_is_checked_and_named() {
        // The variable itself is set in the CLI's and the C tests, each in
        // its own process; here the value is put where `new` would put it.
        let cases: &[(&str, Option<&str>)] = &[
            ("/srv/vmail", None),
            ("", Some("PASSWDPOP_ROOT is set but empty")),
            ("relative", Some("PASSWDPOP_ROOT must be an absolute path")),
        ];
        for (value, expected) in cases {
            let config = Config {
                root: RootSetting::Path {
                    path: PathBuf::from(value),
                    from_env: true,
                },
                ..Config::new()
            };
            match (config.checked_root(), expected) {
                (Ok(root), None) => assert_eq!(root.shown, Path::new(value)),
                (Err(err), Some(expected)) => {
                    assert_eq!(err.status(), Status::InvalidConfig);
                    assert!(err.message().starts_with(expected), "{value:?}: {err}");
                }
                (got, _) => panic!("{value:?}: {got:?}"),
            }
        }
    }
}
