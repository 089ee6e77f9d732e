//! The specification of coverage: dwelling status precedence, each quality flag with a case that
//! raises it and a near miss that does not, the entity conversions, and the report and map as
//! snapshots.

use super::*;
use crate::aapor::Disposition as D;
use crate::fieldwork::{CaseFields, field};
use crate::sync::{Entity, EntityKind, FieldValue, Position};

const MIN: i64 = 60_000;
/// 2026-03-01T00:00:00Z.
const T0: i64 = 1_772_323_200_000;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn area(n: u128, code: &str, stratum: &str, expected: Option<f64>) -> AreaInfo {
    AreaInfo {
        id: id(n),
        code: code.into(),
        name: format!("{code} community"),
        stratum: Some(stratum.into()),
        expected,
        team: Some("team 1".into()),
        supervisor: None,
        boundary: None,
    }
}

fn dwelling(n: u128, area: u128, occupancy: Occupancy) -> DwellingRow {
    DwellingRow {
        id: id(n),
        area: id(area),
        listing_number: Some(n as u32 % 1000),
        position: Some(Position::new(113.6 + n as f64 * 1e-4, 34.7)),
        occupancy,
        retired: false,
    }
}

fn case(n: u128, area: u128, dwelling: u128) -> CaseRow {
    CaseRow {
        id: id(n),
        area: id(area),
        dwelling: Some(id(dwelling)),
        form: Some("household".into()),
        status: Some(InterviewStatus::Assigned),
        ..CaseRow::default()
    }
}

fn with(mut c: CaseRow, f: impl FnOnce(&mut CaseRow)) -> CaseRow {
    f(&mut c);
    c
}

fn visit(at: i64, result: D) -> VisitRow {
    VisitRow {
        at: Some(at),
        result: Some(result),
        position: None,
    }
}

fn interviewer(n: u128) -> Option<Uuid> {
    Some(id(0xAAAA_0000 + n))
}

#[test]
fn dwelling_status_precedence() {
    use DwellingStatus::*;
    use Occupancy::{Business, Occupied, Vacant as ListedVacant};
    let c = || case(100, 1, 10);
    let assigned = || with(c(), |c| c.interviewer = interviewer(1));
    let outcome = |d: D| with(assigned(), |c| c.disposition = Some(d));
    let visited = || {
        with(assigned(), |c| {
            c.visits = vec![visit(T0, D::NoOneAtResidence)]
        })
    };
    let status = |s: InterviewStatus| with(assigned(), |c| c.status = Some(s));
    let table: Vec<(&str, Occupancy, Vec<CaseRow>, DwellingStatus)> = vec![
        ("listed only", Occupied, vec![], Listed),
        ("listed vacant, not sampled", ListedVacant, vec![], Vacant),
        (
            "listed as a business, not sampled",
            Business,
            vec![],
            Vacant,
        ),
        ("sampled, nobody assigned", Occupied, vec![c()], Sampled),
        ("assigned", Occupied, vec![assigned()], Assigned),
        (
            "listed vacant beats assigned",
            ListedVacant,
            vec![assigned()],
            Vacant,
        ),
        (
            "a visit's outcome is a non-contact",
            Occupied,
            vec![visited()],
            NonContact,
        ),
        (
            "in progress without outcome",
            Occupied,
            vec![status(InterviewStatus::InProgress)],
            Visited,
        ),
        (
            "returned without outcome",
            Occupied,
            vec![status(InterviewStatus::Returned)],
            Visited,
        ),
        (
            "other eligible non-interview (2.32) is visited",
            Occupied,
            vec![outcome(D::Incapable)],
            Visited,
        ),
        (
            "unknown eligibility (3.18) is visited",
            Occupied,
            vec![outcome(D::AddressNotFound)],
            Visited,
        ),
        (
            "field outcome beats listed vacancy",
            ListedVacant,
            vec![outcome(D::Refusal)],
            Refused,
        ),
        (
            "refusal",
            Occupied,
            vec![outcome(D::HouseholdRefusal)],
            Refused,
        ),
        (
            "non-contact",
            Occupied,
            vec![outcome(D::NonContact)],
            NonContact,
        ),
        (
            "found vacant in the field (4.61)",
            Occupied,
            vec![outcome(D::RegularVacant)],
            Vacant,
        ),
        (
            "found not a housing unit (4.50)",
            Occupied,
            vec![outcome(D::NotAHousingUnit)],
            Vacant,
        ),
        ("complete", Occupied, vec![outcome(D::Complete)], Completed),
        (
            "partial is an interview",
            Occupied,
            vec![outcome(D::Partial)],
            Completed,
        ),
        (
            "submitted without disposition",
            Occupied,
            vec![status(InterviewStatus::Submitted)],
            Completed,
        ),
        (
            "complete beats a listed vacancy",
            ListedVacant,
            vec![outcome(D::Complete)],
            Completed,
        ),
        (
            "recorded disposition wins over the visits",
            Occupied,
            vec![with(visited(), |c| c.disposition = Some(D::Refusal))],
            Refused,
        ),
        (
            "visits decide when no disposition is recorded (complete wins)",
            Occupied,
            vec![with(assigned(), |c| {
                c.visits = vec![
                    visit(T0, D::NoOneAtResidence),
                    visit(T0 + 60 * MIN, D::Complete),
                    visit(T0 + 120 * MIN, D::NoOneAtResidence),
                ]
            })],
            Completed,
        ),
        (
            "two households: the best case shows",
            Occupied,
            vec![
                outcome(D::Refusal),
                with(outcome(D::Complete), |c| c.id = id(101)),
            ],
            Completed,
        ),
        (
            "refusal beats non-contact",
            Occupied,
            vec![
                outcome(D::NonContact),
                with(outcome(D::Refusal), |c| c.id = id(101)),
            ],
            Refused,
        ),
        (
            "ineligible beats refusal",
            Occupied,
            vec![
                outcome(D::Refusal),
                with(outcome(D::Vacant), |c| c.id = id(101)),
            ],
            Vacant,
        ),
        (
            "a deleted case does not count",
            Occupied,
            vec![with(outcome(D::Complete), |c| c.deleted = true)],
            Listed,
        ),
    ];
    for (what, occupancy, cases, expected) in table {
        let d = with_occupancy(occupancy);
        let refs: Vec<&CaseRow> = cases.iter().collect();
        assert_eq!(dwelling_status(&d, &refs), expected, "{what}");
        // The report and the map agree with the function.
        let areas = [area(1, "A1", "urban", None)];
        let input = CoverageInput {
            areas: &areas,
            dwellings: std::slice::from_ref(&d),
            cases: &cases,
        };
        assert_eq!(Digest::of(&input).dwelling_status(&d), expected, "{what}");
    }
}

fn with_occupancy(o: Occupancy) -> DwellingRow {
    dwelling(10, 1, o)
}

/// The flags raised on one input, as (case, kind) pairs.
fn flags_of(cases: &[CaseRow], dwellings: &[DwellingRow]) -> Vec<(u128, &'static str)> {
    let areas = [area(1, "A1", "urban", None)];
    let input = CoverageInput {
        areas: &areas,
        dwellings,
        cases,
    };
    coverage(&input, &Thresholds::default())
        .flags
        .iter()
        .map(|f| (f.case.as_u128(), f.kind.code()))
        .collect()
}

/// A position `metres` north of `p` (one degree of latitude is 111,195 m on mapframe's sphere).
fn north(p: Position, metres: f64) -> Position {
    Position::new(p.lon, p.lat + metres / 111_195.08)
}

fn completed(n: u128, who: u128, start_min: i64, minutes: i64) -> CaseRow {
    with(case(n, 1, n), |c| {
        c.interviewer = interviewer(who);
        c.disposition = Some(D::Complete);
        c.started_at = Some(T0 + start_min * MIN);
        c.ended_at = Some(T0 + (start_min + minutes) * MIN);
    })
}

#[test]
fn gps_far_from_the_dwelling() {
    let d = dwelling(10, 1, Occupancy::Occupied);
    let at = d.position.unwrap();
    let fix = |metres: f64, acc: f64| Position {
        accuracy_m: Some(acc),
        ..north(at, metres)
    };
    let c = |p: Position| {
        vec![with(case(100, 1, 10), |c| {
            c.interviewer = interviewer(1);
            c.position = Some(p);
        })]
    };
    // Threshold 50 m + accuracy 5 m = 55 m.
    assert_eq!(
        flags_of(&c(fix(60.0, 5.0)), std::slice::from_ref(&d)),
        [(100, "gps_far")]
    );
    assert_eq!(flags_of(&c(fix(52.0, 5.0)), std::slice::from_ref(&d)), []);
    // A poor fix widens the allowance: 60 m away with 15 m accuracy is fine.
    assert_eq!(flags_of(&c(fix(60.0, 15.0)), std::slice::from_ref(&d)), []);
    // The case's own copy of the dwelling position is used first.
    let own = with(c(fix(60.0, 5.0)).remove(0), |c| {
        c.dwelling_position = Some(north(at, 40.0))
    });
    assert_eq!(flags_of(&[own], std::slice::from_ref(&d)), []);
    // No dwelling position anywhere: nothing to compare.
    let nowhere = DwellingRow {
        position: None,
        ..d.clone()
    };
    assert_eq!(flags_of(&c(fix(500.0, 5.0)), &[nowhere]), []);
    // The reason says what and by how much.
    let areas = [area(1, "A1", "urban", None)];
    let cases = c(fix(60.0, 5.0));
    let input = CoverageInput {
        areas: &areas,
        dwellings: std::slice::from_ref(&d),
        cases: &cases,
    };
    let f = &coverage(&input, &Thresholds::default()).flags[0];
    assert_eq!(
        f.reason,
        "interview GPS fix is 60 m from the dwelling; allowed 50 m + accuracy 5 m"
    );
    assert_eq!((f.limit, f.value.round()), (55.0, 60.0));
}

#[test]
fn very_short_interviews() {
    assert_eq!(
        flags_of(&[completed(1, 1, 0, 9)], &[]),
        [(1, "duration_short")]
    );
    assert_eq!(flags_of(&[completed(1, 1, 0, 10)], &[]), []);
    // Only interviews count: a 2-minute refusal at the door is not flagged.
    let refusal = with(completed(1, 1, 0, 2), |c| c.disposition = Some(D::Refusal));
    assert_eq!(flags_of(&[refusal], &[]), []);
    assert_eq!(
        flags_of(&[completed(1, 1, 30, -5)], &[]),
        [(1, "duration_negative")]
    );
}

/// Ten interviews of the household form, median 51 min, MAD 3 min once `x` joins: the robust
/// upper limit is 51 + 3.5 · 1.4826 · 3 = 66.6 min.
fn duration_group(x: i64) -> Vec<CaseRow> {
    let mut cases: Vec<CaseRow> = [44, 46, 47, 48, 49, 51, 52, 53, 54, 56]
        .iter()
        .enumerate()
        .map(|(i, &m)| completed(i as u128 + 1, i as u128 % 3, i as i64 * 100, m))
        .collect();
    cases.push(completed(99, 9, 5000, x));
    cases
}

#[test]
fn duration_outliers_are_robust_and_per_form() {
    assert_eq!(
        flags_of(&duration_group(70), &[]),
        [(99, "duration_outlier")]
    );
    assert_eq!(flags_of(&duration_group(66), &[]), []);
    // The same 70 minutes in another form is judged among that form only (too few to judge).
    let mut other_form = duration_group(70);
    other_form[10].form = Some("short_form".into());
    assert_eq!(flags_of(&other_form, &[]), []);
    // Fewer than ten interviews: no robust judgement.
    let few: Vec<CaseRow> = duration_group(70).into_iter().skip(2).collect();
    assert_eq!(flags_of(&few, &[]), []);
    // The group statistics are reported.
    let areas = [area(1, "A1", "urban", None)];
    let cases = duration_group(70);
    let input = CoverageInput {
        areas: &areas,
        dwellings: &[],
        cases: &cases,
    };
    let r = coverage(&input, &Thresholds::default());
    assert_eq!(
        r.durations,
        [DurationGroup {
            form: Some("household".into()),
            interviews: 11,
            median_ms: (51 * MIN) as f64,
            mad_ms: (3 * MIN) as f64,
            outliers_checked: true,
        }]
    );
    assert!(
        r.flags[0].reason.starts_with(
            "the interview took 70.0 min, longer than the robust limit 66.6 min (median 51.0 min"
        ),
        "{}",
        r.flags[0].reason
    );
}

#[test]
fn overlapping_interviews_of_one_interviewer() {
    // 2 minutes shared: both flagged, each naming the other.
    assert_eq!(
        flags_of(&[completed(1, 1, 0, 30), completed(2, 1, 28, 30)], &[]),
        [(1, "overlap"), (2, "overlap")]
    );
    // Exactly the one-minute tolerance: not flagged.
    assert_eq!(
        flags_of(&[completed(1, 1, 0, 30), completed(2, 1, 29, 30)], &[]),
        []
    );
    // Back to back: not flagged.
    assert_eq!(
        flags_of(&[completed(1, 1, 0, 30), completed(2, 1, 30, 30)], &[]),
        []
    );
    // Two interviewers at the same time: not flagged.
    assert_eq!(
        flags_of(&[completed(1, 1, 0, 30), completed(2, 2, 0, 30)], &[]),
        []
    );
    // A long interview spanning two short ones overlaps both.
    assert_eq!(
        flags_of(
            &[
                completed(1, 1, 0, 120),
                completed(2, 1, 10, 20),
                completed(3, 1, 60, 20)
            ],
            &[]
        ),
        [
            (1, "overlap"),
            (1, "overlap"),
            (2, "overlap"),
            (3, "overlap")
        ]
    );
}

fn entity(kind: EntityKind, n: u128, fields: BTreeMap<String, FieldValue>) -> Entity {
    let mut e = Entity::new(kind, id(n), id(n));
    e.version = 1;
    e.fields = fields;
    e
}

#[test]
fn rows_from_entities() {
    // An area.
    let mut f = BTreeMap::new();
    f.insert("code".into(), FieldValue::text("410102-001"));
    f.insert("name".into(), FieldValue::text("建设路社区"));
    f.insert("design/stratum".into(), FieldValue::text("urban"));
    f.insert("measure_of_size".into(), FieldValue::Int(1100));
    f.insert(
        "boundary".into(),
        FieldValue::text(
            r#"{"type":"Polygon","coordinates":[[[113.6,34.7],[113.61,34.7],[113.61,34.71],[113.6,34.7]]]}"#,
        ),
    );
    let a = AreaInfo::from_entity(&entity(EntityKind::Area, 1, f)).unwrap();
    assert_eq!(
        (
            a.code.as_str(),
            a.name.as_str(),
            a.stratum.as_deref(),
            a.expected
        ),
        ("410102-001", "建设路社区", Some("urban"), Some(1100.0))
    );
    assert_eq!(a.boundary.unwrap().0.len(), 1);
    assert_eq!(
        AreaInfo::from_entity(&entity(EntityKind::Area, 1, BTreeMap::new()))
            .unwrap_err()
            .code(),
        "missing_field"
    );

    // A dwelling, written by fieldwork.
    let mut d = crate::listing::Dwelling {
        id: crate::ids::DwellingId::from_uuid(id(10)),
        source_id: None,
        building: None,
        area: crate::ids::AreaId::from_uuid(id(1)),
        address: Default::default(),
        door_number: Some("3-2-201".into()),
        door_plate: None,
        location: Some(geo::Point::new(113.6, 34.7)),
        occupancy: Occupancy::Vacant,
        households: 1,
        notes: None,
        listing_number: Some(17),
        extra: Default::default(),
    };
    let row = DwellingRow::from_entity(&entity(
        EntityKind::Dwelling,
        10,
        crate::fieldwork::dwelling(&d, "410102-001"),
    ))
    .unwrap();
    assert_eq!(
        row,
        DwellingRow {
            id: id(10),
            area: id(1),
            listing_number: Some(17),
            position: Some(Position::new(113.6, 34.7)),
            occupancy: Occupancy::Vacant,
            retired: false,
        }
    );
    d.occupancy = Occupancy::Occupied;
    let mut retired = entity(
        EntityKind::Dwelling,
        10,
        crate::fieldwork::dwelling(&d, "410102-001"),
    );
    retired
        .fields
        .insert(crate::sync::entity::RETIRED_FIELD.into(), "split".into());
    assert!(DwellingRow::from_entity(&retired).unwrap().retired);
    assert_eq!(
        DwellingRow::from_entity(&entity(EntityKind::Interview, 10, BTreeMap::new()))
            .unwrap_err()
            .code(),
        "wrong_entity_kind"
    );

    // A case, created by fieldwork, then worked: two visits, a GPS fix, times.
    let mut fields = CaseFields {
        area: id(1).to_string(),
        area_code: "410102-001".into(),
        dwelling: id(10).to_string(),
        form: Some("household".into()),
        stratum: "urban".into(),
        psu: "410102-001".into(),
        stage_probs: vec![0.1, 0.05],
        base_weight: 200.0,
        position: Some(geo::Point::new(113.6, 34.7)),
        ..CaseFields::default()
    }
    .fields();
    let v1 = "0190b5a0-0000-7000-8000-000000000001";
    let v2 = "0190b5a0-0000-7000-8000-000000000002";
    fields.insert(format!("visits[{v2}]/at"), FieldValue::Int(T0 + 60 * MIN));
    fields.insert(format!("visits[{v2}]/result"), FieldValue::text("1.1"));
    fields.insert(
        format!("visits[{v2}]/position"),
        FieldValue::Position(Position {
            accuracy_m: Some(8.0),
            ..Position::new(113.6001, 34.7)
        }),
    );
    fields.insert(format!("visits[{v1}]/at"), FieldValue::Int(T0));
    // A spreadsheet-made number: 2.24.
    fields.insert(format!("visits[{v1}]/result"), FieldValue::Float(2.24));
    fields.insert(format!("visits[{v1}]/_present"), FieldValue::Bool(true));
    fields.insert(
        field::INTERVIEWER.into(),
        FieldValue::text(id(7).to_string()),
    );
    fields.insert("status".into(), FieldValue::text("submitted"));
    fields.insert(field::STARTED_AT.into(), FieldValue::Int(T0 + 60 * MIN));
    fields.insert(field::ENDED_AT.into(), FieldValue::Int(T0 + 105 * MIN));
    let e = entity(EntityKind::Interview, 100, fields.clone());
    let c = CaseRow::from_entity(&e).unwrap();
    assert_eq!(c.area, id(1));
    assert_eq!(c.dwelling, Some(id(10)));
    assert_eq!(c.stratum.as_deref(), Some("urban"));
    assert_eq!(c.interviewer, Some(id(7)));
    assert_eq!(c.status, Some(InterviewStatus::Submitted));
    assert_eq!(c.disposition, None);
    assert_eq!(
        c.visits.iter().map(|v| v.result).collect::<Vec<_>>(),
        [Some(D::NoOneAtResidence), Some(D::Complete)],
        "oldest first"
    );
    assert_eq!(c.outcome(), Some(D::Complete));
    assert_eq!(c.duration_ms(), Some(45 * MIN));
    // The mapped point (no accuracy) is the dwelling's; the fix is the visit's.
    assert_eq!(c.dwelling_position, Some(Position::new(113.6, 34.7)));
    assert_eq!(c.position.map(|p| p.accuracy_m), Some(Some(8.0)));

    // A fix written to `position` (with accuracy) is the interview's.
    let mut with_fix = fields.clone();
    let fix = Position {
        accuracy_m: Some(4.0),
        ..Position::new(113.7, 34.8)
    };
    with_fix.insert(field::POSITION.into(), FieldValue::Position(fix));
    with_fix.insert(field::DISPOSITION.into(), FieldValue::text("2.1"));
    let c = CaseRow::from_entity(&entity(EntityKind::Interview, 100, with_fix)).unwrap();
    assert_eq!((c.position, c.dwelling_position), (Some(fix), None));
    assert_eq!(c.outcome(), Some(D::RefusalAndBreakOff));

    // Errors name the field.
    let mut bad = fields.clone();
    bad.insert(field::DISPOSITION.into(), FieldValue::text("9.9"));
    let err = CaseRow::from_entity(&entity(EntityKind::Interview, 100, bad)).unwrap_err();
    assert_eq!(err.code(), "bad_field");
    assert!(err.to_string().contains("\"disposition\""), "{err}");
    let mut bad = fields;
    bad.remove(field::AREA);
    assert_eq!(
        CaseRow::from_entity(&entity(EntityKind::Interview, 100, bad))
            .unwrap_err()
            .code(),
        "missing_field"
    );
}

/// Two areas in two strata, a dozen dwellings, cases at every stage.
struct Project {
    areas: Vec<AreaInfo>,
    dwellings: Vec<DwellingRow>,
    cases: Vec<CaseRow>,
}

fn project() -> Project {
    let mut a1 = area(1, "A1", "urban", Some(8.0));
    a1.boundary = Some(geo::MultiPolygon(vec![geo::Polygon::new(
        geo::LineString::from(vec![
            (113.6, 34.69),
            (113.61, 34.69),
            (113.61, 34.71),
            (113.6, 34.69),
        ]),
        vec![],
    )]));
    let a2 = area(2, "B7", "rural", None);
    let mut dwellings: Vec<DwellingRow> = (10..18)
        .map(|n| dwelling(n, 1, Occupancy::Occupied))
        .collect();
    dwellings[7].occupancy = Occupancy::Vacant;
    dwellings.push(DwellingRow {
        retired: true,
        ..dwelling(18, 1, Occupancy::Occupied)
    });
    dwellings.extend((20..24).map(|n| dwelling(n, 2, Occupancy::Occupied)));
    let fix = |d: &DwellingRow, m: f64| {
        Some(Position {
            accuracy_m: Some(10.0),
            ..north(d.position.unwrap(), m)
        })
    };
    let cases = vec![
        with(completed(110, 1, 0, 45), |c| {
            c.dwelling = Some(id(10));
            c.position = fix(&dwellings[0], 5.0);
        }),
        with(completed(111, 1, 40, 50), |c| {
            c.dwelling = Some(id(11));
            c.position = fix(&dwellings[1], 300.0);
        }),
        with(case(112, 1, 12), |c| {
            c.interviewer = interviewer(1);
            c.disposition = Some(D::HouseholdRefusal);
        }),
        with(case(113, 1, 13), |c| {
            c.interviewer = interviewer(2);
            c.visits = vec![visit(T0, D::NoOneAtResidence)];
        }),
        with(case(114, 1, 14), |c| c.interviewer = interviewer(2)),
        case(115, 1, 15),
        with(case(120, 2, 20), |c| {
            c.interviewer = interviewer(2);
            c.disposition = Some(D::RegularVacant);
        }),
        with(completed(121, 2, 200, 8), |c| {
            c.area = id(2);
            c.dwelling = Some(id(21));
        }),
        // A case whose own stratum overrides its area's.
        with(completed(122, 2, 300, 30), |c| {
            c.area = id(2);
            c.dwelling = Some(id(22));
            c.stratum = Some("special".into());
        }),
    ];
    Project {
        areas: vec![a1, a2],
        dwellings,
        cases,
    }
}

#[test]
fn report_snapshot() {
    let p = project();
    let input = CoverageInput {
        areas: &p.areas,
        dwellings: &p.dwellings,
        cases: &p.cases,
    };
    let r = coverage(&input, &Thresholds::default());
    // The headline numbers, by hand.
    assert_eq!(r.total.listed, Some(12));
    assert_eq!(
        (
            r.total.sampled,
            r.total.assigned,
            r.total.visited,
            r.total.completed
        ),
        (9, 8, 7, 4)
    );
    assert_eq!(
        (
            r.total.refused,
            r.total.non_contact,
            r.total.vacant,
            r.total.pending
        ),
        (1, 1, 1, 2)
    );
    // RR1 = I / (I+P+R+NC+O+UH+UO) = 4 / 6.
    assert_eq!(r.total.rates.rr1, Some(4.0 / 6.0));
    assert_eq!(r.areas[0].tally.listed_to_expected, Some(1.0));
    // Areas without a measure of size do not inflate the ratio: 8 listed in A1 for 8 expected.
    assert_eq!(r.total.listed_to_expected, Some(1.0));
    let strata: Vec<(Option<&str>, u64, Option<u64>)> = r
        .strata
        .iter()
        .map(|s| (s.stratum.as_deref(), s.tally.sampled, s.tally.listed))
        .collect();
    assert_eq!(
        strata,
        [
            (Some("rural"), 2, Some(4)),
            (Some("special"), 1, Some(0)),
            (Some("urban"), 6, Some(8))
        ]
    );
    insta::assert_json_snapshot!("coverage_report", r);
}

#[test]
fn geojson_snapshot() {
    let p = project();
    let input = CoverageInput {
        areas: &p.areas,
        dwellings: &p.dwellings,
        cases: &p.cases,
    };
    let r = coverage(&input, &Thresholds::default());
    let bytes = coverage_geojson(&input, &r, &GeoJsonOptions::default());
    let fc: ::geojson::FeatureCollection = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
    assert_eq!(
        fc.features.len(),
        2 + 12,
        "two areas and the live dwellings"
    );
    let statuses: Vec<&str> = fc
        .features
        .iter()
        .filter(|f| f.property("layer").unwrap() == "dwelling")
        .map(|f| f.property("status").unwrap().as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "completed",
            "completed",
            "refused",
            "non_contact",
            "assigned",
            "sampled",
            "listed",
            "vacant",
            "vacant",
            "completed",
            "completed",
            "listed"
        ]
    );
    let only_dwellings = coverage_geojson(
        &input,
        &r,
        &GeoJsonOptions {
            areas: false,
            dwellings: true,
        },
    );
    let fc2: ::geojson::FeatureCollection = std::str::from_utf8(&only_dwellings)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(fc2.features.len(), 12);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    insta::assert_json_snapshot!("coverage_geojson", json);
}

#[test]
fn empty_input_reports_nothing_and_no_rates() {
    let input = CoverageInput {
        areas: &[],
        dwellings: &[],
        cases: &[],
    };
    let r = coverage(&input, &Thresholds::default());
    assert_eq!(r.total.listed, Some(0));
    assert_eq!(r.total.rates.rr1, None);
    assert!(r.areas.is_empty() && r.flags.is_empty());
    let bytes = coverage_geojson(&input, &r, &GeoJsonOptions::default());
    let fc: ::geojson::FeatureCollection = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
    assert!(fc.features.is_empty());
}
