//! The running daemon: the runtime, one accept loop per listener under one
//! connection limit (and a share of it per client address, so that one
//! client cannot hold every slot), and the signals. SIGHUP reloads the certificate and the
//! tokens; SIGTERM/SIGINT stop accepting, let every open connection finish
//! (a change in progress is never cut) and exit 0.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::http;
use crate::listen::{self, Kind, Listener};
use crate::pool::Pool;
use crate::poppassd;
use crate::service::Service;
use crate::settings::Settings;
use crate::throttle::{Client, ClientKey};
use crate::tls::Tls;

struct Shared {
    service: Arc<Service>,
    tls: Option<Tls>,
    connections: Arc<Semaphore>,
    max_connections: u32,
    per_client: PerClient,
    shutdown: watch::Receiver<bool>,
}

/// Open connections per client address (IPv6 by /64), at most `max` each;
/// trusted clients (`--trusted-client`) are not counted.
struct PerClient {
    max: u32,
    trusted: Vec<IpAddr>,
    open: Mutex<HashMap<ClientKey, u32>>,
}

/// One connection counted in [`PerClient`]; uncounted when dropped.
struct ClientSlot<'a> {
    per_client: &'a PerClient,
    key: Option<ClientKey>,
}

impl PerClient {
    /// A quarter of the connection limit, and at least two.
    fn new(max_connections: u32, trusted: Vec<IpAddr>) -> PerClient {
        PerClient {
            max: (max_connections / 4).max(2),
            trusted,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self, ip: IpAddr) -> Option<ClientSlot<'_>> {
        if self.trusted.contains(&ip.to_canonical()) {
            return Some(ClientSlot {
                per_client: self,
                key: None,
            });
        }
        let key = ClientKey::from(Client::Ip(ip));
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            per_client: self,
            key: Some(key),
        })
    }
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        let Some(key) = &self.key else { return };
        let mut open = self
            .per_client
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                open.remove(key);
            }
        }
    }
}

pub fn run(settings: Settings) -> ExitCode {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    // Library calls wait more than they compute: on fsync, on the domain
    // lock, and (wait-visible) up to a second for Dovecot to see the change.
    // One thread per connection allowed at most: a connection makes one
    // call at a time, so no request ever waits for a thread.
    let pool = Pool::new(settings.max_connections);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.min(4))
        .max_blocking_threads(pool.size())
        .enable_io()
        .enable_time()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("starting the runtime: {err}")),
    };
    runtime.block_on(serve(settings, pool))
}

async fn serve(settings: Settings, pool: Pool) -> ExitCode {
    let listeners = match listen::bind_all(&settings) {
        Ok(listeners) => listeners,
        Err(message) => return fail(&message),
    };
    if listeners.is_empty() {
        return crate::usage_error(
            "no listener: give --https, --http, --poppassd or --poppassd-unix (or start from a \
             systemd socket)",
        );
    }
    let needs_tls = listeners
        .iter()
        .any(|l| matches!(l, Listener::Tcp(Kind::Https, _)));
    let tls = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) if needs_tls => match Tls::load(cert, key) {
            Ok(tls) => Some(tls),
            Err(message) => return fail(&message),
        },
        _ if needs_tls => return crate::usage_error("an https socket needs --cert and --key"),
        _ => None,
    };
    let max_connections = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    let trusted = settings
        .trusted_clients
        .iter()
        .map(IpAddr::to_canonical)
        .collect();
    let service = match Service::new(settings, pool) {
        Ok(service) => service,
        Err(message) => return fail(&message),
    };
    let (stop, shutdown) = watch::channel(false);
    let shared = Arc::new(Shared {
        service: Arc::new(service),
        tls,
        connections: Arc::new(Semaphore::new(max_connections as usize)),
        max_connections,
        per_client: PerClient::new(max_connections, trusted),
        shutdown,
    });
    let (mut hangup, mut terminate, mut interrupt) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(h), Ok(t), Ok(i)) => (h, t, i),
        _ => return fail("installing the signal handlers failed"),
    };

    let described: Vec<String> = listeners.iter().map(Listener::describe).collect();
    let mut unix_paths = Vec::new();
    let mut loops = Vec::new();
    for listener in listeners {
        if let Listener::Unix(_, Some(path)) = &listener {
            unix_paths.push(path.clone());
        }
        loops.push(tokio::spawn(accept_loop(listener, Arc::clone(&shared))));
    }
    eprintln!(
        "passwdpopd {}: listening on {}",
        env!("CARGO_PKG_VERSION"),
        described.join(", ")
    );

    loop {
        tokio::select! {
            _ = hangup.recv() => reload(&shared),
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    eprintln!("passwdpopd: stopping: no new connections; finishing the open ones");
    let _ = stop.send(true);
    for accept in loops {
        let _ = accept.await;
    }
    // Every connection gives its permit back when it ends; every library call
    // holds a pool permit until it returns.
    let _all = shared
        .connections
        .acquire_many(shared.max_connections)
        .await;
    shared.service.pool().drain().await;
    for path in unix_paths {
        let _ = std::fs::remove_file(path);
    }
    eprintln!("passwdpopd: stopped");
    ExitCode::SUCCESS
}

fn reload(shared: &Shared) {
    if let Some(tls) = &shared.tls {
        match tls.reload() {
            Ok(()) => eprintln!("passwdpopd: SIGHUP: certificate and key reloaded"),
            Err(message) => eprintln!("passwdpopd: SIGHUP: {message}; keeping the old certificate"),
        }
    }
    match shared.service.reload_tokens() {
        Ok(()) => {}
        Err(message) => eprintln!("passwdpopd: SIGHUP: {message}; keeping the old tokens"),
    }
}

async fn accept_loop(listener: Listener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        // The connection first, then a permit: an idle listener holds no
        // slot. Beyond the limit, the one connection accepted waits here and
        // the others in the kernel's backlog.
        let accepted = tokio::select! {
            accepted = accept(&listener) => accepted,
            _ = stopped(&mut shutdown) => return,
        };
        let permit = tokio::select! {
            permit = Arc::clone(&shared.connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok(connection) => {
                tokio::spawn(handle(connection, Arc::clone(&shared), permit));
            }
            Err(err) => {
                // EMFILE and friends: back off rather than spin.
                eprintln!("passwdpopd: accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

enum Connection {
    /// With the instant it was accepted: the request's 10 s start then.
    Tcp(Kind, tokio::net::TcpStream, SocketAddr, Instant),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Connection> {
    match listener {
        Listener::Tcp(kind, listener) => {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            Ok(Connection::Tcp(*kind, stream, peer, Instant::now()))
        }
        Listener::Unix(listener, _) => Ok(Connection::Unix(listener.accept().await?.0)),
    }
}

async fn handle(connection: Connection, shared: Arc<Shared>, _permit: OwnedSemaphorePermit) {
    let service = &shared.service;
    let _slot = match &connection {
        Connection::Tcp(_, _, peer, _) => match shared.per_client.open(peer.ip()) {
            Some(slot) => Some(slot),
            // Closed at once: the client already holds its share of slots.
            None => return,
        },
        Connection::Unix(_) => None,
    };
    match connection {
        Connection::Tcp(Kind::Https, stream, peer, accepted) => {
            let Some(tls) = &shared.tls else { return };
            let deadline = accepted + http::REQUEST_TIMEOUT;
            let handshake = tokio::time::timeout_at(deadline.into(), tls.acceptor().accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                let service = Arc::clone(&shared.service);
                http::serve_connection(stream, peer, accepted, service, "https").await;
            }
        }
        Connection::Tcp(Kind::Http, stream, peer, accepted) => {
            let service = Arc::clone(&shared.service);
            http::serve_connection(stream, peer, accepted, service, "http").await;
        }
        Connection::Tcp(Kind::Poppassd, stream, peer, _) => {
            poppassd::serve(
                stream,
                Some(Client::Ip(peer.ip())),
                peer.to_string(),
                service,
                shared.shutdown.clone(),
            )
            .await;
        }
        Connection::Unix(stream) => {
            // Local clients count by user id: each local user is one client.
            let uid = stream.peer_cred().ok().map(|cred| cred.uid());
            let label = match uid {
                Some(uid) => format!("unix:uid:{uid}"),
                None => "unix".to_owned(),
            };
            poppassd::serve(
                stream,
                uid.map(Client::Uid),
                label,
                service,
                shared.shutdown.clone(),
            )
            .await;
        }
    }
}

/// Resolves once shutdown has begun (the watch's guard is not kept, so the
/// future stays `Send`).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|&stop| stop).await;
}

fn fail(message: &str) -> ExitCode {
    eprintln!("passwdpopd: {message}");
    ExitCode::FAILURE
}
