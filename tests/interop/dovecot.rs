//! A Dovecot 2.3 instance with the README's passdb and userdb, asked through
//! `doveadm auth test`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::daemon::Daemon;
use crate::readme;
use crate::vmail::Vmail;

/// `doveadm auth test` exit statuses.
pub const ACCEPTED: i32 = 0;
pub const REFUSED: i32 = 77;

pub struct Dovecot {
    conf: PathBuf,
    log: PathBuf,
    _daemon: Daemon,
}

impl Dovecot {
    pub fn start(vmail: &Vmail) -> Dovecot {
        let work = vmail.work("dovecot");
        let log = work.join("dovecot.log");
        // Only what an auth-only instance in a scratch directory needs; the
        // passdb and userdb are the README's.
        let preamble = format!(
            "protocols =\n\
             base_dir = {work}/run\n\
             state_dir = {work}/state\n\
             log_path = {log}\n\
             ssl = no\n\
             # Refusals wait 2 s by default; the tests ask for many.\n\
             auth_failure_delay = 0\n",
            work = work.display(),
            log = log.display(),
        );
        let conf = work.join("dovecot.conf");
        let passdb = readme::block_with_root("dovecot-2.3", &vmail.root);
        fs::write(&conf, preamble + &passdb).unwrap();

        let mut command = Command::new("dovecot");
        command.arg("-F").arg("-c").arg(&conf);
        let mut daemon = Daemon::spawn("dovecot", command, &work.join("dovecot.out"));
        daemon.show_log(&log);
        let socket = work.join("run/auth-client");
        daemon.wait_until("its auth-client socket", || socket.exists());
        Dovecot {
            conf,
            log,
            _daemon: daemon,
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap()
    }

    /// `doveadm auth test`'s exit status for a login.
    pub fn login(&self, user: &str, password: &str) -> i32 {
        let output = Command::new("timeout")
            .arg("30")
            .arg("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(["auth", "test", "-x", &next_remote_ip(), user, password])
            .output()
            .unwrap();
        output.status.code().unwrap_or(-1)
    }

    /// Asks for all `(user, password, expected status)` at once (Dovecot
    /// answers refusals only every half second) and asserts every answer.
    pub fn expect(&self, cases: &[(&str, &str, i32)]) {
        let answers: Vec<i32> = std::thread::scope(|scope| {
            let asks: Vec<_> = cases
                .iter()
                .map(|&(user, password, _)| scope.spawn(move || self.login(user, password)))
                .collect();
            asks.into_iter().map(|ask| ask.join().unwrap()).collect()
        });
        let wrong: Vec<String> = cases
            .iter()
            .zip(&answers)
            .filter(|((_, _, expected), answer)| expected != *answer)
            .map(|((user, password, expected), answer)| {
                format!("{user} {password}: doveadm said {answer}, expected {expected}")
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

/// A new client address for every login: Dovecot delays answers to an
/// address after a few refusals.
fn next_remote_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("rip=127.0.{}.{}", n / 250 % 250, n % 250 + 1)
}
