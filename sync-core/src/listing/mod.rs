//! The listing: areas, buildings, dwellings and households as the mapping team records them.
//!
//! This is the data the five walks produce (DESIGN.md §1.2). A checked listing is later frozen into a
//! sampling frame. Geometry is WGS-84 longitude/latitude.
//!
//! Features imported from files keep their own id (`source_id`) and every property mapframe does not
//! interpret (`extra`), so that a numbered or exported listing gives the user back what they gave.

pub mod address;
pub mod geojson;

use crate::ids::{AreaId, BuildingId, DwellingId, HouseholdId, SegmentId, SheetId};
use geo::{Centroid, MultiPolygon, Point};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use address::Address;

/// Properties a feature carried that mapframe does not interpret; written back on export.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A primary sampling unit: a residents' committee area (社区/居委会), a village (村), or a piece of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub id: AreaId,
    /// The id the feature carried in the input file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The survey's code for the area; buildings and dwellings refer to their area by it.
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    /// Boundary in WGS-84. `None` when the area was only named by code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<MultiPolygon<f64>>,
    /// True when a ring of the boundary as drawn did not end where it began (it has been closed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub boundary_unclosed: bool,
    /// Measure of size: usually registered households.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure_of_size: Option<f64>,
    /// Where the measure of size came from ("2020 census", "committee register").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_source: Option<String>,
    /// The probability with which this PSU was selected at the first stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_stage_prob: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<MapSheet>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: Extra,
}

impl Area {
    /// An area known only by its code (no boundary yet).
    pub fn named(code: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            id: AreaId::from_source(&code),
            source_id: None,
            name: String::new(),
            code,
            stratum: None,
            boundary: None,
            boundary_unclosed: false,
            measure_of_size: None,
            mos_source: None,
            first_stage_prob: None,
            segments: Vec::new(),
            sheets: Vec::new(),
            extra: Extra::new(),
        }
    }
}

/// A piece of a large area, cut so that one piece can be drawn with probability proportional to size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub id: SegmentId,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<MultiPolygon<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure_of_size: Option<f64>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: Extra,
}

/// Master map (总图) or sub-map (分图).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetKind {
    Master,
    Sub,
}

/// A map sheet of an area. Buildings name their sheet by code; serpentine order runs sheet by sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapSheet {
    pub id: SheetId,
    pub code: String,
    pub kind: SheetKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<MultiPolygon<f64>>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: Extra,
}

/// What a building is used for, as the lister records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingKind {
    Residential,
    /// Shops below, homes above, and the like.
    Mixed,
    NonResidential,
    UnderConstruction,
    Demolished,
    /// Not yet recorded (an imported footprint nobody has visited).
    Unknown,
}

impl BuildingKind {
    pub const ALL: [BuildingKind; 6] = [
        BuildingKind::Residential,
        BuildingKind::Mixed,
        BuildingKind::NonResidential,
        BuildingKind::UnderConstruction,
        BuildingKind::Demolished,
        BuildingKind::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildingKind::Residential => "residential",
            BuildingKind::Mixed => "mixed",
            BuildingKind::NonResidential => "non_residential",
            BuildingKind::UnderConstruction => "under_construction",
            BuildingKind::Demolished => "demolished",
            BuildingKind::Unknown => "unknown",
        }
    }

    /// Whether people are expected to live here, so that dwellings must be listed.
    pub fn is_residential(self) -> bool {
        matches!(self, BuildingKind::Residential | BuildingKind::Mixed)
    }

    /// Parses mapframe's own words, Chinese ones, and OpenStreetMap `building=*` values.
    /// Returns `None` for a word it does not know.
    pub fn parse(word: &str) -> Option<Self> {
        let w = word.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match w.as_str() {
            "residential" | "apartments" | "house" | "detached" | "semidetached_house"
            | "terrace" | "dormitory" | "bungalow" | "cabin" | "farm" | "hut" | "houseboat"
            | "static_caravan" | "住宅" | "居民楼" => BuildingKind::Residential,
            "mixed" | "mixed_use" | "商住" | "商住楼" => BuildingKind::Mixed,
            "non_residential" | "commercial" | "retail" | "office" | "industrial" | "warehouse"
            | "school" | "university" | "college" | "kindergarten" | "hospital" | "public"
            | "civic" | "government" | "church" | "temple" | "mosque" | "religious"
            | "train_station" | "transportation" | "parking" | "garage" | "garages" | "toilets"
            | "roof" | "service" | "hotel" | "sports_hall" | "stadium" | "shed" | "kiosk"
            | "supermarket" | "barn" | "greenhouse" | "hangar" | "bunker" | "carport"
            | "fire_station" | "非住宅" | "商业" | "办公" => BuildingKind::NonResidential,
            "under_construction" | "construction" | "在建" => BuildingKind::UnderConstruction,
            "demolished" | "ruins" | "destroyed" | "已拆" | "拆除" => BuildingKind::Demolished,
            "unknown" | "yes" | "building" | "" => BuildingKind::Unknown,
            _ => return None,
        })
    }
}

/// A building's footprint as mapped: a polygon when traced, a point when only located.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "geometry")]
pub enum Footprint {
    Point(Point<f64>),
    Polygon(MultiPolygon<f64>),
}

impl Footprint {
    /// A representative point: the point itself, or the footprint's centroid.
    pub fn anchor(&self) -> Point<f64> {
        match self {
            Footprint::Point(p) => *p,
            Footprint::Polygon(mp) => mp
                .centroid()
                .or_else(|| {
                    mp.0.first()
                        .and_then(|p| p.exterior().0.first().map(|&c| c.into()))
                })
                .unwrap_or(Point::new(0.0, 0.0)),
        }
    }
}

/// A structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub id: BuildingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    pub area: AreaId,
    pub footprint: Footprint,
    pub kind: BuildingKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The building number as written (楼号/栋号): "5", "5栋", "B".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors: Option<u16>,
    /// Entrances or stairwells (单元).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrances: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwellings_per_floor: Option<u16>,
    /// Serpentine order number within the area, 1..n.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serpentine: Option<u32>,
    /// Code of the map sheet this building is drawn on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Code of the area segment this building belongs to, when the area is segmented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: Extra,
}

/// Occupancy status of a dwelling, as found at listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Occupancy {
    Occupied,
    /// 空房空户: nobody lives there.
    Vacant,
    /// Used as a shop or office.
    Business,
    /// Listed, then found not to be a dwelling at all.
    NotDwelling,
    /// Not determined at listing.
    Unknown,
}

impl Occupancy {
    pub const ALL: [Occupancy; 5] = [
        Occupancy::Occupied,
        Occupancy::Vacant,
        Occupancy::Business,
        Occupancy::NotDwelling,
        Occupancy::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Occupancy::Occupied => "occupied",
            Occupancy::Vacant => "vacant",
            Occupancy::Business => "business",
            Occupancy::NotDwelling => "not_dwelling",
            Occupancy::Unknown => "unknown",
        }
    }

    /// Parses mapframe's words and their Chinese equivalents.
    pub fn parse(word: &str) -> Option<Self> {
        let w = word.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match w.as_str() {
            "occupied" | "有人住" | "有人居住" | "居住" => Occupancy::Occupied,
            "vacant" | "empty" | "空房" | "空户" | "空房空户" => Occupancy::Vacant,
            "business" | "commercial" | "商用" | "经营" => Occupancy::Business,
            "not_dwelling" | "non_dwelling" | "非住户" | "非住宅" => Occupancy::NotDwelling,
            "unknown" | "" | "不详" => Occupancy::Unknown,
            _ => return None,
        })
    }
}

/// A dwelling (住户): one addressable living quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dwelling {
    pub id: DwellingId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The building it is in; `None` for a dwelling not in any mapped structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<BuildingId>,
    pub area: AreaId,
    /// 单元-层-室.
    #[serde(default)]
    pub address: Address,
    /// The door number as written on the door or by the lister.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_number: Option<String>,
    /// Whether a door plate exists (门牌). `None` when not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_plate: Option<bool>,
    /// Where the lister stood at the door. `None` when only the building is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Point<f64>>,
    pub occupancy: Occupancy,
    /// Number of households living here (one dwelling can hold several).
    pub households: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Listing order number within the area, 1..N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_number: Option<u32>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: Extra,
}

/// A household living in a dwelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    pub dwelling: DwellingId,
    /// 1-based number of the household within its dwelling.
    pub number: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_name: Option<String>,
}

/// One listing: the areas and everything mapped in them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub areas: Vec<Area>,
    pub buildings: Vec<Building>,
    pub dwellings: Vec<Dwelling>,
    #[serde(default)]
    pub households: Vec<Household>,
}

impl Listing {
    /// Index from area id to position in `areas`.
    pub fn area_index(&self) -> HashMap<AreaId, usize> {
        self.areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect()
    }

    /// Index from building id to position in `buildings`.
    pub fn building_index(&self) -> HashMap<BuildingId, usize> {
        self.buildings
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i))
            .collect()
    }

    /// Where a dwelling is: its own location, else its building's anchor point.
    pub fn dwelling_position(
        &self,
        d: &Dwelling,
        buildings: &HashMap<BuildingId, usize>,
    ) -> Option<Point<f64>> {
        d.location.or_else(|| {
            d.building
                .and_then(|b| buildings.get(&b))
                .map(|&i| self.buildings[i].footprint.anchor())
        })
    }

    /// The label used for a building in messages and findings: its source id, else its UUID.
    pub fn building_label(b: &Building) -> String {
        b.source_id.clone().unwrap_or_else(|| b.id.to_string())
    }

    /// The label used for a dwelling in messages and findings: its source id, else its UUID.
    pub fn dwelling_label(d: &Dwelling) -> String {
        d.source_id.clone().unwrap_or_else(|| d.id.to_string())
    }

    /// The label used for an area in messages and findings: its code.
    pub fn area_label(a: &Area) -> String {
        a.code.clone()
    }
}
