//! A running passwdpopd on loopback ports of its own, over a scratch root with
//! known accounts, plus the clients the tests speak through (curl, raw TCP).
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passwdpop::Config;
use tempfile::TempDir;

/// Accounts every scratch root has: `<user>-old` is each one's password.
/// `frozen` is suspended (`!` in front of its hash).
pub const DOMAINS: [(&str, &[&str]); 2] = [
    ("example.com", &["alice", "bob", "frozen"]),
    ("example.org", &["carol", "dave"]),
];

pub const ROUNDS: u32 = 1000;

pub struct Scratch {
    pub dir: TempDir,
    pub root: PathBuf,
    pub config: Config,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::with_accounts(&DOMAINS.map(|(domain, users)| {
            (
                domain.to_owned(),
                users.iter().map(|u| u.to_string()).collect(),
            )
        }))
    }

    pub fn with_accounts(domains: &[(String, Vec<String>)]) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vmail");
        for (domain, users) in domains {
            let domain_dir = root.join(domain);
            fs::create_dir_all(&domain_dir).unwrap();
            fs::set_permissions(&domain_dir, fs::Permissions::from_mode(0o750)).unwrap();
            let mut text = String::new();
            for user in users {
                let hash = passwdpop::sha512_crypt(format!("{user}-old"), ROUNDS).unwrap();
                let lock = if user == "frozen" { "!" } else { "" };
                text.push_str(&format!("{user}:{lock}{hash}:19700:0:99999:7:::\n"));
            }
            let shadow = domain_dir.join("shadow");
            fs::write(&shadow, text).unwrap();
            fs::set_permissions(&shadow, fs::Permissions::from_mode(0o640)).unwrap();
        }
        let mut config = Config::new();
        config.set_root(&root).unwrap();
        Scratch { dir, root, config }
    }

    /// Whether `password` is now the account's password (crypt(3) decides).
    pub fn accepts(&self, address: &str, password: &str) -> bool {
        let (user, domain) = address.split_once('@').unwrap();
        self.config.verify(domain, user, password).is_ok()
    }

    pub fn shadow(&self, domain: &str) -> Vec<u8> {
        fs::read(self.root.join(domain).join("shadow")).unwrap()
    }

    /// A self-signed certificate and key for `localhost` made by openssl.
    pub fn certificate(&self, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = self.certificate_files(name);
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
            ])
            .args([
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl must be installed (.ci/run installs it)");
        assert!(status.success());
        (cert, key)
    }

    /// Where `certificate(name)` puts the certificate and its key.
    pub fn certificate_files(&self, name: &str) -> (PathBuf, PathBuf) {
        let file = |ending: &str| self.dir.path().join(format!("{name}.{ending}"));
        (file("crt"), file("key"))
    }

    /// A tokens file with one token per name; returns the tokens.
    pub fn tokens(&self, names: &[&str]) -> (PathBuf, Vec<String>) {
        let tokens = names.iter().map(|name| self.token_add(name, &[])).collect();
        (self.tokens_file(), tokens)
    }

    /// The tokens file `tokens` and `token_add` write.
    pub fn tokens_file(&self) -> PathBuf {
        self.dir.path().join("tokens")
    }

    /// `passwdpopd token add` with `flags` (`--whm`); the new token.
    pub fn token_add(&self, name: &str, flags: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_passwdpopd"))
            .args(["token", "add", "--tokens"])
            .arg(self.tokens_file())
            .args(flags)
            .arg(name)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// A daemon started on port 0 listeners; its addresses read from its start line.
pub struct Daemon {
    pub child: Child,
    pub https: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub poppassd: Option<SocketAddr>,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    /// `args` besides `--root` (the scratch root, unless `args` has
    /// `--user-homes`); a short failure delay unless `args` sets one.
    pub fn start(scratch: &Scratch, args: &[&str]) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passwdpopd"));
        if !args.contains(&"--user-homes") {
            command.arg("--root").arg(&scratch.root);
        }
        command.args(["--rounds", &ROUNDS.to_string()]);
        if !args.contains(&"--failure-delay-ms") {
            command.args(["--failure-delay-ms", "200"]);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            let mut tx = Some(started_tx);
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(line.clone());
                    }
                }
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let start_line = match started_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("passwdpopd did not start: {}", log.lock().unwrap());
            }
        };
        let addr = |kind: &str| {
            start_line
                .split(", ")
                .map(|part| part.rsplit(": listening on ").next().unwrap().trim())
                .find_map(|part| part.strip_prefix(&format!("{kind} ")))
                .and_then(|addr| addr.parse().ok())
        };
        Daemon {
            https: addr("https"),
            http: addr("http"),
            poppassd: addr("poppassd"),
            child,
            log,
        }
    }

    /// Serving HTTPS on a loopback port with a certificate for `name` made
    /// here, plus `args`.
    pub fn start_https(scratch: &Scratch, name: &str, args: &[&str]) -> Daemon {
        let (cert, key) = scratch.certificate(name);
        let mut all = vec![
            "--https",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ];
        all.extend(args);
        Daemon::start(scratch, &all)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Peak resident memory so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What curl got: HTTP status, headers and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
    pub elapsed: Duration,
}

/// curl against the daemon's HTTPS listener, certificate not verified (as
/// Roundcube's cpanel driver does); `args` are curl's.
pub fn curl(base: &str, path: &str, args: &[&str]) -> Answer {
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "30", "-D", "-"])
        .args(args)
        .arg(format!("{base}{path}"))
        .output()
        .expect("curl must be installed (.ci/run installs it)");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        headers: headers.to_owned(),
        body: body.to_owned(),
        elapsed,
    }
}

/// One HTTP/1.1 request over a plain TCP connection; status and body.
pub fn raw_http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A poppassd session: send lines, read answers.
pub struct Poppassd {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Box<dyn Write + Send>,
}

impl Poppassd {
    pub fn tcp(addr: SocketAddr) -> Poppassd {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        Poppassd::over(Box::new(stream), Box::new(writer))
    }

    pub fn unix(path: &Path) -> Poppassd {
        let stream = std::os::unix::net::UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        Poppassd::over(Box::new(stream), Box::new(writer))
    }

    fn over(reader: Box<dyn Read + Send>, writer: Box<dyn Write + Send>) -> Poppassd {
        Poppassd {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// A new session that sends `user` and `pass` (lines ending `ending`)
    /// after the greeting; the answer to `pass`.
    pub fn login(addr: SocketAddr, user: &str, pass: &str, ending: &str) -> String {
        let mut session = Poppassd::tcp(addr);
        session.read();
        session.say(&format!("user {user}"), ending);
        session.say(&format!("pass {pass}"), ending)
    }

    /// The next line without its CRLF; empty at end of input.
    pub fn read(&mut self) -> String {
        let mut line = String::new();
        let _ = self.reader.read_line(&mut line);
        line.trim_end_matches(['\r', '\n']).to_owned()
    }

    pub fn send(&mut self, raw: &[u8]) {
        let _ = self.writer.write_all(raw);
    }

    /// Sends `line` with `ending` and returns the answer.
    pub fn say(&mut self, line: &str, ending: &str) -> String {
        self.send(format!("{line}{ending}").as_bytes());
        self.read()
    }
}
