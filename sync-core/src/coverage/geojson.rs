//! Coverage as a GeoJSON FeatureCollection, for QGIS and the dashboard map.
//!
//! Every feature has a `layer` property, `"area"` or `"dwelling"` (QGIS can split a layer on it),
//! and only scalar properties, so that GIS tools show them as columns:
//!
//! * a **dwelling** is a Point (or a feature without geometry when it was listed without a
//!   location) with `id`, `area_code`, `listing_number`, `status` (a [`DwellingStatus`] word),
//!   `disposition` (of the case that gives the status) and `interviewer`. Retired dwellings are
//!   left out.
//! * an **area** is its boundary (MultiPolygon, or no geometry) with `id`, `code`, `name`,
//!   `stratum`, `team`, then the coverage numbers of its [`Tally`](super::Tally): `listed`,
//!   `expected`, `listed_to_expected`, `sampled`, `assigned`, `visited`, `completed`, `vacant`,
//!   `refused`, `non_contact`, `other`, `pending`, `flags`, and the rates `RR1`, `RR3`, `COOP1`,
//!   `REF1`, `CON1`.
//!
//! Areas come first (so that they draw under the dwellings), by code; dwellings follow in input
//! order, one feature per line. Each feature's GeoJSON `id` is the area or dwelling id (repeated
//! in the properties, where GIS tools look). The writer streams: a million dwellings never sit
//! in memory as features, and properties are written straight from borrowed structs (give it a
//! `BufWriter` when writing to a file).

use super::{AreaCoverage, CoverageInput, CoverageReport, Digest, DwellingStatus};
use crate::aapor::Disposition;
use geojson::{Geometry, GeometryValue};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoJsonOptions {
    /// Area boundaries with their coverage numbers.
    pub areas: bool,
    /// Dwellings with their status.
    pub dwellings: bool,
}

impl Default for GeoJsonOptions {
    fn default() -> Self {
        GeoJsonOptions {
            areas: true,
            dwellings: true,
        }
    }
}

/// Why the GeoJSON could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GeoJsonError {
    /// The writer refused the bytes.
    #[error("could not write the coverage GeoJSON: {0}")]
    Write(#[from] serde_json::Error),
}

impl GeoJsonError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            GeoJsonError::Write(_) => "geojson_write",
        }
    }
}

/// A GeoJSON Feature whose properties serialise straight from a struct.
#[derive(Serialize)]
struct Feature<'p, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    geometry: Option<Geometry>,
    properties: &'p P,
}

#[derive(Serialize)]
struct DwellingFeature<'a> {
    layer: &'static str,
    id: Uuid,
    area_code: &'a str,
    listing_number: Option<u32>,
    status: DwellingStatus,
    disposition: Option<Disposition>,
    interviewer: Option<Uuid>,
}

#[derive(Serialize)]
struct AreaFeature<'a> {
    layer: &'static str,
    id: Uuid,
    code: &'a str,
    name: &'a str,
    stratum: Option<&'a str>,
    team: Option<&'a str>,
    listed: Option<u64>,
    expected: Option<f64>,
    listed_to_expected: Option<f64>,
    sampled: u64,
    assigned: u64,
    visited: u64,
    completed: u64,
    vacant: u64,
    refused: u64,
    non_contact: u64,
    other: u64,
    pending: u64,
    flags: u64,
    #[serde(rename = "RR1")]
    rr1: Option<f64>,
    #[serde(rename = "RR3")]
    rr3: Option<f64>,
    #[serde(rename = "COOP1")]
    coop1: Option<f64>,
    #[serde(rename = "REF1")]
    ref1: Option<f64>,
    #[serde(rename = "CON1")]
    con1: Option<f64>,
}

impl<'a> AreaFeature<'a> {
    fn of(a: &'a AreaCoverage) -> Self {
        let t = &a.tally;
        AreaFeature {
            layer: "area",
            id: a.id,
            code: &a.code,
            name: &a.name,
            stratum: a.stratum.as_deref(),
            team: a.team.as_deref(),
            listed: t.listed,
            expected: t.expected,
            listed_to_expected: t.listed_to_expected,
            sampled: t.sampled,
            assigned: t.assigned,
            visited: t.visited,
            completed: t.completed,
            vacant: t.vacant,
            refused: t.refused,
            non_contact: t.non_contact,
            other: t.other,
            pending: t.pending,
            flags: t.flags,
            rr1: t.rates.rr1,
            rr3: t.rates.rr3,
            coop1: t.rates.coop1,
            ref1: t.rates.ref1,
            con1: t.rates.con1,
        }
    }
}

/// Writes the coverage map (see the module documentation) to `w`. `report` is the
/// [`coverage()`](super::coverage) of the same input: it gives the areas their numbers.
pub fn write_coverage_geojson<W: Write>(
    mut w: W,
    input: &CoverageInput<'_>,
    report: &CoverageReport,
    options: &GeoJsonOptions,
) -> Result<(), GeoJsonError> {
    let io = serde_json::Error::io;
    w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")
        .map_err(io)?;
    let mut first = true;
    let mut feature = |w: &mut W, f: &dyn erased::Feature| -> Result<(), GeoJsonError> {
        w.write_all(if first { b"\n" } else { b",\n" })
            .map_err(io)?;
        first = false;
        f.write(w)
    };
    if options.areas {
        let boundaries: HashMap<Uuid, &geo::MultiPolygon<f64>> = input
            .areas
            .iter()
            .filter_map(|a| a.boundary.as_ref().map(|b| (a.id, b)))
            .collect();
        for a in &report.areas {
            let properties = AreaFeature::of(a);
            feature(
                &mut w,
                &Feature {
                    kind: "Feature",
                    id: a.id,
                    geometry: boundaries
                        .get(&a.id)
                        .map(|b| Geometry::new(GeometryValue::from(*b))),
                    properties: &properties,
                },
            )?;
        }
    }
    if options.dwellings {
        let digest = Digest::of(input);
        for d in input.dwellings.iter().filter(|d| !d.retired) {
            let best = digest.best_case.get(&d.id).map(|&i| &input.cases[i]);
            let properties = DwellingFeature {
                layer: "dwelling",
                id: d.id,
                area_code: &digest.areas[digest.area_index[&d.area]].code,
                listing_number: d.listing_number,
                status: digest.dwelling_status(d),
                disposition: best.and_then(|c| c.outcome()),
                interviewer: best.and_then(|c| c.interviewer),
            };
            feature(
                &mut w,
                &Feature {
                    kind: "Feature",
                    id: d.id,
                    geometry: d
                        .position
                        .filter(|p| p.is_valid())
                        .map(|p| Geometry::new_point([p.lon, p.lat])),
                    properties: &properties,
                },
            )?;
        }
    }
    w.write_all(b"\n]}\n").map_err(io)?;
    Ok(())
}

/// Features of different property types through one writer.
mod erased {
    use super::GeoJsonError;
    use std::io::Write;

    pub(super) trait Feature {
        fn write(&self, w: &mut dyn Write) -> Result<(), GeoJsonError>;
    }

    impl<P: serde::Serialize> Feature for super::Feature<'_, P> {
        fn write(&self, w: &mut dyn Write) -> Result<(), GeoJsonError> {
            serde_json::to_writer(w, self)?;
            Ok(())
        }
    }
}

/// The coverage map as bytes (see [`write_coverage_geojson`]).
pub fn coverage_geojson(
    input: &CoverageInput<'_>,
    report: &CoverageReport,
    options: &GeoJsonOptions,
) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into memory cannot fail: every value serialises (no non-string map keys).
    if let Err(e) = write_coverage_geojson(&mut buf, input, report, options) {
        unreachable!("writing GeoJSON into memory failed: {e}");
    }
    buf
}
