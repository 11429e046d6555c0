//! `application/x-www-form-urlencoded` fields from a query string and a body,
//! parsed strictly: bad percent-encoding, a name that is not UTF-8, a field
//! given twice or a value with a NUL byte is an error, never a guess.
//! Values stay bytes (a password may be any bytes but NUL) and are wiped
//! when dropped.

use percent_encoding::percent_decode;
use zeroize::Zeroizing;

/// Most fields one request may carry (the biggest call takes four).
pub const MAX_FIELDS: usize = 32;

#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, Zeroizing<Vec<u8>>)>,
}

impl Form {
    /// Adds the fields of one encoded string (a query string or a body).
    pub fn parse(&mut self, encoded: &[u8]) -> Result<(), String> {
        for pair in encoded.split(|&byte| byte == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode(name)?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| "a field name is not valid UTF-8".to_owned())?;
            let value = decode(value)?;
            if value.contains(&0) {
                return Err(format!("field '{}' contains a NUL byte", shown(&name)));
            }
            if self.fields.iter().any(|(known, _)| *known == name) {
                return Err(format!("field '{}' is given more than once", shown(&name)));
            }
            if self.fields.len() == MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} fields"));
            }
            self.fields.push((name, value));
        }
        Ok(())
    }

    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_slice())
    }

    /// A field that names something (an account, a domain, a user): UTF-8.
    pub fn text(&self, name: &str) -> Result<Option<&str>, String> {
        self.bytes(name)
            .map(|value| {
                std::str::from_utf8(value).map_err(|_| format!("field '{name}' is not valid UTF-8"))
            })
            .transpose()
    }

    /// A secret field, copied into a buffer that is wiped when dropped.
    pub fn secret(&self, name: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.bytes(name).map(|value| Zeroizing::new(value.to_vec()))
    }
}

/// Percent-decoding with `+` as a space; `%` must be followed by two hex digits.
fn decode(raw: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut at = 0;
    while let Some(offset) = raw[at..].iter().position(|&byte| byte == b'%') {
        let percent = at + offset;
        let hex = raw.get(percent + 1..percent + 3);
        if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            return Err("bad percent-encoding (a '%' must be followed by two hex digits)".into());
        }
        at = percent + 3;
    }
    let spaced = Zeroizing::new(
        raw.iter()
            .map(|&byte| if byte == b'+' { b' ' } else { byte })
            .collect::<Vec<u8>>(),
    );
    Ok(Zeroizing::new(percent_decode(&spaced).collect()))
}

fn shown(name: &str) -> String {
    name.chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_decode_or_fail_with_a_reason() {
        type Fields<'a> = &'a [(&'a str, &'a [u8])];
        let cases: &[(&[u8], Result<Fields, &str>)] = &[
            (
                b"email=bob&password=a%20b%2Bc+d",
                Ok(&[("email", b"bob"), ("password", b"a b+c d")]),
            ),
            (b"&&email=bob&", Ok(&[("email", b"bob")])),
            (b"flag", Ok(&[("flag", b"")])),
            (b"password=%FF%fe", Ok(&[("password", b"\xff\xfe")])),
            (b"password=a=b", Ok(&[("password", b"a=b")])),
            (b"password=%zz", Err("bad percent-encoding")),
            (b"password=100%", Err("bad percent-encoding")),
            (b"password=%4", Err("bad percent-encoding")),
            (b"%FF=1", Err("not valid UTF-8")),
            (b"password=a%00b", Err("NUL")),
            (b"email=a&email=b", Err("more than once")),
        ];
        for (input, expected) in cases {
            let mut form = Form::default();
            let got = form.parse(input);
            match expected {
                Ok(fields) => {
                    assert!(got.is_ok(), "{input:?}: {got:?}");
                    for (name, value) in *fields {
                        assert_eq!(form.bytes(name), Some(*value), "{input:?}");
                    }
                    assert_eq!(form.fields.len(), fields.len());
                }
                Err(part) => assert!(got.unwrap_err().contains(part), "{input:?}"),
            }
        }
    }

    #[test]
    fn query_and_body_together_still_refuse_duplicates_and_floods() {
        let mut form = Form::default();
        form.parse(b"email=bob").unwrap();
        assert!(form
            .parse(b"email=eve")
            .unwrap_err()
            .contains("more than once"));

        let mut form = Form::default();
        let many: Vec<u8> = (0..=MAX_FIELDS)
            .map(|n| format!("f{n}=1&"))
            .collect::<String>()
            .into_bytes();
        assert!(form.parse(&many).unwrap_err().contains("fields"));

        let mut form = Form::default();
        form.parse(b"domain=%FF").unwrap();
        assert!(form.text("domain").unwrap_err().contains("UTF-8"));
        assert_eq!(form.text("missing").unwrap(), None);
    }
}
