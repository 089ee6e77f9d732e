//! Listing statistics: counts by area, building kind and occupancy.

use crate::listing::{BuildingKind, Listing, Occupancy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts for one area (or for the whole listing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AreaStats {
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub buildings: usize,
    pub residential_buildings: usize,
    pub dwellings: usize,
    pub households: u64,
    /// Dwellings by occupancy status.
    pub occupancy: BTreeMap<String, usize>,
    /// Buildings by kind.
    pub building_kinds: BTreeMap<String, usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure_of_size: Option<f64>,
    /// Listed dwellings (not counting those found not to be dwellings) ÷ measure of size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_to_mos: Option<f64>,
}

/// Counts for a listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub total: AreaStats,
    pub areas: Vec<AreaStats>,
}

/// Counts a listing.
pub fn stats(listing: &Listing) -> Stats {
    let index = listing.area_index();
    let empty = || {
        let mut s = AreaStats::default();
        for o in Occupancy::ALL {
            s.occupancy.insert(o.as_str().into(), 0);
        }
        for k in BuildingKind::ALL {
            s.building_kinds.insert(k.as_str().into(), 0);
        }
        s
    };
    let mut areas: Vec<AreaStats> = listing
        .areas
        .iter()
        .map(|a| AreaStats {
            code: a.code.clone(),
            name: a.name.clone(),
            measure_of_size: a.measure_of_size,
            ..empty()
        })
        .collect();
    let mut total = AreaStats {
        code: "*".into(),
        ..empty()
    };
    for b in &listing.buildings {
        for s in [index.get(&b.area).map(|&i| &mut areas[i]), Some(&mut total)]
            .into_iter()
            .flatten()
        {
            s.buildings += 1;
            s.residential_buildings += usize::from(b.kind.is_residential());
            *s.building_kinds.entry(b.kind.as_str().into()).or_default() += 1;
        }
    }
    for d in &listing.dwellings {
        for s in [index.get(&d.area).map(|&i| &mut areas[i]), Some(&mut total)]
            .into_iter()
            .flatten()
        {
            s.dwellings += 1;
            s.households += u64::from(d.households);
            *s.occupancy.entry(d.occupancy.as_str().into()).or_default() += 1;
        }
    }
    let mos_total: f64 = areas.iter().filter_map(|a| a.measure_of_size).sum();
    if mos_total > 0.0 {
        total.measure_of_size = Some(mos_total);
    }
    for s in areas.iter_mut().chain(std::iter::once(&mut total)) {
        let listed = s.dwellings - s.occupancy.get("not_dwelling").copied().unwrap_or(0);
        s.listed_to_mos = s
            .measure_of_size
            .filter(|m| *m > 0.0)
            .map(|m| listed as f64 / m);
    }
    Stats { total, areas }
}
