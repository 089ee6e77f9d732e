//! The GeoJSON reader never panics, whatever it is given: arbitrary bytes, arbitrary JSON, and
//! valid listings with a value replaced by something arbitrary.

use proptest::prelude::*;
use serde_json::{Value, json};
use sync_core::listing::geojson::{ImportOptions, read_listing};
use sync_core::selfcheck::{CheckOptions, check};
use sync_core::serpentine::{NumberingOptions, number};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|n| json!(n)),
        prop_oneof![Just(-181.0), Just(90.5), Just(1e308), Just(-0.0)].prop_map(|n: f64| json!(n)),
        "[a-zA-Z0-9 _:.\\-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Feature"),
            Just("FeatureCollection"),
            Just("Point"),
            Just("Polygon"),
            Just("MultiPolygon"),
            Just("building"),
            Just("dwelling"),
            Just("area"),
            Just("A1"),
            Just("空房")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("type"),
                        Just("features"),
                        Just("geometry"),
                        Just("coordinates"),
                        Just("properties"),
                        Just("id"),
                        Just("layer"),
                        Just("area"),
                        Just("building_id"),
                        Just("room"),
                        Just("levels"),
                        Just("code"),
                        Just("kind"),
                        Just("occupancy"),
                        Just("listing_number"),
                        Just("uuid")
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn valid() -> Value {
    json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"layer": "area", "code": "A1", "mos": 3}, "geometry": {"type": "Polygon", "coordinates": [[[102.0, 25.0], [102.01, 25.0], [102.01, 25.01], [102.0, 25.01], [102.0, 25.0]]]}},
        {"type": "Feature", "id": 1, "properties": {"area": "A1", "building": "apartments", "levels": 3}, "geometry": {"type": "Polygon", "coordinates": [[[102.001, 25.001], [102.002, 25.001], [102.002, 25.002], [102.001, 25.001]]]}},
        {"type": "Feature", "properties": {"building_id": 1, "unit": "1", "floor": "2", "room": "201", "occupancy": "occupied"}, "geometry": {"type": "Point", "coordinates": [102.0015, 25.0015]}}
    ]})
}

/// Replaces the value at a path of indices (object members by position) with `with`.
fn replace_at(v: &mut Value, path: &[usize], with: Value) {
    let Some((&first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    match v {
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            replace_at(&mut a[first % n], rest, with)
        }
        Value::Object(o) if !o.is_empty() => {
            let n = o.len();
            if let Some((_, child)) = o.iter_mut().nth(first % n) {
                replace_at(child, rest, with);
            }
        }
        _ => *v = with,
    }
}

/// Reading, and when it succeeds checking and numbering, must not panic.
fn exercise(text: &str) {
    if let Ok(imported) = read_listing(text, None, &ImportOptions::default()) {
        check(&imported.listing, &CheckOptions::default());
        number(&imported.listing, &NumberingOptions::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        exercise(&v.to_string());
        exercise(&json!({"type": "FeatureCollection", "features": [v]}).to_string());
    }

    #[test]
    fn a_valid_listing_with_one_value_replaced_never_panics(path in proptest::collection::vec(0usize..8, 0..7), with in arb_json()) {
        let mut doc = valid();
        replace_at(&mut doc, &path, with);
        exercise(&doc.to_string());
    }
}

#[test]
fn the_unmutated_listing_reads() {
    assert!(read_listing(&valid().to_string(), None, &ImportOptions::default()).is_ok());
}
