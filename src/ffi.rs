//! The C ABI: a thin shim over [`Config`]. With `sys.rs`, the only module
//! allowed `unsafe`.
//!
//! Every exported body runs inside [`boundary`], which turns a panic into
//! `PASSWDPOP_INTERNAL_ERROR` instead of unwinding into (and aborting) the host.
//!
//! Safety contract of every exported function (the README's "API conventions"):
//! each pointer argument is NULL or valid for the call, strings are
//! NUL-terminated, a config comes from passwdpop_config_new() and is not
//! freed or set while another thread uses it. Per-function `# Safety` sections
//! would only repeat this in the C header.
#![allow(unsafe_code, non_camel_case_types, clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::{Batch, Config, Error, Layout, Status};

/// Success.
pub const PASSWDPOP_OK: c_int = 0;
/// A required pointer argument was NULL.
pub const PASSWDPOP_NULL_ARGUMENT: c_int = 1;
/// The domain is not a valid domain name.
pub const PASSWDPOP_INVALID_DOMAIN: c_int = 2;
/// The user (local part or full address in the domain) is not valid.
pub const PASSWDPOP_INVALID_USER: c_int = 3;
/// The password is empty or longer than 511 bytes.
pub const PASSWDPOP_INVALID_PASSWORD: c_int = 4;
/// A configuration value (root, rounds, layout) was rejected.
pub const PASSWDPOP_INVALID_CONFIG: c_int = 5;
/// The domain directory or its shadow file does not exist.
pub const PASSWDPOP_NO_SUCH_DOMAIN: c_int = 6;
/// The shadow file has no entry for the user.
pub const PASSWDPOP_NO_SUCH_ACCOUNT: c_int = 7;
/// The shadow file has more than one entry for the user.
pub const PASSWDPOP_AMBIGUOUS_ACCOUNT: c_int = 8;
/// A path is a symlink, not a regular file, hard-linked or world-writable.
pub const PASSWDPOP_UNSAFE_PATH: c_int = 9;
/// Another writer held the domain lock for the whole lock timeout.
pub const PASSWDPOP_LOCK_TIMEOUT: c_int = 10;
/// Reading or writing failed; passwdpop_last_error() has the OS's reason.
pub const PASSWDPOP_IO_ERROR: c_int = 11;
/// passwdpop_verify(): the password does not match.
pub const PASSWDPOP_PASSWORD_MISMATCH: c_int = 12;
/// A bug in passwdpop (a caught panic); please report it.
pub const PASSWDPOP_INTERNAL_ERROR: c_int = 13;
/// passwdpop_set_hash(), passwdpop_batch_add_hash(): not a complete crypt(3)
/// hash libxcrypt takes, or it holds ':', white space or control bytes, or is
/// over 512 bytes. Also passwdpop_unsuspend() of an entry with no hash behind its '!'.
pub const PASSWDPOP_INVALID_HASH: c_int = 14;
/// passwdpop_add(): the domain already has an entry for the user (in any case).
pub const PASSWDPOP_ACCOUNT_EXISTS: c_int = 15;

/// How entries are laid out in the shadow file; one of PASSWDPOP_LAYOUT_*.
pub type passwdpop_layout = u32;
/// shadow(5) style `user:hash:lastchange:...` (the default); a change sets lastchange.
pub const PASSWDPOP_LAYOUT_SHADOW: passwdpop_layout = 0;
/// Dovecot passwd-file `user:hash:uid:gid:...`; only the hash changes.
pub const PASSWDPOP_LAYOUT_PASSWD_FILE: passwdpop_layout = 1;

/// Settings for passwdpop_change() and passwdpop_verify(). Opaque: create with
/// passwdpop_config_new(), free with passwdpop_config_free(). May be shared
/// read-only between threads.
pub struct passwdpop_config {
    config: Config,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn internal_error() -> Error {
    Error::new(
        Status::InternalError,
        "internal error in passwdpop (a panic was caught); please report it",
    )
}

/// Runs an exported body: catches panics and records the outcome for
/// passwdpop_last_error().
fn boundary(body: impl FnOnce() -> Result<(), Error>) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| Err(internal_error()));
    let (code, message) = match result {
        Ok(()) => (PASSWDPOP_OK, CString::default()),
        Err(err) => (
            err.status().code(),
            // Messages are built from escaped text and never hold NUL.
            CString::new(err.message()).unwrap_or_default(),
        ),
    };
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = message);
    code
}

/// [`boundary`] for the functions that return a static or thread-local string.
fn string_boundary(body: impl FnOnce() -> *const c_char) -> *const c_char {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(c"".as_ptr())
}

fn null_argument(name: &str) -> Error {
    Error::new(Status::NullArgument, format!("argument '{name}' is NULL"))
}

/// The bytes of a C string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
unsafe fn c_bytes<'a>(ptr: *const c_char, name: &str) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        Err(null_argument(name))
    } else {
        Ok(CStr::from_ptr(ptr).to_bytes())
    }
}

/// The three arguments of a change or verify, NULL checks in argument order.
///
/// # Safety
/// As for [`c_bytes`], for each pointer.
unsafe fn account_arguments<'a>(
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> Result<[&'a [u8]; 3], Error> {
    Ok([
        c_bytes(domain, "domain")?,
        c_bytes(user, "user")?,
        c_bytes(password, "password")?,
    ])
}

/// Runs `action` with the caller's config, or the defaults for NULL.
///
/// # Safety
/// `config` is NULL or a live pointer from passwdpop_config_new().
unsafe fn with_config(
    config: *const passwdpop_config,
    action: impl FnOnce(&Config) -> Result<(), Error>,
) -> Result<(), Error> {
    match config.as_ref() {
        Some(config) => action(&config.config),
        None => action(&Config::new()),
    }
}

/// Changes the password of `user` (local part, or full address in `domain`)
/// in `<root>/<domain>/shadow`, with the default settings; the root is
/// `PASSWDPOP_ROOT` if set (ignored in setuid/setgid processes), else
/// `/etc/vmail`. Returns PASSWDPOP_OK or a status code.
#[no_mangle]
pub unsafe extern "C" fn passwdpop(
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    passwdpop_change(ptr::null(), domain, user, password)
}

/// A new config with the defaults (see passwdpop()); NULL only on an internal
/// error. (Running out of memory aborts the process, as in any Rust code.)
#[no_mangle]
pub extern "C" fn passwdpop_config_new() -> *mut passwdpop_config {
    let mut created = ptr::null_mut();
    boundary(|| {
        created = Box::into_raw(Box::new(passwdpop_config {
            config: Config::new(),
        }));
        Ok(())
    });
    created
}

/// Frees a config from passwdpop_config_new(). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_free(config: *mut passwdpop_config) {
    if !config.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(config))));
    }
}

/// Runs a setter on a caller's config.
///
/// # Safety
/// `config` is NULL or a live pointer from passwdpop_config_new(), not used by
/// another thread during the call.
unsafe fn set(
    config: *mut passwdpop_config,
    setter: impl FnOnce(&mut Config) -> Result<(), Error>,
) -> c_int {
    boundary(|| match config.as_mut() {
        Some(config) => setter(&mut config.config),
        None => Err(null_argument("config")),
    })
}

/// Sets the directory holding one directory per domain; it must be absolute.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_root(
    config: *mut passwdpop_config,
    dir: *const c_char,
) -> c_int {
    set(config, |config| {
        let dir = c_bytes(dir, "dir")?;
        config.set_root(OsStr::from_bytes(dir))
    })
}

/// Sets the SHA512-crypt rounds, 1000..=999999999 (default 5000).
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_rounds(
    config: *mut passwdpop_config,
    rounds: u32,
) -> c_int {
    set(config, |config| config.set_rounds(rounds))
}

/// Sets how long a change waits for other writers, in ms (default 10000; 0 = try once).
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_lock_timeout_ms(
    config: *mut passwdpop_config,
    ms: u32,
) -> c_int {
    set(config, |config| {
        config.set_lock_timeout_ms(ms);
        Ok(())
    })
}

/// Sets the layout: PASSWDPOP_LAYOUT_SHADOW or PASSWDPOP_LAYOUT_PASSWD_FILE.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_layout(
    config: *mut passwdpop_config,
    layout: passwdpop_layout,
) -> c_int {
    set(config, |config| {
        let layout = match layout {
            PASSWDPOP_LAYOUT_SHADOW => Layout::Shadow,
            PASSWDPOP_LAYOUT_PASSWD_FILE => Layout::PasswdFile,
            unknown => {
                return Err(Error::new(
                    Status::InvalidConfig,
                    format!("unknown layout {unknown}"),
                ))
            }
        };
        config.set_layout(layout);
        Ok(())
    })
}

/// Non-zero: a change returns only once every reader sees it. Dovecot's
/// passwd-file looks at the file at most once per second, so the call then
/// waits, after the rename and the unlock, until the wall clock reaches the
/// next second (up to 1 s more latency; other writers are not held up).
/// Zero (the default): it returns right after the rename is durable.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_wait_visible(
    config: *mut passwdpop_config,
    wait: c_int,
) -> c_int {
    set(config, |config| {
        config.set_wait_visible(wait != 0);
        Ok(())
    })
}

/// Changes a password like passwdpop(), with `config` (NULL = defaults).
#[no_mangle]
pub unsafe extern "C" fn passwdpop_change(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user, password] = account_arguments(domain, user, password)?;
        with_config(config, |config| config.change(domain, user, password))
    })
}

/// Checks a password as Exim and Dovecot would: PASSWDPOP_OK on a match,
/// PASSWDPOP_PASSWORD_MISMATCH if not (locked `!` entries never match), or
/// the same errors as a change. Takes no lock.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_verify(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user, password] = account_arguments(domain, user, password)?;
        with_config(config, |config| config.verify(domain, user, password))
    })
}

/// Sets how many threads passwdpop_batch_commit() hashes on (0, the
/// default: one per available core).
#[no_mangle]
pub unsafe extern "C" fn passwdpop_config_set_threads(
    config: *mut passwdpop_config,
    threads: u32,
) -> c_int {
    set(config, |config| {
        config.set_threads(threads);
        Ok(())
    })
}

/// The two arguments naming an account, NULL checks in argument order.
///
/// # Safety
/// As for [`c_bytes`], for each pointer.
unsafe fn target_arguments<'a>(
    domain: *const c_char,
    user: *const c_char,
) -> Result<[&'a [u8]; 2], Error> {
    Ok([c_bytes(domain, "domain")?, c_bytes(user, "user")?])
}

/// Adds an entry for `user` (stored lower-cased) at the end of
/// `<root>/<domain>/shadow`, with a new hash of `password`.
/// PASSWDPOP_ACCOUNT_EXISTS if the domain has one; the domain must exist.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_add(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user, password] = account_arguments(domain, user, password)?;
        with_config(config, |config| config.add(domain, user, password))
    })
}

/// Removes the entry of `user` and the continuation lines (starting with
/// white space) that belong to it.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_remove(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user] = target_arguments(domain, user)?;
        with_config(config, |config| config.remove(domain, user))
    })
}

/// Locks the account: one '!' in front of its hash unless it is locked
/// already (then nothing changes, and the call succeeds).
#[no_mangle]
pub unsafe extern "C" fn passwdpop_suspend(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user] = target_arguments(domain, user)?;
        with_config(config, |config| config.suspend(domain, user))
    })
}

/// Unlocks the account: removes every '!' in front of its hash (and right
/// after a {SCHEME} prefix); the old password works again.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_unsuspend(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user] = target_arguments(domain, user)?;
        with_config(config, |config| config.unsuspend(domain, user))
    })
}

/// Stores `hash`, a complete crypt(3) hash without {SCHEME} prefix, as the
/// account's hash (a migration); PASSWDPOP_INVALID_HASH if it is not one.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_set_hash(
    config: *const passwdpop_config,
    domain: *const c_char,
    user: *const c_char,
    hash: *const c_char,
) -> c_int {
    boundary(|| {
        let [domain, user] = target_arguments(domain, user)?;
        let hash = c_bytes(hash, "hash")?;
        with_config(config, |config| config.set_hash(domain, user, hash))
    })
}

/// Many changes applied with one rewrite per domain. Opaque: create with
/// passwdpop_batch_new(), free with passwdpop_batch_free(). Not to be used
/// by two threads at once.
pub struct passwdpop_batch {
    batch: Batch,
}

/// A new, empty batch with a copy of `config`'s settings (NULL = defaults).
/// NULL only on an internal error.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_new(
    config: *const passwdpop_config,
) -> *mut passwdpop_batch {
    let mut created = ptr::null_mut();
    boundary(|| {
        with_config(config, |config| {
            created = Box::into_raw(Box::new(passwdpop_batch {
                batch: Batch::new(config),
            }));
            Ok(())
        })
    });
    created
}

/// Runs `action` on a caller's batch.
///
/// # Safety
/// `batch` is NULL or a live pointer from passwdpop_batch_new(), not used by
/// another thread during the call.
unsafe fn with_batch(
    batch: *mut passwdpop_batch,
    action: impl FnOnce(&mut Batch) -> Result<(), Error>,
) -> c_int {
    boundary(|| match batch.as_mut() {
        Some(batch) => action(&mut batch.batch),
        None => Err(null_argument("batch")),
    })
}

/// Adds a password change to the batch after checking its arguments; a
/// refused entry is not added (entry indexes count added entries only). The
/// password is copied, and zeroized when hashed or freed.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_add(
    batch: *mut passwdpop_batch,
    domain: *const c_char,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    with_batch(batch, |batch| {
        let [domain, user, password] = account_arguments(domain, user, password)?;
        batch.add(domain, user, password).map(drop)
    })
}

/// Adds a change to a given hash (see passwdpop_set_hash()) to the batch.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_add_hash(
    batch: *mut passwdpop_batch,
    domain: *const c_char,
    user: *const c_char,
    hash: *const c_char,
) -> c_int {
    with_batch(batch, |batch| {
        let [domain, user] = target_arguments(domain, user)?;
        let hash = c_bytes(hash, "hash")?;
        batch.add_hash(domain, user, hash).map(drop)
    })
}

/// Applies the batch: hashes every password in parallel, then rewrites each
/// domain's file once under its lock (one domain lock at a time). Returns
/// PASSWDPOP_OK when every entry applied, else the status of the first entry
/// that did not (passwdpop_last_error() has its message); see
/// passwdpop_batch_status(). A second commit is PASSWDPOP_INVALID_CONFIG.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_commit(batch: *mut passwdpop_batch) -> c_int {
    with_batch(batch, Batch::commit)
}

/// How many entries the batch holds; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_len(batch: *const passwdpop_batch) -> usize {
    catch_unwind(AssertUnwindSafe(|| {
        batch.as_ref().map_or(0, |batch| batch.batch.len())
    }))
    .unwrap_or(0)
}

/// The outcome of entry `index` after passwdpop_batch_commit(): PASSWDPOP_OK
/// (applied), or its status. PASSWDPOP_INVALID_CONFIG before the commit or
/// for an index past the end; PASSWDPOP_NULL_ARGUMENT for a NULL batch.
/// passwdpop_last_error() then has the entry's message.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_status(
    batch: *const passwdpop_batch,
    index: usize,
) -> c_int {
    boundary(|| {
        let batch = &batch.as_ref().ok_or_else(|| null_argument("batch"))?.batch;
        match batch.result(index) {
            Some(result) => result.clone(),
            None if index >= batch.len() => Err(Error::new(
                Status::InvalidConfig,
                format!("no entry {index}: the batch has {}", batch.len()),
            )),
            None => Err(Error::new(
                Status::InvalidConfig,
                "the batch has not been committed",
            )),
        }
    })
}

/// Frees a batch and zeroizes the passwords it still holds. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn passwdpop_batch_free(batch: *mut passwdpop_batch) {
    if !batch.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(batch))));
    }
}

/// A static description of any status code (unknown codes included); never NULL.
#[no_mangle]
pub extern "C" fn passwdpop_strerror(status: c_int) -> *const c_char {
    string_boundary(|| {
        let description = match Status::from_code(status) {
            Some(status) => status.c_description(),
            None if status == PASSWDPOP_OK => c"success",
            None => c"unknown status code",
        };
        description.as_ptr()
    })
}

/// This thread's detailed message for its last failed call; "" after a
/// success. Never NULL, never contains the password. Valid until this thread's
/// next passwdpop call.
#[no_mangle]
pub extern "C" fn passwdpop_last_error() -> *const c_char {
    string_boundary(|| {
        LAST_ERROR
            .try_with(|last| last.borrow().as_ptr())
            .unwrap_or(c"".as_ptr())
    })
}

/// The library version, e.g. "0.1.0"; static, never NULL.
#[no_mangle]
pub extern "C" fn passwdpop_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => panic!("the version has a NUL byte"),
        };
    string_boundary(|| VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_codes_are_the_status_codes() {
        let pairs = [
            (PASSWDPOP_NULL_ARGUMENT, Status::NullArgument),
            (PASSWDPOP_INVALID_DOMAIN, Status::InvalidDomain),
            (PASSWDPOP_INVALID_USER, Status::InvalidUser),
            (PASSWDPOP_INVALID_PASSWORD, Status::InvalidPassword),
            (PASSWDPOP_INVALID_CONFIG, Status::InvalidConfig),
            (PASSWDPOP_NO_SUCH_DOMAIN, Status::NoSuchDomain),
            (PASSWDPOP_NO_SUCH_ACCOUNT, Status::NoSuchAccount),
            (PASSWDPOP_AMBIGUOUS_ACCOUNT, Status::AmbiguousAccount),
            (PASSWDPOP_UNSAFE_PATH, Status::UnsafePath),
            (PASSWDPOP_LOCK_TIMEOUT, Status::LockTimeout),
            (PASSWDPOP_IO_ERROR, Status::IoError),
            (PASSWDPOP_PASSWORD_MISMATCH, Status::PasswordMismatch),
            (PASSWDPOP_INTERNAL_ERROR, Status::InternalError),
            (PASSWDPOP_INVALID_HASH, Status::InvalidHash),
            (PASSWDPOP_ACCOUNT_EXISTS, Status::AccountExists),
        ];
        assert_eq!(pairs.len(), Status::ALL.len());
        for (code, status) in pairs {
            assert_eq!(code, status.code());
        }
    }

    #[test]
    fn a_panic_becomes_internal_error_and_a_message() {
        let code = boundary(|| panic!("boom"));
        assert_eq!(code, PASSWDPOP_INTERNAL_ERROR);
        let message = unsafe { CStr::from_ptr(passwdpop_last_error()) };
        assert!(message.to_bytes().starts_with(b"internal error"));
        assert_eq!(boundary(|| Ok(())), PASSWDPOP_OK);
        assert_eq!(
            unsafe { CStr::from_ptr(passwdpop_last_error()) }.to_bytes(),
            b""
        );
    }

    #[test]
    fn strerror_answers_every_int() {
        for code in [-1, 0, 1, 13, 14, 15, 16, i32::MIN, i32::MAX] {
            let text = unsafe { CStr::from_ptr(passwdpop_strerror(code)) };
            assert!(!text.to_bytes().is_empty());
        }
        assert_eq!(unsafe { CStr::from_ptr(passwdpop_strerror(0)) }, c"success");
        assert_eq!(
            unsafe { CStr::from_ptr(passwdpop_strerror(99)) },
            c"unknown status code"
        );
    }
}
