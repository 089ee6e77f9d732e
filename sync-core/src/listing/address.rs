//! Dwelling addresses (单元-层-室) and how to compare and order them.
//!
//! Listers write addresses as they see them: "1单元", "１", "01", "3F", "B1", "地下一层" is not
//! attempted. Two rules matter: a *normalised* form, so that "1单元 3层 301室" and "1-3-301" are seen
//! as the same door; and a *natural* order, so that room 2 comes before room 10 and basement floors
//! before the ground floor.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The structured address of a dwelling within its building. Parts are kept as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// Entrance or stairwell (单元).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Floor (层). "B1" or "-1" for basements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    /// Room or door within the floor (室).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

impl Address {
    /// Whether no part is recorded.
    pub fn is_empty(&self) -> bool {
        self.unit.is_none() && self.floor.is_none() && self.room.is_none()
    }

    /// The normalised address, or `None` when nothing is recorded.
    pub fn normalized(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let part = |p: &Option<String>| p.as_deref().map(normalize_part).unwrap_or_default();
        let floor = self
            .floor
            .as_deref()
            .map(normalize_floor)
            .unwrap_or_default();
        Some(format!(
            "{}|{}|{}",
            part(&self.unit),
            floor,
            part(&self.room)
        ))
    }

    /// Orders addresses as a lister walks a building: by entrance, then floor, then room.
    pub fn walk_cmp(&self, other: &Self) -> Ordering {
        let key = |p: &Option<String>| p.as_deref().map(natural_key).unwrap_or_default();
        key(&self.unit)
            .cmp(&key(&other.unit))
            .then_with(|| {
                floor_rank(self.floor.as_deref()).cmp(&floor_rank(other.floor.as_deref()))
            })
            .then_with(|| key(&self.room).cmp(&key(&other.room)))
    }
}

/// Suffixes that carry no information in an address part.
const NOISE_SUFFIXES: &[&str] = &[
    "单元", "门洞", "楼层", "层", "楼", "室", "号", "户", "栋", "幢", "座",
];

/// Normalises one address part: full-width to half-width, lower case, no white space or
/// separators, no unit words ("单元", "层", "室"…), no leading zeros in numbers.
pub fn normalize_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let ch = to_half_width(ch);
        if ch.is_whitespace() || matches!(ch, '-' | '_' | '#' | '/' | '.' | '·') {
            continue;
        }
        out.extend(ch.to_lowercase());
    }
    let mut trimmed = out.as_str();
    loop {
        let before = trimmed.len();
        for suffix in NOISE_SUFFIXES {
            if let Some(rest) = trimmed.strip_suffix(suffix) {
                trimmed = rest;
            }
        }
        for prefix in ["第", "no", "room", "unit"] {
            if let Some(rest) = trimmed.strip_prefix(prefix) {
                trimmed = rest;
            }
        }
        if trimmed.len() == before {
            break;
        }
    }
    strip_leading_zeros(trimmed)
}

fn to_half_width(ch: char) -> char {
    match ch {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
        _ => ch,
    }
}

fn strip_leading_zeros(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_digit = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_is_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c == '0' && !prev_digit && next_is_digit {
            continue;
        }
        prev_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// Normalises a floor so that "3", "3层", "3F" agree and "B1", "-1" (basements) differ from "1".
pub fn normalize_floor(floor: &str) -> String {
    match floor_rank(Some(floor)) {
        (0, n, _) => n.to_string(),
        _ => normalize_part(floor),
    }
}

/// A piece of a natural sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chunk {
    Num(u64),
    Text(String),
}

/// A natural sort key: digit runs compare as numbers, the rest as normalised text.
pub fn natural_key(s: &str) -> Vec<Chunk> {
    let norm = normalize_part(s);
    let mut key = Vec::new();
    let mut num: Option<u64> = None;
    let mut text = String::new();
    for c in norm.chars() {
        if let Some(d) = c.to_digit(10) {
            if !text.is_empty() {
                key.push(Chunk::Text(std::mem::take(&mut text)));
            }
            num = Some(
                num.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
        } else {
            if let Some(n) = num.take() {
                key.push(Chunk::Num(n));
            }
            text.push(c);
        }
    }
    if let Some(n) = num {
        key.push(Chunk::Num(n));
    }
    if !text.is_empty() {
        key.push(Chunk::Text(text));
    }
    key
}

/// Orders floors bottom to top: basements ("B2", "-1", "地下2") first, then 1, 2, …; floors that
/// are not numbers after everything numeric, by their text.
pub fn floor_rank(floor: Option<&str>) -> (i8, i64, Vec<Chunk>) {
    let Some(f) = floor else {
        return (2, 0, Vec::new());
    };
    if !f.is_empty() && f.len() < 18 && f.bytes().all(|b| b.is_ascii_digit()) {
        return (0, f.parse().unwrap_or(0), Vec::new());
    }
    let raw: String = f.trim().chars().map(to_half_width).collect();
    let (basement, rest) = ["-", "B", "b", "地下", "负"]
        .iter()
        .find_map(|p| raw.strip_prefix(p).map(|r| (true, r)))
        .unwrap_or((false, raw.as_str()));
    let norm = normalize_part(rest);
    let digits = norm.as_str();
    let digits = digits.strip_suffix('f').unwrap_or(digits);
    match digits.parse::<i64>() {
        Ok(n) if basement => (0, -n, Vec::new()),
        Ok(n) => (0, n, Vec::new()),
        Err(_) => (1, 0, natural_key(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(u: &str, f: &str, r: &str) -> Address {
        let o = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Address {
            unit: o(u),
            floor: o(f),
            room: o(r),
        }
    }

    #[test]
    fn normalisation_table() {
        let cases = [
            ("1单元", "1"),
            ("１", "1"),
            ("01", "1"),
            ("301室", "301"),
            (" 3 层 ", "3"),
            ("第2单元", "2"),
            ("A-101", "a101"),
            ("100", "100"),
            ("Room 5", "5"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_part(input), want, "normalising {input:?}");
        }
    }

    #[test]
    fn the_same_door_written_two_ways_normalises_alike() {
        assert_eq!(
            addr("1单元", "3层", "301室").normalized(),
            addr("1", "3", "301").normalized()
        );
        assert_ne!(
            addr("1", "3", "301").normalized(),
            addr("2", "3", "301").normalized()
        );
        assert_eq!(
            addr("1", "3F", "1").normalized(),
            addr("1", "3", "1").normalized()
        );
        assert_ne!(
            addr("1", "B1", "1").normalized(),
            addr("1", "1", "1").normalized()
        );
        assert_ne!(
            addr("1", "-1", "1").normalized(),
            addr("1", "1", "1").normalized()
        );
        assert_eq!(Address::default().normalized(), None);
    }

    #[test]
    fn walk_order_is_natural_and_puts_basements_first() {
        let mut v = [
            addr("2", "1", "101"),
            addr("1", "10", "1001"),
            addr("1", "2", "201"),
            addr("1", "B1", "B101"),
            addr("1", "2", "10"),
            addr("1", "2", "9"),
            addr("1", "-2", "x"),
        ];
        v.sort_by(|a, b| a.walk_cmp(b));
        let rooms: Vec<_> = v.iter().map(|a| a.room.clone().unwrap()).collect();
        assert_eq!(rooms, ["x", "B101", "9", "10", "201", "1001", "101"]);
    }
}
