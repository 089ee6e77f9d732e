//! Coverage benchmark: a synthetic project of 1,000 areas, 1,000,000 dwellings and 50,000 cases
//! (500 interviewers, every stage of fieldwork, GPS fixes, visit histories); times the coverage
//! report, the GeoJSON map, reading 50,000 interview entities into rows, and the interviews CSV.
//!
//! Run: `cargo bench -p sync-core --bench coverage` (add `-- --quick` for a 100,000-dwelling
//! project).

use std::time::{Duration, Instant};
use sync_core::aapor::Disposition;
use sync_core::coverage::{
    AreaInfo, CaseRow, CoverageInput, DwellingRow, GeoJsonOptions, Thresholds, VisitRow, coverage,
    write_coverage_geojson,
};
use sync_core::export::{ExportOptions, interviews_csv};
use sync_core::fieldwork::CaseFields;
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::read_form;
use sync_core::listing::Occupancy;
use sync_core::random::Stream;
use sync_core::sync::{Entity, EntityKind, FieldValue, InterviewStatus, Position};
use uuid::Uuid;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

const T0: i64 = 1_772_323_200_000;
const MIN: i64 = 60_000;

struct Project {
    areas: Vec<AreaInfo>,
    dwellings: Vec<DwellingRow>,
    cases: Vec<CaseRow>,
}

fn project(areas: usize, per_area: usize, cases_per_area: usize) -> Project {
    let mut rng = Stream::new(20260301);
    let mut id = 0u128;
    let mut next = || {
        id += 1;
        Uuid::from_u128(id)
    };
    let outcomes = [
        Disposition::Complete,
        Disposition::Complete,
        Disposition::Complete,
        Disposition::Complete,
        Disposition::Partial,
        Disposition::HouseholdRefusal,
        Disposition::NoOneAtResidence,
        Disposition::RegularVacant,
        Disposition::Language,
        Disposition::AddressNotFound,
    ];
    let mut out = Project {
        areas: Vec::with_capacity(areas),
        dwellings: Vec::with_capacity(areas * per_area),
        cases: Vec::with_capacity(areas * cases_per_area),
    };
    for a in 0..areas {
        let area = next();
        out.areas.push(AreaInfo {
            id: area,
            code: format!("A{a:04}"),
            name: format!("community {a}"),
            stratum: Some(format!("S{}", a % 10)),
            expected: Some(per_area as f64 * rng.range(0.8, 1.2)),
            team: Some(format!("team {}", a % 50)),
            supervisor: None,
            boundary: None,
        });
        let (lon0, lat0) = (
            113.0 + (a % 40) as f64 * 0.02,
            34.0 + (a / 40) as f64 * 0.02,
        );
        let first = out.dwellings.len();
        for n in 0..per_area {
            out.dwellings.push(DwellingRow {
                id: next(),
                area,
                listing_number: Some(n as u32 + 1),
                position: Some(Position::new(
                    lon0 + rng.range(0.0, 0.015),
                    lat0 + rng.range(0.0, 0.015),
                )),
                occupancy: if rng.chance(0.05) {
                    Occupancy::Vacant
                } else {
                    Occupancy::Occupied
                },
                retired: rng.chance(0.002),
            });
        }
        let step = per_area / cases_per_area.max(1);
        for k in 0..cases_per_area {
            let d = &out.dwellings[first + k * step];
            let who = Uuid::from_u128(0xAAAA_0000 + ((a * 10 + k % 10) % 500) as u128);
            let stage = rng.below(10);
            let mut c = CaseRow {
                id: next(),
                area,
                dwelling: Some(d.id),
                form: Some("household_2026".into()),
                status: Some(InterviewStatus::Assigned),
                interviewer: (stage > 0).then_some(who),
                ..CaseRow::default()
            };
            if stage >= 3 {
                let outcome = outcomes[rng.below(outcomes.len() as u64) as usize];
                let start = T0 + rng.below(30 * 24 * 60) as i64 * MIN;
                c.visits = vec![VisitRow {
                    at: Some(start),
                    result: Some(outcome),
                    position: None,
                }];
                c.disposition = Some(outcome);
                c.status = Some(InterviewStatus::Submitted);
                c.started_at = Some(start);
                c.ended_at = Some(start + (rng.range(25.0, 70.0) * MIN as f64) as i64);
                let p = d.position.unwrap_or(Position::new(lon0, lat0));
                let off = if rng.chance(0.03) { 0.005 } else { 0.0002 };
                c.position = Some(Position {
                    lon: p.lon + rng.range(-off, off),
                    lat: p.lat + rng.range(-off, off),
                    accuracy_m: Some(rng.range(3.0, 30.0)),
                });
            }
            out.cases.push(c);
        }
    }
    out
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (areas, per_area, cases_per_area) = if quick {
        (100, 1_000, 50)
    } else {
        (1_000, 1_000, 50)
    };
    let t = Instant::now();
    let p = project(areas, per_area, cases_per_area);
    println!(
        "generated project: {} areas, {} dwellings, {} cases in {:.2?}",
        p.areas.len(),
        p.dwellings.len(),
        p.cases.len(),
        t.elapsed()
    );
    let input = CoverageInput {
        areas: &p.areas,
        dwellings: &p.dwellings,
        cases: &p.cases,
    };
    let runs = 3;
    let (report_time, report) = best_of(runs, || coverage(&input, &Thresholds::default()));
    println!(
        "coverage report:        {:>8.1} ms  ({} areas, {} interviewers, {} flags; target < 1000 ms: {})",
        report_time.as_secs_f64() * 1e3,
        report.areas.len(),
        report.interviewers.len(),
        report.flags.len(),
        if report_time.as_secs_f64() < 1.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    let (json_time, json) = best_of(runs, || serde_json::to_vec(&report).expect("serialises"));
    println!(
        "report as JSON:         {:>8.1} ms  ({:.1} MB)",
        json_time.as_secs_f64() * 1e3,
        json.len() as f64 / 1e6
    );
    let (map_time, bytes) = best_of(runs, || {
        let mut buf = Vec::with_capacity(200 * p.dwellings.len());
        write_coverage_geojson(&mut buf, &input, &report, &GeoJsonOptions::default())
            .expect("writes");
        buf.len()
    });
    println!(
        "coverage GeoJSON:       {:>8.1} ms  ({:.1} MB, {:.0} ns per dwelling)",
        map_time.as_secs_f64() * 1e3,
        bytes as f64 / 1e6,
        map_time.as_secs_f64() * 1e9 / p.dwellings.len() as f64
    );

    // Entities: what the server holds for the cases.
    let entities: Vec<Entity> = p
        .cases
        .iter()
        .map(|c| {
            let mut e = Entity::new(EntityKind::Interview, c.id, c.id);
            e.fields = CaseFields {
                area: c.area.to_string(),
                area_code: "A0001".into(),
                dwelling: c.dwelling.map(|d| d.to_string()).unwrap_or_default(),
                form: c.form.clone(),
                stratum: "S1".into(),
                psu: "A0001".into(),
                stage_probs: vec![0.05, 0.05],
                base_weight: 400.0,
                ..CaseFields::default()
            }
            .fields();
            if let Some(d) = c.disposition {
                e.fields
                    .insert("disposition".into(), FieldValue::text(d.code()));
                e.fields
                    .insert("answers/hh_size".into(), FieldValue::Int(3));
                e.fields
                    .insert("answers/consent".into(), FieldValue::text("yes"));
            }
            if let (Some(s), Some(t)) = (c.started_at, c.ended_at) {
                e.fields.insert("started_at".into(), FieldValue::Int(s));
                e.fields.insert("ended_at".into(), FieldValue::Int(t));
            }
            e
        })
        .collect();
    let (rows_time, rows) = best_of(runs, || {
        entities
            .iter()
            .filter_map(|e| CaseRow::from_entity(e).ok())
            .count()
    });
    println!(
        "case rows from entities:{:>8.1} ms  ({rows} cases)",
        rows_time.as_secs_f64() * 1e3
    );
    let form = read_form(&household_workbook()).expect("the household form reads");
    let (csv_time, csv) = best_of(runs, || {
        interviews_csv(&form, &entities, &ExportOptions::default()).expect("exports")
    });
    println!(
        "interviews CSV:         {:>8.1} ms  ({} interviews, {:.1} MB)",
        csv_time.as_secs_f64() * 1e3,
        entities.len(),
        csv.len() as f64 / 1e6
    );
    println!(
        "GeoJSON/report ratio: {:.2}",
        map_time.as_secs_f64() / report_time.as_secs_f64()
    );
}
