//! The daemon's settings: flags merged over the `--config` TOML file (flags
//! win), defaults filled in, everything checked before anything listens.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use passwdpop::{Config, Layout};
use serde::Deserialize;

use crate::args::{Flags, LayoutArg};

pub const DEFAULT_FAILURE_DELAY_MS: u64 = 2_000;
pub const DEFAULT_MAX_FAILURES_PER_IP: u32 = 5;
pub const DEFAULT_MAX_FAILURES_PER_ACCOUNT: u32 = 10;
pub const DEFAULT_LOCKOUT_SECS: u64 = 900;
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Upper bounds: beyond these a setting is a mistake (an answer that never
/// comes, a lock that overflows the clock), refused at startup.
pub const MAX_FAILURE_DELAY_MS: u64 = 60_000;
pub const MAX_LOCKOUT_SECS: u64 = 30 * 86_400;

/// Where the shadow files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// One root for every domain (`--root`, default `/etc/vmail`).
    Fixed(PathBuf),
    /// cPanel: `/home/USER/etc`, USER named by the request (`--user-homes`).
    UserHomes,
}

/// Everything the daemon needs to run, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub roots: Roots,
    /// Rounds, layout, lock timeout; the root is set per request.
    pub library: Config,
    pub https: Vec<SocketAddr>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub http: Vec<SocketAddr>,
    pub poppassd: Vec<SocketAddr>,
    pub poppassd_unix: Vec<PathBuf>,
    pub allow_cleartext_on_network: bool,
    pub tokens: Option<PathBuf>,
    pub default_domain: Option<String>,
    pub failure_delay: Duration,
    pub max_failures_per_ip: u32,
    pub max_failures_per_account: u32,
    pub lockout: Duration,
    pub max_connections: usize,
    /// Clients exempt from the per-client limit (a webmail host: all its
    /// users come from its address); the per-account limit still applies.
    pub trusted_clients: Vec<IpAddr>,
}

/// The `--config` file: the flags' names, kebab-case; unknown keys are errors
/// (a misspelt `max-failures-per-ip` must not silently mean the default).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    root: Option<PathBuf>,
    user_homes: Option<bool>,
    layout: Option<LayoutArg>,
    rounds: Option<u32>,
    https: Option<OneOrMany<String>>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    http: Option<OneOrMany<String>>,
    poppassd: Option<OneOrMany<String>>,
    poppassd_unix: Option<OneOrMany<PathBuf>>,
    allow_cleartext_on_network: Option<bool>,
    tokens: Option<PathBuf>,
    default_domain: Option<String>,
    failure_delay_ms: Option<u64>,
    max_failures_per_ip: Option<u32>,
    max_failures_per_account: Option<u32>,
    lockout_secs: Option<u64>,
    max_connections: Option<usize>,
    trusted_client: Option<OneOrMany<String>>,
}

/// A listener setting may be one string or a list, as repeated flags are.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// Flags over the file's values over the defaults. `Err` is a message for the
/// usage error.
pub fn resolve(flags: Flags) -> Result<Settings, String> {
    let file = match &flags.config {
        Some(path) => read_file(path)?,
        None => FileSettings::default(),
    };
    // A list flag given at all replaces the file's list of that kind.
    let listeners = |flag: Vec<String>, file: Option<OneOrMany<String>>| {
        if flag.is_empty() {
            file.map(OneOrMany::into_vec).unwrap_or_default()
        } else {
            flag
        }
    };
    let https = parse_addrs("https", listeners(flags.https, file.https))?;
    let http = parse_addrs("http", listeners(flags.http, file.http))?;
    let poppassd = parse_addrs("poppassd", listeners(flags.poppassd, file.poppassd))?;
    let poppassd_unix = if flags.poppassd_unix.is_empty() {
        file.poppassd_unix
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
    } else {
        flags.poppassd_unix
    };

    let trusted_clients = listeners(flags.trusted_client, file.trusted_client)
        .iter()
        .map(|text| {
            text.parse::<IpAddr>().map_err(|_| {
                format!("--trusted-client '{text}' is not an IP address (one address, no port)")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let user_homes = flags.user_homes || (flags.root.is_none() && file.user_homes == Some(true));
    let roots = if user_homes {
        Roots::UserHomes
    } else {
        let root = flags
            .root
            .or(file.root)
            .unwrap_or_else(|| PathBuf::from(passwdpop::DEFAULT_ROOT));
        if !root.is_absolute() {
            return Err(format!("--root must be an absolute path, not {root:?}"));
        }
        Roots::Fixed(root)
    };

    let mut library = Config::new();
    // A webmail user who changed a password logs in again at once: a change
    // is answered only when Dovecot, which looks at the file at most once a
    // second, can see it.
    library.set_wait_visible(true);
    if let Roots::Fixed(root) = &roots {
        library.set_root(root).map_err(|err| err.to_string())?;
    }
    if let Some(rounds) = flags.rounds.or(file.rounds) {
        library
            .set_rounds(rounds)
            .map_err(|err| format!("--rounds: {err}"))?;
    }
    library.set_layout(match flags.layout.or(file.layout) {
        Some(LayoutArg::PasswdFile) => Layout::PasswdFile,
        Some(LayoutArg::Shadow) | None => Layout::Shadow,
    });

    let settings = Settings {
        roots,
        library,
        https,
        cert: flags.cert.or(file.cert),
        key: flags.key.or(file.key),
        http,
        poppassd,
        poppassd_unix,
        allow_cleartext_on_network: flags.allow_cleartext_on_network
            || file.allow_cleartext_on_network == Some(true),
        tokens: flags.tokens.or(file.tokens),
        default_domain: flags.default_domain.or(file.default_domain),
        failure_delay: Duration::from_millis(
            flags
                .failure_delay_ms
                .or(file.failure_delay_ms)
                .unwrap_or(DEFAULT_FAILURE_DELAY_MS),
        ),
        max_failures_per_ip: flags
            .max_failures_per_ip
            .or(file.max_failures_per_ip)
            .unwrap_or(DEFAULT_MAX_FAILURES_PER_IP),
        max_failures_per_account: flags
            .max_failures_per_account
            .or(file.max_failures_per_account)
            .unwrap_or(DEFAULT_MAX_FAILURES_PER_ACCOUNT),
        lockout: Duration::from_secs(
            flags
                .lockout_secs
                .or(file.lockout_secs)
                .unwrap_or(DEFAULT_LOCKOUT_SECS),
        ),
        max_connections: flags
            .max_connections
            .or(file.max_connections)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS),
        trusted_clients,
    };
    settings.check()?;
    Ok(settings)
}

impl Settings {
    fn check(&self) -> Result<(), String> {
        if !self.https.is_empty() && (self.cert.is_none() || self.key.is_none()) {
            return Err("--https needs --cert and --key".into());
        }
        if self.max_failures_per_ip == 0 || self.max_failures_per_account == 0 {
            return Err(
                "--max-failures-per-ip and --max-failures-per-account must be at least 1".into(),
            );
        }
        if self.failure_delay > Duration::from_millis(MAX_FAILURE_DELAY_MS) {
            return Err(format!(
                "--failure-delay-ms must be at most {MAX_FAILURE_DELAY_MS}, not {}",
                self.failure_delay.as_millis()
            ));
        }
        let lockout = self.lockout.as_secs();
        if !(1..=MAX_LOCKOUT_SECS).contains(&lockout) {
            return Err(format!(
                "--lockout-secs must be between 1 and {MAX_LOCKOUT_SECS}, not {lockout}"
            ));
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        if let Some(domain) = &self.default_domain {
            // The library checks the domain's syntax on every call; this only
            // catches the mistake of giving an address.
            if domain.is_empty() || domain.contains(['@', ':', ' ', '/']) {
                return Err(format!("--default-domain '{domain}' is not a domain name"));
            }
        }
        if !self.allow_cleartext_on_network {
            for (flag, addrs) in [("--http", &self.http), ("--poppassd", &self.poppassd)] {
                cleartext_allowed(flag, addrs)?;
            }
        }
        Ok(())
    }
}

/// Cleartext listeners stay on the loopback range unless the admin insists.
pub fn cleartext_allowed(flag: &str, addrs: &[SocketAddr]) -> Result<(), String> {
    match addrs.iter().find(|addr| !is_loopback(addr.ip())) {
        None => Ok(()),
        Some(addr) => Err(format!(
            "{flag} {addr}: passwords would cross the network in clear; listen on 127.0.0.1 or \
             [::1], use --https, or give --allow-cleartext-on-network"
        )),
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // An IPv4-mapped loopback address is loopback too.
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn read_file(path: &Path) -> Result<FileSettings, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("--config {}: {err}", path.display()))?;
    toml::from_str(&text).map_err(|err| format!("--config {}: {err}", path.display()))
}

fn parse_addrs(flag: &str, values: Vec<String>) -> Result<Vec<SocketAddr>, String> {
    let mut addrs = Vec::new();
    for value in values {
        let resolved = value
            .to_socket_addrs()
            .map_err(|err| format!("--{flag} {value}: {err} (expected ADDR:PORT)"))?;
        addrs.extend(resolved);
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve_args(args: &[&str]) -> Result<Settings, String> {
        let cli = crate::args::Cli::try_parse_from(
            std::iter::once("passwdpopd").chain(args.iter().copied()),
        )
        .map_err(|err| err.to_string())?;
        resolve(cli.flags)
    }

    #[test]
    fn cleartext_listeners_stay_on_loopback_unless_allowed() {
        let cases: &[(&[&str], bool)] = &[
            (&["--http", "127.0.0.1:0"], true),
            (&["--http", "127.9.9.9:0"], true),
            (&["--http", "[::1]:0"], true),
            (&["--poppassd", "[::ffff:127.0.0.1]:0"], true),
            (&["--http", "0.0.0.0:0"], false),
            (&["--poppassd", "[::]:0"], false),
            (
                &["--poppassd", "127.0.0.1:0", "--poppassd", "192.0.2.1:106"],
                false,
            ),
            (
                &["--http", "0.0.0.0:0", "--allow-cleartext-on-network"],
                true,
            ),
            (
                &["--https", "0.0.0.0:0", "--cert", "/c", "--key", "/k"],
                true,
            ),
        ];
        for (args, ok) in cases {
            let result = resolve_args(args);
            assert_eq!(result.is_ok(), *ok, "{args:?}: {result:?}");
            if let Err(message) = result {
                assert!(
                    message.contains("--allow-cleartext-on-network"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwdpopd.toml");
        std::fs::write(
            &path,
            "root = \"/srv/file\"\nrounds = 7000\nfailure-delay-ms = 10\n\
             max-failures-per-ip = 3\npoppassd = \"127.0.0.1:1106\"\nhttp = [\"127.0.0.1:1080\"]\n\
             trusted-client = [\"192.0.2.10\", \"2001:db8::10\"]\n",
        )
        .unwrap();
        let config = path.to_str().unwrap();
        let settings = resolve_args(&[
            "--config",
            config,
            "--rounds",
            "6000",
            "--http",
            "127.0.0.1:2080",
        ])
        .unwrap();
        assert_eq!(settings.roots, Roots::Fixed("/srv/file".into()));
        assert_eq!(settings.library.rounds(), 6000);
        assert_eq!(settings.failure_delay, Duration::from_millis(10));
        assert_eq!(settings.max_failures_per_ip, 3);
        assert_eq!(
            settings.max_failures_per_account,
            DEFAULT_MAX_FAILURES_PER_ACCOUNT
        );
        assert_eq!(settings.lockout, Duration::from_secs(DEFAULT_LOCKOUT_SECS));
        assert_eq!(settings.http, vec!["127.0.0.1:2080".parse().unwrap()]);
        assert_eq!(settings.poppassd, vec!["127.0.0.1:1106".parse().unwrap()]);
        assert_eq!(settings.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert!(settings.library.wait_visible());
        assert_eq!(
            settings.trusted_clients,
            [
                "192.0.2.10".parse::<IpAddr>().unwrap(),
                "2001:db8::10".parse().unwrap()
            ]
        );
        let settings =
            resolve_args(&["--config", config, "--trusted-client", "127.0.0.2"]).unwrap();
        assert_eq!(
            settings.trusted_clients,
            ["127.0.0.2".parse::<IpAddr>().unwrap()]
        );

        // Listeners repeat; a single-valued flag given twice keeps the last.
        let settings = resolve_args(&[
            "--http",
            "127.0.0.1:1",
            "--http",
            "127.0.0.2:2",
            "--rounds",
            "2000",
            "--rounds",
            "3000",
        ])
        .unwrap();
        assert_eq!(settings.http.len(), 2);
        assert_eq!(settings.library.rounds(), 3000);
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_named() {
        let dir = tempfile::tempdir().unwrap();
        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "max-failures-per-ipp = 3\n").unwrap();
        let typo = typo.to_str().unwrap();
        let cases: &[(&[&str], &str)] = &[
            (&["--https", "127.0.0.1:0"], "--cert"),
            (&["--rounds", "10"], "--rounds"),
            (&["--root", "relative"], "absolute"),
            (&["--http", "nonsense"], "--http nonsense"),
            (&["--max-connections", "0"], "--max-connections"),
            (&["--max-failures-per-ip", "0"], "--max-failures-per-ip"),
            (
                &["--lockout-secs", "18446744073709551615"],
                "--lockout-secs must be between",
            ),
            (&["--lockout-secs", "0"], "--lockout-secs must be between"),
            (
                &["--failure-delay-ms", "18446744073709551615"],
                "--failure-delay-ms must be at most",
            ),
            (&["--trusted-client", "192.0.2.1:80"], "--trusted-client"),
            (&["--default-domain", "not a domain"], "--default-domain"),
            (&["--config", typo], "max-failures-per-ipp"),
            (
                &["--config", "/nonexistent/passwdpopd.toml"],
                "/nonexistent/passwdpopd.toml",
            ),
        ];
        for (args, expected) in cases {
            let message = resolve_args(args).unwrap_err();
            assert!(message.contains(expected), "{args:?}: {message}");
        }
    }
}
