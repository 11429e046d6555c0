//! Which mail account a request names: a local part and a domain, from a full
//! address or from separate fields. Most syntax is the library's business (it
//! validates both on every call), but the throttle counts by [`Account::key`]
//! before the library has seen the name, so whatever two spellings the
//! library would take as one account must have one key here, and a key must
//! be small: one '@' only (the library reads `bob@example.com` as the local
//! part `bob` of example.com), printable ASCII, and the library's length limits.

use std::fmt;

use passwdpop::{MAX_DOMAIN_LEN, MAX_USER_LEN};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub local: String,
    pub domain: String,
}

impl Account {
    /// `email` is a local part or `local@domain`; a `domain` given beside a
    /// full address must be the same domain. Without either, `default_domain`.
    pub fn from_parts(
        email: &str,
        domain: Option<&str>,
        default_domain: Option<&str>,
    ) -> Result<Account, String> {
        if email.is_empty() {
            return Err("the email address is empty".into());
        }
        let (local, domain) = match email.rsplit_once('@') {
            Some((local, in_address)) => {
                if let Some(domain) = domain {
                    if !same_domain(domain, in_address) {
                        return Err(format!(
                            "the address's domain '{in_address}' differs from domain '{domain}'"
                        ));
                    }
                }
                (local, in_address)
            }
            None => match domain.or(default_domain) {
                Some(domain) => (email, domain),
                None => return Err("missing domain: give a full address or the domain".into()),
            },
        };
        if local.is_empty() || domain.is_empty() {
            return Err(format!("'{email}' is not a mail address"));
        }
        if local.contains('@') {
            return Err(format!(
                "'{}' has more than one '@'",
                email.escape_default()
            ));
        }
        let printable = |part: &str| part.bytes().all(|byte| byte.is_ascii_graphic());
        if !printable(local) || !printable(domain) {
            return Err(format!(
                "'{}' is not a mail address: printable ASCII only (a Unicode domain in its \
                 xn-- form)",
                email.escape_default()
            ));
        }
        if local.len() > MAX_USER_LEN || domain.trim_end_matches('.').len() > MAX_DOMAIN_LEN {
            return Err(format!(
                "the address is too long: at most {MAX_USER_LEN} bytes before the '@' and \
                 {MAX_DOMAIN_LEN} after"
            ));
        }
        Ok(Account {
            local: local.to_owned(),
            domain: domain.to_owned(),
        })
    }

    /// The form used for throttling, logs and scope checks: lower case, no
    /// trailing dot (the library matches users and domains that way).
    pub fn key(&self) -> String {
        format!(
            "{}@{}",
            self.local.to_ascii_lowercase(),
            self.domain.trim_end_matches('.').to_ascii_lowercase()
        )
    }

    pub fn is(&self, other: &Account) -> bool {
        self.key() == other.key()
    }
}

fn same_domain(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_combine_into_one_account_or_a_reason() {
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let cases: &[Case] = &[
            ("bob@example.com", None, None, Ok("bob@example.com")),
            ("Bob@Example.COM.", None, None, Ok("bob@example.com")),
            ("bob", Some("example.com"), None, Ok("bob@example.com")),
            (
                "bob@example.com",
                Some("EXAMPLE.com"),
                None,
                Ok("bob@example.com"),
            ),
            ("bob", None, Some("default.test"), Ok("bob@default.test")),
            (
                "bob",
                Some("example.com"),
                Some("default.test"),
                Ok("bob@example.com"),
            ),
            ("bob@example.com", Some("example.org"), None, Err("differs")),
            ("bob", None, None, Err("missing domain")),
            ("", Some("example.com"), None, Err("empty")),
            ("@example.com", None, None, Err("not a mail address")),
            ("bob@", None, None, Err("not a mail address")),
            // The library takes the local part `bob@example.com` as bob: one
            // account must not have two throttle keys.
            (
                "bob@example.com@example.com",
                None,
                None,
                Err("more than one '@'"),
            ),
            (
                "bob@example.com",
                Some("example.com"),
                None,
                Ok("bob@example.com"),
            ),
            ("bob@x.test", Some("x.test"), None, Ok("bob@x.test")),
            ("BOB@X.TEST", Some("x.test"), None, Ok("bob@x.test")),
            (
                "bob@example.com",
                Some("example.com"),
                Some("d.test"),
                Ok("bob@example.com"),
            ),
            ("b\u{f6}b@example.com", None, None, Err("printable ASCII")),
            ("bob@b\u{fc}cher.example", None, None, Err("xn--")),
            ("b ob@example.com", None, None, Err("printable ASCII")),
        ];
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_domain = format!("bob@{}.com", "a".repeat(250));
        let ok_local = format!("{}@example.com", "a".repeat(64));
        let bounded = [
            (long_local.as_str(), Err("too long")),
            (long_domain.as_str(), Err("too long")),
            (ok_local.as_str(), Ok(ok_local.as_str())),
        ];
        let cases: Vec<Case> = cases
            .iter()
            .copied()
            .chain(
                bounded
                    .iter()
                    .map(|(email, expected)| (*email, None, None, *expected)),
            )
            .collect();
        for (email, domain, default, expected) in &cases {
            let got = Account::from_parts(email, *domain, *default);
            match (expected, got) {
                (Ok(key), Ok(account)) => assert_eq!(account.key(), *key, "{email}"),
                (Err(part), Err(message)) => assert!(message.contains(part), "{email}: {message}"),
                (expected, got) => panic!("{email}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}
