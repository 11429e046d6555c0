//! The rules for the three arguments. A value that passes is safe to use as a
//! path component (domain) or to compare against a shadow file's first field (user).

use crate::error::{quoted, Error, Status};

/// Longest domain name (RFC 1035, without the trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest local part (RFC 5321).
pub const MAX_USER_LEN: usize = 64;
/// Longest password libxcrypt's `crypt(3)` accepts; Exim and Dovecot verify with it.
pub const MAX_PASSWORD_LEN: usize = 511;

/// A valid domain: lower-case ASCII LDH labels, at least two of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    pub fn parse(raw: &[u8]) -> Result<Domain, Error> {
        let invalid = |why: &str| {
            Error::new(
                Status::InvalidDomain,
                format!("invalid domain {}: {why}", quoted(raw)),
            )
        };
        let name = raw.strip_suffix(b".").unwrap_or(raw);
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(error) = unicode_name(name) {
            return Err(error);
        }
        if name.len() > MAX_DOMAIN_LEN {
            return Err(invalid("longer than 253 characters"));
        }
        let mut labels = 0;
        for label in name.split(|&byte| byte == b'.') {
            labels += 1;
            if label.is_empty() {
                return Err(invalid("it has an empty label"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(invalid("a label is longer than 63 characters"));
            }
            if !label
                .iter()
                .all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-')
            {
                return Err(invalid(
                    "only letters, digits, '-' and '.' are allowed (IDNs in their xn-- form)",
                ));
            }
            if label.starts_with(b"-") || label.ends_with(b"-") {
                return Err(invalid("a label starts or ends with '-'"));
            }
        }
        if labels < 2 {
            return Err(invalid("it needs at least two labels, as in example.com"));
        }
        let lower = name.to_ascii_lowercase();
        Ok(Domain(String::from_utf8(lower).expect("checked ASCII")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A domain given in Unicode, answered with its ASCII form when it looks
/// like a domain at all: shown as text (not escaped bytes), which is safe
/// when it holds only letters, digits, `-` and `.`.
fn unicode_name(name: &[u8]) -> Option<Error> {
    let text = std::str::from_utf8(name)
        .ok()
        .filter(|text| !text.is_ascii())?;
    if !text
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    let form = match crate::idn::to_ascii(text) {
        Some(ascii) => format!("use its ASCII form, {ascii}"),
        None => "use its ASCII (xn--) form, as `idn2` prints it".to_owned(),
    };
    Some(Error::new(
        Status::InvalidDomain,
        format!(
            "invalid domain '{text}': an internationalized name is not accepted as Unicode; {form}"
        ),
    ))
}

/// A valid local part, as given (its case is matched loosely, never rewritten).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(String);

impl User {
    /// Accepts a local part, or a full address whose domain is `domain`.
    pub fn parse(raw: &[u8], domain: &Domain) -> Result<User, Error> {
        let invalid = |why: String| {
            Error::new(
                Status::InvalidUser,
                format!("invalid user {}: {why}", quoted(raw)),
            )
        };
        let mut parts = raw.splitn(3, |&byte| byte == b'@');
        let local = parts.next().unwrap_or_default();
        if let Some(address_domain) = parts.next() {
            if parts.next().is_some() {
                return Err(invalid("more than one '@'".into()));
            }
            let same = Domain::parse(address_domain).is_ok_and(|parsed| parsed == *domain);
            if !same {
                return Err(invalid(format!(
                    "the address is not in the domain {}",
                    domain.as_str()
                )));
            }
        }
        if local.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if local.len() > MAX_USER_LEN {
            return Err(invalid("longer than 64 bytes".into()));
        }
        if !local
            .iter()
            .all(|&byte| byte.is_ascii_graphic() && byte != b':')
        {
            return Err(invalid(
                "only printable ASCII without ':', spaces or control characters is allowed".into(),
            ));
        }
        if local.starts_with(b"#") {
            return Err(invalid(
                "it starts with '#', which marks a comment line".into(),
            ));
        }
        Ok(User(
            String::from_utf8(local.to_vec()).expect("checked ASCII"),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a password's length and bytes; never quotes it.
pub fn check_password(password: &[u8]) -> Result<(), Error> {
    let why = if password.is_empty() {
        "it is empty"
    } else if password.len() > MAX_PASSWORD_LEN {
        "longer than 511 bytes, the most crypt(3) accepts"
    } else if password.contains(&0) {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(Error::new(
        Status::InvalidPassword,
        format!("invalid password: {why}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Domain {
        Domain::parse(b"example.com").unwrap()
    }

    #[test]
    fn domains() {
        let label63 = format!("{}.com", "a".repeat(63));
        let label64 = format!("{}.com", "a".repeat(64));
        let long253 = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(61));
        let long254 = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "a".repeat(62));
        let good: &[(&[u8], &str)] = &[
            (b"example.com", "example.com"),
            (b"Example.COM", "example.com"),
            (b"example.com.", "example.com"),
            (b"mail-1.example.co.uk", "mail-1.example.co.uk"),
            (b"xn--bcher-kva.example", "xn--bcher-kva.example"),
            (b"1.2", "1.2"),
            (label63.as_bytes(), ""),
            (long253.as_bytes(), ""),
        ];
        for (raw, expected) in good {
            let parsed = Domain::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            if !expected.is_empty() {
                assert_eq!(parsed.as_str(), *expected);
            }
        }
        let bad: &[&[u8]] = &[
            b"",
            b".",
            b"..",
            b"/",
            b"etc",
            b"com.",
            b"a..b.com",
            b".example.com",
            b"example.com..",
            b"-x.com",
            b"x-.com",
            b"ex ample.com",
            b"ex_ample.com",
            b"../etc",
            b"example.com/shadow",
            b"b\xc3\xbccher.example",
            b"exa\0mple.com",
            label64.as_bytes(),
            long254.as_bytes(),
        ];
        for raw in bad {
            let err = Domain::parse(raw).expect_err(&format!("{raw:?} accepted"));
            assert_eq!(err.status(), Status::InvalidDomain, "{raw:?}");
            assert!(err.message().starts_with("invalid domain"), "{err}");
        }
    }

    #[test]
    fn unicode_domains_are_shown_as_text_with_their_ascii_form() {
        let cases: &[(&[u8], &str)] = &[
            (
                "bücher.example".as_bytes(),
                "invalid domain 'bücher.example': an internationalized name is not accepted \
                 as Unicode; use its ASCII form, xn--bcher-kva.example",
            ),
            (
                "Bücher.Example.".as_bytes(),
                "invalid domain 'Bücher.Example': an internationalized name is not accepted \
                 as Unicode; use its ASCII form, xn--bcher-kva.example",
            ),
            (
                "bu\u{308}cher.example".as_bytes(),
                "invalid domain 'bu\\xcc\\x88cher.example': only letters",
            ),
            (
                "bü\u{202e}cher.example".as_bytes(),
                "invalid domain 'b\\xc3\\xbc\\xe2\\x80\\xaecher.example': only letters",
            ),
            (
                b"b\xfccher.example",
                "invalid domain 'b\\xfccher.example': only letters",
            ),
        ];
        for (raw, expected) in cases {
            let err = Domain::parse(raw).unwrap_err();
            assert_eq!(err.status(), Status::InvalidDomain);
            assert!(err.message().starts_with(expected), "{err}");
        }
    }

    #[test]
    fn users() {
        let good: &[(&[u8], &str)] = &[
            (b"bob", "bob"),
            (b"Bob.Smith+tag", "Bob.Smith+tag"),
            (b"bob@example.com", "bob"),
            (b"bob@EXAMPLE.com.", "bob"),
            (b"a#b", "a#b"),
            (&[b'x'; 64], ""),
        ];
        for (raw, expected) in good {
            let user = User::parse(raw, &example()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            if !expected.is_empty() {
                assert_eq!(user.as_str(), *expected);
            }
        }
        let bad: &[&[u8]] = &[
            b"",
            b"@example.com",
            b"bob@other.com",
            b"bob@example.com@example.com",
            b"bob@",
            b"b:ob",
            b"b ob",
            b"b\tob",
            b"bob\n",
            b"#bob",
            b"b\x7fob",
            b"b\xc3\xa9",
            &[b'x'; 65],
        ];
        for raw in bad {
            let err = User::parse(raw, &example()).expect_err(&format!("{raw:?} accepted"));
            assert_eq!(err.status(), Status::InvalidUser, "{raw:?}");
        }
    }

    #[test]
    fn passwords() {
        let mut every_byte: Vec<u8> = (1..=255).collect();
        every_byte.extend_from_slice(b"more");
        for good in [&b"x"[..], b"12345luggage", &[b'p'; 511], &every_byte] {
            assert_eq!(check_password(good), Ok(()));
        }
        for bad in [&b""[..], &[b'p'; 512], b"a\0b", &[b'p'; 10_000_000]] {
            let err = check_password(bad).unwrap_err();
            assert_eq!(err.status(), Status::InvalidPassword);
        }
    }

    #[test]
    fn password_never_appears_in_messages() {
        let secret = b"s3cr3t-\0-value";
        let message = check_password(secret).unwrap_err().to_string();
        assert!(!message.contains("s3cr3t"), "{message}");
    }
}
