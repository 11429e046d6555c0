//! Internationalized domain names, only to say what to type instead: the
//! library takes domains in their ASCII form (`xn--…`, as they are named in
//! DNS and in the mail servers' lookups), and a name given in Unicode is
//! answered with that form. Punycode is RFC 3492; labels are lower-cased
//! first, which is what IDNA's mapping does for the names people type.

/// RFC 3492, section 5: the parameters of Punycode.
const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// The ASCII form of a Unicode domain name (`bücher.example` →
/// `xn--bcher-kva.example`), or `None` when a label holds anything but
/// letters, digits and `-`, or a combining mark (a name that needs Unicode
/// normalization first, which is beyond a hint).
pub fn to_ascii(name: &str) -> Option<String> {
    let labels: Option<Vec<String>> = name
        .split('.')
        .map(|label| {
            let label = label.to_lowercase();
            let plain = label
                .chars()
                .all(|c| (c.is_alphanumeric() || c == '-') && !is_combining(c));
            if !plain || label.is_empty() {
                None
            } else if label.is_ascii() {
                Some(label)
            } else {
                punycode(&label).map(|encoded| format!("xn--{encoded}"))
            }
        })
        .collect();
    Some(labels?.join("."))
}

/// The combining diacritical marks (U+0300–U+036F and their supplements),
/// which only follow a base letter when the name is not in NFC.
fn is_combining(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// RFC 3492, section 6.3: the encoding procedure. `None` on overflow.
fn punycode(input: &str) -> Option<String> {
    let code_points: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    if basic > 0 {
        output.push('-');
    }
    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic;
    let total = u32::try_from(code_points.len()).ok()?;
    while handled < total {
        let next = *code_points.iter().filter(|&&c| c >= n).min()?;
        delta = delta.checked_add((next - n).checked_mul(handled + 1)?)?;
        n = next;
        for &c in &code_points {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

/// RFC 3492, section 6.1: bias adaptation.
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

/// 0–25 are `a`–`z`, 26–35 are `0`–`9`.
fn digit(value: u32) -> char {
    let value = value as u8;
    char::from(if value < 26 {
        b'a' + value
    } else {
        b'0' + value - 26
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("bücher.example", Some("xn--bcher-kva.example")),
            ("BÜCHER.Example", Some("xn--bcher-kva.example")),
            ("münchen.de", Some("xn--mnchen-3ya.de")),
            ("ñandú.example", Some("xn--and-6ma2c.example")),
            ("例え.jp", Some("xn--r8jz45g.jp")),
            ("παράδειγμα.gr", Some("xn--hxajbheg2az3al.gr")),
            // RFC 3492, section 7.1, sample (L), lower-cased.
            ("3年b組金八先生.jp", Some("xn--3b-ww4c5e180e575a65lsy2b.jp")),
            ("mail.bücher.example", Some("mail.xn--bcher-kva.example")),
            ("bu\u{308}cher.example", None),
            ("bü cher.example", None),
            ("bücher..example", None),
        ];
        for (name, expected) in cases {
            assert_eq!(to_ascii(name).as_deref(), *expected, "{name}");
        }
    }
}
