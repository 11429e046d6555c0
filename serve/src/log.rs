//! One line per request on standard error (journald under systemd):
//! `TIME peer=… protocol=… account=… outcome=… status=…`, then `http=CODE`
//! for HTTP requests and `token=NAME` for requests made with an admin token.
//! A poppassd session logs its successful login, its change and its end.
//!
//! Only these fields exist, so a password, a token or an Authorization
//! header has no way in. The account is what the client sent: it is escaped
//! so that it cannot forge a line or a field.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// How a request ended, as written in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    Failed,
    Denied,
    Throttled,
    BadRequest,
    Refused,
    /// poppassd: the current password was right.
    LoggedIn,
    /// poppassd: the session ended (the status says how).
    SessionEnd,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Changed => "changed",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
            Outcome::Throttled => "throttled",
            Outcome::BadRequest => "bad-request",
            Outcome::Refused => "refused",
            Outcome::LoggedIn => "logged-in",
            Outcome::SessionEnd => "session-end",
        }
    }
}

pub struct Record<'a> {
    pub peer: &'a str,
    pub protocol: &'a str,
    pub account: Option<&'a str>,
    pub outcome: Outcome,
    /// The library's status name (`NoSuchAccount`…) or the daemon's own.
    pub status: &'a str,
    /// The HTTP status code answered, for HTTP requests.
    pub http: Option<u16>,
    /// The admin token's name, for requests that presented one.
    pub token: Option<&'a str>,
}

pub fn write(record: &Record<'_>) {
    let line = format_line(record, SystemTime::now());
    // One write of one line: lines from many tasks never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn format_line(record: &Record<'_>, now: SystemTime) -> String {
    let mut line = timestamp(now);
    let _ = writeln!(
        line,
        " peer={} protocol={} account={} outcome={} status={}",
        escaped(record.peer),
        record.protocol,
        escaped(record.account.unwrap_or("-")),
        record.outcome.as_str(),
        escaped(record.status)
    );
    line.pop();
    if let Some(code) = record.http {
        let _ = write!(line, " http={code}");
    }
    if let Some(token) = record.token {
        let _ = write!(line, " token={}", escaped(token));
    }
    line.push('\n');
    line
}

/// Printable ASCII without spaces or `=`; anything else as `\xNN`, and at
/// most 128 characters shown.
fn escaped(text: &str) -> String {
    let mut shown = String::new();
    for &byte in text.as_bytes().iter().take(128) {
        if byte.is_ascii_graphic() && byte != b'=' && byte != b'\\' {
            shown.push(char::from(byte));
        } else {
            let _ = write!(shown, "\\x{byte:02x}");
        }
    }
    if text.len() > 128 {
        shown.push_str("...");
    }
    shown
}

/// RFC 3339 UTC with milliseconds, from the civil-from-days algorithm
/// (Howard Hinnant's, proleptic Gregorian).
fn timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_match_known_dates() {
        let cases: &[(u64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (1_709_164_799, "2024-02-28T23:59:59.000Z"),
            (4_102_444_800, "2100-01-01T00:00:00.000Z"),
        ];
        for (secs, expected) in cases {
            assert_eq!(
                timestamp(UNIX_EPOCH + Duration::from_secs(*secs)),
                *expected
            );
        }
    }

    #[test]
    fn a_line_has_every_field_and_hostile_accounts_stay_inside_theirs() {
        let record = Record {
            peer: "127.0.0.1:4000",
            protocol: "poppassd",
            account: Some("bob@x.test\n2026 peer=forged outcome=changed"),
            outcome: Outcome::Denied,
            status: "PasswordMismatch",
            http: None,
            token: None,
        };
        let line = format_line(&record, UNIX_EPOCH);
        assert_eq!(
            line,
            "1970-01-01T00:00:00.000Z peer=127.0.0.1:4000 protocol=poppassd \
             account=bob@x.test\\x0a2026\\x20peer\\x3dforged\\x20outcome\\x3dchanged \
             outcome=denied status=PasswordMismatch\n"
        );
        assert_eq!(line.matches('\n').count(), 1);
        let record = Record {
            peer: "[::1]:4000",
            protocol: "uapi/https",
            account: Some("bob@x.test"),
            outcome: Outcome::Changed,
            status: "Ok",
            http: Some(200),
            token: Some("ops team"),
        };
        assert_eq!(
            format_line(&record, UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z peer=[::1]:4000 protocol=uapi/https account=bob@x.test \
             outcome=changed status=Ok http=200 token=ops\\x20team\n"
        );
        let long = "a".repeat(500);
        assert_eq!(escaped(&long).len(), 131);
    }
}
