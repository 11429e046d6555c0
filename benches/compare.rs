//! passwdpop against libxcrypt, the atomic-rewrite floor and the shell tools
//! admins use today. Every comparison runs both sides in one process run,
//! interleaved round by round, and reports the median ratio and its spread:
//! the machines are shared and noisy, so absolute times vary and ratios are
//! what the targets in BENCHMARKS.md are about.
//!
//!   cargo bench --bench compare            full run (several minutes)
//!   cargo bench --bench compare -- quick   smoke run: small sizes, 2 rounds
//!   cargo bench --bench compare -- verify  only the named sections (hash, change,
//!                                          growth, verify, contention, memory, peers)

use std::ffi::{c_char, CStr, CString};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passwdpop::Config;

const ROUNDS: u32 = 5000;

#[link(name = "crypt")]
extern "C" {
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut u8,
        size: i32,
    ) -> *mut c_char;
}

/// The password every side hashes.
const PASSWORD: &str = "n3w-Secret!";
/// A `$6$` setting at [`ROUNDS`] rounds with a 16-character salt.
const SETTING: &str = "$6$rounds=5000$abcdefghijklmnop";
/// The same at 1000 rounds, for the cost per round.
const SETTING_1000: &str = "$6$rounds=1000$abcdefghijklmnop";

/// libxcrypt's crypt, what Exim, Dovecot and mkpasswd call: [`PASSWORD`]
/// under one setting, in a work area of its own.
struct Crypt {
    password: CString,
    setting: CString,
    data: Vec<u8>,
}

impl Crypt {
    fn new(setting: &str) -> Crypt {
        Crypt {
            password: CString::new(PASSWORD).unwrap(),
            setting: CString::new(setting).unwrap(),
            data: vec![0u8; 32 * 1024],
        }
    }

    fn hash(&mut self) -> String {
        // SAFETY: NUL-terminated inputs; `data` is a buffer of the given size.
        let out = unsafe {
            crypt_rn(
                self.password.as_ptr(),
                self.setting.as_ptr(),
                self.data.as_mut_ptr(),
                self.data.len() as i32,
            )
        };
        assert!(!out.is_null());
        // SAFETY: crypt_rn returned a NUL-terminated string inside `data`.
        unsafe { CStr::from_ptr(out) }
            .to_string_lossy()
            .into_owned()
    }
}

/// A named part of the run, selectable on the command line.
type Section = (&'static str, fn(&Bench));

struct Bench {
    rounds: usize,
    quick: bool,
    scratch: tempfile::TempDir,
}

/// Median and spread of a series.
fn summary(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    (median, values[0], values[values.len() - 1])
}

fn per_op(elapsed: Duration, ops: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / ops as f64
}

fn time(ops: usize, mut op: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..ops {
        op();
    }
    started.elapsed()
}

/// Runs `ours` and `theirs` alternately, `ops` times each per round, and
/// prints one line: median µs of each, median ratio and its range.
fn compare(bench: &Bench, name: &str, ops: usize, ours: impl FnMut(), theirs: impl FnMut()) -> f64 {
    compare_in_rounds(bench.rounds, name, ops, ours, theirs)
}

/// [`compare`] with its own number of rounds.
fn compare_in_rounds(
    rounds: usize,
    name: &str,
    ops: usize,
    mut ours: impl FnMut(),
    mut theirs: impl FnMut(),
) -> f64 {
    let (mut ours_us, mut theirs_us, mut ratios) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        // One op of each side in turn, the first side alternating: a burst
        // from a neighbour then falls on both sides alike.
        let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
        for op in 0..ops {
            if op % 2 == 0 {
                a += time(1, &mut ours);
                b += time(1, &mut theirs);
            } else {
                b += time(1, &mut theirs);
                a += time(1, &mut ours);
            }
        }
        ours_us.push(per_op(a, ops));
        theirs_us.push(per_op(b, ops));
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }
    let (ratio, low, high) = summary(ratios);
    println!(
        "| {name} | {:.0} | {:.0} | **{ratio:.2}** | {low:.2}–{high:.2} |",
        summary(ours_us).0,
        summary(theirs_us).0
    );
    ratio
}

/// A shadow file of `accounts` lines as cPanel writes them; `user<n>` names.
fn write_domain(root: &Path, domain: &str, accounts: usize) -> PathBuf {
    let dir = root.join(domain);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shadow");
    let mut out = BufWriter::new(File::create(&path).unwrap());
    for n in 0..accounts {
        writeln!(
            out,
            "user{n}:$6$rounds=5000$abcdefghijklmnop$0123456789012345678901234567890123456789012345678901234567890123456789012345:19700:0:99999:7:::"
        )
        .unwrap();
    }
    out.flush().unwrap();
    path
}

/// The least any atomic rewrite must do, and nothing else: copy the file
/// through one 64 KiB buffer to a temp file, fsync it, rename it over the
/// original, fsync the directory.
fn floor_rewrite(path: &Path) {
    let dir = path.parent().unwrap();
    let temp = dir.join(".floor.tmp");
    let mut input = File::open(path).unwrap();
    let mut output = File::create(&temp).unwrap();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = input.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        output.write_all(&buffer[..read]).unwrap();
    }
    output.sync_all().unwrap();
    fs::rename(&temp, path).unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
}

fn config(root: &Path) -> Config {
    let mut config = Config::new();
    config.set_root(root).unwrap();
    config
}

fn hash(bench: &Bench) {
    let mut crypt = Crypt::new(SETTING);
    // Many short rounds: a neighbour's burst then spoils a few rounds, not the median.
    let ops = if bench.quick { 5 } else { 20 };
    compare_in_rounds(
        bench.rounds * 3,
        "SHA512-crypt, 5000 rounds: `sha512_crypt` vs `crypt_r`",
        ops,
        || {
            passwdpop::sha512_crypt(PASSWORD, ROUNDS).unwrap();
        },
        || {
            crypt.hash();
        },
    );
    let mut crypt_1000 = Crypt::new(SETTING_1000);
    compare_per_round(
        bench.rounds * 3,
        "SHA512-crypt per round: (5000 rounds − 1000 rounds) of `sha512_crypt` vs of `crypt_r`",
        ops,
        [
            &mut || {
                passwdpop::sha512_crypt(PASSWORD, ROUNDS).unwrap();
            },
            &mut || {
                passwdpop::sha512_crypt(PASSWORD, 1000).unwrap();
            },
            &mut || {
                crypt.hash();
            },
            &mut || {
                crypt_1000.hash();
            },
        ],
    );
}

/// The cost of the round loop alone: four sides in turn, one op each (the
/// first side rotating), then per round of the benchmark
/// (ours at 5000 − ours at 1000) / (theirs at 5000 − theirs at 1000), which
/// cancels every fixed cost. Prints the median µs of the two differences.
fn compare_per_round(rounds: usize, name: &str, ops: usize, mut sides: [&mut dyn FnMut(); 4]) {
    let (mut ours_us, mut theirs_us, mut ratios) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        let mut spent = [Duration::ZERO; 4];
        for op in 0..ops {
            for turn in 0..4 {
                let side = (op + turn) % 4;
                spent[side] += time(1, &mut sides[side]);
            }
        }
        let ours = spent[0].saturating_sub(spent[1]);
        let theirs = spent[2].saturating_sub(spent[3]);
        ours_us.push(per_op(ours, ops));
        theirs_us.push(per_op(theirs, ops));
        ratios.push(ours.as_secs_f64() / theirs.as_secs_f64());
    }
    let (ratio, low, high) = summary(ratios);
    println!(
        "| {name} | {:.0} | {:.0} | **{ratio:.2}** | {low:.2}–{high:.2} |",
        summary(ours_us).0,
        summary(theirs_us).0
    );
}

fn end_to_end(bench: &Bench) {
    let mut crypt = Crypt::new(SETTING);
    let sizes: &[usize] = if bench.quick {
        &[10, 1_000]
    } else {
        &[10, 1_000, 10_000, 100_000]
    };
    let root = bench.scratch.path().join("e2e");
    let config = config(&root);
    for &accounts in sizes {
        let domain = format!("d{accounts}.example");
        let path = write_domain(&root, &domain, accounts);
        let user = format!("user{}", accounts / 2);
        let ops = (if bench.quick { 3 } else { 20 })
            .min(2_000_000 / accounts.max(1))
            .max(3);
        compare(
            bench,
            &format!("change, {accounts} accounts: `passwdpop_change` vs `crypt_r` + floor"),
            ops,
            || config.change(&domain, &user, PASSWORD).unwrap(),
            || {
                crypt.hash();
                floor_rewrite(&path);
            },
        );
        if accounts == 1_000 {
            let mut config_1000 = config.clone();
            config_1000.set_rounds(1000).unwrap();
            let mut crypt_1000 = Crypt::new(SETTING_1000);
            compare_per_round(
                bench.rounds,
                "change per round, 1000 accounts: (5000 rounds − 1000 rounds) of `passwdpop_change` vs of `crypt_r` + floor",
                ops,
                [
                    &mut || {
                        config.change(&domain, &user, PASSWORD).unwrap();
                    },
                    &mut || {
                        config_1000.change(&domain, &user, PASSWORD).unwrap();
                    },
                    &mut || {
                        crypt.hash();
                        floor_rewrite(&path);
                    },
                    &mut || {
                        crypt_1000.hash();
                        floor_rewrite(&path);
                    },
                ],
            );
        }
    }
}

/// What a change costs besides its hash, by file size, next to the floor
/// for the same file: a change, a bare hash and the floor timed in the same
/// rounds. The µs per MiB (above the 10-account domain) staying flat as the
/// file grows is linear growth.
fn growth(bench: &Bench) {
    let sizes: &[usize] = if bench.quick {
        &[10, 1_000]
    } else {
        &[10, 1_000, 10_000, 100_000]
    };
    println!("\n| accounts | change − hash, µs | floor, µs | change − hash, µs per MiB | floor, µs per MiB |");
    println!("|---|---|---|---|---|");
    let root = bench.scratch.path().join("growth");
    let config = config(&root);
    let mut base = None;
    for &accounts in sizes {
        let domain = format!("g{accounts}.example");
        let path = write_domain(&root, &domain, accounts);
        let user = format!("user{}", accounts / 2);
        let ops = if bench.quick { 3 } else { 10 };
        let (mut ours, mut floor) = (vec![], vec![]);
        for _ in 0..bench.rounds {
            let change = time(ops, || config.change(&domain, &user, PASSWORD).unwrap());
            let hash = time(ops, || {
                passwdpop::sha512_crypt(PASSWORD, ROUNDS).unwrap();
            });
            ours.push(per_op(change.saturating_sub(hash), ops));
            floor.push(per_op(time(ops, || floor_rewrite(&path)), ops));
        }
        let (ours, floor) = (summary(ours).0, summary(floor).0);
        let mib = fs::metadata(&path).unwrap().len() as f64 / (1 << 20) as f64;
        let (ours_base, floor_base) = *base.get_or_insert((ours, floor));
        let per_mib = if accounts > 10 {
            format!(
                "{:.0} | {:.0}",
                (ours - ours_base) / mib,
                (floor - floor_base) / mib
            )
        } else {
            "— | —".to_owned()
        };
        println!("| {accounts} ({mib:.2} MiB) | {ours:.0} | {floor:.0} | {per_mib} |");
    }
}

fn verify(bench: &Bench) {
    // The `user<n>` names hold digits, which the library's pair search
    // anchors on; a name of letters only takes its folded search.
    let cases: &[(usize, Option<&str>)] = if bench.quick {
        &[(1_000, None)]
    } else {
        &[
            (1_000, None),
            (100_000, None),
            (100_000, Some("postmaster")),
        ]
    };
    let root = bench.scratch.path().join("verify");
    let config = config(&root);
    for &(accounts, letters_only) in cases {
        let domain = format!("v{accounts}{}.example", letters_only.unwrap_or_default());
        let path = write_domain(&root, &domain, accounts);
        let mut user = format!("user{}", accounts / 2);
        if let Some(name) = letters_only {
            let renamed = fs::read_to_string(&path).unwrap().replacen(
                &format!("\n{user}:"),
                &format!("\n{name}:"),
                1,
            );
            fs::write(&path, renamed).unwrap();
            user = name.to_owned();
        }
        let label = match letters_only {
            Some(name) => format!("{accounts} accounts, user `{name}`"),
            None => format!("{accounts} accounts"),
        };
        config.change(&domain, &user, PASSWORD).unwrap();
        let stored = fs::read_to_string(root.join(&domain).join("shadow")).unwrap();
        let line = stored
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap();
        let mut crypt = Crypt::new(line.split(':').nth(1).unwrap());
        let ops = if bench.quick { 3 } else { 30 };
        compare(
            bench,
            &format!("verify, {label}, user in the middle: `passwdpop_verify` vs `crypt_r`"),
            ops,
            || config.verify(&domain, &user, PASSWORD).unwrap(),
            || {
                crypt.hash();
            },
        );
        // What any verifier without an index or a mapping must do: read the
        // file up to the user's line, then hash.
        let line_end = stored.find(line).unwrap() + line.len();
        let mut buffer = vec![0u8; 64 * 1024];
        compare(
            bench,
            &format!(
                "verify, {label}: `passwdpop_verify` vs reading up to the user's line + `crypt_r`"
            ),
            ops,
            || config.verify(&domain, &user, PASSWORD).unwrap(),
            || {
                let mut file = File::open(&path).unwrap();
                let mut read = 0;
                while read < line_end {
                    read += file.read(&mut buffer).unwrap();
                }
                crypt.hash();
            },
        );
        // The search done the plain way: memchr for each line start, then
        // compare the start of the line with `user:`, folding case.
        let prefix = format!("{user}:");
        compare(
            bench,
            &format!("verify, {label}: `passwdpop_verify` vs a memchr-per-line reader + `crypt_r`"),
            ops,
            || config.verify(&domain, &user, PASSWORD).unwrap(),
            || {
                assert!(line_by_line_find(&path, prefix.as_bytes(), &mut buffer));
                crypt.hash();
            },
        );
    }
}

/// Whether a line of the file starts with `prefix` (ASCII case folded),
/// read through `buffer` one line start at a time.
fn line_by_line_find(path: &Path, prefix: &[u8], buffer: &mut [u8]) -> bool {
    let mut file = File::open(path).unwrap();
    let mut carried = 0;
    loop {
        let read = file.read(&mut buffer[carried..]).unwrap();
        if read == 0 {
            return false;
        }
        let filled = carried + read;
        let complete = memchr::memrchr(b'\n', &buffer[..filled]).map_or(0, |at| at + 1);
        let lines = &buffer[..complete];
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', lines).map(|at| at + 1));
        for start in starts {
            let line = &lines[start.min(complete)..];
            if line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix) {
                return true;
            }
        }
        buffer.copy_within(complete..filled, 0);
        carried = filled - complete;
    }
}

/// The CLI against the usual shell one-liners, each run through `sh -c` as a
/// hook script would.
fn peers(bench: &Bench) {
    let root = bench.scratch.path().join("peers");
    let path = write_domain(&root, "peers.example", 1_000);
    let cli = env!("CARGO_BIN_EXE_passwdpop");
    let run = |script: &str| {
        let status = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    };
    let ours = format!(
        // The change alone, as the pipelines do it; the wait until Dovecot
        // looks again (up to 1 s, README) is latency, not work.
        "echo 'n3w-Secret!' | {cli} --no-wait-visible --root {} --domain peers.example --email user500",
        root.display()
    );
    let file = path.display();
    let mkpasswd = format!(
        "h=$(mkpasswd -m sha-512 -R 5000 'n3w-Secret!') && sed -i \"s|^user500:[^:]*:|user500:$h:|\" {file}"
    );
    let doveadm = format!(
        "h=$(doveadm pw -s SHA512-CRYPT -r 5000 -p 'n3w-Secret!' | sed 's/^{{SHA512-CRYPT}}//') && sed -i \"s|^user500:[^:]*:|user500:$h:|\" {file}"
    );
    let ops = if bench.quick { 2 } else { 20 };
    for (name, peer) in [
        ("mkpasswd + sed -i", &mkpasswd),
        ("doveadm pw + sed -i", &doveadm),
    ] {
        let available = Command::new("sh")
            .args(["-c", &peer.replace("sed -i", "true")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !available {
            println!("| CLI vs {name} | | | not run: the tool is not installed | |");
            continue;
        }
        compare(
            bench,
            &format!("CLI on 1000 accounts vs {name}"),
            ops,
            || run(&ours),
            || run(peer),
        );
        if name.starts_with("mkpasswd") {
            // What no program that starts and hashes can go below: the hash
            // alone in a process of its own, against the same pipeline.
            let hash_alone = "mkpasswd -m sha-512 -R 5000 'n3w-Secret!' >/dev/null";
            compare(
                bench,
                &format!("`mkpasswd` alone (start + hash, no file) vs {name}"),
                ops,
                || run(hash_alone),
                || run(peer),
            );
            let pairs = if bench.quick { 3 } else { 50 };
            let sed = |user: &str| mkpasswd.replace("user500", user);
            let ours = |user: &str| ours.replace("user500", user);
            println!(
                "| lost updates, two changes to two users of one domain started at once, {pairs} times: mkpasswd + sed -i {} of {}, CLI {} of {} | | | | |",
                lost_updates(&path, pairs, sed),
                2 * pairs,
                lost_updates(&path, pairs, ours),
                2 * pairs,
            );
        }
    }
}

/// Starts the scripts for `user100` and `user200` at once, `pairs` times,
/// and counts the changes that did not reach the file. Every change draws a
/// new salt, so a change that arrived always alters its line.
fn lost_updates(path: &Path, pairs: usize, script: impl Fn(&str) -> String) -> usize {
    const USERS: [&str; 2] = ["user100", "user200"];
    let entry = |text: &str, user: &str| {
        let prefix = format!("{user}:");
        text.lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap()
            .to_owned()
    };
    let mut lost = 0;
    for _ in 0..pairs {
        let before = fs::read_to_string(path).unwrap();
        let children: Vec<_> = USERS
            .iter()
            .map(|user| {
                Command::new("sh")
                    .args(["-c", &script(user)])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let after = fs::read_to_string(path).unwrap();
        lost += USERS
            .iter()
            .filter(|user| entry(&before, user) == entry(&after, user))
            .count();
    }
    lost
}

/// Worker processes for the contention measurement: `bench worker change
/// ROOT N`, `bench worker crypt N` or `bench worker floor ROOT N`.
fn worker(args: &[String]) {
    match args {
        [kind, root, count] if kind == "change" => {
            let config = config(Path::new(root));
            let pid = std::process::id();
            for n in 0..count.parse::<usize>().unwrap() {
                let user = format!("user{}", (pid as usize + n) % 1000);
                config.change("contention.example", user, PASSWORD).unwrap();
            }
        }
        [kind, count] if kind == "crypt" => {
            let mut crypt = Crypt::new(SETTING);
            for _ in 0..count.parse::<usize>().unwrap() {
                crypt.hash();
            }
        }
        [kind, root, count] if kind == "floor" => {
            let dir = Path::new(root).join("contention.example");
            let mut crypt = Crypt::new(SETTING);
            for _ in 0..count.parse::<usize>().unwrap() {
                crypt.hash();
                let lock = File::open(&dir).unwrap();
                lock.lock().unwrap();
                floor_rewrite(&dir.join("shadow"));
                lock.unlock().unwrap();
            }
        }
        _ => panic!("unknown worker {args:?}"),
    }
}

/// Throughput of two processes changing passwords in one domain, relative to
/// one process; divided by the same ratio for bare `crypt_r`, which shows what
/// the machine's second core is worth right now.
fn contention(bench: &Bench) {
    let root = bench.scratch.path().join("contention");
    write_domain(&root, "contention.example", 1_000);
    let me = std::env::current_exe().unwrap();
    let count = if bench.quick { 10 } else { 40 };
    let run = |processes: usize, args: &[String]| -> Duration {
        let started = Instant::now();
        let children: Vec<_> = (0..processes)
            .map(|_| Command::new(&me).arg("worker").args(args).spawn().unwrap())
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        started.elapsed()
    };
    let change = [
        "change".to_string(),
        root.display().to_string(),
        count.to_string(),
    ];
    let bare_crypt = ["crypt".to_string(), count.to_string()];
    // The least a locked writer does: `crypt_r`, a blocking flock, the floor.
    let floor = [
        "floor".to_string(),
        root.display().to_string(),
        count.to_string(),
    ];
    let scaling = |args: &[String]| 2.0 * run(1, args).as_secs_f64() / run(2, args).as_secs_f64();
    // Many short rounds: a neighbour's burst then spoils a few rounds, not the median.
    let (mut ours, mut least) = (vec![], vec![]);
    for _ in 0..bench.rounds * 3 {
        let crypt_scaling = (scaling(&bare_crypt) + scaling(&bare_crypt)) / 2.0;
        ours.push(scaling(&change) / crypt_scaling);
        least.push(scaling(&floor) / crypt_scaling);
    }
    let (ratio, low, high) = summary(ours);
    println!("| contention: 2 processes vs 1, throughput ratio ÷ the same for `crypt_r` | | | **{ratio:.2}** | {low:.2}–{high:.2} |");
    let (ratio, low, high) = summary(least);
    println!("| the same for the least locked writer (`crypt_r`, flock, floor) | | | **{ratio:.2}** | {low:.2}–{high:.2} |");

    // The lock hold, seen from outside: from the dotlock's PID file appearing
    // (just after the flock) to `shadow.lock` going (just before the unlock).
    let config = config(&root);
    let watcher = LockWatcher::start(&root.join("contention.example"));
    let ops = if bench.quick { 20 } else { 200 };
    for n in 0..ops {
        config
            .change("contention.example", format!("user{}", n % 1000), PASSWORD)
            .unwrap();
    }
    let mut held = watcher.stop();
    assert!(
        !held.is_empty(),
        "the inotify watch saw no dotlock taken and released"
    );
    held.sort_by(f64::total_cmp);
    println!(
        "| lock hold time, 1000 accounts, {} changes: median {:.0} µs, p99 {:.0} µs | | | | |",
        held.len(),
        held[held.len() / 2],
        held[held.len() * 99 / 100]
    );
}

/// Times how long the dotlock of one domain is held, from an inotify watch on
/// the domain directory, in a thread of its own (the other core).
struct LockWatcher {
    dir: PathBuf,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl LockWatcher {
    const STOP: &'static str = "stop-watching";

    fn start(dir: &Path) -> LockWatcher {
        // SAFETY: plain system calls on a path we own; the fd is ours alone.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        assert!(fd >= 0);
        let path = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        // The lock is released by renaming `shadow.lock` aside, then removing it.
        let mask = libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVED_FROM;
        assert!(unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) } >= 0);
        let thread = std::thread::spawn(move || {
            let mut held = vec![];
            let mut taken = None;
            let mut buffer = [0u8; 4096];
            loop {
                // SAFETY: reads into our own buffer.
                let read = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
                assert!(read > 0);
                let now = Instant::now();
                let mut events = &buffer[..read as usize];
                while !events.is_empty() {
                    let field =
                        |at: usize| u32::from_ne_bytes(events[at..at + 4].try_into().unwrap());
                    let (mask, len) = (field(4), field(12) as usize);
                    let name = &events[16..16 + len];
                    let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(len)];
                    events = &events[16 + len..];
                    if mask & libc::IN_CREATE != 0
                        && name.starts_with(b".shadow.passwdpop-")
                        && name.ends_with(b".lock")
                    {
                        taken = Some(now);
                    } else if mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0
                        && name == b"shadow.lock"
                    {
                        if let Some(taken) = taken.take() {
                            held.push((now - taken).as_secs_f64() * 1e6);
                        }
                    } else if name == Self::STOP.as_bytes() {
                        unsafe { libc::close(fd) };
                        return held;
                    }
                }
            }
        });
        LockWatcher {
            dir: dir.to_owned(),
            thread,
        }
    }

    fn stop(self) -> Vec<f64> {
        File::create(self.dir.join(Self::STOP)).unwrap();
        let held = self.thread.join().unwrap();
        fs::remove_file(self.dir.join(Self::STOP)).unwrap();
        held
    }
}

/// Peak RSS of the CLI changing one password in a large file, above the same
/// command on a 10-account file: the file must stream through a fixed buffer.
fn memory(bench: &Bench) {
    let root = bench.scratch.path().join("memory");
    let accounts = if bench.quick { 100_000 } else { 1_000_000 };
    write_domain(&root, "small.example", 10);
    write_domain(&root, "large.example", accounts);
    let cli = env!("CARGO_BIN_EXE_passwdpop");
    // The CLI's own peak, from GNU time: it forks itself (small) before the
    // exec. A child spawned from this process directly would be charged
    // this process's peak, which the exec leaves in its record.
    let report = root.join("peak-rss");
    let peak_rss_kib = |domain: &str| -> i64 {
        let mut child = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&report)
            .arg(cli)
            .args([
                "--root",
                root.to_str().unwrap(),
                "--domain",
                domain,
                "--email",
                "user5",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("GNU time is installed (.ci/run installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"n3w-Secret!\n")
            .unwrap();
        assert!(child.wait().unwrap().success());
        fs::read_to_string(&report).unwrap().trim().parse().unwrap()
    };
    // A few runs each, interleaved; the medians, as peaks vary by a page or two.
    let (mut small_peaks, mut large_peaks) = (vec![], vec![]);
    for _ in 0..5 {
        small_peaks.push(peak_rss_kib("small.example"));
        large_peaks.push(peak_rss_kib("large.example"));
    }
    small_peaks.sort_unstable();
    large_peaks.sort_unstable();
    let (baseline, large) = (small_peaks[2], large_peaks[2]);
    let size = fs::metadata(root.join("large.example/shadow"))
        .unwrap()
        .len();
    println!(
        "| peak RSS, change in {accounts} accounts ({} MiB) above 10 accounts: **{:+} KiB** ({baseline} → {large} KiB) | | | | |",
        size >> 20,
        large - baseline
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        return worker(&args[1..]);
    }
    let quick = args.iter().any(|arg| arg == "quick");
    let chosen: Vec<&String> = args
        .iter()
        .filter(|arg| *arg != "quick" && !arg.starts_with('-'))
        .collect();
    let wanted = |section: &str| chosen.is_empty() || chosen.iter().any(|arg| *arg == section);
    let bench = Bench {
        rounds: if quick { 2 } else { 11 },
        quick,
        scratch: tempfile::tempdir().unwrap(),
    };
    println!("| comparison | ours µs/op | theirs µs/op | ratio (median) | range |");
    println!("|---|---|---|---|---|");
    let sections: [Section; 7] = [
        ("hash", hash),
        ("change", end_to_end),
        ("growth", growth),
        ("verify", verify),
        ("contention", contention),
        ("memory", memory),
        ("peers", peers),
    ];
    for (name, section) in sections {
        if wanted(name) {
            section(&bench);
        }
    }
}
