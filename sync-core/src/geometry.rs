//! Small geometric helpers in metres.
//!
//! Stored geometry is WGS-84 longitude/latitude. Checks that talk in metres (tolerances, distances)
//! project into a local equirectangular plane centred on the area at hand; over the few kilometres
//! of a PSU its error is far below GPS error.

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// Mean Earth radius in metres (IUGG).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A local plane around a reference point: x metres east, y metres north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalPlane {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalPlane {
    /// A plane centred on `(lon0, lat0)`.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        let kx = ky * lat0.to_radians().cos();
        Self { lon0, lat0, kx, ky }
    }

    /// Projects a longitude/latitude coordinate to metres.
    #[inline]
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.lon0) * self.kx,
            y: (c.y - self.lat0) * self.ky,
        }
    }

    /// Projects back from metres to longitude/latitude.
    #[inline]
    pub fn unproject(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: c.x / self.kx + self.lon0,
            y: c.y / self.ky + self.lat0,
        }
    }

    /// Projects a polygon.
    pub fn project_polygon(&self, p: &Polygon<f64>) -> Polygon<f64> {
        let ring = |ls: &LineString<f64>| ls.coords().map(|&c| self.project(c)).collect();
        Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
    }

    /// Projects a multipolygon.
    pub fn project_multi(&self, mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(mp.0.iter().map(|p| self.project_polygon(p)).collect())
    }
}

/// Distance in metres between two longitude/latitude points (haversine).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_plane_agrees_with_haversine_at_psu_scale() {
        let plane = LocalPlane::new(102.72, 25.07);
        let a = Coord {
            x: 102.72,
            y: 25.07,
        };
        let b = Coord {
            x: 102.725,
            y: 25.073,
        };
        let pb = plane.project(b);
        let planar = (pb.x * pb.x + pb.y * pb.y).sqrt();
        let sphere = distance_m((a.x, a.y), (b.x, b.y));
        assert!((planar - sphere).abs() < 0.05, "{planar} vs {sphere}");
        let back = plane.unproject(pb);
        assert!((back.x - b.x).abs() < 1e-12 && (back.y - b.y).abs() < 1e-12);
    }
}
