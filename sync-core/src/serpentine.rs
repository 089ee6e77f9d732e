//! Serpentine numbering: the order in which a lister walks an area, and the listing numbers that
//! follow from it.
//!
//! Buildings of an area (sheet by sheet when the area has map sheets) are cut into horizontal bands
//! from north to south and walked west→east in the first band, east→west in the next, and so on
//! (boustrophedon). Buildings get serpentine numbers 1..n in that order. Dwellings are then numbered
//! 1..N through the area in building order, and within a building by entrance, floor and room
//! (natural order, basements first). Dwellings not in any building take their place in the walk by
//! their own location. The order is deterministic: equal positions are ordered by id.

use crate::geometry::LocalPlane;
use crate::ids::{BuildingId, DwellingId};
use crate::listing::address::{Chunk, floor_rank, natural_key};
use crate::listing::{Dwelling, Listing};
use geo::{BoundingRect, Coord};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashMap;

/// How to number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NumberingOptions {
    /// Height of a band in metres. By default about twice the typical spacing of buildings:
    /// `2·sqrt(bounding-box area / number of buildings)`, at least 20 m.
    pub band_m: Option<f64>,
}

/// Serpentine numbers for buildings and listing numbers for dwellings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbering {
    pub buildings: HashMap<BuildingId, u32>,
    pub dwellings: HashMap<DwellingId, u32>,
}

impl Numbering {
    /// Writes the numbers into the listing.
    pub fn apply(&self, listing: &mut Listing) {
        for b in &mut listing.buildings {
            if let Some(&n) = self.buildings.get(&b.id) {
                b.serpentine = Some(n);
            }
        }
        for d in &mut listing.dwellings {
            if let Some(&n) = self.dwellings.get(&d.id) {
                d.listing_number = Some(n);
            }
        }
    }
}

/// A stop on the walk: a building, or a dwelling outside any building.
#[derive(Clone, Copy)]
enum Stop {
    Building(usize),
    Loose(usize),
}

/// The stops on one map sheet (`None`: on no sheet).
type SheetGroup = (Option<Vec<Chunk>>, Vec<(Stop, Coord<f64>)>);

/// Computes the serpentine order of every area of the listing.
pub fn number(listing: &Listing, options: &NumberingOptions) -> Numbering {
    let area_index = listing.area_index();
    let building_index = listing.building_index();
    let n_areas = listing.areas.len();
    let mut stops: Vec<Vec<(Stop, Coord<f64>)>> = vec![Vec::new(); n_areas];
    for (i, b) in listing.buildings.iter().enumerate() {
        if let Some(&a) = area_index.get(&b.area) {
            stops[a].push((Stop::Building(i), b.footprint.anchor().0));
        }
    }
    let mut in_building: Vec<Vec<usize>> = vec![Vec::new(); listing.buildings.len()];
    for (i, d) in listing.dwellings.iter().enumerate() {
        match d.building.and_then(|b| building_index.get(&b)) {
            Some(&b) => in_building[b].push(i),
            None => {
                if let (Some(&a), Some(loc)) = (area_index.get(&d.area), d.location) {
                    stops[a].push((Stop::Loose(i), loc.0));
                }
            }
        }
    }
    let mut numbering = Numbering::default();
    for (ai, mut area_stops) in stops.into_iter().enumerate() {
        // Sheets first (natural order of their codes; buildings on no sheet last), then the walk.
        let sheet_of = |s: &Stop| match s {
            Stop::Building(b) => listing.buildings[*b].sheet.as_deref().map(natural_key),
            Stop::Loose(_) => None,
        };
        let mut groups: Vec<SheetGroup> = Vec::new();
        area_stops.sort_by(|a, b| sheet_cmp(&sheet_of(&a.0), &sheet_of(&b.0)));
        for s in area_stops {
            let key = sheet_of(&s.0);
            match groups.last_mut() {
                Some((k, v)) if *k == key => v.push(s),
                _ => groups.push((key, vec![s])),
            }
        }
        let (mut next_building, mut next_dwelling) = (1u32, 1u32);
        for (_, group) in groups {
            for (stop, _) in walk(listing, group, options) {
                match stop {
                    Stop::Building(b) => {
                        numbering
                            .buildings
                            .insert(listing.buildings[b].id, next_building);
                        next_building += 1;
                        let mut ds: Vec<(WalkKey, usize)> = in_building[b]
                            .iter()
                            .map(|&d| (WalkKey::of(&listing.dwellings[d]), d))
                            .collect();
                        ds.sort_unstable();
                        for (_, d) in ds {
                            numbering
                                .dwellings
                                .insert(listing.dwellings[d].id, next_dwelling);
                            next_dwelling += 1;
                        }
                    }
                    Stop::Loose(d) => {
                        numbering
                            .dwellings
                            .insert(listing.dwellings[d].id, next_dwelling);
                        next_dwelling += 1;
                    }
                }
            }
        }
        let _ = ai;
    }
    // Dwellings that could not be placed (no building, no location) go last, by id.
    let mut rest: Vec<&crate::listing::Dwelling> = listing
        .dwellings
        .iter()
        .filter(|d| !numbering.dwellings.contains_key(&d.id))
        .collect();
    rest.sort_by_key(|d| (d.area, d.id));
    let mut next_per_area: HashMap<crate::ids::AreaId, u32> = HashMap::new();
    for d in &listing.dwellings {
        if let Some(&n) = numbering.dwellings.get(&d.id) {
            let e = next_per_area.entry(d.area).or_insert(0);
            *e = (*e).max(n);
        }
    }
    for d in rest {
        let e = next_per_area.entry(d.area).or_insert(0);
        *e += 1;
        numbering.dwellings.insert(d.id, *e);
    }
    numbering
}

/// The order of dwellings within a building, computed once per dwelling.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct WalkKey {
    unit: Vec<Chunk>,
    floor: (i8, i64, Vec<Chunk>),
    room: Vec<Chunk>,
    door: Vec<Chunk>,
    id: DwellingId,
}

impl WalkKey {
    fn of(d: &Dwelling) -> Self {
        let key = |p: Option<&str>| p.map(fast_natural_key).unwrap_or_default();
        Self {
            unit: key(d.address.unit.as_deref()),
            floor: floor_rank(d.address.floor.as_deref()),
            room: key(d.address.room.as_deref()),
            door: key(d.door_number.as_deref()),
            id: d.id,
        }
    }
}

/// [`natural_key`] with a fast path for the common all-digits case.
fn fast_natural_key(s: &str) -> Vec<Chunk> {
    if !s.is_empty() && s.len() < 19 && s.bytes().all(|b| b.is_ascii_digit()) {
        return vec![Chunk::Num(s.parse().unwrap_or(0))];
    }
    natural_key(s)
}

fn sheet_cmp<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Orders the stops of one sheet boustrophedon-wise.
///
/// Where the band lines fall matters: a line through a row of buildings splits it and makes the
/// walk zig-zag. Four band offsets (0, ¼, ½, ¾ of the band height) are tried and the shortest
/// walk is kept (ties to the smaller offset), so the result stays deterministic.
fn walk(
    listing: &Listing,
    stops: Vec<(Stop, Coord<f64>)>,
    options: &NumberingOptions,
) -> Vec<(Stop, Coord<f64>)> {
    if stops.len() < 2 {
        return stops;
    }
    let mp = geo::MultiPoint::from(
        stops
            .iter()
            .map(|s| geo::Point::from(s.1))
            .collect::<Vec<_>>(),
    );
    let Some(rect) = mp.bounding_rect() else {
        return stops;
    };
    let plane = LocalPlane::new(rect.center().x, rect.center().y);
    let (lo, hi) = (plane.project(rect.min()), plane.project(rect.max()));
    let band = options.band_m.filter(|b| *b > 0.0).unwrap_or_else(|| {
        let area = ((hi.x - lo.x).max(1.0)) * ((hi.y - lo.y).max(1.0));
        (2.0 * (area / stops.len() as f64).sqrt()).max(20.0)
    });
    let id_of = |s: &Stop| match s {
        Stop::Building(b) => listing.buildings[*b].id.uuid(),
        Stop::Loose(d) => listing.dwellings[*d].id.uuid(),
    };
    let points: Vec<(Coord<f64>, uuid::Uuid)> = stops
        .iter()
        .map(|s| (plane.project(s.1), id_of(&s.0)))
        .collect();
    let order_for = |offset: f64| -> Vec<usize> {
        let mut keyed: Vec<(i64, f64, f64, uuid::Uuid, usize)> = points
            .iter()
            .enumerate()
            .map(|(i, &(p, id))| {
                let row = ((hi.y + offset - p.y) / band).floor() as i64;
                let x = if row % 2 == 0 { p.x } else { -p.x };
                (row, x, -p.y, id, i)
            })
            .collect();
        keyed.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.total_cmp(&b.1))
                .then_with(|| a.2.total_cmp(&b.2))
                .then_with(|| a.3.cmp(&b.3))
        });
        keyed.into_iter().map(|k| k.4).collect()
    };
    let length = |order: &[usize]| -> f64 {
        order
            .windows(2)
            .map(|w| {
                let (a, b) = (points[w[0]].0, points[w[1]].0);
                ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
            })
            .sum()
    };
    let mut best: Option<(f64, Vec<usize>)> = None;
    for k in 0..4 {
        let order = order_for(band * f64::from(k) / 4.0);
        let len = length(&order);
        if best.as_ref().is_none_or(|(l, _)| len < *l - 1e-9) {
            best = Some((len, order));
        }
    }
    let order = best.map(|b| b.1).unwrap_or_default();
    let mut slots: Vec<Option<(Stop, Coord<f64>)>> = stops.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
