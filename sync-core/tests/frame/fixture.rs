//! Listings built in code, in metres east/north of an origin in Kunming.

use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use sync_core::geometry::LocalPlane;
use sync_core::ids::{BuildingId, DwellingId};
use sync_core::listing::{
    Address, Area, Building, BuildingKind, Dwelling, Extra, Footprint, Listing, Occupancy,
};
use sync_core::serpentine::{NumberingOptions, number};

pub const ORIGIN: (f64, f64) = (102.72, 25.07);

pub fn plane() -> LocalPlane {
    LocalPlane::new(ORIGIN.0, ORIGIN.1)
}

/// A WGS-84 coordinate `x` metres east and `y` metres north of the origin.
pub fn at(x: f64, y: f64) -> Coord<f64> {
    plane().unproject(Coord { x, y })
}

pub fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    let mut c: Vec<Coord<f64>> = points.iter().map(|&(x, y)| at(x, y)).collect();
    c.push(c[0]);
    LineString::new(c)
}

pub fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        ring(&[
            (x0, y0),
            (x0 + side, y0),
            (x0 + side, y0 + side),
            (x0, y0 + side),
        ]),
        vec![],
    )])
}

pub struct Fx {
    pub listing: Listing,
}

impl Fx {
    pub fn empty() -> Self {
        Self {
            listing: Listing::default(),
        }
    }

    /// One 200 m square area "A1" (measure of size 24) with three residential buildings of
    /// 1 entrance × 4 floors × 2 per floor, every dwelling listed, two of 24 vacant, numbered.
    /// The self-check finds nothing in it.
    pub fn clean() -> Self {
        let mut fx = Self::empty();
        fx.area("A1", square(0.0, 0.0, 200.0), Some(24.0));
        for (k, (x, y)) in [(50.0, 150.0), (150.0, 150.0), (100.0, 50.0)]
            .into_iter()
            .enumerate()
        {
            let b = format!("b{}", k + 1);
            fx.building("A1", &b, x, y, BuildingKind::Residential, Some((1, 4, 2)));
            for floor in 1..=4 {
                for room in 1..=2 {
                    fx.dwelling(
                        &b,
                        &format!("{b}-{floor}0{room}"),
                        ("1", &floor.to_string(), &format!("{floor}0{room}")),
                    );
                }
            }
        }
        fx.listing.dwellings[0].occupancy = Occupancy::Vacant;
        fx.listing.dwellings[9].occupancy = Occupancy::Vacant;
        fx.number();
        fx
    }

    pub fn area(&mut self, code: &str, boundary: MultiPolygon<f64>, mos: Option<f64>) -> &mut Area {
        let mut a = Area::named(code);
        a.boundary = Some(boundary);
        a.measure_of_size = mos;
        self.listing.areas.push(a);
        self.listing.areas.last_mut().unwrap()
    }

    pub fn area_id(&self, code: &str) -> sync_core::ids::AreaId {
        self.listing
            .areas
            .iter()
            .find(|a| a.code == code)
            .expect("area")
            .id
    }

    /// A 20 m × 10 m building centred at (x, y).
    pub fn building(
        &mut self,
        area: &str,
        src: &str,
        x: f64,
        y: f64,
        kind: BuildingKind,
        layout: Option<(u16, u16, u16)>,
    ) -> &mut Building {
        let area = self.area_id(area);
        let footprint = MultiPolygon(vec![Polygon::new(
            ring(&[
                (x - 10.0, y - 5.0),
                (x + 10.0, y - 5.0),
                (x + 10.0, y + 5.0),
                (x - 10.0, y + 5.0),
            ]),
            vec![],
        )]);
        self.listing.buildings.push(Building {
            id: BuildingId::from_source(src),
            source_id: Some(src.into()),
            area,
            footprint: Footprint::Polygon(footprint),
            kind,
            name: None,
            number: Some(src.trim_start_matches('b').to_string()),
            floors: layout.map(|l| l.1),
            entrances: layout.map(|l| l.0),
            dwellings_per_floor: layout.map(|l| l.2),
            serpentine: None,
            sheet: None,
            segment: None,
            extra: Extra::new(),
        });
        self.listing.buildings.last_mut().unwrap()
    }

    pub fn building_mut(&mut self, src: &str) -> &mut Building {
        self.listing
            .buildings
            .iter_mut()
            .find(|b| b.source_id.as_deref() == Some(src))
            .expect("building")
    }

    pub fn dwelling(
        &mut self,
        building: &str,
        src: &str,
        (unit, floor, room): (&str, &str, &str),
    ) -> &mut Dwelling {
        let b = self
            .listing
            .buildings
            .iter()
            .find(|b| b.source_id.as_deref() == Some(building))
            .expect("building");
        let o = |s: &str| (!s.is_empty()).then(|| s.to_string());
        self.listing.dwellings.push(Dwelling {
            id: DwellingId::from_source(src),
            source_id: Some(src.into()),
            building: Some(b.id),
            area: b.area,
            address: Address {
                unit: o(unit),
                floor: o(floor),
                room: o(room),
            },
            door_number: None,
            door_plate: Some(true),
            location: None,
            occupancy: Occupancy::Occupied,
            households: 1,
            notes: None,
            listing_number: None,
            extra: Extra::new(),
        });
        self.listing.dwellings.last_mut().unwrap()
    }

    pub fn dwelling_mut(&mut self, src: &str) -> &mut Dwelling {
        self.listing
            .dwellings
            .iter_mut()
            .find(|d| d.source_id.as_deref() == Some(src))
            .expect("dwelling")
    }

    pub fn number(&mut self) {
        number(&self.listing, &NumberingOptions::default()).apply(&mut self.listing);
    }

    pub fn point(x: f64, y: f64) -> Point<f64> {
        Point::from(at(x, y))
    }
}
