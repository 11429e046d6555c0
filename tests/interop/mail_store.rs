//! The README's mail store for the static userdb (uid/gid 5000) and its
//! `mail_location`: without them a login works but a mailbox does not open;
//! with them, Dovecot opens INBOX, creating the Maildir as uid 5000.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use crate::daemon::Daemon;
use crate::readme;
use crate::vmail::Vmail;

/// The mail store the README's blocks name; replaced by a scratch directory.
const DOCUMENTED_STORE: &str = "/var/vmail";

#[test]
fn the_readme_mail_store_lets_dovecot_open_a_mailbox() {
    let vmail = Vmail::new();
    let work = vmail.work("dovecot-mail");
    let store = work.join("store");
    let store_text = store.to_str().unwrap();
    let log = work.join("dovecot.log");
    let preamble = format!(
        "protocols =\n\
         base_dir = {work}/run\n\
         state_dir = {work}/state\n\
         log_path = {log}\n\
         ssl = no\n",
        work = work.display(),
        log = log.display(),
    );
    let blocks = readme::block_with_root("dovecot-2.3", &vmail.root)
        + &readme::block("dovecot-mail-location");
    assert!(blocks.contains(DOCUMENTED_STORE), "{blocks}");
    let conf = work.join("dovecot.conf");
    fs::write(
        &conf,
        preamble + &blocks.replace(DOCUMENTED_STORE, store_text),
    )
    .unwrap();

    let mut command = Command::new("dovecot");
    command.arg("-F").arg("-c").arg(&conf);
    let mut daemon = Daemon::spawn("dovecot", command, &work.join("dovecot.out"));
    daemon.show_log(&log);
    let socket = work.join("run/auth-userdb");
    daemon.wait_until("its auth-userdb socket", || socket.exists());

    let open_inbox = || -> Output {
        Command::new("timeout")
            .arg("30")
            .arg("doveadm")
            .arg("-c")
            .arg(&conf)
            .args([
                "mailbox",
                "status",
                "-u",
                "alice@example.com",
                "messages",
                "INBOX",
            ])
            .output()
            .unwrap()
    };
    // Without the store: what a new admin saw.
    let before = open_inbox();
    assert!(
        !before.status.success(),
        "INBOX opened without a mail store"
    );
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    let script = readme::block("dovecot-mail-store").replace(DOCUMENTED_STORE, store_text);
    let status = Command::new("sh").args(["-euc", &script]).status().unwrap();
    assert!(status.success(), "the README's mail store command failed");
    let after = open_inbox();
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&after.stdout).trim(),
        "INBOX messages=0"
    );
    let maildir = store.join("example.com/alice/Maildir");
    let owner = fs::metadata(&maildir).unwrap();
    assert_eq!(
        (owner.uid(), owner.gid()),
        (5000, 5000),
        "{}",
        maildir.display()
    );
}
