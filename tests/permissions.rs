//! The new file never grants anyone more than the file it replaces: not at
//! the end (its ACL and extended attributes equal the original's, whatever
//! default ACL the domain directory has) and not at any instant before (the
//! temp file, watched by an unprivileged racer).
//!
//! Needs root, `setfacl`/`getfacl` (Debian's acl), `setpriv` (util-linux) and
//! strace, which `.ci/run` installs. The racer is this test binary, run again
//! as an unprivileged user: it watches the domain directory with inotify and
//! keeps opening every new temp file until it is renamed away. strace slows
//! each system call that changes the temp file's owner, mode or attributes
//! (fchown, fchmod, fsetxattr, fremovexattr) by 100 ms, so that every state
//! the temp file passes through lasts long enough for the racer to try it.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{crypt_accepts, hash_of, spawn_with_stdin, Fixture};
use passwdpop::TEMP_PREFIX;
use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;

const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");
/// The racer's identity: ids no Debian package allocates.
const RACER_UID: u32 = 64_001;
/// The racer's group, which owns the shadow file in the ACL cases.
const STAFF_GID: u32 = 64_002;
/// A group named in the shadow file's ACL, like `dovecot`.
const READER_GID: u32 = 64_003;
/// The name the test creates in the domain directory to stop the racer.
const STOP: &str = "racer.stop";
const RACER_DIR_ENV: &str = "PASSWDPOP_RACER_DIR";
/// Each call that changes the temp file's permissions is delayed this much.
const DELAY_US: &str = "100000";
const CONTENT: &[u8] = b"alice:old:19000:0:99999:7:::\nbob:old:19000:0:99999:7:::\n";

/// The most a racer got from one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    None,
    Read,
    ReadWrite,
}

impl Access {
    fn name(self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Read => "read",
            Access::ReadWrite => "read-write",
        }
    }

    fn parse(name: &str) -> Access {
        match name {
            "none" => Access::None,
            "read" => Access::Read,
            "read-write" => Access::ReadWrite,
            other => panic!("racer printed {other:?}"),
        }
    }
}

/// The racer's body: run by [`race`] as an unprivileged child. Prints
/// `racer: ready`, then `racer: <temp file> <access>` for every temp file
/// seen, until the test creates [`STOP`].
#[test]
#[ignore = "the racer child of the permission tests; they run it as another user"]
fn racer() {
    let dir = std::env::var(RACER_DIR_ENV).expect("run by the permission tests");
    let dir = Path::new(&dir);
    let watch = rfs::inotify::init(rfs::inotify::CreateFlags::CLOEXEC).unwrap();
    rfs::inotify::add_watch(&watch, dir, rfs::inotify::WatchFlags::CREATE).unwrap();
    println!("racer: ready");
    let mut buffer = [std::mem::MaybeUninit::uninit(); 4096];
    let mut events = rfs::inotify::Reader::new(&watch, &mut buffer);
    loop {
        let event = events.next().unwrap();
        let Some(name) = event.file_name() else {
            continue;
        };
        let name = name.to_str().unwrap().to_owned();
        if name == STOP {
            return;
        }
        if name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") {
            let access = probe(&dir.join(&name));
            println!("racer: {name} {}", access.name());
        }
    }
}

/// Opens `path` again and again until it has no name left (renamed over
/// `shadow` or removed); the most it ever got.
fn probe(path: &Path) -> Access {
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let mut best = Access::None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match rfs::open(path, flags | OFlags::RDWR, Mode::empty()) {
            Ok(_) => return Access::ReadWrite,
            Err(Errno::NOENT) => return best,
            Err(_) => {}
        }
        match rfs::open(path, flags | OFlags::RDONLY, Mode::empty()) {
            Ok(_) => best = Access::Read,
            Err(Errno::NOENT) => return best,
            Err(_) => {}
        }
    }
    best
}

/// The domain directory of a fixture, reachable by the racer: the scratch
/// directories above it are opened up, and the directory is the staff
/// group's (`r-x`), as a mail admin's directory would be a mail group's.
fn open_up(fx: &Fixture, domain: &str) -> std::path::PathBuf {
    for dir in [fx.root.parent().unwrap(), &fx.root] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let dir = fx.root.join(domain);
    std::os::unix::fs::chown(&dir, Some(0), Some(STAFF_GID)).unwrap();
    dir
}

fn setfacl(args: &[&str], path: &Path) {
    let status = Command::new("setfacl")
        .args(args)
        .arg(path)
        .status()
        .expect("setfacl is installed (Debian's acl; .ci/run installs it)");
    assert!(status.success(), "setfacl {args:?} {}", path.display());
}

/// What `getfacl` says of a file, without its comment header: the test's
/// view of the ACL, independent of the library.
fn getfacl(path: &Path) -> String {
    let output = Command::new("getfacl")
        .args(["--omit-header", "--numeric"])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// Every extended attribute of a file with its value.
fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let len = rfs::listxattr(path, &mut names[..]).unwrap();
    let mut all: Vec<(String, Vec<u8>)> = names[..len]
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let name = String::from_utf8(name.to_vec()).unwrap();
            let mut value = vec![0u8; 4096];
            let len = rfs::getxattr(path, name.as_str(), &mut value[..]).unwrap();
            value.truncate(len);
            (name, value)
        })
        .collect();
    all.sort();
    all
}

/// How the temp files come.
#[derive(Clone, Copy, Debug)]
enum Writer {
    /// One change by the CLI, with strace holding each permission change.
    Throttled,
    /// This many changes through the library, back to back, at full speed.
    Unthrottled(usize),
}

/// Changes bob's password while the racer (uid [`RACER_UID`], groups
/// [`STAFF_GID`]) watches; what it got from each temp file.
fn race(fx: &Fixture, dir: &Path, writer: Writer) -> Vec<(String, Access)> {
    let exe = std::env::current_exe().unwrap();
    let mut racer = Command::new("setpriv")
        .arg(format!("--reuid={RACER_UID}"))
        .arg(format!("--regid={STAFF_GID}"))
        .arg(format!("--groups={STAFF_GID}"))
        .arg(exe)
        .args(["racer", "--exact", "--ignored", "--nocapture"])
        .env(RACER_DIR_ENV, dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv is installed (util-linux)");
    let mut lines = BufReader::new(racer.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.starts_with("racer: "));
    assert_eq!(ready.as_deref(), Some("racer: ready"));

    let changes = match writer {
        Writer::Throttled => {
            let mut strace = Command::new("strace");
            strace
                .args(["-f", "-qq", "-o", "/dev/null", "-e", "signal=none", "-e"])
                .arg(format!(
                    "inject=fchown,fchmod,fsetxattr,fremovexattr:delay_enter={DELAY_US}"
                ))
                .arg(BIN)
                .args(["--no-wait-visible", "--root", fx.root.to_str().unwrap()])
                .args(["--domain", "example.com", "--email", "bob"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let writer = spawn_with_stdin(&mut strace, b"new-password\n");
            let output = writer.wait_with_output().unwrap();
            assert!(output.status.success(), "{output:?}");
            1
        }
        Writer::Unthrottled(changes) => {
            for _ in 0..changes {
                fx.config
                    .change("example.com", "bob", "new-password")
                    .unwrap();
            }
            changes
        }
    };

    fs::write(dir.join(STOP), b"").unwrap();
    let seen: Vec<(String, Access)> = lines
        .map(Result::unwrap)
        .filter_map(|line| {
            let line = line.strip_prefix("racer: ")?.to_owned();
            let (name, access) = line.split_once(' ').unwrap();
            Some((name.to_owned(), Access::parse(access)))
        })
        .collect();
    assert!(racer.wait().unwrap().success());
    fs::remove_file(dir.join(STOP)).unwrap();
    assert_eq!(
        seen.len(),
        changes,
        "the racer saw every temp file: {seen:?}"
    );
    seen
}

/// The owner, group and mode of `shadow`, the ACL given with setfacl, the
/// directory's default ACL, and the most the racer may get at any instant
/// (what the final file grants it).
struct Case {
    name: &'static str,
    group: u32,
    mode: u32,
    acl: &'static str,
    default_acl: &'static str,
    allowed: Access,
}

/// The four cases; see [`Case`].
fn cases() -> [Case; 4] {
    #[rustfmt::skip]
    let cases = [
        // The owning group's own entry is narrower than the mask, which a
        // named reader needs: the group bits of the mode are the mask.
        Case { name: "group r--, reader rw-, mask rw-", group: STAFF_GID, mode: 0o660,
               acl: "u::rw-,g::r--,g:64003:rw-,m::rw-,o::---", default_acl: "", allowed: Access::Read },
        Case { name: "group ---, reader r--, mask r--", group: STAFF_GID, mode: 0o640,
               acl: "u::rw-,g::---,g:64003:r--,m::r--,o::---", default_acl: "", allowed: Access::None },
        // The README's scheme, in a directory whose default ACL names the racer.
        Case { name: "no ACL, default ACL names the racer", group: READER_GID, mode: 0o640,
               acl: "", default_acl: "u:64001:r--", allowed: Access::None },
        // A set-group-ID directory: new files start in the racer's group,
        // which must not meet the owning group's entry before the chown.
        Case { name: "group r--, set-group-ID directory of the racer's group", group: READER_GID,
               mode: 0o640, acl: "u::rw-,g::r--,u:0:r--,m::r--,o::---", default_acl: "",
               allowed: Access::None },
    ];
    cases
}

/// Sets a case up, lets the racer watch `writer`'s changes, and checks that
/// it never got more than the final file allows it.
fn check(case: &Case, writer: Writer) {
    let fx = Fixture::new();
    let shadow = fx.domain("example.com", CONTENT);
    let dir = open_up(&fx, "example.com");
    if case.name.contains("set-group-ID") {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o2750)).unwrap();
    }
    std::os::unix::fs::chown(&shadow, Some(0), Some(case.group)).unwrap();
    fs::set_permissions(&shadow, fs::Permissions::from_mode(case.mode)).unwrap();
    if !case.acl.is_empty() {
        setfacl(&["--set", case.acl], &shadow);
    }
    if !case.default_acl.is_empty() {
        setfacl(&["-d", "-m", case.default_acl], &dir);
    }
    let acl_before = getfacl(&shadow);
    let xattrs_before = xattrs(&shadow);

    let seen = race(&fx, &dir, writer);
    let what = format!("{} ({writer:?})", case.name);
    for (temp, access) in &seen {
        assert!(
            *access <= case.allowed,
            "{what}: the racer opened {temp} {access:?}; the final file allows {:?}",
            case.allowed
        );
    }
    // The racer does open what the final file allows it: it is really
    // racing. (Throttled, every time; at full speed, some of the time.)
    if case.allowed == Access::Read {
        let read = seen.iter().filter(|(_, access)| *access == Access::Read);
        match writer {
            Writer::Throttled => assert_eq!(read.count(), seen.len(), "{what}"),
            Writer::Unthrottled(_) => assert!(read.count() > 0, "{what}"),
        }
    }
    assert_eq!(getfacl(&shadow), acl_before, "{what}");
    assert_eq!(xattrs(&shadow), xattrs_before, "{what}");
    let content = fx.read("example.com");
    assert!(crypt_accepts(b"new-password", &hash_of(&content, "bob")));
}

#[test]
fn the_temp_file_never_grants_more_than_the_final_file() {
    for case in cases() {
        check(&case, Writer::Throttled);
    }
}

/// The same race without strace, as an attacker would run it: many changes
/// at full speed (`PASSWDPOP_RACES`, default 100 per case).
#[test]
fn the_temp_file_never_grants_more_than_the_final_file_at_full_speed() {
    let changes = std::env::var("PASSWDPOP_RACES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    for case in cases() {
        check(&case, Writer::Unthrottled(changes));
    }
}

/// `user.*` attributes to set, with their values.
type Attributes<'a> = &'a [(&'a str, &'a [u8])];

/// Whether a file has the extended attribute `name`.
fn has_xattr(path: &Path, name: &str) -> bool {
    let mut value = [0u8; 256];
    rfs::getxattr(path, name, &mut value[..]).is_ok()
}

#[test]
fn the_new_file_has_exactly_the_original_acl_and_attributes_whatever_the_directory_inherits() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Attributes)] = &[
        // (the shadow file's ACL, the directory's default ACL, user attributes)
        ("", "u:nobody:r--", &[]),
        ("", "u:nobody:r--,g:64003:rw-", &[("user.note", b"kept")]),
        ("u::rw-,g::r--,g:64003:r--,m::r--,o::---", "u:nobody:rw-", &[]),
        ("u::rw-,g::r--,u:nobody:r--,m::r--,o::---", "", &[("user.a", b"1"), ("user.b", b"")]),
        ("", "", &[]),
    ];
    for &(acl, default_acl, attributes) in cases {
        let fx = Fixture::new();
        let shadow = fx.domain("example.com", CONTENT);
        let dir = fx.root.join("example.com");
        if !acl.is_empty() {
            setfacl(&["--set", acl], &shadow);
        }
        for (name, value) in attributes {
            rfs::setxattr(&shadow, *name, value, rfs::XattrFlags::empty()).unwrap();
        }
        if !default_acl.is_empty() {
            setfacl(&["-d", "-m", default_acl], &dir);
            // A file created in the directory inherits it: the case is real.
            let probe = dir.join("inherits");
            fs::write(&probe, b"").unwrap();
            assert!(has_xattr(&probe, "system.posix_acl_access"));
            fs::remove_file(&probe).unwrap();
        }
        let mode_before = fs::metadata(&shadow).unwrap().permissions().mode();
        let acl_before = getfacl(&shadow);
        let xattrs_before = xattrs(&shadow);

        for round in 0..2 {
            fx.config
                .change("example.com", "bob", format!("pw{round}"))
                .unwrap();
            let what = format!("ACL {acl:?}, default {default_acl:?}, round {round}");
            assert_eq!(getfacl(&shadow), acl_before, "{what}");
            assert_eq!(xattrs(&shadow), xattrs_before, "{what}");
            assert_eq!(
                has_xattr(&shadow, "system.posix_acl_access"),
                !acl.is_empty(),
                "{what}"
            );
            assert_eq!(
                fs::metadata(&shadow).unwrap().permissions().mode(),
                mode_before,
                "{what}"
            );
        }
        assert_eq!(fx.extra_files("example.com"), Vec::<String>::new());
    }
}
