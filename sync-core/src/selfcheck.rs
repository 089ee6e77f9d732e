//! The listing self-check (绘图自查): everything a mapping team checks before a listing is frozen.
//!
//! [`check`] is a pure function from a [`Listing`] to a [`Report`] of [`Finding`]s. Each finding has
//! a stable snake_case code, a severity, the ids involved (the input's own feature ids where it had
//! them, UUIDs otherwise) and a message in English and Chinese. An error-severity finding means the
//! listing should not become a frame as it is; warnings ask a supervisor to look; info is context.
//!
//! Distances are measured in metres in a local plane per area (see [`crate::geometry`]); spatial
//! queries go through R-trees so that a city-sized listing checks in about a second on one core.

use crate::geometry::{LocalPlane, distance_m};
use crate::listing::address::{normalize_floor, normalize_part};
use crate::listing::{Area, Building, Dwelling, Listing, Occupancy};
use geo::{
    Area as _, BooleanOps, BoundingRect, Contains, Coord, Distance, Euclidean, MultiPolygon, Point,
    Rect, Validation,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree, RTreeObject};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Thresholds of the self-check. The defaults are what field manuals use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckOptions {
    /// How far outside its area boundary a building or dwelling may lie (GPS and drawing error).
    pub outside_tolerance_m: f64,
    /// Overlap between two areas smaller than this is ignored (shared edges, rounding).
    pub overlap_tolerance_m2: f64,
    /// Relative difference allowed between entrances × floors × dwellings per floor and the
    /// number of dwellings listed in a building.
    pub apartment_tolerance: f64,
    /// Consecutive buildings in serpentine order farther apart than this are a jump, unless the
    /// area's buildings are generally that far apart (five times the median step).
    pub serpentine_jump_m: f64,
    /// Dwellings with the same full address closer than this are likely the same door listed twice.
    pub near_duplicate_m: f64,
    /// Allowed range of listed dwellings ÷ measure of size.
    pub size_band: (f64, f64),
    /// Allowed range of the share of listed dwellings found vacant.
    pub vacancy_band: (f64, f64),
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            outside_tolerance_m: 10.0,
            overlap_tolerance_m2: 1.0,
            apartment_tolerance: 0.1,
            serpentine_jump_m: 150.0,
            near_duplicate_m: 5.0,
            size_band: (0.7, 1.3),
            vacancy_band: (0.0, 0.3),
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! finding_codes {
    ($($variant:ident => $code:literal, $severity:ident;)*) => {
        /// Stable codes of self-check findings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FindingCode { $($variant,)* }

        impl FindingCode {
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// The stable snake_case code.
            pub fn as_str(self) -> &'static str {
                match self { $(FindingCode::$variant => $code,)* }
            }

            /// The severity findings of this code have.
            pub fn severity(self) -> Severity {
                match self { $(FindingCode::$variant => Severity::$severity,)* }
            }
        }
    };
}

finding_codes! {
    BoundaryMissing => "boundary_missing", Warning;
    BoundaryUnclosed => "boundary_unclosed", Error;
    BoundarySelfIntersecting => "boundary_self_intersecting", Error;
    BoundaryInvalid => "boundary_invalid", Error;
    AreasOverlap => "areas_overlap", Error;
    BuildingOutsideArea => "building_outside_area", Error;
    DwellingOutsideArea => "dwelling_outside_area", Error;
    ResidentialBuildingWithoutDwellings => "residential_building_without_dwellings", Error;
    DwellingCountMismatch => "dwelling_count_mismatch", Warning;
    DuplicateAddress => "duplicate_address", Error;
    NearDuplicateDwellings => "near_duplicate_dwellings", Warning;
    DwellingWithoutAddress => "dwelling_without_address", Warning;
    DwellingsInNonResidentialBuilding => "dwellings_in_non_residential_building", Info;
    ListingNotNumbered => "listing_not_numbered", Info;
    DuplicateListingNumber => "duplicate_listing_number", Error;
    MissingListingNumber => "missing_listing_number", Error;
    DuplicateSerpentineNumber => "duplicate_serpentine_number", Error;
    SerpentineJump => "serpentine_jump", Warning;
    SizeOutsideBand => "size_outside_band", Warning;
    VacancyRateOutsideBand => "vacancy_rate_outside_band", Warning;
}

/// One thing the self-check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// Code of the area concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// The features involved: input ids where the input had them, UUIDs otherwise.
    pub ids: Vec<String>,
    pub message: String,
    pub message_zh: String,
}

/// Counts that go with a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub areas: usize,
    pub buildings: usize,
    pub dwellings: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Number of findings per code.
    pub by_code: BTreeMap<String, usize>,
}

/// The result of a self-check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    /// Whether any finding has error severity.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// The findings with the given code.
    pub fn with_code(&self, code: FindingCode) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.code == code)
    }
}

/// Runs every self-check over a listing.
pub fn check(listing: &Listing, options: &CheckOptions) -> Report {
    let mut ctx = Ctx::new(listing, options);
    ctx.boundaries();
    ctx.overlapping_areas();
    ctx.per_area();
    ctx.near_duplicates();
    ctx.finish()
}

/// Precomputed lookups shared by the checks.
struct Ctx<'a> {
    listing: &'a Listing,
    opts: &'a CheckOptions,
    findings: Vec<Finding>,
    /// Buildings and dwellings of each area, by index.
    area_buildings: Vec<Vec<usize>>,
    area_dwellings: Vec<Vec<usize>>,
    /// Building index of each dwelling.
    dwelling_building: Vec<Option<usize>>,
    /// Dwellings of each building.
    building_dwellings: Vec<Vec<usize>>,
    /// Anchor point of each building.
    anchors: Vec<Point<f64>>,
    /// Whether each area's boundary is usable for geometric checks.
    usable_boundary: Vec<bool>,
}

impl<'a> Ctx<'a> {
    fn new(listing: &'a Listing, opts: &'a CheckOptions) -> Self {
        let area_index = listing.area_index();
        let building_index = listing.building_index();
        let mut area_buildings = vec![Vec::new(); listing.areas.len()];
        let mut area_dwellings = vec![Vec::new(); listing.areas.len()];
        let mut building_dwellings = vec![Vec::new(); listing.buildings.len()];
        for (i, b) in listing.buildings.iter().enumerate() {
            if let Some(&a) = area_index.get(&b.area) {
                area_buildings[a].push(i);
            }
        }
        let mut dwelling_building = Vec::with_capacity(listing.dwellings.len());
        for (i, d) in listing.dwellings.iter().enumerate() {
            if let Some(&a) = area_index.get(&d.area) {
                area_dwellings[a].push(i);
            }
            let b = d.building.and_then(|b| building_index.get(&b).copied());
            if let Some(b) = b {
                building_dwellings[b].push(i);
            }
            dwelling_building.push(b);
        }
        let anchors = listing
            .buildings
            .iter()
            .map(|b| b.footprint.anchor())
            .collect();
        Self {
            listing,
            opts,
            findings: Vec::new(),
            area_buildings,
            area_dwellings,
            dwelling_building,
            building_dwellings,
            anchors,
            usable_boundary: vec![false; listing.areas.len()],
        }
    }

    fn add(
        &mut self,
        code: FindingCode,
        area: Option<&Area>,
        ids: Vec<String>,
        en: String,
        zh: String,
    ) {
        self.findings.push(Finding {
            code,
            severity: code.severity(),
            area: area.map(|a| a.code.clone()),
            ids,
            message: en,
            message_zh: zh,
        });
    }

    fn building_id(&self, i: usize) -> String {
        Listing::building_label(&self.listing.buildings[i])
    }

    fn dwelling_id(&self, i: usize) -> String {
        Listing::dwelling_label(&self.listing.dwellings[i])
    }

    fn dwelling_position(&self, i: usize) -> Option<Point<f64>> {
        let d = &self.listing.dwellings[i];
        d.location
            .or_else(|| self.dwelling_building[i].map(|b| self.anchors[b]))
    }

    /// A local plane for an area: centred on its boundary or its first building.
    fn plane(&self, a: usize) -> LocalPlane {
        let area = &self.listing.areas[a];
        let c = area
            .boundary
            .as_ref()
            .and_then(|b| b.bounding_rect())
            .map(|r| r.center())
            .or_else(|| self.area_buildings[a].first().map(|&b| self.anchors[b].0))
            .unwrap_or(Coord { x: 0.0, y: 0.0 });
        LocalPlane::new(c.x, c.y)
    }

    fn boundaries(&mut self) {
        for (ai, area) in self.listing.areas.iter().enumerate() {
            let Some(boundary) = &area.boundary else {
                self.add(
                    FindingCode::BoundaryMissing,
                    Some(area),
                    vec![area.code.clone()],
                    format!("area {} has no boundary; buildings and dwellings cannot be checked against it", area.code),
                    format!("区域 {} 没有边界，无法检查建筑和住户是否在区域内", area.code),
                );
                continue;
            };
            let mut usable = true;
            if area.boundary_unclosed {
                usable = false;
                self.add(
                    FindingCode::BoundaryUnclosed,
                    Some(area),
                    vec![area.code.clone()],
                    format!("the boundary of area {} is not closed: a ring does not end where it starts", area.code),
                    format!("区域 {} 的边界未闭合：边界线的终点与起点不重合", area.code),
                );
            }
            let mut self_intersecting = Vec::new();
            let mut other = Vec::new();
            boundary
                .visit_validation(Box::new(|e| {
                    let text = e.to_string();
                    let is_self = matches!(
                        e,
                        geo::algorithm::validation::InvalidMultiPolygon::InvalidPolygon(
                            _,
                            geo::algorithm::validation::InvalidPolygon::SelfIntersection(_)
                        )
                    );
                    if is_self {
                        self_intersecting.push(text)
                    } else {
                        other.push(text)
                    }
                    Ok::<(), ()>(())
                }))
                .ok();
            if !self_intersecting.is_empty() {
                usable = false;
                self.add(
                    FindingCode::BoundarySelfIntersecting,
                    Some(area),
                    vec![area.code.clone()],
                    format!(
                        "the boundary of area {} crosses itself ({})",
                        area.code,
                        self_intersecting.join("; ")
                    ),
                    format!("区域 {} 的边界自相交", area.code),
                );
            }
            if !other.is_empty() {
                usable = false;
                self.add(
                    FindingCode::BoundaryInvalid,
                    Some(area),
                    vec![area.code.clone()],
                    format!(
                        "the boundary of area {} is not a valid polygon: {}",
                        area.code,
                        other.join("; ")
                    ),
                    format!(
                        "区域 {} 的边界不是有效的多边形：{}",
                        area.code,
                        other.join("；")
                    ),
                );
            }
            self.usable_boundary[ai] = usable;
        }
    }

    fn overlapping_areas(&mut self) {
        let items: Vec<_> = self
            .listing
            .areas
            .iter()
            .enumerate()
            .filter(|(i, _)| self.usable_boundary[*i])
            .filter_map(|(i, a)| {
                let r = a.boundary.as_ref()?.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        let tree = RTree::bulk_load(items);
        let mut pairs = Vec::new();
        for item in tree.iter() {
            let env = item.geom().envelope();
            for other in tree.locate_in_envelope_intersecting(&env) {
                if other.data > item.data {
                    pairs.push((item.data, other.data));
                }
            }
        }
        pairs.sort_unstable();
        for (i, j) in pairs {
            let (a, b) = (&self.listing.areas[i], &self.listing.areas[j]);
            let (Some(ga), Some(gb)) = (&a.boundary, &b.boundary) else {
                continue;
            };
            let plane = self.plane(i);
            let overlap = plane
                .project_multi(ga)
                .intersection(&plane.project_multi(gb))
                .unsigned_area();
            if overlap > self.opts.overlap_tolerance_m2 {
                self.add(
                    FindingCode::AreasOverlap,
                    Some(a),
                    vec![a.code.clone(), b.code.clone()],
                    format!("areas {} and {} overlap by {:.0} m²; a dwelling there could be listed twice", a.code, b.code, overlap),
                    format!("区域 {} 与 {} 重叠 {:.0} 平方米，重叠处的住户可能被重复列出", a.code, b.code, overlap),
                );
            }
        }
    }

    fn per_area(&mut self) {
        for ai in 0..self.listing.areas.len() {
            self.outside(ai);
            self.buildings_and_addresses(ai);
            self.listing_numbers(ai);
            self.serpentine(ai);
            self.size_and_vacancy(ai);
        }
    }

    /// Distance in metres from a point to the area, 0 when inside.
    fn outside_by(
        point: Point<f64>,
        boundary: &MultiPolygon<f64>,
        bbox: &Rect<f64>,
        projected: &mut Option<MultiPolygon<f64>>,
        plane: &LocalPlane,
    ) -> f64 {
        let inside_box = bbox.min().x <= point.x()
            && point.x() <= bbox.max().x
            && bbox.min().y <= point.y()
            && point.y() <= bbox.max().y;
        if inside_box && boundary.contains(&point) {
            return 0.0;
        }
        let proj = projected.get_or_insert_with(|| plane.project_multi(boundary));
        Euclidean.distance(&Point::from(plane.project(point.0)), &*proj)
    }

    fn outside(&mut self, ai: usize) {
        if !self.usable_boundary[ai] {
            return;
        }
        let area = &self.listing.areas[ai];
        let Some(boundary) = &area.boundary else {
            return;
        };
        let Some(bbox) = boundary.bounding_rect() else {
            return;
        };
        let plane = self.plane(ai);
        let mut projected = None;
        let tol = self.opts.outside_tolerance_m;
        let mut found = Vec::new();
        for &b in &self.area_buildings[ai] {
            let d = Self::outside_by(self.anchors[b], boundary, &bbox, &mut projected, &plane);
            if d > tol {
                found.push((FindingCode::BuildingOutsideArea, self.building_id(b), d));
            }
        }
        for &di in &self.area_dwellings[ai] {
            let Some(loc) = self.listing.dwellings[di].location else {
                continue;
            };
            let d = Self::outside_by(loc, boundary, &bbox, &mut projected, &plane);
            if d > tol {
                found.push((FindingCode::DwellingOutsideArea, self.dwelling_id(di), d));
            }
        }
        for (code, id, d) in found {
            let (what, what_zh) = if code == FindingCode::BuildingOutsideArea {
                ("building", "建筑")
            } else {
                ("dwelling", "住户")
            };
            self.add(
                code,
                Some(area),
                vec![id.clone()],
                format!(
                    "{what} {id} lies {d:.0} m outside the boundary of area {} (tolerance {tol} m)",
                    area.code
                ),
                format!(
                    "{what_zh} {id} 位于区域 {} 边界外 {d:.0} 米（容差 {tol} 米）",
                    area.code
                ),
            );
        }
    }

    fn buildings_and_addresses(&mut self, ai: usize) {
        let area = &self.listing.areas[ai];
        let mut keyed: Vec<(u64, usize)> = Vec::new();
        let mut buf = String::new();
        let mut found: Vec<(FindingCode, Vec<String>, String, String)> = Vec::new();
        for &bi in &self.area_buildings[ai] {
            let b = &self.listing.buildings[bi];
            let dwellings = &self.building_dwellings[bi];
            let listed = dwellings
                .iter()
                .filter(|&&d| self.listing.dwellings[d].occupancy != Occupancy::NotDwelling)
                .count();
            let bid = self.building_id(bi);
            if b.kind.is_residential() && dwellings.is_empty() {
                found.push((
                    FindingCode::ResidentialBuildingWithoutDwellings,
                    vec![bid.clone()],
                    format!("{} building {bid} has no dwellings listed", b.kind.as_str()),
                    format!("住宅建筑 {bid} 没有列出任何住户"),
                ));
            }
            if !b.kind.is_residential() && !dwellings.is_empty() {
                found.push((
                    FindingCode::DwellingsInNonResidentialBuilding,
                    vec![bid.clone()],
                    format!(
                        "building {bid} is recorded as {} but has {} dwelling(s) listed",
                        b.kind.as_str(),
                        dwellings.len()
                    ),
                    format!(
                        "建筑 {bid} 记录为非住宅（{}），但列出了 {} 户",
                        b.kind.as_str(),
                        dwellings.len()
                    ),
                ));
            }
            if let (Some(e), Some(f), Some(p)) = (b.entrances, b.floors, b.dwellings_per_floor) {
                let expected = u64::from(e) * u64::from(f) * u64::from(p);
                let diff = (listed as f64 - expected as f64).abs();
                if expected > 0 && diff > (self.opts.apartment_tolerance * expected as f64).max(1.0)
                {
                    found.push((
                        FindingCode::DwellingCountMismatch,
                        vec![bid.clone()],
                        format!("building {bid}: {e} entrance(s) × {f} floor(s) × {p} per floor = {expected} dwellings expected, {listed} listed"),
                        format!("建筑 {bid}：{e} 个单元 × {f} 层 × 每层 {p} 户 = 应有 {expected} 户，实列 {listed} 户"),
                    ));
                }
            }
            keyed.clear();
            for &di in dwellings {
                if let Some(h) = address_hash(&self.listing.dwellings[di], false, None, &mut buf) {
                    keyed.push((h, di));
                }
            }
            keyed.sort_unstable();
            for group in keyed.chunk_by(|a, b| a.0 == b.0) {
                if group.len() < 2 {
                    continue;
                }
                let ids: Vec<String> = group.iter().map(|&(_, d)| self.dwelling_id(d)).collect();
                let addr = describe_address(&self.listing.dwellings[group[0].1]);
                found.push((
                    FindingCode::DuplicateAddress,
                    ids.clone(),
                    format!(
                        "building {bid} lists the address {addr} {} times: {}",
                        group.len(),
                        ids.join(", ")
                    ),
                    format!(
                        "建筑 {bid} 中地址 {addr} 出现 {} 次：{}",
                        group.len(),
                        ids.join("、")
                    ),
                ));
            }
        }
        for &di in &self.area_dwellings[ai] {
            let d = &self.listing.dwellings[di];
            if d.address.is_empty() && d.door_number.is_none() {
                let id = self.dwelling_id(di);
                found.push((
                    FindingCode::DwellingWithoutAddress,
                    vec![id.clone()],
                    format!("dwelling {id} has no address and no door number; an interviewer could not find it"),
                    format!("住户 {id} 既无地址也无门牌号，访员无法找到"),
                ));
            }
        }
        for (code, ids, en, zh) in found {
            self.add(code, Some(area), ids, en, zh);
        }
    }

    fn listing_numbers(&mut self, ai: usize) {
        let area = &self.listing.areas[ai];
        let dw = &self.area_dwellings[ai];
        if dw.is_empty() {
            return;
        }
        let mut numbered: Vec<(u32, usize)> = dw
            .iter()
            .filter_map(|&d| self.listing.dwellings[d].listing_number.map(|n| (n, d)))
            .collect();
        if numbered.is_empty() {
            self.add(
                FindingCode::ListingNotNumbered,
                Some(area),
                vec![area.code.clone()],
                format!("area {}: the {} dwellings have no listing numbers yet (mapframe frame number assigns them)", area.code, dw.len()),
                format!("区域 {}：{} 户尚未编号（可用 mapframe frame number 编号）", area.code, dw.len()),
            );
            return;
        }
        numbered.sort_unstable();
        let mut found = Vec::new();
        for group in numbered.chunk_by(|a, b| a.0 == b.0) {
            if group.len() > 1 {
                let ids: Vec<String> = group.iter().map(|&(_, d)| self.dwelling_id(d)).collect();
                found.push((
                    FindingCode::DuplicateListingNumber,
                    ids.clone(),
                    format!(
                        "area {}: listing number {} is given to {} dwellings: {}",
                        area.code,
                        group[0].0,
                        group.len(),
                        ids.join(", ")
                    ),
                    format!(
                        "区域 {}：编号 {} 被 {} 户重复使用：{}",
                        area.code,
                        group[0].0,
                        group.len(),
                        ids.join("、")
                    ),
                ));
            }
        }
        let n = dw.len() as u32;
        let mut present = vec![false; dw.len()];
        for &(k, _) in &numbered {
            if (1..=n).contains(&k) {
                present[(k - 1) as usize] = true;
            }
        }
        let missing: Vec<u32> = (1..=n).filter(|k| !present[(*k - 1) as usize]).collect();
        let unnumbered: Vec<String> = dw
            .iter()
            .filter(|&&d| self.listing.dwellings[d].listing_number.is_none())
            .map(|&d| self.dwelling_id(d))
            .collect();
        let beyond: Vec<String> = numbered
            .iter()
            .filter(|(k, _)| *k == 0 || *k > n)
            .map(|&(k, d)| format!("{}={k}", self.dwelling_id(d)))
            .collect();
        if !missing.is_empty() || !unnumbered.is_empty() {
            let shown: Vec<String> = missing.iter().take(20).map(u32::to_string).collect();
            let more = if missing.len() > 20 {
                format!(" and {} more", missing.len() - 20)
            } else {
                String::new()
            };
            let mut en = format!(
                "area {}: listing numbers must run 1..{n}; missing: {}{more}",
                area.code,
                shown.join(", ")
            );
            if !unnumbered.is_empty() {
                en.push_str(&format!(
                    "; {} dwelling(s) have no number",
                    unnumbered.len()
                ));
            }
            if !beyond.is_empty() {
                let more = if beyond.len() > 10 {
                    format!(" and {} more", beyond.len() - 10)
                } else {
                    String::new()
                };
                en.push_str(&format!(
                    "; out of range: {}{more}",
                    beyond[..beyond.len().min(10)].join(", ")
                ));
            }
            let zh = format!(
                "区域 {}：编号应为 1 至 {n}，缺少 {} 个编号，{} 户未编号",
                area.code,
                missing.len(),
                unnumbered.len()
            );
            found.push((FindingCode::MissingListingNumber, unnumbered, en, zh));
        }
        for (code, ids, en, zh) in found {
            self.add(code, Some(area), ids, en, zh);
        }
    }

    fn serpentine(&mut self, ai: usize) {
        let area = &self.listing.areas[ai];
        let mut numbered: Vec<(u32, usize)> = self.area_buildings[ai]
            .iter()
            .filter_map(|&b| self.listing.buildings[b].serpentine.map(|n| (n, b)))
            .collect();
        if numbered.len() < 2 {
            return;
        }
        numbered.sort_unstable();
        let mut found = Vec::new();
        for group in numbered.chunk_by(|a, b| a.0 == b.0) {
            if group.len() > 1 {
                let ids: Vec<String> = group.iter().map(|&(_, b)| self.building_id(b)).collect();
                found.push((
                    FindingCode::DuplicateSerpentineNumber,
                    ids.clone(),
                    format!(
                        "area {}: serpentine number {} is given to {} buildings: {}",
                        area.code,
                        group[0].0,
                        group.len(),
                        ids.join(", ")
                    ),
                    format!(
                        "区域 {}：建筑蛇形编号 {} 重复：{}",
                        area.code,
                        group[0].0,
                        ids.join("、")
                    ),
                ));
            }
        }
        let plane = self.plane(ai);
        let pts: Vec<Coord<f64>> = numbered
            .iter()
            .map(|&(_, b)| plane.project(self.anchors[b].0))
            .collect();
        let steps: Vec<f64> = pts
            .windows(2)
            .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
            .collect();
        let mut sorted = steps.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let limit = self.opts.serpentine_jump_m.max(5.0 * median);
        for (k, &step) in steps.iter().enumerate() {
            if step > limit {
                let (na, ba) = numbered[k];
                let (nb, bb) = numbered[k + 1];
                let (ia, ib) = (self.building_id(ba), self.building_id(bb));
                found.push((
                    FindingCode::SerpentineJump,
                    vec![ia.clone(), ib.clone()],
                    format!("area {}: serpentine order jumps {step:.0} m from building {ia} (no. {na}) to {ib} (no. {nb}); the walking order may be wrong", area.code),
                    format!("区域 {}：蛇形顺序从建筑 {ia}（{na} 号）跳到 {ib}（{nb} 号），相距 {step:.0} 米，行走顺序可能有误", area.code),
                ));
            }
        }
        for (code, ids, en, zh) in found {
            self.add(code, Some(area), ids, en, zh);
        }
    }

    fn size_and_vacancy(&mut self, ai: usize) {
        let area = &self.listing.areas[ai];
        let (mut listed, mut vacant) = (0usize, 0usize);
        for &d in &self.area_dwellings[ai] {
            match self.listing.dwellings[d].occupancy {
                Occupancy::NotDwelling => {}
                Occupancy::Vacant => {
                    listed += 1;
                    vacant += 1;
                }
                _ => listed += 1,
            }
        }
        if let Some(mos) = area.measure_of_size.filter(|m| *m > 0.0) {
            let ratio = listed as f64 / mos;
            let (lo, hi) = self.opts.size_band;
            if ratio < lo || ratio > hi {
                self.add(
                    FindingCode::SizeOutsideBand,
                    Some(area),
                    vec![area.code.clone()],
                    format!("area {}: {listed} dwellings listed against a measure of size of {mos} (ratio {ratio:.2}, expected {lo}–{hi}); check coverage or the boundary", area.code),
                    format!("区域 {}：列出 {listed} 户，规模指标为 {mos}（比值 {ratio:.2}，应在 {lo}–{hi}），请检查是否漏列或边界有误", area.code),
                );
            }
        }
        if listed > 0 {
            let rate = vacant as f64 / listed as f64;
            let (lo, hi) = self.opts.vacancy_band;
            if rate < lo || rate > hi {
                self.add(
                    FindingCode::VacancyRateOutsideBand,
                    Some(area),
                    vec![area.code.clone()],
                    format!("area {}: {vacant} of {listed} listed dwellings are vacant ({:.0}%, expected {:.0}%–{:.0}%)", area.code, rate * 100.0, lo * 100.0, hi * 100.0),
                    format!("区域 {}：{listed} 户中有 {vacant} 户空房（{:.0}%，应在 {:.0}%–{:.0}%）", area.code, rate * 100.0, lo * 100.0, hi * 100.0),
                );
            }
        }
    }

    /// Dwellings with the same full address (building number or name included) in different
    /// building records, within a few metres: two listers recording the same door.
    fn near_duplicates(&mut self) {
        let mut buf = String::new();
        let mut keyed: Vec<(u64, usize)> = Vec::with_capacity(self.listing.dwellings.len());
        for (di, d) in self.listing.dwellings.iter().enumerate() {
            let building = self.dwelling_building[di].map(|b| &self.listing.buildings[b]);
            if let Some(h) = address_hash(d, true, building, &mut buf) {
                keyed.push((h, di));
            }
        }
        keyed.sort_unstable();
        let limit = self.opts.near_duplicate_m;
        let mut pairs: Vec<(usize, usize, f64)> = Vec::new();
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            if group.len() < 2 {
                continue;
            }
            let located: Vec<(usize, Point<f64>)> = group
                .iter()
                .filter_map(|&(_, d)| self.dwelling_position(d).map(|p| (d, p)))
                .collect();
            let mut consider = |i: usize, j: usize, pi: Point<f64>, pj: Point<f64>| {
                let (bi, bj) = (self.dwelling_building[i], self.dwelling_building[j]);
                if bi.is_some() && bi == bj {
                    return; // same building: reported as duplicate_address
                }
                let d = distance_m((pi.x(), pi.y()), (pj.x(), pj.y()));
                if d <= limit {
                    pairs.push((i.min(j), i.max(j), d));
                }
            };
            if located.len() <= 16 {
                for x in 0..located.len() {
                    for y in x + 1..located.len() {
                        consider(located[x].0, located[y].0, located[x].1, located[y].1);
                    }
                }
            } else {
                let plane = LocalPlane::new(located[0].1.x(), located[0].1.y());
                let tree = RTree::bulk_load(
                    located
                        .iter()
                        .enumerate()
                        .map(|(k, &(_, p))| {
                            let c = plane.project(p.0);
                            GeomWithData::new([c.x, c.y], k)
                        })
                        .collect(),
                );
                for (k, &(i, pi)) in located.iter().enumerate() {
                    let c = plane.project(pi.0);
                    let env = AABB::from_corners(
                        [c.x - limit * 1.01, c.y - limit * 1.01],
                        [c.x + limit * 1.01, c.y + limit * 1.01],
                    );
                    for other in tree.locate_in_envelope(&env) {
                        if other.data > k {
                            let (j, pj) = located[other.data];
                            consider(i, j, pi, pj);
                        }
                    }
                }
            }
        }
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        for (i, j, d) in pairs {
            let (di, dj) = (&self.listing.dwellings[i], &self.listing.dwellings[j]);
            let bi = self.dwelling_building[i].map(|b| &self.listing.buildings[b]);
            let bj = self.dwelling_building[j].map(|b| &self.listing.buildings[b]);
            // Hashes matched: confirm the keys really are equal.
            if full_key(di, bi) != full_key(dj, bj) {
                continue;
            }
            let (a, b) = (self.dwelling_id(i), self.dwelling_id(j));
            let addr = describe_address(di);
            let area = self.listing.areas.iter().find(|x| x.id == di.area);
            self.add(
                FindingCode::NearDuplicateDwellings,
                area,
                vec![a.clone(), b.clone()],
                format!("dwellings {a} and {b} have the same address {addr} and lie {d:.1} m apart: probably the same door listed twice"),
                format!("住户 {a} 与 {b} 地址相同（{addr}），相距 {d:.1} 米，可能是同一户被重复登记"),
            );
        }
    }

    fn finish(mut self) -> Report {
        let mut summary = Summary {
            areas: self.listing.areas.len(),
            buildings: self.listing.buildings.len(),
            dwellings: self.listing.dwellings.len(),
            ..Summary::default()
        };
        self.findings
            .sort_by(|a, b| (a.severity, a.code, &a.area).cmp(&(b.severity, b.code, &b.area)));
        for f in &self.findings {
            match f.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
            *summary
                .by_code
                .entry(f.code.as_str().to_string())
                .or_default() += 1;
        }
        Report {
            findings: self.findings,
            summary,
        }
    }
}

/// A building's label as part of an address: its number, else its name.
fn building_label(b: Option<&Building>) -> Option<&str> {
    b.and_then(|b| b.number.as_deref().or(b.name.as_deref()))
}

/// The normalised full address of a dwelling: building label (when `with_building`), then the
/// structured address, else the door number. `None` when nothing identifies the door.
fn full_key(d: &Dwelling, b: Option<&Building>) -> Option<String> {
    let local = d
        .address
        .normalized()
        .or_else(|| d.door_number.as_deref().map(normalize_part))?;
    Some(format!(
        "{}#{local}",
        building_label(b).map(normalize_part).unwrap_or_default()
    ))
}

/// A 64-bit hash of the normalised address, computed without allocating per dwelling.
fn address_hash(
    d: &Dwelling,
    with_building: bool,
    b: Option<&Building>,
    buf: &mut String,
) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    if d.address.is_empty() {
        let door = d.door_number.as_deref()?;
        1u8.hash(&mut h);
        normalize_into(door, buf);
        buf.hash(&mut h);
    } else {
        0u8.hash(&mut h);
        for (k, part) in [&d.address.unit, &d.address.floor, &d.address.room]
            .into_iter()
            .enumerate()
        {
            match part.as_deref() {
                None => 0u8.hash(&mut h),
                Some(p) if k == 1 => normalize_floor(p).hash(&mut h),
                Some(p) => {
                    normalize_into(p, buf);
                    buf.hash(&mut h);
                }
            }
        }
    }
    if with_building {
        match building_label(b) {
            Some(l) => {
                normalize_into(l, buf);
                buf.hash(&mut h);
            }
            None => 0u8.hash(&mut h),
        }
    }
    Some(h.finish())
}

/// Normalises into a reused buffer, with a fast path for plain ASCII alphanumerics.
fn normalize_into(s: &str, buf: &mut String) {
    buf.clear();
    let plain = !s.is_empty()
        && s.bytes().all(|c| c.is_ascii_alphanumeric())
        && !s.starts_with('0')
        && !s.bytes().any(|c| c.is_ascii_uppercase())
        && !["no", "room", "unit"].iter().any(|p| s.starts_with(p));
    if plain {
        buf.push_str(s);
    } else {
        buf.push_str(&normalize_part(s));
    }
}

fn describe_address(d: &Dwelling) -> String {
    let a = &d.address;
    if a.is_empty() {
        return d.door_number.clone().unwrap_or_default();
    }
    let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "?".into());
    format!("{}-{}-{}", part(&a.unit), part(&a.floor), part(&a.room))
}
