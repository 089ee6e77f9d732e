//! Coverage and quality of fieldwork: what supervisors watch while the work comes in
//! (DESIGN.md §1.5).
//!
//! The input is light ([`rows`]): one [`AreaInfo`] per area, one [`DwellingRow`] per listed
//! dwelling, one [`CaseRow`] per case — what the server can read cheaply from its tables, or from
//! entities through the `from_entity` conversions. From it:
//!
//! * [`dwelling_status`] — the word a map colours a dwelling by (the precedence is documented on
//!   [`DwellingStatus`]);
//! * [`coverage()`] — a [`CoverageReport`]: per area, per interviewer, per stratum and in total,
//!   listed dwellings against the measure of size, the case funnel (sampled → assigned → visited →
//!   completed), dispositions by AAPOR code, the AAPOR rates, and quality [`Flag`]s with their
//!   reasons (GPS far from the dwelling, duration outliers, very short interviews, overlapping
//!   interviews of one interviewer);
//! * [`geojson::write_coverage_geojson`] — dwellings with their status, and optionally area
//!   boundaries with their coverage numbers, as a GeoJSON FeatureCollection for QGIS and the
//!   dashboard map.
//!
//! Everything is a single pass over the dwellings plus work proportional to the cases, so a
//! 1,000,000-dwelling project reports in well under a second (`benches/coverage.rs`).

pub mod geojson;
pub mod rows;

#[cfg(test)]
mod tests;

pub use self::geojson::{GeoJsonOptions, coverage_geojson, write_coverage_geojson};
pub use rows::{AreaInfo, CaseRow, DwellingRow, RowError, VisitRow};

use crate::aapor::{Category, Counts, Disposition, EMethod, Rates, rates};
use crate::listing::Occupancy;
use crate::sync::InterviewStatus;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// The status a map colours a dwelling by.
///
/// A dwelling's status is the highest of these that applies, in this order (highest first):
///
/// 1. `completed` — a case at the dwelling has an interview: outcome 1.1 or 1.2 (a partial
///    interview is an interview), or, with no disposition recorded, status submitted or approved;
/// 2. `vacant` — a case's outcome is not eligible (4.x: vacant, not a housing unit, business,
///    no eligible respondent…): the field found nobody to interview;
/// 3. `refused` — a case's outcome is a refusal or break-off (2.1x);
/// 4. `non_contact` — a case's outcome is a non-contact (2.2x);
/// 5. `visited` — a case has another outcome (2.3x, 3.x), a recorded visit, or is in progress
///    or returned;
/// 6. `vacant` — no field outcome yet, and the listing found the dwelling vacant, used as a
///    business or not a dwelling (what the field finds overrides what the listing said);
/// 7. `assigned` — a case is assigned to an interviewer;
/// 8. `sampled` — a case exists (the dwelling, or a household in it, was drawn);
/// 9. `listed` — listed only.
///
/// When several households of one dwelling were sampled, the dwelling shows its best case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DwellingStatus {
    Listed,
    Sampled,
    Assigned,
    Visited,
    NonContact,
    Refused,
    Vacant,
    Completed,
}

impl DwellingStatus {
    /// Every status, lowest first.
    pub const ALL: [DwellingStatus; 8] = [
        DwellingStatus::Listed,
        DwellingStatus::Sampled,
        DwellingStatus::Assigned,
        DwellingStatus::Visited,
        DwellingStatus::NonContact,
        DwellingStatus::Refused,
        DwellingStatus::Vacant,
        DwellingStatus::Completed,
    ];

    /// The word used in JSON and GeoJSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DwellingStatus::Listed => "listed",
            DwellingStatus::Sampled => "sampled",
            DwellingStatus::Assigned => "assigned",
            DwellingStatus::Visited => "visited",
            DwellingStatus::NonContact => "non_contact",
            DwellingStatus::Refused => "refused",
            DwellingStatus::Vacant => "vacant",
            DwellingStatus::Completed => "completed",
        }
    }
}

/// Where one case stands, on the ladder of [`DwellingStatus`] (a case is never merely `listed`).
pub fn case_status(case: &CaseRow) -> DwellingStatus {
    if let Some(d) = case.outcome() {
        return match d.category() {
            Category::I | Category::P => DwellingStatus::Completed,
            Category::NE => DwellingStatus::Vacant,
            Category::R => DwellingStatus::Refused,
            Category::NC => DwellingStatus::NonContact,
            Category::O | Category::UH | Category::UO => DwellingStatus::Visited,
        };
    }
    match case.status {
        Some(InterviewStatus::Submitted | InterviewStatus::Approved) => DwellingStatus::Completed,
        Some(InterviewStatus::InProgress | InterviewStatus::Returned) => DwellingStatus::Visited,
        _ if !case.visits.is_empty() => DwellingStatus::Visited,
        _ if case.interviewer.is_some() => DwellingStatus::Assigned,
        _ => DwellingStatus::Sampled,
    }
}

/// Whether the listing found nobody to interview at the dwelling.
fn listed_vacant(occupancy: Occupancy) -> bool {
    matches!(
        occupancy,
        Occupancy::Vacant | Occupancy::Business | Occupancy::NotDwelling
    )
}

/// The status of a dwelling given its cases (see [`DwellingStatus`] for the precedence).
pub fn dwelling_status(dwelling: &DwellingRow, cases: &[&CaseRow]) -> DwellingStatus {
    combine(
        dwelling.occupancy,
        cases
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| case_status(c))
            .max(),
    )
}

/// A dwelling's status from its occupancy and its best case status.
fn combine(occupancy: Occupancy, best: Option<DwellingStatus>) -> DwellingStatus {
    match best {
        Some(s) if s >= DwellingStatus::Visited => s,
        _ if listed_vacant(occupancy) => DwellingStatus::Vacant,
        Some(s) => s,
        None => DwellingStatus::Listed,
    }
}

/// When a case is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// An interview's GPS fix is flagged when it is farther from its dwelling than this plus the
    /// fix's accuracy, in metres.
    pub gps_distance_m: f64,
    /// A duration is a robust outlier when |x − median| > k · 1.4826 · MAD (the modified z-score
    /// of Iglewicz and Hoaglin; 3.5 is their recommendation).
    pub duration_k: f64,
    /// Robust outliers are looked for only in groups of at least this many durations.
    pub duration_min_group: usize,
    /// An interview shorter than this (ms) is flagged whatever the group.
    pub short_duration_ms: i64,
    /// Two interviews of one interviewer overlap when they share more than this (ms): phone clocks
    /// and the moment an interviewer taps "start" are not exact.
    pub overlap_tolerance_ms: i64,
    /// How `e` is obtained for RR3, REF2, CON2.
    pub e: EMethod,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            gps_distance_m: 50.0,
            duration_k: 3.5,
            duration_min_group: 10,
            short_duration_ms: 10 * 60_000,
            overlap_tolerance_ms: 60_000,
            e: EMethod::PROPORTIONAL,
        }
    }
}

/// What a quality flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The interview's GPS fix is farther from the dwelling than the threshold plus its accuracy.
    GpsFar,
    /// The duration is a robust outlier among the completed interviews of the same form.
    DurationOutlier,
    /// The interview is shorter than the absolute minimum.
    DurationShort,
    /// The interview ended before it started.
    DurationNegative,
    /// The interview overlaps in time another interview of the same interviewer by more than the
    /// tolerance. Every such interview is flagged at least once; the other interview named is,
    /// among those that started no later, the one it shares the most time with (and that one is
    /// flagged in turn, naming it).
    Overlap,
}

impl FlagKind {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::GpsFar => "gps_far",
            FlagKind::DurationOutlier => "duration_outlier",
            FlagKind::DurationShort => "duration_short",
            FlagKind::DurationNegative => "duration_negative",
            FlagKind::Overlap => "overlap",
        }
    }
}

/// A quality flag on one case, with the figures that raised it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub case: Uuid,
    pub kind: FlagKind,
    pub area_code: String,
    pub interviewer: Option<Uuid>,
    /// The measured value: metres, or ms.
    pub value: f64,
    /// The limit it crossed, in the same unit.
    pub limit: f64,
    /// For an overlap: the other interview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_case: Option<Uuid>,
    /// Why, in words.
    pub reason: String,
}

/// The duration statistics of the completed interviews of one form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DurationGroup {
    /// The form id (`null` for cases without one).
    pub form: Option<String>,
    pub interviews: usize,
    pub median_ms: f64,
    /// Median absolute deviation, unscaled.
    pub mad_ms: f64,
    /// Whether robust outliers were looked for (enough interviews, MAD above zero).
    pub outliers_checked: bool,
}

/// Counts for one area, interviewer, stratum or the whole project.
///
/// Listing figures (`listed`, `expected`, `dwellings`) count dwellings and are absent for
/// interviewers; the funnel and the outcomes count cases. The funnel is cumulative (a completed
/// case was also sampled, assigned and visited); `completed`, `vacant`, `refused`, `non_contact`
/// and `other` are outcomes (`other`: 2.3x and 3.x); `pending` cases have no outcome yet and are
/// not in the AAPOR counts or rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// Listed dwellings (not deleted or retired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<u64>,
    /// The measure of size.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_count")]
    pub expected: Option<f64>,
    /// Listed dwellings ÷ expected, both counted over the areas that have a measure of size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_to_expected: Option<f64>,
    /// Listed dwellings by map status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dwellings: Option<BTreeMap<DwellingStatus, u64>>,
    pub sampled: u64,
    pub assigned: u64,
    pub visited: u64,
    pub completed: u64,
    pub vacant: u64,
    pub refused: u64,
    pub non_contact: u64,
    pub other: u64,
    pub pending: u64,
    /// Cases awaiting review (submitted), approved and returned to their interviewer.
    pub submitted: u64,
    pub approved: u64,
    pub returned: u64,
    /// Cases by outcome code, in the order of the AAPOR table.
    pub dispositions: BTreeMap<Disposition, u64>,
    /// Cases by AAPOR rate category.
    pub counts: Counts,
    pub rates: Rates,
    /// Flags raised on these cases.
    pub flags: u64,
}

fn opt_count<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

/// The coverage of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCoverage {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub stratum: Option<String>,
    pub team: Option<String>,
    pub supervisor: Option<String>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The coverage of one interviewer's cases (`interviewer: null`: cases not assigned).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterviewerCoverage {
    pub interviewer: Option<Uuid>,
    /// Areas in which the interviewer has cases.
    pub areas: usize,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The coverage of one stratum (`stratum: null`: areas without one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratumCoverage {
    pub stratum: Option<String>,
    pub areas: usize,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A coverage report. Field names are stable: the dashboard and exports read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub thresholds: Thresholds,
    pub total: Tally,
    /// By area code, then id. Areas that cases or dwellings name but the input did not describe
    /// get a row with an empty code.
    pub areas: Vec<AreaCoverage>,
    /// By interviewer id, unassigned first.
    pub interviewers: Vec<InterviewerCoverage>,
    /// By stratum, areas without one first.
    pub strata: Vec<StratumCoverage>,
    /// Duration statistics per form.
    pub durations: Vec<DurationGroup>,
    /// By case id, then kind.
    pub flags: Vec<Flag>,
}

/// What [`coverage()`] reads.
#[derive(Debug, Clone, Copy)]
pub struct CoverageInput<'a> {
    pub areas: &'a [AreaInfo],
    pub dwellings: &'a [DwellingRow],
    pub cases: &'a [CaseRow],
}

/// Running counts behind a [`Tally`].
#[derive(Debug, Clone, Default)]
struct Acc {
    listed: u64,
    /// Listed dwellings of areas that have a measure of size.
    listed_measured: u64,
    by_status: [u64; 8],
    sampled: u64,
    assigned: u64,
    visited: u64,
    outcome: [u64; 5],
    pending: u64,
    /// Submitted, approved, returned.
    review: [u64; 3],
    dispositions: BTreeMap<Disposition, u64>,
    flags: u64,
}

impl Acc {
    fn add_case(&mut self, case: &CaseRow, status: DwellingStatus) {
        self.sampled += 1;
        if case.interviewer.is_some() || status > DwellingStatus::Assigned {
            self.assigned += 1;
        }
        if status >= DwellingStatus::Visited {
            self.visited += 1;
        }
        match case.status {
            Some(InterviewStatus::Submitted) => self.review[0] += 1,
            Some(InterviewStatus::Approved) => self.review[1] += 1,
            Some(InterviewStatus::Returned) => self.review[2] += 1,
            _ => {}
        }
        match case.outcome() {
            Some(d) => {
                *self.dispositions.entry(d).or_default() += 1;
                let k = match d.category() {
                    Category::I | Category::P => 0,
                    Category::NE => 1,
                    Category::R => 2,
                    Category::NC => 3,
                    _ => 4,
                };
                self.outcome[k] += 1;
            }
            None => self.pending += 1,
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.listed += o.listed;
        self.listed_measured += o.listed_measured;
        for (a, b) in self.by_status.iter_mut().zip(o.by_status) {
            *a += b;
        }
        self.sampled += o.sampled;
        self.assigned += o.assigned;
        self.visited += o.visited;
        for (a, b) in self.outcome.iter_mut().zip(o.outcome) {
            *a += b;
        }
        self.pending += o.pending;
        for (a, b) in self.review.iter_mut().zip(o.review) {
            *a += b;
        }
        for (d, n) in &o.dispositions {
            *self.dispositions.entry(*d).or_default() += n;
        }
        self.flags += o.flags;
    }

    fn tally(&self, listing: bool, expected: Option<f64>, e: EMethod) -> Tally {
        let mut counts = Counts::default();
        for (d, n) in &self.dispositions {
            counts.add(d.category(), *n as f64);
        }
        let listed = listing.then_some(self.listed);
        Tally {
            listed,
            expected: expected.filter(|_| listing),
            listed_to_expected: match (listing, expected) {
                (true, Some(x)) if x > 0.0 => Some(self.listed_measured as f64 / x),
                _ => None,
            },
            dwellings: listing.then(|| {
                DwellingStatus::ALL
                    .iter()
                    .map(|s| (*s, self.by_status[*s as usize]))
                    .collect()
            }),
            sampled: self.sampled,
            assigned: self.assigned,
            visited: self.visited,
            completed: self.outcome[0],
            vacant: self.outcome[1],
            refused: self.outcome[2],
            non_contact: self.outcome[3],
            other: self.outcome[4],
            pending: self.pending,
            submitted: self.review[0],
            approved: self.review[1],
            returned: self.review[2],
            dispositions: self.dispositions.clone(),
            rates: rates(&counts, e),
            counts,
            flags: self.flags,
        }
    }
}

/// Everything computed once per input and shared by the report and the map.
pub(crate) struct Digest {
    /// Index of each area id in `areas` (the input's, then the ones only named).
    pub area_index: HashMap<Uuid, usize>,
    /// Area (code, stratum, expected, …) per index.
    pub areas: Vec<AreaInfo>,
    /// Each case's status (same order as the input).
    pub case_status: Vec<DwellingStatus>,
    /// For each dwelling id with cases: the index of its best case.
    pub best_case: HashMap<Uuid, usize>,
}

impl Digest {
    pub(crate) fn of(input: &CoverageInput<'_>) -> Digest {
        let mut area_index = HashMap::with_capacity(input.areas.len());
        let mut areas = Vec::with_capacity(input.areas.len());
        for a in input.areas {
            area_index.entry(a.id).or_insert_with(|| {
                areas.push(a.clone());
                areas.len() - 1
            });
        }
        let mut ensure = |id: Uuid| {
            area_index.entry(id).or_insert_with(|| {
                areas.push(AreaInfo {
                    id,
                    ..AreaInfo::default()
                });
                areas.len() - 1
            });
        };
        for c in input.cases {
            ensure(c.area);
        }
        for d in input.dwellings {
            ensure(d.area);
        }
        let case_status: Vec<DwellingStatus> = input.cases.iter().map(case_status).collect();
        let mut best_case: HashMap<Uuid, usize> = HashMap::with_capacity(input.cases.len());
        for (i, c) in input.cases.iter().enumerate() {
            if c.deleted {
                continue;
            }
            let Some(d) = c.dwelling else { continue };
            best_case
                .entry(d)
                .and_modify(|b| {
                    if case_status[i] > case_status[*b] {
                        *b = i;
                    }
                })
                .or_insert(i);
        }
        Digest {
            area_index,
            areas,
            case_status,
            best_case,
        }
    }

    /// The map status of a dwelling.
    pub(crate) fn dwelling_status(&self, d: &DwellingRow) -> DwellingStatus {
        combine(
            d.occupancy,
            self.best_case.get(&d.id).map(|&i| self.case_status[i]),
        )
    }
}

/// Computes the coverage report.
pub fn coverage(input: &CoverageInput<'_>, thresholds: &Thresholds) -> CoverageReport {
    let digest = Digest::of(input);
    let n_areas = digest.areas.len();
    let mut area_acc = vec![Acc::default(); n_areas];

    // Dwellings: one pass.
    let mut dwelling_position: HashMap<Uuid, Position> = HashMap::new();
    let needs_position = input
        .cases
        .iter()
        .any(|c| c.position.is_some() && c.dwelling_position.is_none());
    if needs_position {
        dwelling_position.reserve(input.cases.len());
        for c in input.cases {
            if c.position.is_some()
                && c.dwelling_position.is_none()
                && let Some(d) = c.dwelling
            {
                dwelling_position.insert(d, Position::new(f64::NAN, f64::NAN));
            }
        }
    }
    for d in input.dwellings {
        if d.retired {
            continue;
        }
        let a = digest.area_index[&d.area];
        let acc = &mut area_acc[a];
        acc.listed += 1;
        if digest.areas[a].expected.is_some() {
            acc.listed_measured += 1;
        }
        acc.by_status[digest.dwelling_status(d) as usize] += 1;
        if let (Some(slot), Some(p)) = (dwelling_position.get_mut(&d.id), d.position) {
            *slot = p;
        }
    }

    // Flags.
    let flags = flags(input, &digest, &dwelling_position, thresholds);
    let mut flags_of_case: HashMap<Uuid, u64> = HashMap::new();
    for f in &flags.0 {
        *flags_of_case.entry(f.case).or_default() += 1;
    }

    // Cases: by area, interviewer and stratum (a case's own stratum, else its area's).
    let mut by_interviewer: BTreeMap<Option<Uuid>, (Acc, BTreeSet<usize>)> = BTreeMap::new();
    let mut strata: BTreeMap<Option<String>, (Acc, usize, Option<f64>)> = BTreeMap::new();
    for (i, c) in input.cases.iter().enumerate() {
        if c.deleted {
            continue;
        }
        let a = digest.area_index[&c.area];
        let status = digest.case_status[i];
        let n_flags = flags_of_case.get(&c.id).copied().unwrap_or(0);
        let stratum = c.stratum.as_ref().or(digest.areas[a].stratum.as_ref());
        let (iacc, iareas) = by_interviewer.entry(c.interviewer).or_default();
        iareas.insert(a);
        let sacc = &mut strata.entry(stratum.cloned()).or_default().0;
        for acc in [&mut area_acc[a], iacc, sacc] {
            acc.add_case(c, status);
            acc.flags += n_flags;
        }
    }
    for (a, info) in digest.areas.iter().enumerate() {
        let (acc, n, expected) = strata.entry(info.stratum.clone()).or_default();
        acc.listed += area_acc[a].listed;
        acc.listed_measured += area_acc[a].listed_measured;
        for (x, y) in acc.by_status.iter_mut().zip(area_acc[a].by_status) {
            *x += y;
        }
        *n += 1;
        if let Some(x) = info.expected {
            *expected = Some(expected.unwrap_or(0.0) + x);
        }
    }

    let mut total = Acc::default();
    let mut total_expected: Option<f64> = None;
    for (a, info) in digest.areas.iter().enumerate() {
        total.merge(&area_acc[a]);
        if let Some(x) = info.expected {
            total_expected = Some(total_expected.unwrap_or(0.0) + x);
        }
    }

    let e = thresholds.e;
    let mut areas: Vec<AreaCoverage> = digest
        .areas
        .iter()
        .zip(&area_acc)
        .map(|(info, acc)| AreaCoverage {
            id: info.id,
            code: info.code.clone(),
            name: info.name.clone(),
            stratum: info.stratum.clone(),
            team: info.team.clone(),
            supervisor: info.supervisor.clone(),
            tally: acc.tally(true, info.expected, e),
        })
        .collect();
    areas.sort_by(|a, b| a.code.cmp(&b.code).then(a.id.cmp(&b.id)));

    CoverageReport {
        thresholds: *thresholds,
        total: total.tally(true, total_expected, e),
        areas,
        interviewers: by_interviewer
            .into_iter()
            .map(|(interviewer, (acc, areas))| InterviewerCoverage {
                interviewer,
                areas: areas.len(),
                tally: acc.tally(false, None, e),
            })
            .collect(),
        strata: strata
            .into_iter()
            .map(|(stratum, (acc, areas, expected))| StratumCoverage {
                stratum,
                areas,
                tally: acc.tally(true, expected, e),
            })
            .collect(),
        durations: flags.1,
        flags: flags.0,
    }
}

use crate::sync::Position;

/// The median of a non-empty slice (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn minutes(ms: f64) -> String {
    format!("{:.1} min", ms / 60_000.0)
}

/// Every quality flag, sorted by case then kind, and the duration statistics per form.
fn flags(
    input: &CoverageInput<'_>,
    digest: &Digest,
    dwelling_position: &HashMap<Uuid, Position>,
    t: &Thresholds,
) -> (Vec<Flag>, Vec<DurationGroup>) {
    let mut out = Vec::new();
    let area_code = |c: &CaseRow| digest.areas[digest.area_index[&c.area]].code.clone();
    let flag = |c: &CaseRow, kind, value, limit, other_case, reason: String| Flag {
        case: c.id,
        kind,
        area_code: area_code(c),
        interviewer: c.interviewer,
        value,
        limit,
        other_case,
        reason,
    };

    // GPS distance.
    for c in input.cases.iter().filter(|c| !c.deleted) {
        let Some(fix) = c.position else { continue };
        let mapped = c.dwelling_position.or_else(|| {
            c.dwelling
                .and_then(|d| dwelling_position.get(&d))
                .copied()
                .filter(|p| p.is_valid())
        });
        let Some(mapped) = mapped else { continue };
        let distance = fix.distance_m(&mapped);
        let accuracy = fix.accuracy_m.unwrap_or(0.0);
        let limit = t.gps_distance_m + accuracy;
        if distance > limit {
            out.push(flag(
                c,
                FlagKind::GpsFar,
                distance,
                limit,
                None,
                format!(
                    "interview GPS fix is {distance:.0} m from the dwelling; allowed {:.0} m + accuracy {accuracy:.0} m",
                    t.gps_distance_m
                ),
            ));
        }
    }

    // Durations of completed interviews, by form.
    let mut groups: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for (i, c) in input.cases.iter().enumerate() {
        if c.deleted || digest.case_status[i] != DwellingStatus::Completed {
            continue;
        }
        let Some(ms) = c.duration_ms() else { continue };
        if ms < 0 {
            out.push(flag(
                c,
                FlagKind::DurationNegative,
                ms as f64,
                0.0,
                None,
                format!(
                    "the interview ended {} before it started",
                    minutes(-ms as f64)
                ),
            ));
            continue;
        }
        if ms < t.short_duration_ms {
            out.push(flag(
                c,
                FlagKind::DurationShort,
                ms as f64,
                t.short_duration_ms as f64,
                None,
                format!(
                    "the interview took {}, less than the minimum of {}",
                    minutes(ms as f64),
                    minutes(t.short_duration_ms as f64)
                ),
            ));
        }
        groups.entry(c.form.as_deref()).or_default().push(i);
    }
    let mut durations = Vec::with_capacity(groups.len());
    for (form, members) in groups {
        let mut xs: Vec<f64> = members
            .iter()
            .map(|&i| input.cases[i].duration_ms().unwrap_or(0) as f64)
            .collect();
        let med = median(&mut xs);
        let mut dev: Vec<f64> = xs.iter().map(|x| (x - med).abs()).collect();
        let mad = median(&mut dev);
        let checked = members.len() >= t.duration_min_group && mad > 0.0;
        if checked {
            let spread = t.duration_k * 1.4826 * mad;
            for &i in &members {
                let c = &input.cases[i];
                let x = c.duration_ms().unwrap_or(0) as f64;
                if (x - med).abs() > spread {
                    let (word, limit) = if x < med {
                        ("shorter", med - spread)
                    } else {
                        ("longer", med + spread)
                    };
                    out.push(flag(
                        c,
                        FlagKind::DurationOutlier,
                        x,
                        limit,
                        None,
                        format!(
                            "the interview took {}, {word} than the robust limit {} (median {} ± {} · 1.4826 · MAD {}) among {} interviews of form {}",
                            minutes(x),
                            minutes(limit),
                            minutes(med),
                            t.duration_k,
                            minutes(mad),
                            members.len(),
                            form.unwrap_or("(none)")
                        ),
                    ));
                }
            }
        }
        durations.push(DurationGroup {
            form: form.map(str::to_string),
            interviews: members.len(),
            median_ms: med,
            mad_ms: mad,
            outliers_checked: checked,
        });
    }

    // Overlaps, per interviewer.
    let mut by_interviewer: HashMap<Uuid, Vec<(i64, i64, usize)>> = HashMap::new();
    for (i, c) in input.cases.iter().enumerate() {
        if c.deleted {
            continue;
        }
        if let (Some(who), Some(s), Some(e)) = (c.interviewer, c.started_at, c.ended_at)
            && e > s
        {
            by_interviewer.entry(who).or_default().push((s, e, i));
        }
    }
    for intervals in by_interviewer.values_mut() {
        intervals.sort_unstable_by_key(|&(s, e, i)| (s, e, input.cases[i].id));
        // The interval reaching furthest so far.
        let mut reach: Option<(i64, i64, usize)> = None;
        for &(s, e, i) in intervals.iter() {
            if let Some((rs, re, ri)) = reach {
                let shared = re.min(e) - s.max(rs);
                if shared > t.overlap_tolerance_ms {
                    let (a, b) = (&input.cases[ri], &input.cases[i]);
                    for (me, other) in [(a, b), (b, a)] {
                        out.push(flag(
                            me,
                            FlagKind::Overlap,
                            shared as f64,
                            t.overlap_tolerance_ms as f64,
                            Some(other.id),
                            format!(
                                "the interview shares {} with interview {} by the same interviewer",
                                minutes(shared as f64),
                                other.id
                            ),
                        ));
                    }
                }
                if e > re {
                    reach = Some((s, e, i));
                }
            } else {
                reach = Some((s, e, i));
            }
        }
    }

    out.sort_by(|a, b| {
        a.case
            .cmp(&b.case)
            .then(a.kind.cmp(&b.kind))
            .then(a.other_case.cmp(&b.other_case))
    });
    out.dedup_by(|a, b| a.case == b.case && a.kind == b.kind && a.other_case == b.other_case);
    (out, durations)
}
