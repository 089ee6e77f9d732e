//! Values and the XPath 1.0 coercions between them.

use super::dates;
use std::borrow::Cow;

/// A value an expression produces, or that a question holds.
///
/// An unanswered question is `String("")`: XLSForm has no null. `PartialEq` is structural (as
/// for `f64`, `Number(NaN) != Number(NaN)`); XPath comparison is what `=` does in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (also the value of select questions: space-separated choice names).
    String(String),
    /// A number (XPath numbers are IEEE doubles; NaN is "not a number").
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A calendar date: days since 1970-01-01.
    Date(i32),
    /// An instant: milliseconds since the Unix epoch, UTC.
    DateTime(i64),
    /// A node-set: the values of every instance of a question inside a repeat.
    Nodes(Vec<Value>),
}

impl Default for Value {
    /// The empty answer, `String("")`.
    fn default() -> Self {
        Value::String(String::new())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Number(x)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl Value {
    /// XPath `string()`: numbers without a trailing `.0` and without exponent, `NaN`,
    /// `Infinity`/`-Infinity`; `true`/`false`; dates as `YYYY-MM-DD`; a node-set is its first
    /// value (`""` when empty). Date-times are written in UTC (`2024-05-01T02:30:00.000Z`); inside
    /// an expression they are written in the local time of the [`Env`](super::Env) — see
    /// [`Value::to_string_at`].
    pub fn to_string_value(&self) -> String {
        self.to_string_at(0)
    }

    /// Like [`Value::to_string_value`], writing date-times in the local time of the given UTC
    /// offset, the way ODK stores them: `2024-05-01T10:30:00.000+08:00`.
    pub fn to_string_at(&self, utc_offset_minutes: i32) -> String {
        Scalar::of(self).string(utc_offset_minutes).into_owned()
    }

    /// XPath `number()`: strings are parsed as trimmed decimals (no exponent, no `+`; anything
    /// else, including `""`, is NaN); `true` is 1 and `false` 0; dates are days since 1970-01-01;
    /// date-times are fractional days since 1970-01-01T00:00Z; a node-set is its first value
    /// (NaN when empty).
    pub fn to_number(&self) -> f64 {
        Scalar::of(self).number(0)
    }

    /// XPath `boolean()`: a string is true when non-empty (so `'false'` is true), a number when
    /// neither 0 nor NaN, a node-set when it has any member; dates are true.
    pub fn to_bool(&self) -> bool {
        match self {
            Value::Nodes(v) => !v.is_empty(),
            other => Scalar::of(other).truthy(),
        }
    }

    /// Whether this is an empty answer: the empty string, or a node-set without members.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::String(s) => s.is_empty(),
            Value::Nodes(v) => v.is_empty(),
            _ => false,
        }
    }
}

/// A single (non-node-set) value, borrowed: what coercions and comparisons work on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Date(i32),
    DateTime(i64),
}

impl<'a> Scalar<'a> {
    /// The value itself, or for a node-set its first member (`""` when empty).
    pub(crate) fn of(v: &'a Value) -> Scalar<'a> {
        let mut v = v;
        loop {
            return match v {
                Value::String(s) => Scalar::Str(s),
                Value::Number(x) => Scalar::Num(*x),
                Value::Bool(b) => Scalar::Bool(*b),
                Value::Date(d) => Scalar::Date(*d),
                Value::DateTime(t) => Scalar::DateTime(*t),
                Value::Nodes(members) => match members.first() {
                    Some(first) => {
                        v = first;
                        continue;
                    }
                    None => Scalar::Str(""),
                },
            };
        }
    }

    pub(crate) fn number(self, offset: i32) -> f64 {
        match self {
            Scalar::Str(s) => parse_number(s),
            Scalar::Num(x) => x,
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::Date(d) => f64::from(d),
            Scalar::DateTime(t) => dates::local_days(t, offset),
        }
    }

    pub(crate) fn string(self, offset: i32) -> Cow<'a, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Num(x) => Cow::Owned(format_number(x)),
            Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            Scalar::Date(d) => Cow::Owned(dates::date_string(d)),
            Scalar::DateTime(t) => Cow::Owned(dates::datetime_string(t, offset)),
        }
    }

    pub(crate) fn truthy(self) -> bool {
        match self {
            Scalar::Str(s) => !s.is_empty(),
            Scalar::Num(x) => x != 0.0 && !x.is_nan(),
            Scalar::Bool(b) => b,
            Scalar::Date(_) | Scalar::DateTime(_) => true,
        }
    }

    pub(crate) fn is_date(self) -> bool {
        matches!(self, Scalar::Date(_) | Scalar::DateTime(_))
    }

    /// The value as (fractional, local) days since 1970-01-01, the way dates compare and take
    /// part in arithmetic: a string is read as a date or date-time when it is one, as a number
    /// otherwise.
    pub(crate) fn day_number(self, offset: i32) -> f64 {
        match self {
            Scalar::Str(s) => match dates::parse(s) {
                Some(p) => p.local_days(offset),
                None => parse_number(s),
            },
            other => other.number(offset),
        }
    }
}

/// XPath whitespace-trimmed decimal: `-`? digits (`.` digits?)? | `-`? `.` digits. Anything else
/// is NaN. Surrounding whitespace (any Unicode whitespace) is ignored.
pub(crate) fn parse_number(s: &str) -> f64 {
    let t = s.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    let mut digits = 0usize;
    let mut dots = 0usize;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return f64::NAN,
        }
    }
    if digits == 0 || dots > 1 {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// XPath `string(number)`: integers without `.0`, `NaN`, `Infinity`, `-Infinity`, otherwise the
/// shortest decimal that reads back as the same double, never with an exponent. Negative zero
/// is `0`.
pub(crate) fn format_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else if x == f64::INFINITY {
        "Infinity".to_string()
    } else if x == f64::NEG_INFINITY {
        "-Infinity".to_string()
    } else if x == 0.0 {
        "0".to_string()
    } else {
        // Rust's Display for f64 is the shortest round-trip decimal and never uses an exponent.
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_and_write_as_xpath_says() {
        for (s, x) in [
            ("12", 12.0),
            (" 3.5 ", 3.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("-.5", -0.5),
            ("007", 7.0),
        ] {
            assert_eq!(parse_number(s), x, "{s:?}");
        }
        for s in [
            "", " ", "-", ".", "1e3", "+1", "1.2.3", "inf", "NaN", "1,5", "0x10",
        ] {
            assert!(parse_number(s).is_nan(), "{s:?}");
        }
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_number(1e21), "1000000000000000000000");
        assert_eq!(format_number(1.5e-7), "0.00000015");
    }
}
