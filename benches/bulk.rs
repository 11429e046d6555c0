//! Changing many accounts at once: `passwdpop --batch` against chpasswd(8),
//! a batch commit against its floor, and how a batch grows with its
//! entries. Both sides of a comparison run in one process run, alternating
//! round by round; the ratios are what BENCHMARKS.md's targets are about.
//!
//!   cargo bench --bench bulk            full run (about ten minutes on an idle machine)
//!   cargo bench --bench bulk -- quick   smoke run: small sizes, 2 rounds
//!   cargo bench --bench bulk -- floor growth   only the named sections
//!                                       (chpasswd, chpasswd-large, floor, growth)
//!
//! The command runs with `--no-wait-visible`: the wait for Dovecot's next
//! look at the file (at most 1 s, once per run) is latency, not work, and
//! the same for any number of accounts.

use std::ffi::{c_char, CString};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passwdpop::{Batch, Config};

const ROUNDS: u32 = 5000;
const HASH: &str = "$6$rounds=5000$abcdefghijklmnop$0123456789012345678901234567890123456789012345678901234567890123456789012345";
const BIN: &str = env!("CARGO_BIN_EXE_passwdpop");

#[link(name = "crypt")]
extern "C" {
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut u8,
        size: i32,
    ) -> *mut c_char;
}

/// The password of account `n` in every run: distinct, as in a real reset.
fn password(n: usize) -> String {
    format!("n3w-Secret-{n}")
}

/// A shadow file of `accounts` lines as cPanel writes them, `user<n>` names.
fn write_shadow(path: &Path, accounts: usize) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    for n in 0..accounts {
        writeln!(out, "user{n}:{HASH}:19700:0:99999:7:::").unwrap();
    }
    out.flush().unwrap();
}

/// `<root>/example.com/shadow` with `accounts` lines.
fn vmail(root: &Path, accounts: usize) -> PathBuf {
    let dir = root.join("example.com");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shadow");
    write_shadow(&path, accounts);
    path
}

/// A tree for `chpasswd -R`: `etc/passwd` and `etc/shadow` holding the same
/// users and hashes as [`vmail`].
fn chroot(dir: &Path, accounts: usize) {
    let etc = dir.join("etc");
    fs::create_dir_all(&etc).unwrap();
    let mut passwd = BufWriter::new(File::create(etc.join("passwd")).unwrap());
    writeln!(passwd, "root:x:0:0:root:/root:/bin/sh").unwrap();
    for n in 0..accounts {
        writeln!(
            passwd,
            "user{n}:x:{}:100::/nonexistent:/usr/sbin/nologin",
            10_000 + n
        )
        .unwrap();
    }
    passwd.flush().unwrap();
    write_shadow(&etc.join("shadow"), accounts);
}

/// chpasswd(8)'s input, which `passwdpop --batch --domain` reads as well.
fn lines(accounts: usize) -> Vec<u8> {
    (0..accounts)
        .flat_map(|n| format!("user{n}:{}\n", password(n)).into_bytes())
        .collect()
}

/// Runs a command with `input` on its standard input; its wall time.
fn run(command: &mut Command, input: &[u8]) -> Duration {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// Median and range.
fn summary(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn row(name: &str, ours: Vec<f64>, theirs: Vec<f64>) {
    let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| a / b).collect();
    let (ratio, low, high) = summary(ratios);
    println!(
        "| {name} | {:.3} | {:.3} | **{ratio:.2}** | {low:.2}–{high:.2} |",
        summary(ours).0,
        summary(theirs).0
    );
}

/// `passwdpop --batch` against `chpasswd -R <chroot> -c SHA512 -s 5000`,
/// every account of an `accounts`-account domain, same passwords.
fn against_chpasswd(scratch: &Path, accounts: usize, rounds: usize) {
    let input = lines(accounts);
    let root = scratch.join(format!("vmail-{accounts}"));
    let tree = scratch.join(format!("chroot-{accounts}"));
    vmail(&root, accounts);
    chroot(&tree, accounts);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let passwdpop = || {
        let mut command = Command::new(BIN);
        command.arg("--root").arg(&root).args([
            "--domain",
            "example.com",
            "--rounds",
            &ROUNDS.to_string(),
            "--no-wait-visible",
            "--batch",
        ]);
        run(&mut command, &input).as_secs_f64()
    };
    let chpasswd = || {
        let mut command = Command::new("chpasswd");
        command
            .arg("-R")
            .arg(&tree)
            .args(["-c", "SHA512", "-s", &ROUNDS.to_string()]);
        run(&mut command, &input).as_secs_f64()
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            ours.push(passwdpop());
            theirs.push(chpasswd());
        } else {
            theirs.push(chpasswd());
            ours.push(passwdpop());
        }
    }
    row(
        &format!(
            "all {accounts} accounts: `passwdpop --batch` vs `chpasswd -R -c SHA512 -s 5000` (s)"
        ),
        ours,
        theirs,
    );
}

/// One SHA512-crypt hash as libxcrypt makes it, in seconds.
fn crypt_seconds(count: usize) -> f64 {
    let setting = CString::new("$6$rounds=5000$abcdefghijklmnop").unwrap();
    let mut data = vec![0u8; 32 * 1024];
    let started = Instant::now();
    for n in 0..count {
        let phrase = CString::new(password(n)).unwrap();
        // SAFETY: NUL-terminated inputs; `data` is a buffer of the given size.
        let out = unsafe {
            crypt_rn(
                phrase.as_ptr(),
                setting.as_ptr(),
                data.as_mut_ptr(),
                data.len() as i32,
            )
        };
        assert!(!out.is_null());
    }
    started.elapsed().as_secs_f64() / count as f64
}

/// The least any atomic rewrite must do: copy, fsync, rename, fsync the directory.
fn floor_rewrite(path: &Path) -> f64 {
    let started = Instant::now();
    let dir = path.parent().unwrap();
    let temp = dir.join(".floor.tmp");
    let mut content = Vec::new();
    File::open(path).unwrap().read_to_end(&mut content).unwrap();
    let mut file = File::create(&temp).unwrap();
    file.write_all(&content).unwrap();
    file.sync_all().unwrap();
    fs::rename(&temp, path).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
    started.elapsed().as_secs_f64()
}

/// A commit of `entries` changes (the first `entries` accounts) of a
/// `accounts`-account domain, in seconds.
fn commit(root: &Path, entries: usize) -> f64 {
    let mut config = Config::new();
    config.set_root(root).unwrap();
    config.set_rounds(ROUNDS).unwrap();
    let mut batch = Batch::new(&config);
    for n in 0..entries {
        batch
            .add("example.com", format!("user{n}"), password(n))
            .unwrap();
    }
    let started = Instant::now();
    batch.commit().unwrap();
    started.elapsed().as_secs_f64()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A commit of `entries` entries against N × one crypt_r ÷ threads plus one
/// atomic rewrite of the file, measured alternately.
fn against_floor(scratch: &Path, entries: usize, rounds: usize) {
    let root = scratch.join(format!("floor-{entries}"));
    let path = vmail(&root, entries);
    let threads = threads();
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(commit(&root, entries));
        // Fewer hashes than the batch: their mean is what counts.
        let sample = entries.min(400);
        floor.push(crypt_seconds(sample) * entries as f64 / threads as f64 + floor_rewrite(&path));
    }
    row(
        &format!("`Batch::commit` of {entries} entries vs {entries} × crypt_r ÷ {threads} threads + one atomic rewrite (s)"),
        ours,
        floor,
    );
}

/// The batch's time for several entry counts in one domain: linear in the
/// entries, the rewrite a constant.
fn growth(scratch: &Path, accounts: usize, counts: &[usize], rounds: usize) {
    let root = scratch.join(format!("growth-{accounts}"));
    vmail(&root, accounts);
    for &entries in counts {
        let times: Vec<f64> = (0..rounds).map(|_| commit(&root, entries)).collect();
        let (median, low, high) = summary(times);
        println!(
            "| `Batch::commit`, {entries} of {accounts} accounts (s) | {median:.3} | | {:.2} ms/entry | {low:.3}–{high:.3} |",
            median * 1e3 / entries as f64
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "quick");
    let chosen: Vec<&String> = args
        .iter()
        .filter(|arg| *arg != "quick" && !arg.starts_with('-'))
        .collect();
    let wanted = |section: &str| chosen.is_empty() || chosen.iter().any(|arg| *arg == section);
    let scratch = tempfile::tempdir().unwrap();
    let scratch = scratch.path();
    println!("| comparison | ours | theirs | ratio (median) | range |");
    println!("|---|---|---|---|---|");
    if quick {
        against_chpasswd(scratch, 50, 2);
        against_floor(scratch, 50, 2);
        growth(scratch, 500, &[5, 50, 500], 2);
        return;
    }
    if wanted("chpasswd") {
        against_chpasswd(scratch, 2_000, 5);
    }
    if wanted("chpasswd-large") {
        against_chpasswd(scratch, 20_000, 1);
    }
    if wanted("floor") {
        against_floor(scratch, 2_000, 3);
    }
    if wanted("growth") {
        growth(scratch, 20_000, &[200, 2_000], 2);
        growth(scratch, 20_000, &[20_000], 1);
    }
}
