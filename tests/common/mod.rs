//! A scratch root with domain directories, for tests that touch the file system.
#![allow(dead_code)]

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use passwdpop::Config;
use tempfile::TempDir;

pub struct Fixture {
    _dir: TempDir,
    pub root: PathBuf,
    pub config: Config,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vmail");
        fs::create_dir(&root).unwrap();
        let mut config = Config::new();
        config.set_root(&root).unwrap();
        config.set_rounds(1000).unwrap();
        config.set_lock_timeout_ms(5_000);
        Fixture {
            _dir: dir,
            root,
            config,
        }
    }

    /// Creates `<root>/<domain>/shadow` (0640) holding `content`.
    pub fn domain(&self, domain: &str, content: &[u8]) -> PathBuf {
        let dir = self.root.join(domain);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        let shadow = dir.join("shadow");
        fs::write(&shadow, content).unwrap();
        fs::set_permissions(&shadow, fs::Permissions::from_mode(0o640)).unwrap();
        shadow
    }

    pub fn read(&self, domain: &str) -> Vec<u8> {
        fs::read(self.root.join(domain).join("shadow")).unwrap()
    }

    /// Names in a domain directory other than `shadow`.
    pub fn extra_files(&self, domain: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join(domain))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "shadow")
            .collect();
        names.sort();
        names
    }
}

/// The hash field of `user`'s line, read independently of the library.
pub fn hash_of(content: &[u8], user: &str) -> String {
    let text = String::from_utf8_lossy(content);
    let line = text
        .lines()
        .find(|line| line.split(':').next() == Some(user))
        .unwrap_or_else(|| panic!("no line for {user}"));
    line.split(':').nth(1).unwrap().to_owned()
}

#[link(name = "crypt")]
extern "C" {
    fn crypt(
        phrase: *const std::ffi::c_char,
        setting: *const std::ffi::c_char,
    ) -> *mut std::ffi::c_char;
}

static CRYPT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A `$6$` hash made by libxcrypt.
pub fn make_hash(password: &[u8], salt: &str) -> String {
    let _guard = CRYPT_LOCK.lock().unwrap();
    let phrase = CString::new(password).unwrap();
    let setting = CString::new(format!("$6${salt}")).unwrap();
    // SAFETY: as in crypt_accepts.
    let out = unsafe { crypt(phrase.as_ptr(), setting.as_ptr()) };
    assert!(!out.is_null());
    let hash = unsafe { std::ffi::CStr::from_ptr(out) }
        .to_str()
        .unwrap()
        .to_owned();
    assert!(hash.starts_with("$6$"), "{hash}");
    hash
}

/// Whether libxcrypt's `crypt(3)` (what Exim and Dovecot call) accepts `password` for `hash`.
pub fn crypt_accepts(password: &[u8], hash: &str) -> bool {
    let _guard = CRYPT_LOCK.lock().unwrap();
    let phrase = CString::new(password).unwrap();
    let setting = CString::new(hash).unwrap();
    // SAFETY: NUL-terminated inputs; crypt's static buffer is guarded by CRYPT_LOCK
    // and copied out before the guard is dropped.
    let out = unsafe { crypt(phrase.as_ptr(), setting.as_ptr()) };
    !out.is_null() && unsafe { std::ffi::CStr::from_ptr(out) }.to_bytes() == hash.as_bytes()
}
