//! Reading and writing listings as GeoJSON: conventions, bad input, round trips, real data.

use crate::fixture::Fx;
use serde_json::json;
use sync_core::crs::{Crs, wgs84_to_gcj02};
use sync_core::listing::geojson::{
    ExportOptions, ImportErrorCode, ImportOptions, InputKind, read_listing, write_listing,
};
use sync_core::listing::{BuildingKind, Footprint, Occupancy};

fn fc(features: serde_json::Value) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn square_coords(x: f64, y: f64, d: f64) -> serde_json::Value {
    json!([[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]])
}

fn building(id: serde_json::Value, props: serde_json::Value) -> serde_json::Value {
    json!({"type": "Feature", "id": id, "properties": props, "geometry": {"type": "Polygon", "coordinates": square_coords(102.72, 25.07, 0.0002)}})
}

fn read(
    text: &str,
) -> Result<sync_core::listing::geojson::Imported, sync_core::listing::geojson::ImportErrors> {
    read_listing(text, None, &ImportOptions::default())
}

#[test]
fn a_listing_of_buildings_and_dwellings_reads_with_every_documented_property() {
    let text = fc(json!([
        {"type": "Feature", "properties": {"layer": "area", "code": "A1", "name": "金色年华社区", "stratum": "urban", "mos": "120", "mos_source": "2020 census", "prob": 0.05},
         "geometry": {"type": "Polygon", "coordinates": square_coords(102.719, 25.069, 0.01)}},
        building(json!(322667424), json!({"area": "A1", "building": "apartments", "levels": 15.8, "height": 52.2, "name": "", "number": "5栋", "entrances": 2, "dwellings_per_floor": "2"})),
        {"type": "Feature", "properties": {"building_id": 322667424, "unit": "1单元", "floor": 3, "room": "301", "door_plate": "是", "occupancy": "空房", "notes": "no answer at door", "listing_number": 7, "source": "lister 3"},
         "geometry": {"type": "Point", "coordinates": [102.72005, 25.07005]}},
        {"type": "Feature", "id": "d2", "properties": {"layer": "dwelling", "building_id": "322667424", "door_number": "金碧路12号", "households": 2}, "geometry": null}
    ]));
    let imported = read(&text).expect("reads");
    let l = &imported.listing;
    assert!(imported.listing_had_areas);
    assert_eq!(l.areas.len(), 1);
    let a = &l.areas[0];
    assert_eq!(
        (a.code.as_str(), a.name.as_str(), a.stratum.as_deref()),
        ("A1", "金色年华社区", Some("urban"))
    );
    assert_eq!(
        (
            a.measure_of_size,
            a.first_stage_prob,
            a.mos_source.as_deref()
        ),
        (Some(120.0), Some(0.05), Some("2020 census"))
    );
    let b = &l.buildings[0];
    assert_eq!(b.source_id.as_deref(), Some("322667424"));
    assert_eq!(b.kind, BuildingKind::Residential);
    assert_eq!(
        (b.floors, b.entrances, b.dwellings_per_floor),
        (Some(16), Some(2), Some(2))
    );
    assert_eq!(b.number.as_deref(), Some("5栋"));
    assert_eq!(b.name, None, "an empty string is absent");
    assert_eq!(
        b.extra.get("height"),
        Some(&json!(52.2)),
        "uninterpreted properties are kept"
    );
    assert_eq!(
        b.extra.get("levels"),
        Some(&json!(15.8)),
        "aliases are kept as given"
    );
    assert!(matches!(b.footprint, Footprint::Polygon(_)));
    let d = &l.dwellings[0];
    assert_eq!(d.building, Some(b.id));
    assert_eq!(d.area, a.id);
    assert_eq!(
        (
            d.address.unit.as_deref(),
            d.address.floor.as_deref(),
            d.address.room.as_deref()
        ),
        (Some("1单元"), Some("3"), Some("301"))
    );
    assert_eq!(
        (d.door_plate, d.occupancy, d.households, d.listing_number),
        (Some(true), Occupancy::Vacant, 0, Some(7))
    );
    assert_eq!(d.extra.get("source"), Some(&json!("lister 3")));
    let d2 = &l.dwellings[1];
    assert_eq!(
        (d2.door_number.as_deref(), d2.households, d2.location),
        (Some("金碧路12号"), 2, None)
    );
    assert_eq!(d2.source_id.as_deref(), Some("d2"));
}

#[test]
fn reading_twice_gives_the_same_ids() {
    let text = fc(json!([building(
        json!(7),
        json!({"area": "A1", "kind": "residential"})
    )]));
    assert_eq!(read(&text).unwrap().listing, read(&text).unwrap().listing);
}

#[test]
fn write_then_read_round_trips() {
    let fx = Fx::clean();
    let text = write_listing(&fx.listing, &ExportOptions::default());
    let back = read(&text).expect("our own output reads").listing;
    assert_eq!(back.areas.len(), fx.listing.areas.len());
    assert_eq!(back.buildings, fx.listing.buildings);
    // Dwellings without their own location come back without one; everything else is equal.
    assert_eq!(back.dwellings, fx.listing.dwellings);
    let a = (&back.areas[0], &fx.listing.areas[0]);
    assert_eq!(
        (a.0.id, &a.0.code, &a.0.boundary, a.0.measure_of_size),
        (a.1.id, &a.1.code, &a.1.boundary, a.1.measure_of_size)
    );
}

#[test]
fn osm_building_kinds_map_to_listing_kinds() {
    let cases = [
        ("apartments", BuildingKind::Residential),
        ("house", BuildingKind::Residential),
        ("commercial", BuildingKind::NonResidential),
        ("school", BuildingKind::NonResidential),
        ("roof", BuildingKind::NonResidential),
        ("yes", BuildingKind::Unknown),
        ("construction", BuildingKind::UnderConstruction),
        ("some_rare_tag", BuildingKind::NonResidential),
    ];
    for (tag, want) in cases {
        let text = fc(json!([building(
            json!(1),
            json!({"area": "A1", "building": tag})
        )]));
        assert_eq!(
            read(&text).unwrap().listing.buildings[0].kind,
            want,
            "building={tag}"
        );
    }
}

#[test]
fn gcj02_input_is_converted_to_wgs84() {
    let (wlon, wlat) = (102.7232623, 25.0692526);
    let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
    let text = fc(
        json!([{"type": "Feature", "properties": {"area": "A1", "building_id": null, "room": "1"}, "geometry": {"type": "Point", "coordinates": [glon, glat]}}]),
    );
    let opts = ImportOptions {
        crs: Crs::Gcj02,
        ..ImportOptions::default()
    };
    let l = read_listing(&text, None, &opts).unwrap().listing;
    let p = l.dwellings[0].location.unwrap();
    assert!(
        (p.x() - wlon).abs() < 1e-7 && (p.y() - wlat).abs() < 1e-7,
        "{p:?}"
    );
    let raw = read(&text).unwrap().listing.dwellings[0].location.unwrap();
    assert!(
        (raw.x() - glon).abs() < 1e-12,
        "without --crs nothing is converted"
    );
}

#[test]
fn buildings_without_an_area_code_are_placed_by_their_location() {
    let areas = fc(json!([
        {"type": "Feature", "properties": {"code": "W"}, "geometry": {"type": "Polygon", "coordinates": square_coords(102.0, 25.0, 0.01)}},
        {"type": "Feature", "properties": {"code": "E"}, "geometry": {"type": "Polygon", "coordinates": square_coords(102.01, 25.0, 0.01)}}
    ]));
    let listing = fc(json!([
        {"type": "Feature", "id": 1, "properties": {"kind": "residential"}, "geometry": {"type": "Point", "coordinates": [102.015, 25.005]}},
        {"type": "Feature", "id": 2, "properties": {"kind": "residential"}, "geometry": {"type": "Point", "coordinates": [102.005, 25.005]}}
    ]));
    let l = read_listing(&listing, Some(&areas), &ImportOptions::default())
        .unwrap()
        .listing;
    let code = |i: usize| {
        l.areas
            .iter()
            .find(|a| a.id == l.buildings[i].area)
            .unwrap()
            .code
            .clone()
    };
    assert_eq!((code(0), code(1)), ("E".to_string(), "W".to_string()));
}

/// (what, input, input kind, code, feature index, field)
type BadCase = (
    &'static str,
    String,
    ImportErrorCode,
    Option<usize>,
    Option<&'static str>,
);

fn bad_cases() -> Vec<BadCase> {
    let ok =
        |extra: serde_json::Value| fc(json!([building(json!(1), json!({"area": "A1"})), extra]));
    vec![
        ("truncated JSON", "{\"type\": \"FeatureCollection\", \"features\": [".into(), ImportErrorCode::MalformedJson, None, None),
        ("NaN is not JSON", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[NaN,1]}}]}".into(), ImportErrorCode::MalformedJson, None, None),
        ("a bare array", "[]".into(), ImportErrorCode::NotAFeatureCollection, None, None),
        ("a geometry, not a collection", json!({"type": "Point", "coordinates": [1, 2]}).to_string(), ImportErrorCode::NotAFeatureCollection, None, None),
        ("no features member", json!({"type": "FeatureCollection"}).to_string(), ImportErrorCode::NotAFeatureCollection, None, None),
        ("empty collection", fc(json!([])), ImportErrorCode::EmptyCollection, None, None),
        ("a feature that is a number", ok(json!(5)), ImportErrorCode::NotAFeature, Some(1), None),
        ("a feature of the wrong type", ok(json!({"type": "Point", "coordinates": [1, 2]})), ImportErrorCode::NotAFeature, Some(1), Some("type")),
        ("properties not an object", ok(json!({"type": "Feature", "properties": [1], "geometry": null})), ImportErrorCode::NotAFeature, Some(1), Some("properties")),
        ("unknown layer", ok(json!({"type": "Feature", "properties": {"layer": "road"}, "geometry": null})), ImportErrorCode::UnknownLayer, Some(1), Some("layer")),
        ("a line string", ok(json!({"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}})), ImportErrorCode::UndeterminedLayer, Some(1), Some("layer")),
        ("a building drawn as a line", ok(json!({"type": "Feature", "properties": {"layer": "building", "area": "A1"}, "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}})), ImportErrorCode::WrongGeometryType, Some(1), Some("geometry")),
        ("a dwelling drawn as a polygon", ok(json!({"type": "Feature", "properties": {"layer": "dwelling", "area": "A1"}, "geometry": {"type": "Polygon", "coordinates": square_coords(1.0, 1.0, 1.0)}})), ImportErrorCode::WrongGeometryType, Some(1), Some("geometry")),
        ("geometry without coordinates", ok(json!({"type": "Feature", "properties": {"room": "1"}, "geometry": {"type": "Point"}})), ImportErrorCode::InvalidGeometry, Some(1), Some("geometry")),
        ("coordinates as strings", ok(json!({"type": "Feature", "properties": {"room": "1"}, "geometry": {"type": "Point", "coordinates": ["102", "25"]}})), ImportErrorCode::InvalidGeometry, Some(1), Some("geometry")),
        ("latitude out of range", ok(json!({"type": "Feature", "properties": {"room": "1", "area": "A1"}, "geometry": {"type": "Point", "coordinates": [102.0, 95.0]}})), ImportErrorCode::BadCoordinate, Some(1), Some("geometry.coordinates")),
        ("projected metres", ok(json!({"type": "Feature", "properties": {"room": "1", "area": "A1"}, "geometry": {"type": "Point", "coordinates": [500000.0, 2770000.0]}})), ImportErrorCode::BadCoordinate, Some(1), Some("geometry.coordinates")),
        ("a one-number position", ok(json!({"type": "Feature", "properties": {"room": "1", "area": "A1"}, "geometry": {"type": "Point", "coordinates": [102.0]}})), ImportErrorCode::InvalidGeometry, Some(1), Some("geometry")),
        ("an out-of-range polygon vertex", fc(json!([{"type": "Feature", "properties": {"area": "A1"}, "geometry": {"type": "Polygon", "coordinates": [[[102, 25], [181, 25], [102, 26], [102, 25]]]}}])), ImportErrorCode::BadCoordinate, Some(0), Some("geometry.coordinates[0][1]")),
        ("levels as words", ok(building(json!(2), json!({"area": "A1", "levels": "many"}))), ImportErrorCode::BadProperty, Some(1), Some("levels")),
        ("negative entrances", ok(building(json!(2), json!({"area": "A1", "entrances": -1}))), ImportErrorCode::BadProperty, Some(1), Some("entrances")),
        ("fractional listing number", ok(json!({"type": "Feature", "properties": {"building_id": 1, "room": "1", "listing_number": 1.5}, "geometry": null})), ImportErrorCode::BadProperty, Some(1), Some("listing_number")),
        ("unknown occupancy", ok(json!({"type": "Feature", "properties": {"building_id": 1, "occupancy": "haunted"}, "geometry": null})), ImportErrorCode::BadProperty, Some(1), Some("occupancy")),
        ("door plate maybe", ok(json!({"type": "Feature", "properties": {"building_id": 1, "door_plate": "maybe"}, "geometry": null})), ImportErrorCode::BadProperty, Some(1), Some("door_plate")),
        ("unknown kind", ok(building(json!(2), json!({"area": "A1", "kind": "castle"}))), ImportErrorCode::BadProperty, Some(1), Some("kind")),
        ("area code as an object", ok(building(json!(2), json!({"area": {"code": "A1"}}))), ImportErrorCode::BadProperty, Some(1), Some("area")),
        ("an id that is an object", ok(building(json!({"a": 1}), json!({"area": "A1"}))), ImportErrorCode::BadProperty, Some(1), Some("id")),
        ("a dwelling of a building that does not exist", ok(json!({"type": "Feature", "properties": {"building_id": 99, "room": "1"}, "geometry": null})), ImportErrorCode::UnknownReference, Some(1), Some("building_id")),
        ("two buildings with one id", ok(building(json!(1), json!({"area": "A1"}))), ImportErrorCode::DuplicateId, Some(1), Some("id")),
        ("a dwelling with no area, building or location", ok(json!({"type": "Feature", "properties": {"room": "1"}, "geometry": null})), ImportErrorCode::MissingProperty, Some(1), Some("area")),
        ("an area without a code", fc(json!([{"type": "Feature", "properties": {"layer": "area"}, "geometry": {"type": "Polygon", "coordinates": square_coords(1.0, 1.0, 1.0)}}])), ImportErrorCode::MissingProperty, Some(0), Some("code")),
        ("a probability above one", fc(json!([{"type": "Feature", "properties": {"layer": "area", "code": "A", "prob": 2}, "geometry": null}])), ImportErrorCode::BadProperty, Some(0), Some("prob")),
        ("an empty ring", fc(json!([{"type": "Feature", "properties": {"area": "A1"}, "geometry": {"type": "Polygon", "coordinates": [[]]}}])), ImportErrorCode::InvalidGeometry, Some(0), Some("geometry.coordinates[0]")),
    ]
}

#[test]
fn bad_input_is_refused_with_what_and_where() {
    let mut failures = Vec::new();
    for (what, text, code, feature, field) in bad_cases() {
        match read(&text) {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(errors) => {
                let e = &errors.errors[0];
                if (e.code, e.feature, e.field.as_deref()) != (code, feature, field) {
                    failures.push(format!("{what}: expected {code:?} at feature {feature:?} field {field:?}, got {e:?}"));
                }
                if e.input != InputKind::Listing || e.message.is_empty() {
                    failures.push(format!("{what}: {e:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_messages_read_well() {
    let text = fc(json!([building(
        json!(322667424),
        json!({"area": "A1", "levels": "many"})
    )]));
    let e = read(&text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "feature 0 (id 322667424): property \"levels\": expected a whole number 0 or more, found \"many\""
    );
    let e = read("{\"type\":\n  \"FeatureCollection\",,}").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("line 2, column 23: not valid JSON"),
        "{e}"
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = fc(json!([
        building(json!(1), json!({"area": "A1", "levels": "x"})),
        building(json!(2), json!({"area": "A1", "entrances": "y"})),
        {"type": "Feature", "properties": {"building_id": 1, "occupancy": "?"}, "geometry": {"type": "Point", "coordinates": [200, 0]}}
    ]));
    let e = read(&text).unwrap_err();
    let at: Vec<_> = e
        .errors
        .iter()
        .map(|e| (e.feature, e.field.clone()))
        .collect();
    assert_eq!(
        at,
        [
            (Some(0), Some("levels".to_string())),
            (Some(1), Some("entrances".to_string())),
            (Some(2), Some("occupancy".to_string())),
            (Some(2), Some("geometry.coordinates".to_string()))
        ]
    );
}

#[test]
fn errors_in_the_areas_file_say_so() {
    let areas = fc(
        json!([{"type": "Feature", "properties": {"code": "A1"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]),
    );
    let listing = fc(json!([building(json!(1), json!({"area": "A1"}))]));
    let e = read_listing(&listing, Some(&areas), &ImportOptions::default()).unwrap_err();
    assert_eq!(
        (e.errors[0].input, e.errors[0].code),
        (InputKind::Areas, ImportErrorCode::WrongGeometryType)
    );
}

#[test]
fn an_unknown_area_code_is_an_error_when_areas_are_declared() {
    let areas = fc(json!([{"type": "Feature", "properties": {"code": "A1"}, "geometry": null}]));
    let listing = fc(json!([building(json!(1), json!({"area": "A2"}))]));
    let e = read_listing(&listing, Some(&areas), &ImportOptions::default()).unwrap_err();
    assert_eq!(
        (e.errors[0].code, e.errors[0].field.as_deref()),
        (ImportErrorCode::UnknownReference, Some("area"))
    );
}

#[test]
fn unclosed_boundaries_are_closed_and_remembered() {
    let areas = fc(
        json!([{"type": "Feature", "properties": {"code": "A1"}, "geometry": {"type": "Polygon", "coordinates": [[[102, 25], [102.01, 25], [102.01, 25.01], [102, 25.01]]]}}]),
    );
    let listing = fc(json!([building(json!(1), json!({"area": "A1"}))]));
    let l = read_listing(&listing, Some(&areas), &ImportOptions::default())
        .unwrap()
        .listing;
    assert!(l.areas[0].boundary_unclosed);
}

#[test]
fn segments_and_map_sheets_attach_to_their_area() {
    let text = fc(json!([
        {"type": "Feature", "properties": {"layer": "area", "code": "A1"}, "geometry": {"type": "Polygon", "coordinates": square_coords(102.0, 25.0, 0.01)}},
        {"type": "Feature", "properties": {"layer": "segment", "area": "A1", "code": "S1", "mos": 40}, "geometry": {"type": "Polygon", "coordinates": square_coords(102.0, 25.0, 0.005)}},
        {"type": "Feature", "properties": {"layer": "sheet", "area": "A1", "code": "总图", "kind": "总图"}, "geometry": null},
        {"type": "Feature", "properties": {"layer": "sheet", "area": "A1", "code": "分图1"}, "geometry": null},
        {"type": "Feature", "properties": {"layer": "sheet", "area": "A1", "code": "x", "kind": "poster"}, "geometry": null},
    ]));
    let e = read(&text).unwrap_err();
    assert_eq!(
        (e.errors[0].feature, e.errors[0].field.as_deref()),
        (Some(4), Some("kind"))
    );
    let ok = text.replace(r#""kind":"poster""#, r#""kind":"sub""#);
    let l = read(&ok).unwrap().listing;
    let a = &l.areas[0];
    assert_eq!(a.segments.len(), 1);
    assert_eq!(
        (a.segments[0].code.as_str(), a.segments[0].measure_of_size),
        ("S1", Some(40.0))
    );
    assert!(a.segments[0].boundary.is_some());
    let sheets: Vec<(&str, sync_core::listing::SheetKind)> =
        a.sheets.iter().map(|s| (s.code.as_str(), s.kind)).collect();
    assert_eq!(
        sheets,
        [
            ("总图", sync_core::listing::SheetKind::Master),
            ("分图1", sync_core::listing::SheetKind::Sub),
            ("x", sync_core::listing::SheetKind::Sub)
        ]
    );
}
