//! The parts of a stored hash field, as the readers see them: the lock
//! marks, an optional Dovecot `{SCHEME}` prefix, and the digest.
//!
//! One place decides what locks an entry, for every operation (change,
//! set-hash, batch, suspend, unsuspend, verify), so that none of them can
//! unlock what another counts as locked:
//!
//! - White space and `!`s in front of the field. Exim's lsearch skips white
//!   space after the key's `:`, so `bob: !$6$...` gives crypteq `!$6$...`,
//!   which never matches; Dovecot gets ` !$6$...`, which never matches either.
//! - White space and `!`s right after a prefix, except a plaintext one:
//!   Dovecot hands `{SHA512-CRYPT}!$6$...` to crypt(3) as `!$6$...`, which
//!   never matches, and no encoded digest (base64, hex, `$argon2...`) starts
//!   with those bytes. After `{PLAIN}`, `{CLEAR}` or `{CLEARTEXT}` they are
//!   the password itself: `{PLAIN}!x` logs in with `!x`.
//!
//! The white space is kept as written (it is part of the decoration, not of
//! the digest); an entry is locked when its decoration holds a `!`.

use crate::search::is_c_space;
use crate::shadow::scheme_prefix_len;

/// Dovecot's plaintext schemes: what follows them is the password, `!`s included.
/// <https://doc.dovecot.org/configuration_manual/authentication/password_schemes/>
const PLAINTEXT_SCHEMES: [&[u8]; 3] = [b"{PLAIN}", b"{CLEAR}", b"{CLEARTEXT}"];

/// A stored hash field split into its parts; `lead`, `prefix`, `inner` and
/// `digest` put together give the field back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashField<'a> {
    /// White space and `!`s in front of everything else.
    pub lead: &'a [u8],
    /// A `{SCHEME}` prefix, braces included, or empty.
    pub prefix: &'a [u8],
    /// White space and `!`s after a prefix that is not a plaintext one.
    pub inner: &'a [u8],
    /// The rest: the hash (or, after a plaintext prefix, the password).
    pub digest: &'a [u8],
}

impl<'a> HashField<'a> {
    pub fn parse(field: &'a [u8]) -> HashField<'a> {
        let (lead, rest) = field.split_at(decoration_len(field));
        let prefix_len = scheme_prefix_len(rest).unwrap_or(0);
        let (prefix, rest) = rest.split_at(prefix_len);
        let inner_len = if prefix.is_empty() || is_plaintext_scheme(prefix) {
            0
        } else {
            decoration_len(rest)
        };
        let (inner, digest) = rest.split_at(inner_len);
        HashField {
            lead,
            prefix,
            inner,
            digest,
        }
    }

    /// Whether no reader accepts any password for this entry because of a
    /// `!` in its decoration.
    pub fn is_locked(&self) -> bool {
        self.lead.contains(&b'!') || self.inner.contains(&b'!')
    }

    /// The field with every `!` of its decoration removed, white space kept.
    pub fn unlocked(&self) -> Vec<u8> {
        let mut field = Vec::with_capacity(self.lead.len() + self.prefix.len() + self.digest.len());
        field.extend(self.lead.iter().filter(|&&byte| byte != b'!'));
        field.extend_from_slice(self.prefix);
        field.extend(self.inner.iter().filter(|&&byte| byte != b'!'));
        field.extend_from_slice(self.digest);
        field
    }
}

/// Whether a stored hash field is locked; see [`HashField::is_locked`].
pub fn is_locked(field: &[u8]) -> bool {
    HashField::parse(field).is_locked()
}

fn is_plaintext_scheme(prefix: &[u8]) -> bool {
    PLAINTEXT_SCHEMES
        .iter()
        .any(|scheme| scheme.eq_ignore_ascii_case(prefix))
}

/// How many leading bytes are white space or `!`.
fn decoration_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|&&byte| byte == b'!' || is_c_space(byte))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// field, lead, prefix, inner, digest, locked, unlocked
    type Case = (
        &'static [u8],
        &'static [u8],
        &'static [u8],
        &'static [u8],
        &'static [u8],
        bool,
        &'static [u8],
    );

    #[test]
    fn splits_the_decoration_as_the_readers_see_it() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (b"$6$x", b"", b"", b"", b"$6$x", false, b"$6$x"),
            (b"!$6$x", b"!", b"", b"", b"$6$x", true, b"$6$x"),
            (b"!!$6$x", b"!!", b"", b"", b"$6$x", true, b"$6$x"),
            // Exim skips the white space and sees the `!`.
            (b" !$6$x", b" !", b"", b"", b"$6$x", true, b" $6$x"),
            (b"\t! !$6$x", b"\t! !", b"", b"", b"$6$x", true, b"\t $6$x"),
            (b" $6$x", b" ", b"", b"", b"$6$x", false, b" $6$x"),
            (b"{SHA512-CRYPT}$6$x", b"", b"{SHA512-CRYPT}", b"", b"$6$x", false, b"{SHA512-CRYPT}$6$x"),
            (b"{SHA512-CRYPT}!$6$x", b"", b"{SHA512-CRYPT}", b"!", b"$6$x", true, b"{SHA512-CRYPT}$6$x"),
            (b"{sha512-crypt} !$6$x", b"", b"{sha512-crypt}", b" !", b"$6$x", true, b"{sha512-crypt} $6$x"),
            (b"!{CRYPT}!$1$x", b"!", b"{CRYPT}", b"!", b"$1$x", true, b"{CRYPT}$1$x"),
            (b" {SHA512-CRYPT}$6$x", b" ", b"{SHA512-CRYPT}", b"", b"$6$x", false, b" {SHA512-CRYPT}$6$x"),
            // No encoded digest starts with `!`: it can only be a lock.
            (b"{SSHA}!abc=", b"", b"{SSHA}", b"!", b"abc=", true, b"{SSHA}abc="),
            // After a plaintext scheme the `!` is the password's.
            (b"{PLAIN}!x", b"", b"{PLAIN}", b"", b"!x", false, b"{PLAIN}!x"),
            (b"{clear}!x", b"", b"{clear}", b"", b"!x", false, b"{clear}!x"),
            (b"{CLEARTEXT} !x", b"", b"{CLEARTEXT}", b"", b" !x", false, b"{CLEARTEXT} !x"),
            (b"!{PLAIN}!x", b"!", b"{PLAIN}", b"", b"!x", true, b"{PLAIN}!x"),
            (b"", b"", b"", b"", b"", false, b""),
            (b"!", b"!", b"", b"", b"", true, b""),
            (b"{}!x", b"", b"", b"", b"{}!x", false, b"{}!x"),
        ];
        for &(field, lead, prefix, inner, digest, locked, unlocked) in cases {
            let parsed = HashField::parse(field);
            let expected = HashField {
                lead,
                prefix,
                inner,
                digest,
            };
            assert_eq!(parsed, expected, "{:?}", String::from_utf8_lossy(field));
            assert_eq!(
                parsed.is_locked(),
                locked,
                "{:?}",
                String::from_utf8_lossy(field)
            );
            assert_eq!(
                parsed.unlocked(),
                unlocked,
                "{:?}",
                String::from_utf8_lossy(field)
            );
        }
    }
}
