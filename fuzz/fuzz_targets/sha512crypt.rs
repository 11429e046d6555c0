//! passwdpop's SHA512-crypt against libxcrypt's `crypt_rn` on any password
//! (1–511 bytes, no NUL: what crypt(3) can be given), salt and rounds.
//!
//! Input: two bytes of rounds (the first 0: no `rounds=` field; otherwise
//! 1000 plus the second: every round shape occurs within 42 rounds, and more
//! rounds only repeat them), one byte of salt
//! length (0–16, of the bytes that follow, each mapped onto crypt's
//! alphabet), then the password.
#![no_main]

use std::ffi::{c_char, c_int, CStr};

use libfuzzer_sys::fuzz_target;
use passwdpop::sha512crypt::{hash, Rounds};

#[link(name = "crypt")]
extern "C" {
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut u8,
        size: c_int,
    ) -> *mut c_char;
}

const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// libxcrypt's answer, or `None` for a NULL or a `*` failure token.
fn crypt(password: &[u8], setting: &[u8]) -> Option<Vec<u8>> {
    let phrase = [password, b"\0"].concat();
    let setting = [setting, b"\0"].concat();
    let mut data = vec![0u8; 32 * 1024];
    // SAFETY: NUL-terminated inputs; `data` is a zeroed buffer of the size
    // given; the result points into `data`, alive while it is copied.
    unsafe {
        let out = crypt_rn(
            phrase.as_ptr().cast(),
            setting.as_ptr().cast(),
            data.as_mut_ptr(),
            data.len() as c_int,
        );
        if out.is_null() {
            return None;
        }
        let out = CStr::from_ptr(out).to_bytes().to_vec();
        (!out.starts_with(b"*")).then_some(out)
    }
}

fuzz_target!(|input: &[u8]| {
    let [r0, r1, salt_len, rest @ ..] = input else {
        return;
    };
    // No `rounds=` (5000 rounds, slow) for one input in 256.
    let rounds = match r0 {
        0 => Rounds::Default,
        _ => Rounds::Explicit(1000 + u32::from(*r1)),
    };
    let salt_len = usize::from(*salt_len % 17).min(rest.len());
    let (salt, password) = rest.split_at(salt_len);
    let salt: Vec<u8> = salt.iter().map(|b| ALPHABET[usize::from(b % 64)]).collect();
    if password.is_empty() || password.len() > 511 || password.contains(&0) {
        return;
    }
    let mut setting = b"$6$".to_vec();
    if let Rounds::Explicit(n) = rounds {
        setting.extend_from_slice(format!("rounds={n}$").as_bytes());
    }
    setting.extend_from_slice(&salt);
    let ours = hash(password, &salt, rounds);
    let theirs = crypt(password, &setting);
    assert_eq!(
        ours.as_deref().map(str::as_bytes),
        theirs.as_deref(),
        "password {password:?}, setting {:?}",
        String::from_utf8_lossy(&setting)
    );
});
