//! A daemon started by a test, and stopped by its pid when the test ends,
//! passes or fails.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

pub struct Daemon {
    name: &'static str,
    child: Child,
    /// Shown when a test fails while the daemon runs.
    logs: Vec<PathBuf>,
}

impl Daemon {
    /// Starts `command` in the foreground (it must not fork away from its
    /// pid), its output going to `output`.
    pub fn spawn(name: &'static str, mut command: Command, output: &Path) -> Daemon {
        let out = File::create(output).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        Daemon {
            name,
            child,
            logs: vec![output.to_owned()],
        }
    }

    pub fn show_log(&mut self, log: &Path) {
        self.logs.push(log.to_owned());
    }

    /// Waits (at most 20 s) until `ready` holds, failing if the daemon exits.
    pub fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}) before {what}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what} after 20 s",
                self.name
            );
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for log in &self.logs {
                let text = fs::read_to_string(log).unwrap_or_default();
                eprintln!("--- {} {}:\n{text}", self.name, log.display());
            }
        }
        if self.child.try_wait().unwrap().is_none() {
            // SIGTERM lets Dovecot's master stop its children; SIGKILL is the
            // fallback for a daemon that does not stop.
            let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
