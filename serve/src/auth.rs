//! The `Authorization` header: HTTP Basic (self-service, full address and
//! current password) or cPanel's `cpanel NAME:TOKEN` / `whm NAME:TOKEN`
//! (admin). Its value is never logged or echoed.

use base64::Engine as _;
use zeroize::Zeroizing;

pub enum Auth {
    None,
    Basic {
        user: String,
        password: Zeroizing<Vec<u8>>,
    },
    Token {
        scheme: Scheme,
        name: String,
        token: Zeroizing<Vec<u8>>,
    },
    /// Present but unusable: answered like wrong credentials.
    Malformed,
}

/// Whose token: a cPanel user's (`cpanel`, acts for that user only) or the
/// server admin's (`whm`, may act for any user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Cpanel,
    Whm,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, even in a debug print.
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user})"),
            Auth::Token { scheme, name, .. } => write!(f, "Token({scheme:?} {name})"),
            Auth::Malformed => f.write_str("Malformed"),
        }
    }
}

impl Auth {
    pub fn parse(header: Option<&[u8]>) -> Auth {
        let Some(header) = header else {
            return Auth::None;
        };
        let header = trim(header);
        let Some(space) = header.iter().position(|&byte| byte == b' ') else {
            return Auth::Malformed;
        };
        let (scheme, rest) = (&header[..space], trim(&header[space + 1..]));
        if scheme.eq_ignore_ascii_case(b"basic") {
            parse_basic(rest)
        } else if scheme.eq_ignore_ascii_case(b"cpanel") {
            parse_token(Scheme::Cpanel, rest)
        } else if scheme.eq_ignore_ascii_case(b"whm") {
            parse_token(Scheme::Whm, rest)
        } else {
            Auth::Malformed
        }
    }
}

fn parse_basic(encoded: &[u8]) -> Auth {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return Auth::Malformed;
    };
    let decoded = Zeroizing::new(decoded);
    let Some(colon) = decoded.iter().position(|&byte| byte == b':') else {
        return Auth::Malformed;
    };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    match std::str::from_utf8(user) {
        Ok(user) if !user.is_empty() && !password.is_empty() && !password.contains(&0) => {
            Auth::Basic {
                user: user.to_owned(),
                password: Zeroizing::new(password.to_vec()),
            }
        }
        _ => Auth::Malformed,
    }
}

fn parse_token(scheme: Scheme, value: &[u8]) -> Auth {
    let Some(colon) = value.iter().position(|&byte| byte == b':') else {
        return Auth::Malformed;
    };
    match std::str::from_utf8(&value[..colon]) {
        Ok(name) if !name.is_empty() => Auth::Token {
            scheme,
            name: name.to_owned(),
            token: Zeroizing::new(value[colon + 1..].to_vec()),
        },
        _ => Auth::Malformed,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |at| at + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
        .into_bytes()
    }

    #[test]
    fn headers_map_to_the_right_kind() {
        let cases: Vec<(Option<Vec<u8>>, &str)> = vec![
            (None, "None"),
            (
                Some(basic("bob@example.com:s3cr:et")),
                "Basic(bob@example.com)",
            ),
            (Some(b"basic Ym9iOnB3".to_vec()), "Basic(bob)"),
            (Some(b"cpanel ops:ABC123".to_vec()), "Token(Cpanel ops)"),
            (Some(b"WHM  ops:ABC123 ".to_vec()), "Token(Whm ops)"),
            (Some(basic("bob@example.com:")), "Malformed"),
            (Some(basic(":pw")), "Malformed"),
            (Some(basic("bob")), "Malformed"),
            (Some(b"Basic !!!".to_vec()), "Malformed"),
            (Some(b"Bearer abc".to_vec()), "Malformed"),
            (Some(b"cpanel ops".to_vec()), "Malformed"),
            (Some(b"cpanel :tok".to_vec()), "Malformed"),
            (Some(b"Basic".to_vec()), "Malformed"),
        ];
        for (header, expected) in cases {
            let auth = Auth::parse(header.as_deref());
            assert_eq!(format!("{auth:?}"), expected, "{header:?}");
        }
        match Auth::parse(Some(&basic("bob@example.com:s3cr:et"))) {
            Auth::Basic { password, .. } => assert_eq!(password.as_slice(), b"s3cr:et"),
            other => panic!("{other:?}"),
        }
        match Auth::parse(Some(b"cpanel ops:ABC:123")) {
            Auth::Token { token, .. } => assert_eq!(token.as_slice(), b"ABC:123"),
            other => panic!("{other:?}"),
        }
    }
}
