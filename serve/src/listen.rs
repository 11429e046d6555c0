//! Listening sockets: from the settings, or handed over by systemd socket
//! activation (`LISTEN_FDS`, with `FileDescriptorName=` telling which
//! protocol each socket speaks: `https`, `http` or `poppassd`).

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, UnixListener};

use crate::settings::{cleartext_allowed, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Https,
    Http,
    Poppassd,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Https => "https",
            Kind::Http => "http",
            Kind::Poppassd => "poppassd",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        [Kind::Https, Kind::Http, Kind::Poppassd]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

pub enum Listener {
    Tcp(Kind, TcpListener),
    /// poppassd on a UNIX socket; the path is removed at exit when we made it.
    Unix(UnixListener, Option<PathBuf>),
}

impl Listener {
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(kind, listener) => match listener.local_addr() {
                Ok(addr) => format!("{} {addr}", kind.name()),
                Err(_) => kind.name().to_owned(),
            },
            Listener::Unix(_, Some(path)) => format!("poppassd {}", path.display()),
            Listener::Unix(_, None) => "poppassd (UNIX socket from systemd)".to_owned(),
        }
    }
}

/// Sockets from systemd first, then the configured ones. Must run inside the
/// runtime (tokio listeners register with its reactor).
pub fn bind_all(settings: &Settings) -> Result<Vec<Listener>, String> {
    let mut listeners = activated(settings)?;
    for (kind, addrs) in [
        (Kind::Https, &settings.https),
        (Kind::Http, &settings.http),
        (Kind::Poppassd, &settings.poppassd),
    ] {
        for addr in addrs {
            let listener =
                bind_tcp(*addr).map_err(|err| format!("--{} {addr}: {err}", kind.name()))?;
            listeners.push(Listener::Tcp(kind, listener));
        }
    }
    for path in &settings.poppassd_unix {
        listeners.push(Listener::Unix(bind_unix(path)?, Some(path.clone())));
    }
    Ok(listeners)
}

fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let std = std::net::TcpListener::bind(addr)?;
    std.set_nonblocking(true)?;
    TcpListener::from_std(std)
}

/// A stale socket of an earlier run is replaced; any other file is not.
/// Mode 0666: as with a loopback port, every local user may connect, and
/// must still know the current password (and each local user is one client
/// for the throttle). The mode comes from the umask at bind time, not from a
/// chmod by path afterwards, which would follow a symlink put in the
/// socket's place in between.
fn bind_unix(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            fs::remove_file(path).map_err(|err| format!("--poppassd-unix {shown}: {err}"))?
        }
        Ok(_) => {
            return Err(format!(
                "--poppassd-unix {shown}: exists and is not a socket"
            ))
        }
        Err(_) => {}
    }
    // Listeners are bound at startup, before any request is served: no other
    // thread creates files while the umask is changed.
    let saved = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o111));
    let bound = UnixListener::bind(path);
    rustix::process::umask(saved);
    bound.map_err(|err| format!("--poppassd-unix {shown}: {err}"))
}

/// The sockets systemd passed, by their names.
fn activated(settings: &Settings) -> Result<Vec<Listener>, String> {
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut fds = listenfd::ListenFd::from_env();
    std::env::remove_var("LISTEN_FDNAMES");
    let names: Vec<&str> = names.split(':').collect();
    let mut listeners = Vec::new();
    for index in 0..fds.len() {
        let name = names.get(index).copied().unwrap_or("");
        let kind = Kind::from_name(name).ok_or_else(|| {
            format!(
                "socket activation: socket {index} is named '{name}'; set FileDescriptorName= to \
                 https, http or poppassd in the .socket unit"
            )
        })?;
        let context =
            |err: std::io::Error| format!("socket activation: socket {index} ({name}): {err}");
        let tcp = fds.take_tcp_listener(index);
        let listener = match (kind, tcp) {
            (_, Ok(Some(std))) => {
                std.set_nonblocking(true).map_err(context)?;
                let listener = TcpListener::from_std(std).map_err(context)?;
                if kind != Kind::Https && !settings.allow_cleartext_on_network {
                    let addr = listener.local_addr().map_err(context)?;
                    cleartext_allowed(&format!("socket {name}"), &[addr])?;
                }
                Listener::Tcp(kind, listener)
            }
            (Kind::Poppassd, _) => match fds.take_unix_listener(index).map_err(context)? {
                Some(std) => {
                    std.set_nonblocking(true).map_err(context)?;
                    Listener::Unix(UnixListener::from_std(std).map_err(context)?, None)
                }
                None => continue,
            },
            (_, Err(err)) => return Err(context(err)),
            (_, Ok(None)) => continue,
        };
        listeners.push(listener);
    }
    Ok(listeners)
}
