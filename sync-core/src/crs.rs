//! Coordinate reference systems met in Chinese field work, and explicit conversion to WGS-84.
//!
//! Phone GPS gives WGS-84, and that is what mapframe stores. Maps traced on Chinese base maps come in
//! GCJ-02 (Amap/Gaode, Tencent, Google China) or BD-09 (Baidu), which are offset from WGS-84 by up to
//! several hundred metres. The offset is never guessed: the importer is told which system the data is
//! in (`--crs`), and converts. Outside mainland China GCJ-02 equals WGS-84 by definition.
//!
//! The GCJ-02 forward transform is the widely published one; the inverse is solved by fixed-point
//! iteration to better than 1e-9 degrees (about 0.1 mm).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The coordinate system input coordinates are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS-84 longitude/latitude (GPS, OpenStreetMap, GeoJSON's own default).
    #[default]
    Wgs84,
    /// GCJ-02 ("Mars coordinates"): Amap/Gaode, Tencent.
    Gcj02,
    /// BD-09: Baidu maps.
    Bd09,
}

impl Crs {
    /// The name as written on the command line and in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Converts one longitude/latitude pair in this system to WGS-84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
            Crs::Bd09 => {
                let (glon, glat) = bd09_to_gcj02(lon, lat);
                gcj02_to_wgs84(glon, glat)
            }
        }
    }
}

impl std::str::FromStr for Crs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "epsg4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" => Ok(Crs::Bd09),
            other => Err(format!(
                "unknown coordinate system {other:?}: expected wgs84, gcj02 or bd09"
            )),
        }
    }
}

const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether a point lies outside the rectangle in which GCJ-02 applies its offset.
fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 to GCJ-02 (the forward, published transform).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let dlat = offset_lat(lon - 105.0, lat - 35.0);
    let dlon = offset_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 to WGS-84, by iterating the forward transform to a fixed point.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (dlon, dlat) = (glon - lon, glat - lat);
        wlon -= dlon;
        wlat -= dlat;
        if dlon.abs() < 1e-10 && dlat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

/// BD-09 to GCJ-02: the published approximate inverse (good to a few centimetres), refined by
/// iterating the forward transform so that the round trip is exact to well under a millimetre.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    let (mut glon, mut glat) = (z * theta.cos(), z * theta.sin());
    for _ in 0..10 {
        let (blon, blat) = gcj02_to_bd09(glon, glat);
        let (dlon, dlat) = (blon - lon, blat - lat);
        glon -= dlon;
        glat -= dlat;
        if dlon.abs() < 1e-11 && dlat.abs() < 1e-11 {
            break;
        }
    }
    (glon, glat)
}

/// GCJ-02 to BD-09.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * BD_X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * BD_X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::distance_m;

    #[test]
    fn published_gcj02_example_in_beijing() {
        // The example used across GCJ-02 implementations: WGS-84 (116.404, 39.915).
        let (lon, lat) = wgs84_to_gcj02(116.404, 39.915);
        assert!((lon - 116.410_244_5).abs() < 1e-6, "{lon}");
        assert!((lat - 39.916_404_3).abs() < 1e-6, "{lat}");
    }

    #[test]
    fn offsets_in_kunming_are_hundreds_of_metres_and_invert_exactly() {
        let (lon, lat) = (102.7232623, 25.0692526);
        let (glon, glat) = wgs84_to_gcj02(lon, lat);
        let offset = distance_m((lon, lat), (glon, glat));
        assert!((100.0..800.0).contains(&offset), "offset {offset} m");
        let (blon, blat) = gcj02_to_bd09(glon, glat);
        let back = Crs::Bd09.to_wgs84(blon, blat);
        let bd_error = distance_m((lon, lat), back);
        assert!(bd_error < 0.001, "BD-09 round trip off by {bd_error} m");
        let back = Crs::Gcj02.to_wgs84(glon, glat);
        assert!(distance_m((lon, lat), back) < 0.001);
    }

    #[test]
    fn gcj02_is_identity_outside_china() {
        assert_eq!(Crs::Gcj02.to_wgs84(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn parses_names_leniently() {
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("bd09".parse::<Crs>(), Ok(Crs::Bd09));
        assert_eq!("EPSG:4326".replace(':', "").parse::<Crs>(), Ok(Crs::Wgs84));
        assert!("utm".parse::<Crs>().is_err());
    }
}
