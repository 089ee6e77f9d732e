//! Field values: the JSON-like data an entity's fields hold.
//!
//! A value is encoded as itself — `null`, `true`, `42`, `4.5`, `"text"`, a list, a map — so that
//! JSON readers see ordinary JSON, and CBOR stays compact. A position is a map
//! `{"lon": …, "lat": …}` (optionally `"acc"`, the accuracy in metres); any map with exactly those
//! keys and numeric values decodes as a position. Integers and floats stay distinct (`3` vs `3.0`)
//! in both encodings. Byte strings exist for CBOR (a newer phone's UUID, a signature); JSON writes
//! them as a list of numbers.
//!
//! The same type carries the fields this version does not know ([`Unknown`]), so that an older
//! phone decodes, stores and re-encodes a newer phone's data without dropping any of it.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// Fields of a message, operation or entity that this version does not know: kept as they came and
/// written back unchanged.
pub type Unknown = BTreeMap<String, FieldValue>;

/// A WGS-84 position as a phone's GPS gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Longitude in degrees, −180..=180.
    pub lon: f64,
    /// Latitude in degrees, −90..=90.
    pub lat: f64,
    /// Horizontal accuracy in metres, when the device reported it.
    pub accuracy_m: Option<f64>,
}

impl Position {
    /// A position without an accuracy.
    pub const fn new(lon: f64, lat: f64) -> Self {
        Self {
            lon,
            lat,
            accuracy_m: None,
        }
    }

    /// Whether the coordinates are finite and in range (and the accuracy, if any, non-negative).
    pub fn is_valid(&self) -> bool {
        self.lon.is_finite()
            && self.lat.is_finite()
            && (-180.0..=180.0).contains(&self.lon)
            && (-90.0..=90.0).contains(&self.lat)
            && self.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0)
    }

    /// Great-circle distance in metres.
    pub fn distance_m(&self, other: &Position) -> f64 {
        crate::geometry::distance_m((self.lon, self.lat), (other.lon, other.lat))
    }
}

/// The value of one field.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum FieldValue {
    /// No value (a cleared answer, an attribute not recorded).
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Position(Position),
    /// A list: a `select_multiple` answer, the parts of a split.
    List(Vec<FieldValue>),
    /// A map with string keys.
    Map(BTreeMap<String, FieldValue>),
}

/// The most deeply nested lists and maps a value may have (checked by [`FieldValue::is_valid`]).
pub const MAX_VALUE_DEPTH: usize = 16;

impl FieldValue {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Self {
        FieldValue::Text(s.into())
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            FieldValue::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The position, if this is one.
    pub fn as_position(&self) -> Option<&Position> {
        match self {
            FieldValue::Position(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this is [`FieldValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }

    /// Whether the value can be stored: finite numbers, valid positions, bounded nesting.
    pub fn is_valid(&self) -> bool {
        self.valid_at(0)
    }

    fn valid_at(&self, depth: usize) -> bool {
        match self {
            FieldValue::Float(x) => x.is_finite(),
            FieldValue::Position(p) => p.is_valid(),
            FieldValue::List(items) => {
                depth < MAX_VALUE_DEPTH && items.iter().all(|v| v.valid_at(depth + 1))
            }
            FieldValue::Map(map) => {
                depth < MAX_VALUE_DEPTH && map.values().all(|v| v.valid_at(depth + 1))
            }
            _ => true,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            FieldValue::Null => 0,
            FieldValue::Bool(_) => 1,
            FieldValue::Int(_) | FieldValue::Float(_) => 2,
            FieldValue::Text(_) => 3,
            FieldValue::Bytes(_) => 4,
            FieldValue::Position(_) => 5,
            FieldValue::List(_) => 6,
            FieldValue::Map(_) => 7,
        }
    }

    /// The canonical total order of values, used where mapframe must pick one value
    /// deterministically without looking at clocks (the provisional value of a conflict):
    /// null < booleans < numbers < text < bytes < positions < lists < maps; numbers by value
    /// (an integer before an equal float), text by its UTF-8 bytes, positions by longitude then
    /// latitude, lists and maps element by element.
    pub fn canonical_cmp(&self, other: &FieldValue) -> Ordering {
        use FieldValue::*;
        match self.rank().cmp(&other.rank()) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Position(a), Position(b)) => {
                a.lon.total_cmp(&b.lon).then(a.lat.total_cmp(&b.lat)).then(
                    a.accuracy_m
                        .unwrap_or(-1.0)
                        .total_cmp(&b.accuracy_m.unwrap_or(-1.0)),
                )
            }
            (List(a), List(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.canonical_cmp(y) {
                        Ordering::Equal => {}
                        unequal => return unequal,
                    }
                }
                a.len().cmp(&b.len())
            }
            (Map(a), Map(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    match ka.cmp(kb).then_with(|| va.canonical_cmp(vb)) {
                        Ordering::Equal => {}
                        unequal => return unequal,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => Ordering::Equal,
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_owned())
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Text(s)
    }
}

impl From<i64> for FieldValue {
    fn from(n: i64) -> Self {
        FieldValue::Int(n)
    }
}

impl From<f64> for FieldValue {
    fn from(x: f64) -> Self {
        FieldValue::Float(x)
    }
}

impl From<bool> for FieldValue {
    fn from(b: bool) -> Self {
        FieldValue::Bool(b)
    }
}

impl From<Position> for FieldValue {
    fn from(p: Position) -> Self {
        FieldValue::Position(p)
    }
}

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = if self.accuracy_m.is_some() { 3 } else { 2 };
        let mut map = serializer.serialize_map(Some(n))?;
        map.serialize_entry("lon", &self.lon)?;
        map.serialize_entry("lat", &self.lat)?;
        if let Some(acc) = self.accuracy_m {
            map.serialize_entry("acc", &acc)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match FieldValue::deserialize(deserializer)? {
            FieldValue::Position(p) => Ok(p),
            _ => Err(de::Error::custom(
                "expected a position {\"lon\": …, \"lat\": …}",
            )),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Null => serializer.serialize_unit(),
            FieldValue::Bool(b) => serializer.serialize_bool(*b),
            FieldValue::Int(n) => serializer.serialize_i64(*n),
            FieldValue::Float(x) => serializer.serialize_f64(*x),
            FieldValue::Text(s) => serializer.serialize_str(s),
            FieldValue::Bytes(b) => serializer.serialize_bytes(b),
            FieldValue::Position(p) => p.serialize(serializer),
            FieldValue::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            FieldValue::Map(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value (null, boolean, number, text, bytes, list or map)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
        FieldValue::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<FieldValue, E> {
        i64::try_from(n)
            .map(FieldValue::Int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<FieldValue, E> {
        i64::try_from(n)
            .map(FieldValue::Int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<FieldValue, E> {
        i64::try_from(n)
            .map(FieldValue::Int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Float(x))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(s))
    }

    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<FieldValue, E> {
        Ok(FieldValue::Bytes(b.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, b: Vec<u8>) -> Result<FieldValue, E> {
        Ok(FieldValue::Bytes(b))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<FieldValue>()? {
            items.push(item);
        }
        Ok(FieldValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<FieldValue, A::Error> {
        let mut map = BTreeMap::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value::<FieldValue>()?;
            map.insert(key, value);
        }
        Ok(as_position(&map).map_or(FieldValue::Map(map), FieldValue::Position))
    }
}

/// A map `{lon, lat}` or `{lon, lat, acc}` with numbers is a position.
fn as_position(map: &BTreeMap<String, FieldValue>) -> Option<Position> {
    let num = |k: &str| match map.get(k)? {
        FieldValue::Float(x) => Some(*x),
        FieldValue::Int(n) => Some(*n as f64),
        _ => None,
    };
    let lon = num("lon")?;
    let lat = num("lat")?;
    match map.len() {
        2 => Some(Position::new(lon, lat)),
        3 => Some(Position {
            lon,
            lat,
            accuracy_m: Some(num("acc")?),
        }),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_plain_json() {
        let v = FieldValue::List(vec![
            FieldValue::Null,
            FieldValue::Int(3),
            FieldValue::Float(3.0),
            "三".into(),
            FieldValue::Position(Position::new(102.7, 25.0)),
        ]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"[null,3,3.0,"三",{"lon":102.7,"lat":25.0}]"#);
        assert_eq!(serde_json::from_str::<FieldValue>(&json).unwrap(), v);
    }

    #[test]
    fn canonical_order_is_total_and_puts_numbers_by_value() {
        let mut vals = [
            FieldValue::from("b"),
            FieldValue::Int(2),
            FieldValue::Float(1.5),
            FieldValue::Null,
            FieldValue::from("a"),
            FieldValue::Bool(true),
        ];
        vals.sort_by(|a, b| a.canonical_cmp(b));
        assert_eq!(
            vals,
            [
                FieldValue::Null,
                FieldValue::Bool(true),
                FieldValue::Float(1.5),
                FieldValue::Int(2),
                FieldValue::from("a"),
                FieldValue::from("b"),
            ]
        );
    }

    #[test]
    fn invalid_values_are_recognised() {
        assert!(!FieldValue::Float(f64::NAN).is_valid());
        assert!(!FieldValue::Position(Position::new(200.0, 0.0)).is_valid());
        let mut deep = FieldValue::Null;
        for _ in 0..20 {
            deep = FieldValue::List(vec![deep]);
        }
        assert!(!deep.is_valid());
    }
}
