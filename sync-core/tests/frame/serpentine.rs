//! Serpentine numbering.

use crate::fixture::{Fx, square};
use proptest::prelude::*;
use std::collections::HashMap;
use sync_core::listing::{BuildingKind, Listing};
use sync_core::serpentine::{NumberingOptions, number};

/// A 3 × 3 grid of buildings 50 m apart; ids name row (a = north) and column (1 = west).
fn grid() -> Fx {
    let mut fx = Fx::empty();
    fx.area("A1", square(0.0, 0.0, 200.0), None);
    for (r, row) in ["a", "b", "c"].iter().enumerate() {
        for c in 0..3 {
            let src = format!("{row}{}", c + 1);
            fx.building(
                "A1",
                &src,
                50.0 + 50.0 * c as f64,
                150.0 - 50.0 * r as f64,
                BuildingKind::Residential,
                None,
            );
        }
    }
    fx
}

fn order(listing: &Listing, options: &NumberingOptions) -> Vec<String> {
    let n = number(listing, options);
    let mut v: Vec<(u32, String)> = listing
        .buildings
        .iter()
        .map(|b| (n.buildings[&b.id], b.source_id.clone().unwrap()))
        .collect();
    v.sort();
    v.into_iter().map(|x| x.1).collect()
}

#[test]
fn buildings_are_walked_boustrophedon_from_the_north_west() {
    let want = ["a1", "a2", "a3", "b3", "b2", "b1", "c1", "c2", "c3"];
    assert_eq!(
        order(&grid().listing, &NumberingOptions { band_m: Some(50.0) }),
        want
    );
    assert_eq!(
        order(&grid().listing, &NumberingOptions::default()),
        want,
        "the default band finds the rows"
    );
}

#[test]
fn the_order_does_not_depend_on_input_order() {
    let fx = grid();
    let mut shuffled = fx.listing.clone();
    shuffled.buildings.reverse();
    assert_eq!(
        number(&fx.listing, &NumberingOptions::default()),
        number(&shuffled, &NumberingOptions::default())
    );
}

#[test]
fn dwellings_follow_building_order_then_entrance_floor_room() {
    let mut fx = Fx::empty();
    fx.area("A1", square(0.0, 0.0, 200.0), None);
    fx.building("A1", "west", 50.0, 100.0, BuildingKind::Residential, None);
    fx.building("A1", "east", 150.0, 100.0, BuildingKind::Residential, None);
    for (b, src, addr) in [
        ("east", "e1", ("1", "1", "101")),
        ("west", "w4", ("2", "1", "101")),
        ("west", "w3", ("1", "10", "1001")),
        ("west", "w2", ("1", "2", "201")),
        ("west", "w0", ("1", "B1", "B01")),
        ("west", "w1", ("1", "1", "102")),
        ("west", "w1a", ("1", "1", "101")),
    ] {
        fx.dwelling(b, src, addr);
    }
    fx.number();
    let mut got: Vec<(u32, &str)> = fx
        .listing
        .dwellings
        .iter()
        .map(|d| (d.listing_number.unwrap(), d.source_id.as_deref().unwrap()))
        .collect();
    got.sort();
    let got: Vec<&str> = got.into_iter().map(|x| x.1).collect();
    assert_eq!(got, ["w0", "w1a", "w1", "w2", "w3", "w4", "e1"]);
}

#[test]
fn buildings_go_sheet_by_sheet() {
    let mut fx = grid();
    for b in &mut fx.listing.buildings {
        let col = b.source_id.as_deref().unwrap().chars().nth(1).unwrap();
        b.sheet = Some(if col == '3' {
            "分图1".into()
        } else {
            "分图2".into()
        });
    }
    let o = order(&fx.listing, &NumberingOptions { band_m: Some(50.0) });
    assert_eq!(o, ["a3", "b3", "c3", "a1", "a2", "b2", "b1", "c1", "c2"]);
}

#[test]
fn a_small_numbered_city_does_not_drift() {
    let listing = sync_core::synthetic::city(&sync_core::synthetic::CityOptions {
        areas: 2,
        buildings_per_area: 6,
        dwellings_per_building: 2,
        ..Default::default()
    });
    let rows: Vec<String> = listing
        .buildings
        .iter()
        .map(|b| {
            format!(
                "{} serpentine {}",
                b.source_id.as_deref().unwrap(),
                b.serpentine.unwrap()
            )
        })
        .chain(listing.dwellings.iter().map(|d| {
            format!(
                "{} listing {}",
                d.source_id.as_deref().unwrap(),
                d.listing_number.unwrap()
            )
        }))
        .collect();
    insta::assert_snapshot!(rows.join("\n"));
}

fn arb_listing() -> impl Strategy<Value = Listing> {
    let building = (
        0.0..400.0f64,
        0.0..400.0f64,
        0usize..2,
        proptest::collection::vec((1u8..3, 0i8..12, 1u8..5), 0..6),
    );
    proptest::collection::vec(building, 1..25).prop_map(|bs| {
        let mut fx = Fx::empty();
        fx.area("A1", square(0.0, 0.0, 200.0), None);
        fx.area("A2", square(200.0, 0.0, 200.0), None);
        for (i, (x, y, area, dwellings)) in bs.into_iter().enumerate() {
            let src = format!("b{i}");
            fx.building(
                if area == 0 { "A1" } else { "A2" },
                &src,
                x,
                y,
                BuildingKind::Residential,
                None,
            );
            for (k, (u, f, r)) in dwellings.into_iter().enumerate() {
                let floor = if f < 0 {
                    format!("B{}", -f)
                } else {
                    f.to_string()
                };
                fx.dwelling(
                    &src,
                    &format!("{src}-{k}"),
                    (&u.to_string(), &floor, &r.to_string()),
                );
            }
        }
        fx.listing
    })
}

proptest! {
    #[test]
    fn numbers_run_one_to_n_in_every_area(listing in arb_listing()) {
        let n = number(&listing, &NumberingOptions::default());
        let mut per_area: HashMap<_, Vec<u32>> = HashMap::new();
        for d in &listing.dwellings {
            per_area.entry(d.area).or_default().push(n.dwellings[&d.id]);
        }
        for (_, mut v) in per_area {
            v.sort();
            prop_assert_eq!(v.clone(), (1..=v.len() as u32).collect::<Vec<_>>());
        }
        let mut per_area: HashMap<_, Vec<u32>> = HashMap::new();
        for b in &listing.buildings {
            per_area.entry(b.area).or_default().push(n.buildings[&b.id]);
        }
        for (_, mut v) in per_area {
            v.sort();
            prop_assert_eq!(v.clone(), (1..=v.len() as u32).collect::<Vec<_>>());
        }
        let mut reversed = listing.clone();
        reversed.buildings.reverse();
        reversed.dwellings.reverse();
        prop_assert_eq!(number(&reversed, &NumberingOptions::default()), n);
    }
}
