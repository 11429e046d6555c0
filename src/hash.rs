//! SHA512-crypt hashes: making a new one, and checking a password against a stored one.

use crate::error::{Error, Status};
use crate::hash_field::HashField;
use crate::sha512crypt::{self, Rounds};
use crate::shadow::scheme_prefix_len;
use crate::sys;

/// Random salt bytes: 12 bytes are exactly the 16 salt characters SHA-crypt
/// uses. A longer salt string would be written but cut to 16 by every verifier.
const SALT_BYTES: usize = 12;

/// Dovecot schemes that are plain `crypt(3)` hashes, so `crypt_r` verifies them.
const CRYPT_SCHEMES: [&[u8]; 6] = [
    b"{CRYPT}",
    b"{SHA512-CRYPT}",
    b"{SHA256-CRYPT}",
    b"{MD5-CRYPT}",
    b"{BLF-CRYPT}",
    b"{DES-CRYPT}",
];

/// A new `$6$rounds=N$<16-char salt>$<86-char hash>` with a salt from the OS.
pub fn sha512_crypt(password: &[u8], rounds: u32) -> Result<String, Error> {
    let mut salt = [0u8; SALT_BYTES];
    rustix::rand::getrandom(&mut salt, rustix::rand::GetRandomFlags::empty())
        .map_err(|err| Error::io("reading random bytes for the salt", err))
        .and_then(|filled| {
            if filled == SALT_BYTES {
                Ok(())
            } else {
                Err(Error::new(Status::IoError, "short read from getrandom"))
            }
        })?;
    sha512_crypt_with_salt(password, &sha512crypt::salt_from_bytes(&salt), rounds)
}

/// The hash under a given salt of crypt's alphabet. The rounds are always
/// written out, so a hash says its cost even at the default.
fn sha512_crypt_with_salt(password: &[u8], salt: &[u8], rounds: u32) -> Result<String, Error> {
    sha512crypt::hash(password, salt, Rounds::Explicit(rounds)).ok_or_else(|| {
        Error::new(
            Status::InternalError,
            "SHA512-crypt: the salt is not of crypt's alphabet",
        )
    })
}

/// Whether `password` matches a stored hash field the way Exim's `crypteq` and
/// Dovecot's crypt schemes decide: a locked (`!`) entry never matches; a crypt
/// `{SCHEME}` prefix is understood; the rest is up to the system's `crypt_r`.
pub fn verify(password: &[u8], stored: &[u8]) -> Result<(), Error> {
    let mismatch = |why: &str| Error::new(Status::PasswordMismatch, why.to_owned());
    let field = HashField::parse(stored);
    if field.lead.contains(&b'!') {
        return Err(mismatch("the account is locked ('!' in front of its hash)"));
    }
    // `{SHA512-CRYPT}!$6$...`: Dovecot hands `!$6$...` to crypt(3), which
    // refuses it. Say why, rather than blame the hash's format.
    if field.inner.contains(&b'!') {
        return Err(mismatch(
            "the account is locked ('!' after its scheme prefix)",
        ));
    }
    let hash = match scheme_prefix_len(stored) {
        None => stored,
        Some(len) => {
            let scheme = &stored[..len];
            if !CRYPT_SCHEMES
                .iter()
                .any(|known| known.eq_ignore_ascii_case(scheme))
            {
                return Err(mismatch(
                    "the stored hash's scheme is not a crypt(3) scheme",
                ));
            }
            &stored[len..]
        }
    };
    if hash.is_empty() {
        return Err(mismatch("the account has no password hash"));
    }
    match sys::crypt(password, hash) {
        Some(computed) if constant_time_eq(&computed, hash) => Ok(()),
        Some(_) => Err(mismatch("password does not match")),
        None => Err(mismatch("the stored hash is not one crypt(3) accepts")),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hashes_have_the_promised_shape_and_verify_with_crypt_r() {
        for (password, rounds) in [
            (&b"x"[..], 1000),
            (b"12345luggage", 5000),
            (&[0xff; 511], 1000),
        ] {
            let hash = sha512_crypt(password, rounds).unwrap();
            let prefix = format!("$6$rounds={rounds}$");
            assert!(hash.starts_with(&prefix), "{hash}");
            let rest: Vec<&str> = hash[prefix.len()..].split('$').collect();
            assert_eq!(rest.len(), 2, "{hash}");
            assert_eq!(rest[0].len(), 16, "salt of {hash}");
            assert_eq!(rest[1].len(), 86, "digest of {hash}");
            let alphabet = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
            };
            assert!(alphabet(rest[0]) && alphabet(rest[1]), "{hash}");
            let recomputed = sys::crypt(password, hash.as_bytes()).unwrap();
            assert_eq!(recomputed.as_slice(), hash.as_bytes());
        }
    }

    #[test]
    fn salts_differ() {
        let first = sha512_crypt(b"same", 1000).unwrap();
        let second = sha512_crypt(b"same", 1000).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn fixed_salt_matches_crypt_r() {
        let hash = sha512_crypt_with_salt(b"Hello world!", b"0123456789ab", 5000).unwrap();
        assert_eq!(
            sys::crypt(b"Hello world!", hash.as_bytes())
                .unwrap()
                .as_slice(),
            hash.as_bytes()
        );
    }

    #[test]
    fn verify_decisions() {
        let six = sha512_crypt(b"right", 1000).unwrap();
        let long_salt = "$6$rounds=1000$saltstringsaltstring$";
        let long_salt_hash =
            String::from_utf8(sys::crypt(b"right", long_salt.as_bytes()).unwrap().to_vec())
                .unwrap();
        #[rustfmt::skip]
        let cases: Vec<(String, &[u8], Option<Status>)> = vec![
            (six.clone(), b"right", None),
            (six.clone(), b"wrong", Some(Status::PasswordMismatch)),
            (format!("{{SHA512-CRYPT}}{six}"), b"right", None),
            (format!("{{crypt}}{six}"), b"right", None),
            (format!("{{PLAIN}}{six}"), b"right", Some(Status::PasswordMismatch)),
            (format!("!{six}"), b"right", Some(Status::PasswordMismatch)),
            (format!("!{{SHA512-CRYPT}}{six}"), b"right", Some(Status::PasswordMismatch)),
            (format!("{{SHA512-CRYPT}}!{six}"), b"right", Some(Status::PasswordMismatch)),
            (format!("{{CRYPT}}!!{six}"), b"right", Some(Status::PasswordMismatch)),
            ("!".into(), b"right", Some(Status::PasswordMismatch)),
            ("".into(), b"right", Some(Status::PasswordMismatch)),
            ("*".into(), b"right", Some(Status::PasswordMismatch)),
            (long_salt_hash.clone(), b"right", None),
            // crypt(3) uses 16 salt characters and echoes 16; Exim's crypteq and
            // Dovecot compare that echo with the stored string, so a stored
            // hash with a longer salt never matches there, nor here.
            (long_salt_hash.replacen("saltstringsaltst$", "saltstringsaltstring$", 1), b"right", Some(Status::PasswordMismatch)),
        ];
        for (stored, password, expected) in cases {
            let got = verify(password, stored.as_bytes())
                .err()
                .map(|e| e.status());
            assert_eq!(got, expected, "{stored}");
        }
    }

    #[test]
    fn a_lock_after_the_scheme_prefix_is_reported_as_a_lock() {
        let six = sha512_crypt(b"right", 1000).unwrap();
        for stored in [format!("!{six}"), format!("{{SHA512-CRYPT}}!{six}")] {
            let err = verify(b"right", stored.as_bytes()).unwrap_err();
            assert_eq!(err.status(), Status::PasswordMismatch, "{stored}");
            assert!(err.message().contains("locked"), "{stored}: {err}");
        }
    }

    #[test]
    fn verify_accepts_what_libxcrypt_makes_in_other_schemes() {
        for setting in [
            "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$",
            "$5$rounds=1000$salt$",
            "$2b$05$abcdefghijklmnopqrstuu",
            "$1$saltsalt$",
        ] {
            let stored = sys::crypt(b"right", setting.as_bytes()).unwrap();
            assert_eq!(verify(b"right", &stored), Ok(()), "{setting}");
            assert_eq!(
                verify(b"wrong", &stored).unwrap_err().status(),
                Status::PasswordMismatch
            );
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
