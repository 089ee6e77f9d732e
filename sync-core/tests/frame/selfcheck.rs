//! Every self-check has a fixture that triggers it and one that does not.

use crate::fixture::{Fx, ring, square};
use geo::{MultiPolygon, Polygon};
use sync_core::listing::{BuildingKind, Occupancy};
use sync_core::selfcheck::{CheckOptions, FindingCode, Severity, check};

struct Case {
    name: &'static str,
    code: FindingCode,
    triggers: bool,
    options: fn() -> CheckOptions,
    build: fn() -> Fx,
}

fn defaults() -> CheckOptions {
    CheckOptions::default()
}

fn with(f: impl FnOnce(&mut Fx)) -> Fx {
    let mut fx = Fx::clean();
    f(&mut fx);
    fx
}

/// Six buildings in a row 30 m apart along the top of a 1 km area, numbered by `order`.
fn row_of_buildings(order: [u32; 6], last_x: f64) -> Fx {
    let mut fx = Fx::empty();
    fx.area("A1", square(0.0, 0.0, 1000.0), None);
    for (k, n) in order.into_iter().enumerate() {
        let x = if k == 5 {
            last_x
        } else {
            100.0 + 30.0 * k as f64
        };
        let src = format!("r{k}");
        fx.building("A1", &src, x, 900.0, BuildingKind::NonResidential, None)
            .serpentine = Some(n);
    }
    fx
}

fn cases() -> Vec<Case> {
    use FindingCode::*;
    vec![
        Case {
            name: "area without boundary",
            code: BoundaryMissing,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.listing.areas[0].boundary = None),
        },
        Case {
            name: "area with boundary",
            code: BoundaryMissing,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "unclosed ring",
            code: BoundaryUnclosed,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.listing.areas[0].boundary_unclosed = true),
        },
        Case {
            name: "closed ring",
            code: BoundaryUnclosed,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "bow-tie boundary",
            code: BoundarySelfIntersecting,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.listing.areas[0].boundary = Some(MultiPolygon(vec![Polygon::new(
                        ring(&[(0.0, 0.0), (200.0, 200.0), (200.0, 0.0), (0.0, 200.0)]),
                        vec![],
                    )]))
                })
            },
        },
        Case {
            name: "simple square boundary",
            code: BoundarySelfIntersecting,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "degenerate two-point boundary",
            code: BoundaryInvalid,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.listing.areas[0].boundary = Some(MultiPolygon(vec![Polygon::new(
                        ring(&[(0.0, 0.0), (200.0, 0.0)]),
                        vec![],
                    )]))
                })
            },
        },
        Case {
            name: "valid boundary",
            code: BoundaryInvalid,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "areas overlapping by a 50 m strip",
            code: AreasOverlap,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.area("A2", square(150.0, 0.0, 200.0), None);
                })
            },
        },
        Case {
            name: "areas sharing an edge",
            code: AreasOverlap,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.area("A2", square(200.0, 0.0, 200.0), None);
                })
            },
        },
        Case {
            name: "building 60 m outside",
            code: BuildingOutsideArea,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building(
                        "A1",
                        "shed",
                        260.0,
                        100.0,
                        BuildingKind::NonResidential,
                        None,
                    );
                })
            },
        },
        Case {
            name: "building 5 m outside, within tolerance",
            code: BuildingOutsideArea,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building(
                        "A1",
                        "shed",
                        205.0,
                        100.0,
                        BuildingKind::NonResidential,
                        None,
                    );
                })
            },
        },
        Case {
            name: "dwelling located 100 m outside",
            code: DwellingOutsideArea,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.dwelling_mut("b1-101").location = Some(Fx::point(300.0, 100.0))),
        },
        Case {
            name: "dwelling located 4 m outside",
            code: DwellingOutsideArea,
            triggers: false,
            options: defaults,
            build: || with(|fx| fx.dwelling_mut("b1-101").location = Some(Fx::point(204.0, 100.0))),
        },
        Case {
            name: "residential building with no dwellings",
            code: ResidentialBuildingWithoutDwellings,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building("A1", "b9", 20.0, 20.0, BuildingKind::Residential, None);
                })
            },
        },
        Case {
            name: "non-residential building with no dwellings",
            code: ResidentialBuildingWithoutDwellings,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building("A1", "b9", 20.0, 20.0, BuildingKind::NonResidential, None);
                })
            },
        },
        Case {
            name: "1 × 6 × 2 = 12 expected, 8 listed",
            code: DwellingCountMismatch,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.building_mut("b1").floors = Some(6)),
        },
        Case {
            name: "1 × 9 × 1 = 9 expected, 8 listed, within tolerance",
            code: DwellingCountMismatch,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    let b = fx.building_mut("b1");
                    b.floors = Some(9);
                    b.dwellings_per_floor = Some(1);
                })
            },
        },
        Case {
            name: "the same door written two ways in one building",
            code: DuplicateAddress,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.dwelling("b1", "b1-101bis", ("1单元", "1层", "101室"));
                    fx.number();
                })
            },
        },
        Case {
            name: "a different door in the same building",
            code: DuplicateAddress,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.dwelling("b1", "b1-103", ("1", "1", "103"));
                    fx.number();
                })
            },
        },
        Case {
            name: "a second record of building 1, 2 m away, with the same door",
            code: NearDuplicateDwellings,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building("A1", "b1", 50.0, 152.0, BuildingKind::Residential, None)
                        .source_id = Some("b1-second".into());
                    fx.listing.buildings.last_mut().unwrap().id =
                        sync_core::ids::BuildingId::from_source("b1-second");
                    fx.dwelling("b1-second", "b1-second-101", ("1", "1", "101"));
                    fx.number();
                })
            },
        },
        Case {
            name: "the same door numbers in another building 30 m away",
            code: NearDuplicateDwellings,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.building("A1", "b1", 50.0, 180.0, BuildingKind::Residential, None)
                        .source_id = Some("b1-second".into());
                    fx.listing.buildings.last_mut().unwrap().id =
                        sync_core::ids::BuildingId::from_source("b1-second");
                    fx.dwelling("b1-second", "b1-second-101", ("1", "1", "101"));
                    fx.number();
                })
            },
        },
        Case {
            name: "dwelling with no address",
            code: DwellingWithoutAddress,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.dwelling_mut("b1-101").address = Default::default()),
        },
        Case {
            name: "dwelling with only a door number",
            code: DwellingWithoutAddress,
            triggers: false,
            options: defaults,
            build: || {
                with(|fx| {
                    let d = fx.dwelling_mut("b1-101");
                    d.address = Default::default();
                    d.door_number = Some("金碧路12号".into());
                })
            },
        },
        Case {
            name: "dwellings in a school",
            code: DwellingsInNonResidentialBuilding,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.building_mut("b1").kind = BuildingKind::NonResidential),
        },
        Case {
            name: "dwellings above shops",
            code: DwellingsInNonResidentialBuilding,
            triggers: false,
            options: defaults,
            build: || with(|fx| fx.building_mut("b1").kind = BuildingKind::Mixed),
        },
        Case {
            name: "nothing numbered",
            code: ListingNotNumbered,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.listing
                        .dwellings
                        .iter_mut()
                        .for_each(|d| d.listing_number = None)
                })
            },
        },
        Case {
            name: "numbered",
            code: ListingNotNumbered,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "two dwellings with number 1",
            code: DuplicateListingNumber,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    let n = fx.listing.dwellings[0].listing_number;
                    fx.listing.dwellings[1].listing_number = n;
                })
            },
        },
        Case {
            name: "numbers 1..N once each",
            code: DuplicateListingNumber,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "one dwelling unnumbered",
            code: MissingListingNumber,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.listing.dwellings[5].listing_number = None),
        },
        Case {
            name: "a number beyond N",
            code: MissingListingNumber,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.listing.dwellings[5].listing_number = Some(99)),
        },
        Case {
            name: "no gaps",
            code: MissingListingNumber,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "two buildings with serpentine number 1",
            code: DuplicateSerpentineNumber,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    let n = fx.listing.buildings[0].serpentine;
                    fx.listing.buildings[1].serpentine = n;
                })
            },
        },
        Case {
            name: "serpentine numbers once each",
            code: DuplicateSerpentineNumber,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "walk goes 740 m out and back",
            code: SerpentineJump,
            triggers: true,
            options: defaults,
            build: || row_of_buildings([1, 2, 4, 5, 6, 3], 900.0),
        },
        Case {
            name: "walk along a row",
            code: SerpentineJump,
            triggers: false,
            options: defaults,
            build: || row_of_buildings([1, 2, 3, 4, 5, 6], 250.0),
        },
        Case {
            name: "24 listed against 100 registered",
            code: SizeOutsideBand,
            triggers: true,
            options: defaults,
            build: || with(|fx| fx.listing.areas[0].measure_of_size = Some(100.0)),
        },
        Case {
            name: "24 listed against 20 registered",
            code: SizeOutsideBand,
            triggers: false,
            options: defaults,
            build: || with(|fx| fx.listing.areas[0].measure_of_size = Some(20.0)),
        },
        Case {
            name: "10 of 24 vacant",
            code: VacancyRateOutsideBand,
            triggers: true,
            options: defaults,
            build: || {
                with(|fx| {
                    fx.listing
                        .dwellings
                        .iter_mut()
                        .take(10)
                        .for_each(|d| d.occupancy = Occupancy::Vacant)
                })
            },
        },
        Case {
            name: "2 of 24 vacant",
            code: VacancyRateOutsideBand,
            triggers: false,
            options: defaults,
            build: Fx::clean,
        },
        Case {
            name: "no vacancy at all is outside a 5–30% band",
            code: VacancyRateOutsideBand,
            triggers: true,
            options: || CheckOptions {
                vacancy_band: (0.05, 0.3),
                ..CheckOptions::default()
            },
            build: || {
                with(|fx| {
                    fx.listing
                        .dwellings
                        .iter_mut()
                        .for_each(|d| d.occupancy = Occupancy::Occupied)
                })
            },
        },
    ]
}

#[test]
fn every_check_triggers_on_its_fixture_and_not_on_its_near_miss() {
    let mut failures = Vec::new();
    for case in cases() {
        let fx = (case.build)();
        let report = check(&fx.listing, &(case.options)());
        let found = report.with_code(case.code).count() > 0;
        if found != case.triggers {
            failures.push(format!(
                "{}: expected {} {} but got {:?}",
                case.name,
                if case.triggers { "a" } else { "no" },
                case.code.as_str(),
                report
                    .findings
                    .iter()
                    .map(|f| (f.code.as_str(), f.message.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_finding_code_has_a_triggering_case() {
    let covered: Vec<FindingCode> = cases()
        .iter()
        .filter(|c| c.triggers)
        .map(|c| c.code)
        .collect();
    let missing: Vec<&str> = FindingCode::ALL
        .iter()
        .filter(|c| !covered.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes with no triggering fixture: {missing:?}"
    );
}

#[test]
fn the_clean_fixture_has_no_findings() {
    let report = check(&Fx::clean().listing, &CheckOptions::default());
    assert_eq!(report.findings, vec![]);
    assert_eq!(
        (
            report.summary.areas,
            report.summary.buildings,
            report.summary.dwellings
        ),
        (1, 3, 24)
    );
}

#[test]
fn findings_name_the_input_ids_and_speak_both_languages() {
    let fx = with(|fx| {
        fx.dwelling("b2", "b2-dup", ("1", "2", "201"));
        fx.number();
    });
    let report = check(&fx.listing, &CheckOptions::default());
    let f = report
        .with_code(FindingCode::DuplicateAddress)
        .next()
        .expect("a duplicate");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.area.as_deref(), Some("A1"));
    let mut ids = f.ids.clone();
    ids.sort();
    assert_eq!(ids, ["b2-201", "b2-dup"]);
    assert!(
        f.message.contains("b2") && f.message_zh.contains("地址"),
        "{f:?}"
    );
    assert!(report.has_errors());
}

#[test]
fn severity_of_each_code_is_stable() {
    let table: Vec<(&str, &str)> = FindingCode::ALL
        .iter()
        .map(|c| (c.as_str(), c.severity().as_str()))
        .collect();
    insta::assert_debug_snapshot!(table);
}
