//! The real listing: 140 OpenStreetMap building footprints around Jinjiang Road, Kunming, in 16
//! residential compounds (../shared/data). Dwellings are generated deterministically from each
//! residential footprint and its levels (OSM records none); compound boundaries are drafted as the
//! buffered convex hull of the compound's buildings (OSM draws none).

use sync_core::listing::geojson::{ExportOptions, ImportOptions, read_listing, write_listing};
use sync_core::listing::{BuildingKind, Listing};
use sync_core::selfcheck::{CheckOptions, FindingCode, check};
use sync_core::serpentine::{NumberingOptions, number};
use sync_core::synthetic::{draft_boundaries, populate_dwellings};

fn data(name: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(_) => {
            println!(
                "skipped: {} not found (../shared/data is absent)",
                path.display()
            );
            None
        }
    }
}

fn kunming() -> Option<Listing> {
    let text = data("kunming-jinjiang-buildings.geojson")?;
    let options = ImportOptions {
        area_key: "community".into(),
        ..ImportOptions::default()
    };
    Some(
        read_listing(&text, None, &options)
            .expect("the Kunming buildings read")
            .listing,
    )
}

#[test]
fn the_buildings_read_as_a_listing_of_sixteen_compounds() {
    let Some(l) = kunming() else { return };
    assert_eq!(l.buildings.len(), 140);
    assert_eq!(l.areas.len(), 16);
    let residential = l
        .buildings
        .iter()
        .filter(|b| b.kind == BuildingKind::Residential)
        .count();
    assert_eq!(
        residential, 90,
        "89 building=apartments and one building=terrace (row houses)"
    );
    let b = l
        .buildings
        .iter()
        .find(|b| b.source_id.as_deref() == Some("322667424"))
        .unwrap();
    assert_eq!(b.floors, Some(16), "levels 15.8 rounds to 16");
    assert!(b.extra.contains_key("height"));
}

#[test]
fn a_footprint_only_listing_is_missing_its_dwellings_and_boundaries() {
    let Some(l) = kunming() else { return };
    let report = check(&l, &CheckOptions::default());
    assert_eq!(
        report
            .with_code(FindingCode::ResidentialBuildingWithoutDwellings)
            .count(),
        90
    );
    assert_eq!(report.with_code(FindingCode::BoundaryMissing).count(), 16);
}

#[test]
fn with_dwellings_and_drafted_boundaries_the_listing_checks_and_numbers() {
    let Some(mut l) = kunming() else { return };
    let added = populate_dwellings(&mut l);
    assert_eq!(added, l.dwellings.len());
    assert!(added > 5_000, "{added}");
    assert_eq!(draft_boundaries(&mut l, 15.0), 16);
    number(&l, &NumberingOptions::default()).apply(&mut l);
    let report = check(&l, &CheckOptions::default());
    for code in [
        FindingCode::ResidentialBuildingWithoutDwellings,
        FindingCode::BuildingOutsideArea,
        FindingCode::DuplicateAddress,
        FindingCode::MissingListingNumber,
        FindingCode::DuplicateListingNumber,
        FindingCode::BoundaryInvalid,
        FindingCode::DwellingCountMismatch,
    ] {
        assert_eq!(
            report.with_code(code).count(),
            0,
            "{code:?}: {:#?}",
            report.with_code(code).collect::<Vec<_>>()
        );
    }
    // Hulls of neighbouring compounds drawn from buildings alone do overlap: the check says so.
    let overlaps: Vec<_> = report
        .with_code(FindingCode::AreasOverlap)
        .map(|f| f.ids.join("/"))
        .collect();
    insta::assert_debug_snapshot!("kunming_overlaps", overlaps);
    let summary: Vec<(String, usize)> = report.summary.by_code.clone().into_iter().collect();
    insta::assert_debug_snapshot!("kunming_summary", (report.summary.dwellings, summary));
}

#[test]
fn the_numbered_listing_round_trips_through_geojson() {
    let Some(mut l) = kunming() else { return };
    populate_dwellings(&mut l);
    number(&l, &NumberingOptions::default()).apply(&mut l);
    let text = write_listing(
        &l,
        &ExportOptions {
            areas: false,
            ..ExportOptions::default()
        },
    );
    let back = read_listing(&text, None, &ImportOptions::default())
        .expect("reads back")
        .listing;
    assert_eq!(back.buildings, l.buildings);
    assert_eq!(back.dwellings, l.dwellings);
}
