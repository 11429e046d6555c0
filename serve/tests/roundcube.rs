//! Roundcube 1.6's `cpanel` and `poppassd` password drivers, as Debian 12's
//! roundcube-plugins ships them, run unchanged by php-cli against passwdpopd.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Daemon, Scratch};

const DRIVERS: &str = "/usr/share/roundcube/plugins/password/drivers";
const PASSWORD_SUCCESS: i64 = 0;
const PASSWORD_ERROR: i64 = 2;

/// The driver's answer: Roundcube's code and message.
fn drive(
    driver: &str,
    class: &str,
    port: u16,
    user: &str,
    current: &str,
    new: &str,
) -> (i64, Option<String>) {
    let file = Path::new(DRIVERS).join(format!("{driver}.php"));
    assert!(
        file.exists(),
        "{} is missing: install roundcube-plugins (.ci/run does)",
        file.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/roundcube/drive.php");
    let out = Command::new("php")
        .arg(&script)
        .arg(&file)
        .args([class, "127.0.0.1", &port.to_string(), user, current, new])
        .output()
        .expect("php-cli must be installed (.ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    (
        result["code"].as_i64().unwrap(),
        result["message"].as_str().map(str::to_owned),
    )
}

#[test]
fn the_cpanel_driver_changes_the_password_over_https() {
    let scratch = Scratch::new();
    let daemon = Daemon::start_https(&scratch, "roundcube", &[]);
    let port = daemon.https.unwrap().port();
    let class = "rcube_cpanel_password";

    assert_eq!(
        drive(
            "cpanel",
            class,
            port,
            "alice@example.com",
            "alice-old",
            "R0und cube!"
        ),
        (PASSWORD_SUCCESS, None)
    );
    assert!(scratch.accepts("alice@example.com", "R0und cube!"));

    let (code, message) = drive("cpanel", class, port, "bob@example.com", "wrong", "x");
    assert_eq!(code, PASSWORD_ERROR);
    assert!(message.unwrap().contains("authentication failed"));
    assert!(scratch.accepts("bob@example.com", "bob-old"));

    // A new password the library refuses: its reason reaches the user.
    let (code, message) = drive(
        "cpanel",
        class,
        port,
        "bob@example.com",
        "bob-old",
        &"x".repeat(600),
    );
    assert_eq!(code, PASSWORD_ERROR);
    assert!(message.unwrap().contains("invalid password"));
}

#[test]
fn the_poppassd_driver_changes_the_password() {
    let scratch = Scratch::new();
    let daemon = Daemon::start(&scratch, &["--poppassd", "127.0.0.1:0"]);
    let port = daemon.poppassd.unwrap().port();
    let class = "rcube_poppassd_password";

    assert_eq!(
        drive(
            "poppassd",
            class,
            port,
            "carol@example.org",
            "carol-old",
            "pop pass"
        ),
        (PASSWORD_SUCCESS, None)
    );
    assert!(scratch.accepts("carol@example.org", "pop pass"));

    let (code, message) = drive("poppassd", class, port, "dave@example.org", "wrong", "x");
    assert_eq!(code, PASSWORD_ERROR);
    assert_eq!(message.as_deref(), Some("Old password is incorrect."));
    assert!(scratch.accepts("dave@example.org", "dave-old"));
}
