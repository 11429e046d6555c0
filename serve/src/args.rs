//! The command line. Every setting is optional here: `--config` may give it
//! instead, and [`crate::settings`] merges the two (flags win).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Listeners may be repeated; at least one is needed (or systemd socket activation).
--http and --poppassd carry passwords in clear: they refuse addresses outside
127.0.0.0/8 and ::1 unless --allow-cleartext-on-network is given, which is a
mistake in almost every setup.

Every setting may also be given in the --config file (TOML) under the flag's
name, for example `failure-delay-ms = 2000` or `https = [\"0.0.0.0:2096\"]`;
flags win over the file.

Tokens for the admin API (Authorization: cpanel NAME:TOKEN or whm NAME:TOKEN):
  passwdpopd token add --tokens FILE [--whm] NAME      prints a new token once
  passwdpopd token remove --tokens FILE NAME
  passwdpopd token list --tokens FILE";

#[derive(Debug, Parser)]
#[command(
    name = "passwdpopd",
    version,
    about = "Serve password changes over cPanel UAPI / API 2 (HTTPS) and poppassd",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub flags: Flags,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the admin API tokens
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for NAME, print it once, store only its SHA-256
    Add {
        #[arg(long, value_name = "FILE")]
        tokens: PathBuf,
        /// The server admin's token: under --user-homes it may act for any
        /// cPanel user (as `whm NAME:TOKEN`); without it, a token acts for
        /// the cPanel user NAME only
        #[arg(long)]
        whm: bool,
        name: String,
    },
    /// Remove NAME's token
    Remove {
        #[arg(long, value_name = "FILE")]
        tokens: PathBuf,
        name: String,
    },
    /// List the token names (a server admin's marked "whm")
    List {
        #[arg(long, value_name = "FILE")]
        tokens: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutArg {
    /// user:hash:lastchange:min:max:warn:inactive:expire: (as cPanel writes it)
    Shadow,
    /// Dovecot passwd-file: user:hash:uid:gid:gecos:home:shell:extra_fields
    PasswdFile,
}

/// The daemon's settings as flags; `None`/empty means "not given here".
#[derive(Debug, Default, Args)]
pub struct Flags {
    /// Directory holding one directory per domain [default: /etc/vmail]
    #[arg(long, value_name = "DIR", conflicts_with = "user_homes")]
    pub root: Option<PathBuf>,

    /// cPanel layout: an account's files are in /home/USER/etc (USER from
    /// cpanel_jsonapi_user or the token's name)
    #[arg(long)]
    pub user_homes: bool,

    /// Line layout of the shadow files [default: shadow]
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,

    /// SHA512-crypt rounds for new hashes [default: 5000]
    #[arg(long, value_name = "N")]
    pub rounds: Option<u32>,

    /// HTTPS listener (UAPI and API 2); needs --cert and --key
    #[arg(long, value_name = "ADDR:PORT")]
    pub https: Vec<String>,

    /// PEM certificate chain for --https (reloaded on SIGHUP)
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,

    /// PEM private key for --https (reloaded on SIGHUP)
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,

    /// Cleartext HTTP listener (loopback only unless --allow-cleartext-on-network)
    #[arg(long, value_name = "ADDR:PORT")]
    pub http: Vec<String>,

    /// poppassd listener over TCP (loopback only unless --allow-cleartext-on-network)
    #[arg(long, value_name = "ADDR:PORT")]
    pub poppassd: Vec<String>,

    /// poppassd listener on a UNIX socket
    #[arg(long, value_name = "PATH")]
    pub poppassd_unix: Vec<PathBuf>,

    /// Let --http and --poppassd listen outside the loopback range (passwords in clear)
    #[arg(long)]
    pub allow_cleartext_on_network: bool,

    /// Admin tokens file: NAME:sha256hex lines, mode 0600, owned by this user
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,

    /// Domain for poppassd user names given without @domain
    #[arg(long, value_name = "DOMAIN")]
    pub default_domain: Option<String>,

    /// Delay before every authentication failure is answered [default: 2000]
    #[arg(long, value_name = "MS")]
    pub failure_delay_ms: Option<u64>,

    /// Failures from one client address before it is locked out [default: 5]
    #[arg(long, value_name = "N")]
    pub max_failures_per_ip: Option<u32>,

    /// Failures for one account before it is locked out [default: 10]
    #[arg(long, value_name = "N")]
    pub max_failures_per_account: Option<u32>,

    /// Length of the failure window and of a lockout, in seconds [default: 900]
    #[arg(long, value_name = "S")]
    pub lockout_secs: Option<u64>,

    /// Connections open at once, all listeners together [default: 256]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// A client exempt from the per-address failure limit, such as the webmail
    /// host all users come from (repeatable); the per-account limit still applies
    #[arg(long, value_name = "ADDR")]
    pub trusted_client: Vec<String>,

    /// TOML file with any of these settings under the same names
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
