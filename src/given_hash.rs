//! A hash given by the caller to store verbatim (a migration from another
//! server, `chpasswd -e`): accepted only if Exim's `crypteq` and Dovecot
//! could ever verify a password against it.

use crate::error::{Error, Status};
use crate::sys::{self, SaltCheck};

/// Longest hash accepted. The longest libxcrypt makes (yescrypt with large
/// parameters, bcrypt, SHA512-crypt with rounds) are well under 200 bytes.
pub const MAX_HASH_LEN: usize = 512;

/// Any password will do: only the shape of what `crypt_r` makes of the
/// setting is compared, never the digest.
const PROBE: &[u8] = b"passwdpop probe";

/// A complete crypt(3) hash, without `{SCHEME}` prefix or `!` lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenHash(String);

impl GivenHash {
    /// Checks, in this order: length, bytes (no `:`, white space or control
    /// bytes, which would break the line), libxcrypt's `crypt_checksalt`,
    /// then that hashing with it as the setting keeps its length and its
    /// setting part — which refuses a truncated hash and a `$6$` salt longer
    /// than 16 characters (crypt cuts it, so the stored string never matches).
    pub fn parse(raw: &[u8]) -> Result<GivenHash, Error> {
        let invalid = |why: &str| Error::new(Status::InvalidHash, format!("invalid hash: {why}"));
        if raw.is_empty() {
            return Err(invalid("it is empty"));
        }
        if raw.len() > MAX_HASH_LEN {
            return Err(invalid("longer than 512 bytes"));
        }
        if raw
            .iter()
            .any(|&byte| byte == b':' || byte.is_ascii_whitespace() || byte.is_ascii_control())
        {
            return Err(invalid("it holds ':', white space or a control character"));
        }
        if raw.starts_with(b"{") {
            return Err(invalid(
                "give the hash without a {SCHEME} prefix (the prefix is added where the entry had one)",
            ));
        }
        if sys::check_salt(raw) == SaltCheck::Refused {
            return Err(invalid("libxcrypt does not know its method"));
        }
        let computed =
            sys::crypt(PROBE, raw).ok_or_else(|| invalid("libxcrypt refuses it as a setting"))?;
        let setting = setting_len(raw);
        if computed.len() != raw.len() || computed.get(..setting) != raw.get(..setting) {
            return Err(invalid(
                "it is not a complete hash: crypt(3) makes hashes of another length or salt from it \
                 (truncated, or a salt longer than the method uses)",
            ));
        }
        let text = std::str::from_utf8(raw).map_err(|_| invalid("it is not ASCII"))?;
        Ok(GivenHash(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The length of the setting part (method, parameters, salt) of a hash, the
/// part `crypt_r` copies into its result: up to the last `$` for the `$id$`
/// methods, the fixed lengths of bcrypt, BSDi DES and traditional DES.
fn setting_len(hash: &[u8]) -> usize {
    const BCRYPT_SETTING: usize = 29; // $2b$NN$ and 22 salt characters
    const BSDI_SETTING: usize = 9; // _, 4 count and 4 salt characters
    const DES_SETTING: usize = 2;
    if hash.len() > 3 && hash[0] == b'$' && hash[1] == b'2' && hash[3] == b'$' {
        BCRYPT_SETTING
    } else if hash.starts_with(b"$") {
        memchr::memrchr(b'$', hash).map_or(0, |last| last + 1)
    } else if hash.starts_with(b"_") {
        BSDI_SETTING
    } else {
        DES_SETTING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(setting: &str) -> String {
        let hash = sys::crypt(b"right", setting.as_bytes()).unwrap();
        String::from_utf8(hash.to_vec()).unwrap()
    }

    #[test]
    fn accepts_complete_hashes_of_every_method_libxcrypt_verifies() {
        for setting in [
            "$6$rounds=5000$abcdefghijklmnop$",
            "$6$saltstring$",
            "$5$rounds=1000$salt$",
            "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$",
            "$2b$05$abcdefghijklmnopqrstuu",
            "$1$saltsalt$",
            "ab",
        ] {
            let hash = made(setting);
            let given = GivenHash::parse(hash.as_bytes());
            assert_eq!(given.map(|g| g.0), Ok(hash.clone()), "{setting}");
            assert!(sys::crypt(b"right", hash.as_bytes())
                .is_some_and(|again| *again == *hash.as_bytes()));
        }
    }

    #[test]
    fn refuses_what_could_never_verify_or_would_break_the_line() {
        let six = made("$6$saltstring$");
        let long_salt = made("$6$rounds=1000$saltstringsaltstring$").replacen(
            "saltstringsaltst$",
            "saltstringsaltstring$",
            1,
        );
        let too_long = format!("{six}{}", "x".repeat(MAX_HASH_LEN));
        #[rustfmt::skip]
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            ("notahash".into(), "not a complete hash"),
            (six[..six.len() - 1].to_owned(), "not a complete hash"),
            (format!("{six}x"), "not a complete hash"),
            ("$6$saltstring$".into(), "not a complete hash"),
            (long_salt, "not a complete hash"),
            (format!("{six}:x"), "':'"),
            (format!("{six} "), "white space"),
            (format!("{six}\n"), "white space"),
            (format!("x\x01{six}"), "control"),
            (format!("{{SHA512-CRYPT}}{six}"), "prefix"),
            (format!("!{six}"), "does not know its method"),
            ("*".into(), "does not know its method"),
            ("$9$nosuch$method".into(), "does not know its method"),
            (too_long, "longer than 512"),
        ];
        for (hash, why) in cases {
            let err = GivenHash::parse(hash.as_bytes()).unwrap_err();
            assert_eq!(err.status(), Status::InvalidHash, "{hash}");
            assert!(err.message().contains(why), "{hash}: {}", err.message());
        }
    }

    #[test]
    fn setting_lengths() {
        #[rustfmt::skip]
        let cases: &[(&[u8], usize)] = &[
            (b"$6$salt$digest", 8),
            (b"$6$rounds=1000$salt$digest", 20),
            (b"$2b$05$abcdefghijklmnopqrstuuDIGEST", 29),
            (b"_J9..saltDIGEST", 9),
            (b"abDIGEST", 2),
        ];
        for (hash, len) in cases {
            assert_eq!(setting_len(hash), *len, "{}", hash.escape_ascii());
        }
    }
}
