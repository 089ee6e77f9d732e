//! Dates and date-times: reading ISO strings, writing them, and ODK's `format-date` patterns.
//!
//! Calendar arithmetic goes through `chrono` (no clock: the current time always comes from the
//! caller). A date is a day number (days since 1970-01-01); a date-time is UTC milliseconds, shown
//! in local time through a UTC offset in minutes.

use chrono::{Datelike, NaiveDate, Timelike};

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_CE_DAYS: i32 = 719_163;

/// A date or date-time read from a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Parsed {
    /// `YYYY-MM-DD`.
    Date(i32),
    /// `YYYY-MM-DDTHH:MM[:SS[.fff]]` and an optional zone; `local_ms` is the wall-clock time as
    /// written, counted from 1970-01-01T00:00 of that wall clock.
    DateTime {
        local_ms: i64,
        offset_minutes: Option<i32>,
    },
}

impl Parsed {
    /// Wall-clock milliseconds in the caller's zone (`offset` minutes east of UTC).
    fn local_ms(self, offset: i32) -> i64 {
        match self {
            Parsed::Date(d) => i64::from(d) * DAY_MS,
            Parsed::DateTime {
                local_ms,
                offset_minutes: None,
            } => local_ms,
            Parsed::DateTime {
                local_ms,
                offset_minutes: Some(own),
            } => local_ms - i64::from(own) * MINUTE_MS + i64::from(offset) * MINUTE_MS,
        }
    }

    /// Fractional days since 1970-01-01 in the caller's zone.
    pub(crate) fn local_days(self, offset: i32) -> f64 {
        match self {
            Parsed::Date(d) => f64::from(d),
            other => other.local_ms(offset) as f64 / DAY_MS as f64,
        }
    }

    /// The date (day number) in the caller's zone.
    pub(crate) fn date(self, offset: i32) -> Option<i32> {
        match self {
            Parsed::Date(d) => Some(d),
            other => i32::try_from(other.local_ms(offset).div_euclid(DAY_MS)).ok(),
        }
    }

    /// The instant, UTC milliseconds; strings without a zone are in the caller's zone.
    pub(crate) fn utc_ms(self, offset: i32) -> i64 {
        self.local_ms(offset) - i64::from(offset) * MINUTE_MS
    }
}

/// Fractional local days since 1970-01-01 of a UTC instant.
pub(crate) fn local_days(utc_ms: i64, offset: i32) -> f64 {
    (utc_ms as f64 + f64::from(offset) * MINUTE_MS as f64) / DAY_MS as f64
}

/// The local date of a UTC instant.
pub(crate) fn local_date(utc_ms: i64, offset: i32) -> Option<i32> {
    let local = utc_ms.checked_add(i64::from(offset) * MINUTE_MS)?;
    i32::try_from(local.div_euclid(DAY_MS)).ok()
}

fn naive(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_CE_DAYS)?)
}

/// `YYYY-MM-DD`; empty when the day is outside the calendar chrono knows (±262,000 years).
pub(crate) fn date_string(days: i32) -> String {
    match naive(days) {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        None => String::new(),
    }
}

/// ISO 8601 with milliseconds and the zone, as ODK writes date-times:
/// `2024-05-01T10:30:00.000+08:00` (`Z` for UTC). Empty when out of range.
pub(crate) fn datetime_string(utc_ms: i64, offset: i32) -> String {
    let Some(local) = utc_ms.checked_add(i64::from(offset) * MINUTE_MS) else {
        return String::new();
    };
    let Some(t) = chrono::DateTime::from_timestamp_millis(local) else {
        return String::new();
    };
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.unsigned_abs();
        format!("{sign}{:02}:{:02}", o / 60, o % 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// Reads `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH:MM|±HHMM|±HH]` (a space may stand
/// for the `T`), ignoring surrounding whitespace. `None` for anything else or an impossible date.
pub(crate) fn parse(s: &str) -> Option<Parsed> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let days = date.num_days_from_ce() - EPOCH_CE_DAYS;
    if b.len() == 10 {
        return Some(Parsed::Date(days));
    }
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    if b.get(13) != Some(&b':') || hour > 23 || minute > 59 {
        return None;
    }
    let mut i = 16;
    let mut second = 0;
    let mut millis = 0;
    if b.get(i) == Some(&b':') {
        second = digits(b, i + 1, 2)?;
        if second > 59 {
            return None;
        }
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
            // Milliseconds: the first three digits, padded.
            let mut ms = 0;
            for k in 0..3 {
                let d = b
                    .get(start + k)
                    .filter(|_| start + k < i)
                    .map_or(0, |c| c - b'0');
                ms = ms * 10 + u32::from(d);
            }
            millis = ms;
        }
    }
    let offset_minutes = match b.get(i) {
        None => None,
        Some(b'Z') if i + 1 == b.len() => Some(0),
        Some(sign @ (b'+' | b'-')) => {
            let hh = digits(b, i + 1, 2)?;
            let rest = b.get(i + 3..).unwrap_or_default();
            let mm = match rest {
                [] => 0,
                [b':', m1, m2] | [m1, m2] => digits(&[*m1, *m2], 0, 2)?,
                _ => return None,
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let o = i32::try_from(hh * 60 + mm).ok()?;
            Some(if *sign == b'-' { -o } else { o })
        }
        _ => return None,
    };
    let local_ms = i64::from(days) * DAY_MS
        + i64::from(hour) * 3_600_000
        + i64::from(minute) * MINUTE_MS
        + i64::from(second) * 1000
        + i64::from(millis);
    Some(Parsed::DateTime {
        local_ms,
        offset_minutes,
    })
}

/// `n` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..n {
        let c = *b.get(at + k)?;
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// The `format-date` / `format-date-time` conversion characters ODK documents.
pub(crate) const FORMAT_CHARS: &str = "YymnbdeaHhMS3";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The 0-based character index of the first `%` not followed by a known conversion character.
pub(crate) fn bad_format(fmt: &str) -> Option<(usize, String)> {
    let mut chars = fmt.chars().enumerate();
    while let Some((i, c)) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some((_, k)) if FORMAT_CHARS.contains(k) => {}
                Some((_, k)) => return Some((i, format!("%{k}"))),
                None => return Some((i, "%".to_string())),
            }
        }
    }
    None
}

/// Formats local wall-clock milliseconds with ODK's pattern: `%Y` year, `%y` 2-digit year, `%m`
/// 2-digit month, `%n` month, `%b` month abbreviation (English), `%d` 2-digit day, `%e` day, `%a`
/// weekday abbreviation (English), `%H` 2-digit hour (24 h), `%h` hour, `%M` 2-digit minute,
/// `%S` 2-digit second, `%3` 3-digit milliseconds. Anything else is copied as it is. Empty when
/// out of range.
pub(crate) fn format(fmt: &str, local_ms: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(local_ms) else {
        return String::new();
    };
    let mut out = String::with_capacity(fmt.len() + 8);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(k) = chars.next() else {
            out.push('%');
            break;
        };
        let month0 = t.month0() as usize;
        let weekday = t.weekday().num_days_from_monday() as usize;
        match k {
            'Y' => out.push_str(&format!("{:04}", t.year())),
            'y' => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            'm' => out.push_str(&format!("{:02}", t.month())),
            'n' => out.push_str(&t.month().to_string()),
            'b' => out.push_str(MONTHS.get(month0).copied().unwrap_or("")),
            'd' => out.push_str(&format!("{:02}", t.day())),
            'e' => out.push_str(&t.day().to_string()),
            'a' => out.push_str(WEEKDAYS.get(weekday).copied().unwrap_or("")),
            'H' => out.push_str(&format!("{:02}", t.hour())),
            'h' => out.push_str(&t.hour().to_string()),
            'M' => out.push_str(&format!("{:02}", t.minute())),
            'S' => out.push_str(&format!("{:02}", t.second())),
            '3' => out.push_str(&format!("{:03}", t.timestamp_subsec_millis())),
            other => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_strings_are_read_strictly() {
        assert_eq!(parse("1970-01-01"), Some(Parsed::Date(0)));
        assert_eq!(parse(" 2024-05-01 "), Some(Parsed::Date(19844)));
        assert_eq!(
            parse("1970-01-02T01:00:00.5+08:00"),
            Some(Parsed::DateTime {
                local_ms: DAY_MS + 3_600_000 + 500,
                offset_minutes: Some(480)
            })
        );
        assert_eq!(
            parse("1970-01-01 00:01"),
            Some(Parsed::DateTime {
                local_ms: 60_000,
                offset_minutes: None
            })
        );
        for bad in [
            "2024-02-30",
            "2024-5-1",
            "24-05-01",
            "2024-05-01T",
            "2024-05-01T24:00",
            "2024-05-01T10:00+0800x",
            "2024-05-01Z",
            "2024/05/01",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn strings_are_written_as_odk_does() {
        assert_eq!(date_string(19844), "2024-05-01");
        assert_eq!(date_string(-1), "1969-12-31");
        assert_eq!(date_string(i32::MAX), "");
        let t = 19844 * DAY_MS + 2 * 3_600_000 + 30 * 60_000;
        assert_eq!(datetime_string(t, 480), "2024-05-01T10:30:00.000+08:00");
        assert_eq!(datetime_string(t, 0), "2024-05-01T02:30:00.000Z");
        assert_eq!(datetime_string(t, -150), "2024-05-01T00:00:00.000-02:30");
        assert_eq!(datetime_string(i64::MAX, 480), "");
    }
}
