//! Exim 4.96 with the README's macro and authenticators: `exim -be` for the
//! condition alone, and a daemon on a loopback port for SMTP AUTH.

use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::chown;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::unistd::User;

use crate::daemon::Daemon;
use crate::readme;
use crate::vmail::Vmail;

pub struct Exim {
    work: PathBuf,
    conf: PathBuf,
    pub port: u16,
}

impl Exim {
    pub fn new(vmail: &Vmail) -> Exim {
        let work = vmail.work("exim");
        let exim_user = User::from_name("Debian-exim")
            .unwrap()
            .expect("the user Debian-exim (package exim4-daemon-heavy)");
        for dir in ["spool", "log"] {
            fs::create_dir(work.join(dir)).unwrap();
            chown(work.join(dir), Some(exim_user.uid.as_raw()), None).unwrap();
        }
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(work.join("key.pem"))
            .arg("-out")
            .arg(work.join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl could not make a certificate");
        chown(work.join("key.pem"), Some(exim_user.uid.as_raw()), None).unwrap();

        let port = free_port();
        let conf = work.join("exim.conf");
        let main = format!(
            "primary_hostname = mx.interop.test\n\
             spool_directory = {work}/spool\n\
             log_file_path = {work}/log/%slog\n\
             pid_file_path = {work}/exim.pid\n\
             keep_environment =\n\
             # Stands in for `adduser Debian-exim dovecot`, which would change\n\
             # the machine's group database.\n\
             exim_group = dovecot\n\
             local_interfaces = 127.0.0.1\n\
             daemon_smtp_ports = {port}\n\
             tls_advertise_hosts = *\n\
             tls_certificate = {work}/cert.pem\n\
             tls_privatekey = {work}/key.pem\n",
            work = work.display(),
        );
        let text = format!(
            "{macros}{main}\nbegin authenticators\n\n{authenticators}",
            macros = readme::block_with_root("exim-macros", &vmail.root),
            authenticators = readme::block("exim-authenticators"),
        );
        fs::write(&conf, text).unwrap();
        Exim { work, conf, port }
    }

    pub fn mainlog(&self) -> String {
        fs::read_to_string(self.work.join("log/mainlog")).unwrap_or_default()
    }

    /// `exim -be` on `expression`, with a message loaded (`-bem`) whose
    /// headers hold `user` and `password`, as `$h_x-user:` and
    /// `$h_x-password:`: data from a message is tainted, as `$auth1`..`$auth3`
    /// are in SMTP. Returns the result line (or Exim's failure message) and
    /// what Exim logged to standard error.
    pub fn expand(&self, expression: &str, user: &str, password: &str) -> (String, String) {
        let message = self.work.join("message");
        fs::write(
            &message,
            format!("X-User: {user}\nX-Password: {password}\nSubject: interop\n\nbody\n"),
        )
        .unwrap();
        // On standard input: an argument could be too long, and -be prints
        // one "> result" line per input line.
        let mut child = Command::new("exim")
            .arg("-C")
            .arg(&self.conf)
            .arg("-bem")
            .arg(&message)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{expression}").unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let result = stdout
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("> "))
            .unwrap_or_else(|| panic!("exim -be printed {stdout:?}, {stderr:?}"));
        (result.to_owned(), stderr)
    }

    /// The daemon, in the foreground (`-bdf`), listening on `self.port`.
    pub fn start_daemon(&self) -> Daemon {
        let mut command = Command::new("exim");
        command.arg("-C").arg(&self.conf).arg("-bdf");
        let mut daemon = Daemon::spawn("exim", command, &self.work.join("exim.out"));
        daemon.show_log(&self.work.join("log/mainlog"));
        daemon.show_log(&self.work.join("log/paniclog"));
        let port = self.port;
        daemon.wait_until("its SMTP port", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        daemon
    }
}

/// The `server_condition` of authenticator `name` in the README's block, its
/// continuation lines joined as Exim joins them.
pub fn readme_condition(name: &str) -> String {
    let block = readme::block("exim-authenticators");
    let mut lines = block
        .lines()
        .skip_while(|line| line.trim_end() != format!("{name}:"))
        .skip(1)
        .take_while(|line| line.starts_with([' ', '\t', '.']));
    let mut line = lines
        .find_map(|line| line.trim_start().strip_prefix("server_condition = "))
        .unwrap_or_else(|| panic!("no server_condition for {name} in the README"));
    let mut condition = String::new();
    while let Some(part) = line.strip_suffix('\\') {
        condition.push_str(part);
        line = lines.next().expect("a continuation line").trim_start();
    }
    condition + line
}

/// A loopback port nobody listens on (free when asked; Exim takes it soon after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One SMTP session per `(mechanism, user, password)` with Python's smtplib:
/// EHLO, STARTTLS, EHLO, AUTH. Each answer is `(AUTH offered before
/// STARTTLS, AUTH's reply code)`.
pub fn smtp_auth(port: u16, cases: &[(&str, &str, &str)]) -> Vec<(bool, u16)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtp_auth.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for (mechanism, user, password) in cases {
        writeln!(stdin, "{mechanism}\t{user}\t{password}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "smtp_auth.py failed");
    let answers: Vec<(bool, u16)> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (clear, code) = line.split_once(' ').unwrap();
            (clear == "offered", code.parse().unwrap())
        })
        .collect();
    assert_eq!(answers.len(), cases.len());
    answers
}
