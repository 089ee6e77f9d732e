//! Generated listings: a synthetic city for demos and benchmarks, and deterministic dwellings for
//! building footprints that come without them (OpenStreetMap records no dwellings).
//!
//! Everything here is a pure function of its options and seed: the same options give the same
//! listing, ids included (ids are name-based, derived from generated source ids).

use crate::geometry::LocalPlane;
use crate::ids::{AreaId, BuildingId, DwellingId};
use crate::listing::{
    Address, Area, Building, BuildingKind, Dwelling, Extra, Footprint, Listing, Occupancy,
};
use crate::random::Stream;
use crate::serpentine::{NumberingOptions, number};
use geo::{Area as _, Coord, LineString, MultiPolygon, Point, Polygon};

/// Shape of a synthetic city.
#[derive(Debug, Clone, PartialEq)]
pub struct CityOptions {
    pub areas: usize,
    pub buildings_per_area: usize,
    /// Every residential building holds exactly this many dwellings (entrances × floors × per floor).
    pub dwellings_per_building: u32,
    pub seed: u64,
    /// South-west corner of the city, WGS-84.
    pub origin: (f64, f64),
    /// Side of an area's square cell, metres.
    pub area_side_m: f64,
    /// Plant one example of each common listing mistake (for demos and tests).
    pub defects: bool,
    /// Cut each area into this many segments (bands of building rows); 0 for none.
    pub segments: usize,
}

impl Default for CityOptions {
    fn default() -> Self {
        Self {
            areas: 6,
            buildings_per_area: 30,
            dwellings_per_building: 12,
            seed: 2026,
            origin: (102.70, 25.02),
            area_side_m: 400.0,
            defects: false,
            segments: 0,
        }
    }
}

impl CityOptions {
    /// The benchmark city: 1,000 areas, 100,000 buildings, 1,000,000 dwellings.
    pub fn benchmark() -> Self {
        Self {
            areas: 1_000,
            buildings_per_area: 100,
            dwellings_per_building: 10,
            ..Self::default()
        }
    }
}

/// Entrance × floor × per-floor combinations for a building of `n` dwellings.
fn layouts(n: u32) -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    for e in 1..=n.min(6) {
        for p in 1..=n.min(4) {
            if n.is_multiple_of(e * p) {
                let f = n / (e * p);
                if (1..=33).contains(&f) {
                    out.push((e, f, p));
                }
            }
        }
    }
    if out.is_empty() {
        out.push((1, n, 1));
    }
    out
}

/// Generates a synthetic city, numbered in serpentine order.
pub fn city(options: &CityOptions) -> Listing {
    let mut rng = Stream::new(options.seed);
    let cols = (options.areas as f64).sqrt().ceil().max(1.0) as usize;
    let rows = options.areas.div_ceil(cols);
    let plane = LocalPlane::new(options.origin.0, options.origin.1);
    let side = options.area_side_m;
    // Corner jitter is shared by neighbouring areas so that they tile without overlap.
    let jitter: Vec<Vec<(f64, f64)>> = (0..=rows)
        .map(|_| {
            (0..=cols)
                .map(|_| (rng.range(-0.08, 0.08) * side, rng.range(-0.08, 0.08) * side))
                .collect()
        })
        .collect();
    let corner = |r: usize, c: usize| -> Coord<f64> {
        let (jx, jy) = if r == 0 || c == 0 || r == rows || c == cols {
            (0.0, 0.0)
        } else {
            jitter[r][c]
        };
        plane.unproject(Coord {
            x: c as f64 * side + jx,
            y: r as f64 * side + jy,
        })
    };
    let layouts = layouts(options.dwellings_per_building);
    let mut listing = Listing::default();
    for a in 0..options.areas {
        let (r, c) = (a / cols, a % cols);
        let code = format!("A{:04}", a + 1);
        let ring = vec![
            corner(r, c),
            corner(r, c + 1),
            corner(r + 1, c + 1),
            corner(r + 1, c),
            corner(r, c),
        ];
        let area_id = AreaId::from_source(&code);
        let mut area = Area::named(code.clone());
        area.id = area_id;
        area.name = format!("社区 {}", a + 1);
        area.stratum = Some(format!("S{}", r % 4 + 1));
        area.boundary = Some(MultiPolygon(vec![Polygon::new(
            LineString::new(ring),
            vec![],
        )]));
        area.mos_source = Some("synthetic register".into());
        // Buildings on an inner grid of the cell, well inside the jittered boundary.
        let n = options.buildings_per_area;
        let per_row = (n as f64).sqrt().ceil().max(1.0) as usize;
        let inner = side * 0.7;
        let step = inner / per_row as f64;
        let mut listed = 0u32;
        let rows_of_buildings = n.div_ceil(per_row);
        for s in 0..options.segments {
            area.segments.push(crate::listing::Segment {
                id: crate::ids::SegmentId::from_source(&format!("{code}/S{}", s + 1)),
                code: format!("S{}", s + 1),
                boundary: None,
                measure_of_size: None,
                extra: Extra::new(),
            });
        }
        for k in 0..n {
            let (br, bc) = (k / per_row, k % per_row);
            let x = c as f64 * side
                + side * 0.15
                + (bc as f64 + 0.5) * step
                + rng.range(-0.1, 0.1) * step;
            let y = r as f64 * side
                + side * 0.15
                + (br as f64 + 0.5) * step
                + rng.range(-0.1, 0.1) * step;
            let (w, h) = ((step * 0.6).min(30.0), (step * 0.35).min(14.0));
            let rect: Vec<Coord<f64>> = [(-w, -h), (w, -h), (w, h), (-w, h), (-w, -h)]
                .iter()
                .map(|&(dx, dy)| {
                    plane.unproject(Coord {
                        x: x + dx / 2.0,
                        y: y + dy / 2.0,
                    })
                })
                .collect();
            let src = format!("{code}-B{:03}", k + 1);
            let (e, f, p) = layouts[rng.below(layouts.len() as u64) as usize];
            let kind = if rng.chance(0.1) {
                BuildingKind::Mixed
            } else {
                BuildingKind::Residential
            };
            let building = Building {
                id: BuildingId::from_source(&src),
                source_id: Some(src.clone()),
                area: area_id,
                footprint: Footprint::Polygon(MultiPolygon(vec![Polygon::new(
                    LineString::new(rect),
                    vec![],
                )])),
                kind,
                name: None,
                number: Some(format!("{}栋", k + 1)),
                floors: Some(f as u16),
                entrances: Some(e as u16),
                dwellings_per_floor: Some(p as u16),
                serpentine: None,
                sheet: None,
                segment: (options.segments > 0)
                    .then(|| format!("S{}", br * options.segments / rows_of_buildings + 1)),
                extra: Extra::new(),
            };
            for unit in 1..=e {
                for floor in 1..=f {
                    for room in 1..=p {
                        let room_no = format!("{floor}{room:02}");
                        let dsrc = format!("{src}-{unit}-{room_no}");
                        let loc = plane.unproject(Coord {
                            x: x + rng.range(-0.4, 0.4) * w,
                            y: y + rng.range(-0.4, 0.4) * h,
                        });
                        let occupancy = match rng.uniform() {
                            u if u < 0.90 => Occupancy::Occupied,
                            u if u < 0.97 => Occupancy::Vacant,
                            _ => Occupancy::Business,
                        };
                        let households = match occupancy {
                            Occupancy::Occupied if rng.chance(0.04) => 2,
                            Occupancy::Occupied => 1,
                            _ => 0,
                        };
                        listing.dwellings.push(Dwelling {
                            id: DwellingId::from_source(&dsrc),
                            source_id: Some(dsrc),
                            building: Some(building.id),
                            area: area_id,
                            address: Address {
                                unit: Some(unit.to_string()),
                                floor: Some(floor.to_string()),
                                room: Some(room_no),
                            },
                            door_number: None,
                            door_plate: Some(!rng.chance(0.05)),
                            location: Some(Point::from(loc)),
                            occupancy,
                            households,
                            notes: None,
                            listing_number: None,
                            extra: Extra::new(),
                        });
                        listed += 1;
                    }
                }
            }
            listing.buildings.push(building);
        }
        area.measure_of_size = Some((f64::from(listed) * rng.range(0.9, 1.1)).round());
        listing.areas.push(area);
    }
    number(&listing, &NumberingOptions::default()).apply(&mut listing);
    if options.defects {
        plant_defects(&mut listing, &plane);
    }
    listing
}

/// Plants one of each common listing mistake into the first area (needs at least 4 buildings).
fn plant_defects(listing: &mut Listing, plane: &LocalPlane) {
    let Some(area) = listing.areas.first().map(|a| a.id) else {
        return;
    };
    let in_area: Vec<usize> = (0..listing.buildings.len())
        .filter(|&i| listing.buildings[i].area == area)
        .collect();
    if in_area.len() < 4 {
        return;
    }
    // 1. The same door listed twice in its building.
    let b0 = listing.buildings[in_area[0]].id;
    if let Some(d) = listing
        .dwellings
        .iter()
        .find(|d| d.building == Some(b0))
        .cloned()
    {
        let mut dup = d.clone();
        dup.source_id = Some(format!("{}-again", d.source_id.clone().unwrap_or_default()));
        dup.id = DwellingId::from_source(dup.source_id.as_deref().unwrap_or_default());
        dup.listing_number = None;
        listing.dwellings.push(dup);
    }
    // 2. A residential building whose dwellings were never listed.
    let b1 = listing.buildings[in_area[1]].id;
    listing.dwellings.retain(|d| d.building != Some(b1));
    // 3. A building drawn outside the area (a lister who kept walking past the boundary).
    let b2 = &mut listing.buildings[in_area[2]];
    if let Footprint::Polygon(mp) = &mut b2.footprint {
        for p in &mut mp.0 {
            p.exterior_mut(|ring| {
                for c in ring.0.iter_mut() {
                    let m = plane.project(*c);
                    *c = plane.unproject(Coord {
                        x: m.x - 400.0,
                        y: m.y,
                    });
                }
            });
        }
    }
    // 4. A second lister's record of a building already listed: same number and doors, 2 m away.
    let b3 = listing.buildings[in_area[3]].clone();
    let copy_src = format!("{}-copy", b3.source_id.clone().unwrap_or_default());
    let copy_id = BuildingId::from_source(&copy_src);
    let copies: Vec<Dwelling> = listing
        .dwellings
        .iter()
        .filter(|d| d.building == Some(b3.id))
        .take(1)
        .map(|d| {
            let src = format!("{}-copy", d.source_id.clone().unwrap_or_default());
            Dwelling {
                id: DwellingId::from_source(&src),
                source_id: Some(src),
                building: Some(copy_id),
                listing_number: None,
                ..d.clone()
            }
        })
        .collect();
    let mut copy = b3;
    copy.id = copy_id;
    copy.source_id = Some(copy_src);
    copy.serpentine = None;
    copy.entrances = None;
    listing.buildings.push(copy);
    listing.dwellings.extend(copies);
}

/// Residential floor area per entrance used to guess entrances from a footprint, m².
const FOOTPRINT_PER_ENTRANCE_M2: f64 = 250.0;

/// Gives every residential (or mixed) building that has no dwellings a deterministic set of them:
/// entrances from the footprint area (one per 250 m², 1–8), floors from the building (6 when
/// unknown), two dwellings per floor. The building's entrances, floors and dwellings per floor
/// are set to match. Returns the number of dwellings added.
pub fn populate_dwellings(listing: &mut Listing) -> usize {
    let mut has = std::collections::HashSet::new();
    for d in &listing.dwellings {
        if let Some(b) = d.building {
            has.insert(b);
        }
    }
    let mut added = 0;
    let mut new = Vec::new();
    for b in &mut listing.buildings {
        if !b.kind.is_residential() || has.contains(&b.id) {
            continue;
        }
        let anchor = b.footprint.anchor();
        let plane = LocalPlane::new(anchor.x(), anchor.y());
        let area_m2 = match &b.footprint {
            Footprint::Polygon(mp) => plane.project_multi(mp).unsigned_area(),
            Footprint::Point(_) => FOOTPRINT_PER_ENTRANCE_M2,
        };
        let entrances = ((area_m2 / FOOTPRINT_PER_ENTRANCE_M2).round() as u16).clamp(1, 8);
        let floors = b.floors.unwrap_or(6).max(1);
        let per_floor = 2u16;
        b.entrances = Some(entrances);
        b.floors = Some(floors);
        b.dwellings_per_floor = Some(per_floor);
        let label = b.source_id.clone().unwrap_or_else(|| b.id.to_string());
        for unit in 1..=entrances {
            for floor in 1..=floors {
                for room in 1..=per_floor {
                    let room_no = format!("{floor}{room:02}");
                    let src = format!("{label}-{unit}-{room_no}");
                    new.push(Dwelling {
                        id: DwellingId::from_source(&src),
                        source_id: Some(src),
                        building: Some(b.id),
                        area: b.area,
                        address: Address {
                            unit: Some(unit.to_string()),
                            floor: Some(floor.to_string()),
                            room: Some(room_no),
                        },
                        door_number: None,
                        door_plate: None,
                        location: None,
                        occupancy: Occupancy::Occupied,
                        households: 1,
                        notes: None,
                        listing_number: None,
                        extra: Extra::new(),
                    });
                    added += 1;
                }
            }
        }
    }
    listing.dwellings.extend(new);
    added
}

/// Gives every area that has no boundary a draft one: the convex hull of its buildings, grown by
/// `buffer_m` metres. For data that names compounds but draws no boundaries (OpenStreetMap); a
/// real survey draws its boundaries on the first walk.
pub fn draft_boundaries(listing: &mut Listing, buffer_m: f64) -> usize {
    use geo::{ConvexHull, MultiPoint};
    let mut drafted = 0;
    for area in &mut listing.areas {
        if area.boundary.is_some() {
            continue;
        }
        let coords: Vec<Coord<f64>> = listing
            .buildings
            .iter()
            .filter(|b| b.area == area.id)
            .flat_map(|b| match &b.footprint {
                Footprint::Point(p) => vec![p.0],
                Footprint::Polygon(mp) => {
                    mp.0.iter().flat_map(|p| p.exterior().0.clone()).collect()
                }
            })
            .collect();
        let Some(first) = coords.first() else {
            continue;
        };
        let plane = LocalPlane::new(first.x, first.y);
        let grown: Vec<Point<f64>> = coords
            .iter()
            .flat_map(|&c| {
                let m = plane.project(c);
                (0..16).map(move |k| {
                    let t = f64::from(k) * std::f64::consts::PI / 8.0;
                    Coord {
                        x: m.x + buffer_m * t.cos(),
                        y: m.y + buffer_m * t.sin(),
                    }
                })
            })
            .map(|m| Point::from(plane.unproject(m)))
            .collect();
        area.boundary = Some(MultiPolygon(vec![MultiPoint(grown).convex_hull()]));
        drafted += 1;
    }
    drafted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_multiply_out() {
        for n in [1, 10, 12, 24] {
            for (e, f, p) in layouts(n) {
                assert_eq!(e * f * p, n);
            }
        }
    }

    #[test]
    fn a_city_is_deterministic_and_sized_as_asked() {
        let o = CityOptions {
            areas: 4,
            buildings_per_area: 9,
            dwellings_per_building: 6,
            ..CityOptions::default()
        };
        let a = city(&o);
        let b = city(&o);
        assert_eq!(a, b);
        assert_eq!(a.areas.len(), 4);
        assert_eq!(a.buildings.len(), 36);
        assert_eq!(a.dwellings.len(), 36 * 6);
    }
}
