//! Sampling frames: the list a sample is drawn from, frozen by a content hash.
//!
//! A frame is an ordered list of units, each with an id, a stratum, a size (for PPS) and sort
//! keys (for implicit stratification). It comes from a CSV of units or from a checked, numbered
//! listing (one unit per dwelling, in serpentine order). Its hash covers everything that can change
//! a draw — ids, strata, sizes, sort keys and order — so a selection record names exactly the frame
//! it was drawn from.

use crate::listing::address::{Chunk, natural_key};
use crate::listing::{Listing, Occupancy};
use crate::table::{Table, TableError, TableErrorCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::collections::HashMap;

/// A sort key value: numbers compare as numbers, text naturally ("B2" < "B10").
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Num(f64),
    Text(Vec<Chunk>),
    Missing,
}

impl SortValue {
    /// Interprets a cell: a number when it parses as one, else text; empty is missing.
    pub fn from_text(s: &str) -> Self {
        let s = s.trim();
        if s.is_empty() {
            return SortValue::Missing;
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => SortValue::Num(x),
            _ => SortValue::Text(natural_key(s)),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::Num(_) => 0,
            SortValue::Text(_) => 1,
            SortValue::Missing => 2,
        }
    }

    /// Total order: numbers, then text, then missing values.
    pub fn total_cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortValue::Num(a), SortValue::Num(b)) => a.total_cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// One unit of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    /// The explicit stratum; `""` when the frame is not stratified.
    pub stratum: String,
    /// Measure of size; 1 when the frame has no size column.
    pub size: f64,
    /// Values of the sort columns, for implicit stratification.
    pub sort: Vec<SortValue>,
    /// The sort keys as written, for the hash.
    pub sort_text: Vec<String>,
    /// The auxiliary value used by Neyman allocation, when the frame has that column.
    pub aux: Option<f64>,
}

/// Which columns of a CSV make the frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameColumns {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<String>,
    /// The column Neyman allocation reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<String>,
}

/// An ordered, hashed list of units. Frozen: built once, never changed, so its hash (computed
/// on first use) always describes it.
#[derive(Debug, Clone)]
pub struct Frame {
    units: Vec<Unit>,
    columns: FrameColumns,
    hash: std::sync::OnceLock<String>,
    strata: std::sync::OnceLock<Vec<(String, Vec<usize>)>>,
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        self.units == other.units && self.columns == other.columns
    }
}

/// The id column recorded for a listing frame (every dwelling, vacant ones included) …
pub const LISTING_ID: &str = "dwelling";
/// … and for one that leaves out dwellings found vacant at listing.
pub const LISTING_ID_EXCLUDING_VACANT: &str = "dwelling_excluding_vacant";

/// At most this many problems are reported from one frame file.
const MAX_ERRORS: usize = 50;

impl Frame {
    /// A frame of the given units, in this order.
    pub fn new(units: Vec<Unit>, columns: FrameColumns) -> Self {
        Self {
            units,
            columns,
            hash: std::sync::OnceLock::new(),
            strata: std::sync::OnceLock::new(),
        }
    }

    /// The units, in frame order.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// The columns the frame was made from.
    pub fn columns(&self) -> &FrameColumns {
        &self.columns
    }

    /// Builds a frame from a table. Every problem is reported (up to 50) with its row and column:
    /// empty or duplicate ids, and — when there is a size column — missing, non-numeric, zero or
    /// negative sizes.
    pub fn from_table(table: &Table, columns: &FrameColumns) -> Result<Frame, Vec<TableError>> {
        let mut errors = Vec::new();
        let id = table.column(&columns.id).map_err(|e| vec![e])?;
        let size = columns
            .size
            .as_deref()
            .map(|c| table.column(c))
            .transpose()
            .map_err(|e| vec![e])?;
        let stratum = columns
            .stratum
            .as_deref()
            .map(|c| table.column(c))
            .transpose()
            .map_err(|e| vec![e])?;
        let sort = columns
            .sort
            .iter()
            .map(|c| table.column(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| vec![e])?;
        let aux = columns
            .aux
            .as_deref()
            .map(|c| table.column(c))
            .transpose()
            .map_err(|e| vec![e])?;
        if table.is_empty() {
            return Err(vec![TableError::new(
                TableErrorCode::Empty,
                None,
                None,
                "the frame has no units",
            )]);
        }
        let mut seen: HashMap<&str, u64> = HashMap::with_capacity(table.len());
        let mut units = Vec::with_capacity(table.len());
        for i in 0..table.len() {
            if errors.len() >= MAX_ERRORS {
                break;
            }
            let uid = table.text(i, id);
            if uid.is_empty() {
                errors.push(table.error(i, id, TableErrorCode::BadValue, "the id is empty"));
                continue;
            }
            if let Some(first) = seen.insert(uid, table.row_number(i)) {
                errors.push(table.error(
                    i,
                    id,
                    TableErrorCode::Duplicate,
                    format!("id {uid:?} is already used in row {first}"),
                ));
                continue;
            }
            let size = match size {
                None => 1.0,
                Some(c) => match table.number(i, c) {
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                    Ok(None) => {
                        errors.push(table.error(
                            i,
                            c,
                            TableErrorCode::BadValue,
                            "the size is missing",
                        ));
                        continue;
                    }
                    Ok(Some(x)) if x <= 0.0 => {
                        errors.push(table.error(
                            i,
                            c,
                            TableErrorCode::BadValue,
                            format!("the size must be positive, found {x} (a unit of size 0 can never be drawn: leave it out of the frame)"),
                        ));
                        continue;
                    }
                    Ok(Some(x)) => x,
                },
            };
            let aux = match aux {
                None => None,
                Some(c) => match table.number(i, c) {
                    Ok(Some(x)) => Some(x),
                    Ok(None) => {
                        errors.push(table.error(
                            i,
                            c,
                            TableErrorCode::BadValue,
                            "a value is needed for Neyman allocation",
                        ));
                        continue;
                    }
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                },
            };
            let stratum = stratum
                .map(|c| table.text(i, c).to_string())
                .unwrap_or_default();
            let sort_text: Vec<String> =
                sort.iter().map(|&c| table.text(i, c).to_string()).collect();
            units.push(Unit {
                id: uid.to_string(),
                stratum,
                size,
                sort: sort_text.iter().map(|s| SortValue::from_text(s)).collect(),
                sort_text,
                aux,
            });
        }
        if errors.is_empty() {
            Ok(Frame::new(units, columns.clone()))
        } else {
            Err(errors)
        }
    }

    /// The dwelling frame of a numbered listing: one unit per dwelling, stratum = area code,
    /// in listing-number (serpentine) order within each area. Dwellings found to be businesses
    /// or not dwellings at all are left out; vacant ones are kept unless `include_vacant` is off.
    pub fn from_listing(listing: &Listing, include_vacant: bool) -> Result<Frame, String> {
        let codes: HashMap<_, _> = listing
            .areas
            .iter()
            .map(|a| (a.id, a.code.as_str()))
            .collect();
        let mut rows = Vec::new();
        for d in &listing.dwellings {
            match d.occupancy {
                Occupancy::Business | Occupancy::NotDwelling => continue,
                Occupancy::Vacant if !include_vacant => continue,
                _ => {}
            }
            let n = d.listing_number.ok_or_else(|| {
                format!(
                    "dwelling {} has no listing number: number the listing before freezing it",
                    Listing::dwelling_label(d)
                )
            })?;
            let code = codes.get(&d.area).copied().unwrap_or_default();
            rows.push((code, n, d.id));
        }
        rows.sort_unstable();
        let units = rows
            .into_iter()
            .map(|(code, n, id)| Unit {
                id: id.to_string(),
                stratum: code.to_string(),
                size: 1.0,
                sort: vec![SortValue::Num(f64::from(n))],
                sort_text: vec![n.to_string()],
                aux: None,
            })
            .collect();
        Ok(Frame::new(
            units,
            FrameColumns {
                id: if include_vacant {
                    LISTING_ID
                } else {
                    LISTING_ID_EXCLUDING_VACANT
                }
                .into(),
                size: None,
                stratum: Some("area".into()),
                sort: vec!["listing_number".into()],
                aux: None,
            },
        ))
    }

    /// The content hash: SHA-256 over every unit in order (id, stratum, size, sort keys) and the
    /// column names, written `sha256:<hex>`.
    pub fn hash(&self) -> String {
        self.hash.get_or_init(|| self.compute_hash()).clone()
    }

    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"mapframe/frame/v1\x1e");
        let c = &self.columns;
        for part in [
            &c.id,
            c.size.as_deref().unwrap_or(""),
            c.stratum.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update(b"\x1f");
        }
        for s in &c.sort {
            h.update(s.as_bytes());
            h.update(b"\x1f");
        }
        if let Some(a) = &c.aux {
            h.update(b"aux:");
            h.update(a.as_bytes());
        }
        h.update(b"\x1e");
        let mut buf = Vec::with_capacity(64);
        for u in &self.units {
            buf.clear();
            buf.extend_from_slice(u.id.as_bytes());
            buf.push(0x1f);
            buf.extend_from_slice(u.stratum.as_bytes());
            buf.push(0x1f);
            buf.extend_from_slice(&u.size.to_le_bytes());
            for s in &u.sort_text {
                buf.push(0x1f);
                buf.extend_from_slice(s.as_bytes());
            }
            if let Some(a) = u.aux {
                buf.push(0x1f);
                buf.extend_from_slice(&a.to_le_bytes());
            }
            buf.push(0x1e);
            h.update(&buf);
        }
        let digest = h.finalize();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for b in digest {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Units grouped by stratum: stratum names in natural order, each with the indices of its
    /// units in frame order.
    pub fn strata(&self) -> &[(String, Vec<usize>)] {
        self.strata.get_or_init(|| self.group_strata())
    }

    fn group_strata(&self) -> Vec<(String, Vec<usize>)> {
        if let Some(first) = self.units.first()
            && self
                .units
                .iter()
                .all(|u| same_text(&u.stratum, &first.stratum))
        {
            return vec![(first.stratum.clone(), (0..self.units.len()).collect())];
        }
        let mut by: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, u) in self.units.iter().enumerate() {
            by.entry(u.stratum.as_str()).or_default().push(i);
        }
        let mut out: Vec<(String, Vec<usize>)> =
            by.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        out.sort_by(|a, b| {
            natural_key(&a.0)
                .cmp(&natural_key(&b.0))
                .then_with(|| a.0.cmp(&b.0))
        });
        out
    }
}

/// String equality that does not call `memcmp` for the (very common) empty case.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(csv: &str, columns: FrameColumns) -> Result<Frame, Vec<TableError>> {
        Frame::from_table(&Table::parse(csv.as_bytes()).unwrap(), &columns)
    }

    fn cols(size: Option<&str>) -> FrameColumns {
        FrameColumns {
            id: "id".into(),
            size: size.map(Into::into),
            ..FrameColumns::default()
        }
    }

    #[test]
    fn the_hash_covers_ids_sizes_and_order() {
        let a = frame("id,size\na,1\nb,2\n", cols(Some("size"))).unwrap();
        let b = frame("id,size\nb,2\na,1\n", cols(Some("size"))).unwrap();
        let c = frame("id,size\na,1\nb,3\n", cols(Some("size"))).unwrap();
        let a2 = frame("id,size,extra\na,1,x\nb,2,y\n", cols(Some("size"))).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(
            a.hash(),
            a2.hash(),
            "columns not in the frame do not matter"
        );
        assert!(a.hash().starts_with("sha256:") && a.hash().len() == 71);
    }

    #[test]
    fn bad_units_are_reported_with_row_and_column() {
        let errors = frame(
            "id,size\na,1\na,2\n,3\nb,0\nc,-1\nd,\ne,x\n",
            cols(Some("size")),
        )
        .unwrap_err();
        let got: Vec<(Option<u64>, &str)> =
            errors.iter().map(|e| (e.row, e.code.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(3), "duplicate_value"),
                (Some(4), "bad_value"),
                (Some(5), "bad_value"),
                (Some(6), "bad_value"),
                (Some(7), "bad_value"),
                (Some(8), "bad_value")
            ]
        );
        assert!(
            errors[0].to_string().contains("already used in row 2"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn sort_values_order_numbers_then_text_naturally() {
        let mut v: Vec<SortValue> = ["10", "9", "B10", "B2", "", "1.5"]
            .iter()
            .map(|s| SortValue::from_text(s))
            .collect();
        v.sort_by(SortValue::total_cmp);
        assert_eq!(v[0], SortValue::Num(1.5));
        assert_eq!(v[2], SortValue::Num(10.0));
        assert_eq!(v[3], SortValue::Text(natural_key("B2")));
        assert_eq!(v[5], SortValue::Missing);
    }
}
