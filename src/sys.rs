//! The C functions we call: libxcrypt's `crypt_rn` and `crypt_checksalt`; glibc's `getauxval`,
//! `sysconf` and `sync_file_range`.
//! With `ffi.rs`, the only module allowed `unsafe`.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::os::fd::AsRawFd;

use zeroize::{Zeroize, Zeroizing};

/// `struct crypt_data` of libxcrypt (`<crypt.h>`): 32 KiB, opaque to us. It must
/// start zeroed; afterwards it holds the passphrase, so it is zeroized on drop.
#[repr(C)]
struct CryptData([u8; CRYPT_DATA_SIZE]);

/// `sizeof(struct crypt_data)` in libxcrypt 4.x.
const CRYPT_DATA_SIZE: usize = 32_768;

impl Drop for CryptData {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[link(name = "crypt")]
extern "C" {
    // libxcrypt's size-checked crypt_r: it refuses a buffer smaller than its
    // `struct crypt_data` instead of overrunning it. An old glibc libcrypt
    // (same SONAME, a larger struct) lacks the symbol, so the library then
    // fails to load rather than corrupting the host's heap.
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut CryptData,
        size: c_int,
    ) -> *mut c_char;
    fn crypt_checksalt(setting: *const c_char) -> c_int;
}

/// What libxcrypt's `crypt_checksalt` says of a setting or hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaltCheck {
    /// `CRYPT_SALT_OK`
    Ok,
    /// `CRYPT_SALT_METHOD_LEGACY`: works, but a method not to use for new hashes.
    Legacy,
    /// `CRYPT_SALT_TOO_CHEAP`: works, with fewer rounds than libxcrypt likes.
    TooCheap,
    /// `CRYPT_SALT_INVALID`, `CRYPT_SALT_METHOD_DISABLED` or an unknown answer:
    /// `crypt_r` would refuse it.
    Refused,
}

/// `crypt_checksalt(setting)`; a setting holding a NUL byte is refused.
pub fn check_salt(setting: &[u8]) -> SaltCheck {
    let Ok(setting) = CString::new(setting) else {
        return SaltCheck::Refused;
    };
    // SAFETY: a NUL-terminated string that outlives the call; the function
    // only reads it.
    match unsafe { crypt_checksalt(setting.as_ptr()) } {
        0 => SaltCheck::Ok,
        3 => SaltCheck::Legacy,
        4 => SaltCheck::TooCheap,
        _ => SaltCheck::Refused,
    }
}

/// `crypt_rn(password, setting)`: what Exim's `crypteq` and Dovecot's CRYPT
/// scheme compute. `None` when libxcrypt rejects the setting (it returns NULL
/// or a failure token starting with `*`) or an argument holds a NUL byte.
pub fn crypt(password: &[u8], setting: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if password.contains(&0) {
        return None;
    }
    // Our one copy of the password, NUL-terminated for C; zeroized on drop.
    let mut phrase = Zeroizing::new(Vec::with_capacity(password.len() + 1));
    phrase.extend_from_slice(password);
    phrase.push(0);
    let setting = CString::new(setting).ok()?;
    let mut data = Box::new(CryptData([0; CRYPT_DATA_SIZE]));
    // SAFETY: both strings are NUL-terminated and outlive the call; `data` is a
    // zeroed, exclusively borrowed `struct crypt_data` of the right size. The
    // result points into `data`, which is still alive when it is copied out.
    let result = unsafe {
        let out = crypt_rn(
            phrase.as_ptr().cast(),
            setting.as_ptr(),
            &mut *data,
            CRYPT_DATA_SIZE as c_int,
        );
        if out.is_null() {
            return None;
        }
        Zeroizing::new(CStr::from_ptr(out).to_bytes().to_vec())
    };
    (!result.starts_with(b"*")).then_some(result)
}

/// Whether the kernel marked this process as running with privileges its
/// caller does not have (setuid, setgid, file capabilities): `AT_SECURE`.
pub fn is_secure_execution() -> bool {
    // SAFETY: getauxval has no preconditions; it returns 0 for unknown types.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Starts writing a range of a file back to disk without waiting for it
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that the final fsync of a
/// large file has less left to do. Only a hint: errors are for fsync to report.
pub fn start_writeback(file: &impl AsRawFd, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain system call on a descriptor the caller keeps open.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Clock ticks per second, the unit of process start times in /proc.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions. (Not rustix::param: it parses the
    // aux vector itself and crashes under valgrind.)
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks)
        .ok()
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypt_matches_known_vectors() {
        // Drepper's SHA-crypt specification, test vectors 1 and 2.
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (
                b"Hello world!",
                b"$6$saltstring",
                b"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
            ),
            (
                b"Hello world!",
                b"$6$rounds=10000$saltstringsaltstring",
                b"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
            ),
        ];
        for (password, setting, expected) in cases {
            assert_eq!(
                crypt(password, setting).as_deref().map(Vec::as_slice),
                Some(*expected)
            );
        }
    }

    #[test]
    fn crypt_rejects_bad_settings() {
        for setting in [&b""[..], b"*", b"!$6$x$y", b"{CRYPT}$6$x$y", b"$6$a\0b"] {
            assert_eq!(crypt(b"pw", setting), None, "{setting:?}");
        }
        assert_eq!(crypt(&[b'p'; 512], b"$6$saltstring"), None);
    }

    #[test]
    fn check_salt_classes() {
        #[rustfmt::skip]
        let cases: &[(&[u8], SaltCheck)] = &[
            (b"$6$saltstring$", SaltCheck::Ok),
            (b"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$", SaltCheck::Ok),
            (b"$1$saltsalt$", SaltCheck::Legacy),
            (b"", SaltCheck::Refused),
            (b"!$6$x$y", SaltCheck::Refused),
            (b"{CRYPT}$6$x$y", SaltCheck::Refused),
            (b"$6$a\0b", SaltCheck::Refused),
        ];
        for (setting, expected) in cases {
            assert_eq!(check_salt(setting), *expected, "{}", setting.escape_ascii());
        }
    }

    #[test]
    fn test_process_is_not_setuid() {
        assert!(!is_secure_execution());
    }
}
