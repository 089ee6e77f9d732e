//! A single-stage design over a frame, its draw, and the selection record that makes the draw
//! auditable: anyone holding the record and the frame can re-run it ([`verify`]) and get the same
//! units, hits, replicates and probabilities to the last bit.
//!
//! Within each explicit stratum the units are sorted by the frame's sort columns (implicit
//! stratification; ties keep frame order) and drawn with their own random stream
//! (`seed::stream(seed, "draw", stratum)`).
//!
//! **Reserve replicates.** With a reserve, main and reserve units are drawn together in one pass
//! (mₕ = main + reserve units in stratum h) and then put in random order
//! (`seed::stream(seed, "replicates", stratum)`, Fisher–Yates) and cut into replicates of K units.
//! The main replicates are released at once; each further release is recorded. A unit's inclusion
//! probability is then πᵢ(mₕ) · rₕK/mₕ with rₕ released replicates — a random subsample of a
//! fixed-size sample — so weights stay exact whatever is released. Interviewers never substitute.

use super::allocation::{Allocation, StratumShare, allocate};
use super::frame::Frame;
use super::methods::{Selection, pps_systematic, pps_wr, srs, systematic};
use super::{SamplingError, seed};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How units are selected within a stratum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Srs,
    Systematic,
    PpsSystematic,
    PpsWr,
}

impl Method {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "srs" | "srswor" => Ok(Method::Srs),
            "systematic" | "sys" => Ok(Method::Systematic),
            "pps-systematic" | "pps-sys" | "ppssys" => Ok(Method::PpsSystematic),
            "pps-wr" | "ppswr" => Ok(Method::PpsWr),
            other => Err(format!(
                "unknown method {other:?}: expected srs, systematic, pps-systematic or pps-wr"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Srs => "srs",
            Method::Systematic => "systematic",
            Method::PpsSystematic => "pps-systematic",
            Method::PpsWr => "pps-wr",
        }
    }

    /// Whether selection depends on size.
    pub fn is_pps(self) -> bool {
        matches!(self, Method::PpsSystematic | Method::PpsWr)
    }

    /// Whether a unit can be hit more than once.
    pub fn with_replacement(self) -> bool {
        self == Method::PpsWr
    }
}

/// The sample size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSize {
    /// A total, allocated to strata.
    Total(u64),
    /// The same take in every stratum.
    PerStratum(u64),
}

/// Reserve units drawn with the main sample, released in replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserve {
    /// Reserve units: a total (allocated like the main sample) or, with a per-stratum size, per stratum.
    pub units: u64,
    pub replicate_size: u64,
}

/// A single-stage stratified design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    pub method: Method,
    pub size: SampleSize,
    #[serde(default = "proportional")]
    pub allocation: Allocation,
    /// Take units with n·M/T ≥ 1 with certainty (PPS systematic).
    #[serde(default)]
    pub certainty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<Reserve>,
    /// The smallest take of a non-empty stratum when the total allows it.
    #[serde(default = "one")]
    pub min_per_stratum: u64,
}

fn proportional() -> Allocation {
    Allocation::Proportional
}

fn one() -> u64 {
    1
}

/// What happened in one stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumRecord {
    pub name: String,
    pub units: u64,
    pub size_total: f64,
    /// Main take (units, or draws with replacement).
    pub n: u64,
    /// Reserve units drawn with it.
    #[serde(default)]
    pub reserve: u64,
    /// Replicates in all (0 without a reserve).
    #[serde(default)]
    pub replicates: u32,
    /// Replicates released so far.
    #[serde(default)]
    pub released: u32,
    /// Units taken with certainty.
    #[serde(default)]
    pub certainties: u64,
}

/// A recorded release of one reserve replicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub stratum: String,
    pub replicate: u32,
    /// Free text: who released it and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A unit drawn into the sample (main or reserve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawnUnit {
    pub id: String,
    pub stratum: String,
    pub hits: u32,
    /// Inclusion probability of the released sample.
    pub prob: f64,
    pub certainty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicate: Option<u32>,
    /// Whether its replicate has been released (always true without a reserve).
    pub released: bool,
}

/// The frame a record was drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameInfo {
    pub hash: String,
    pub units: u64,
    pub columns: super::frame::FrameColumns,
    /// Where it came from (a file name), for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// Everything needed to re-run and verify a draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// `mapframe.selection/1`.
    pub format: String,
    /// The software that drew it, `mapframe <version>`.
    pub software: String,
    pub generator: String,
    pub seed_derivation: String,
    pub seed: u64,
    pub design: Design,
    pub frame: FrameInfo,
    pub strata: Vec<StratumRecord>,
    #[serde(default)]
    pub releases: Vec<Release>,
    pub drawn: Vec<DrawnUnit>,
}

/// The format tag of selection records.
pub const RECORD_FORMAT: &str = "mapframe.selection/1";

/// The outcome for one frame unit (the unit itself is `frame.units()[index]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    /// Position of the unit in the frame.
    pub index: usize,
    /// In the released sample.
    pub selected: bool,
    pub hits: u32,
    /// Inclusion probability (for pps-wr: of at least one hit).
    pub prob: f64,
    /// Base weight of a selected unit: 1/prob (for pps-wr: 1/(n·p) per hit).
    pub weight: Option<f64>,
    pub certainty: bool,
    /// Replicate of a unit drawn with a reserve design.
    pub replicate: Option<u32>,
}

/// A draw: its record and the outcome for every frame unit, in frame order.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub record: SelectionRecord,
    pub units: Vec<UnitResult>,
}

/// Draws a sample.
pub fn draw(
    frame: &Frame,
    design: &Design,
    seed: u64,
    source: &str,
) -> Result<Draw, SamplingError> {
    run(frame, design, seed, source, &BTreeMap::new(), Vec::new())
}

fn run(
    frame: &Frame,
    design: &Design,
    seed: u64,
    source: &str,
    released: &BTreeMap<String, u32>,
    releases: Vec<Release>,
) -> Result<Draw, SamplingError> {
    let mut d = run_stage(frame, design, seed, "draw", "", released, releases)?;
    d.record.frame.source = source.to_string();
    Ok(d)
}

/// Re-runs a record's draw on a frame; `Ok` only when the frame hash and every drawn unit,
/// hit, replicate and probability match exactly.
pub fn verify(record: &SelectionRecord, frame: &Frame) -> Result<Draw, SamplingError> {
    let hash = frame.hash();
    if hash != record.frame.hash {
        return Err(SamplingError::FrameMismatch {
            expected: record.frame.hash.clone(),
            found: hash,
        });
    }
    let released = released_counts(record);
    let again = run(
        frame,
        &record.design,
        record.seed,
        &record.frame.source,
        &released,
        record.releases.clone(),
    )?;
    if again.record.drawn != record.drawn {
        let first = again
            .record
            .drawn
            .iter()
            .zip(&record.drawn)
            .position(|(a, b)| a != b)
            .unwrap_or(again.record.drawn.len().min(record.drawn.len()));
        return Err(SamplingError::SelectionMismatch(format!(
            "re-running the draw gives {} drawn unit(s) against {} recorded; first difference at drawn unit {}",
            again.record.drawn.len(),
            record.drawn.len(),
            first + 1
        )));
    }
    if again.record.strata != record.strata {
        return Err(SamplingError::SelectionMismatch(
            "the per-stratum summary differs".into(),
        ));
    }
    Ok(again)
}

/// Releases the next reserve replicate of one stratum (or of every stratum that has one left),
/// recording it, and returns the new draw.
pub fn release(
    record: &SelectionRecord,
    frame: &Frame,
    stratum: Option<&str>,
    note: &str,
) -> Result<Draw, SamplingError> {
    verify(record, frame)?;
    let mut released = released_counts(record);
    let mut releases = record.releases.clone();
    let targets: Vec<&StratumRecord> = match stratum {
        Some(s) => vec![
            record
                .strata
                .iter()
                .find(|r| r.name == s)
                .ok_or_else(|| SamplingError::UnknownStratum(s.to_string()))?,
        ],
        None => record
            .strata
            .iter()
            .filter(|r| r.released < r.replicates)
            .collect(),
    };
    if targets.is_empty() {
        return Err(SamplingError::NoReserveLeft("every stratum".into()));
    }
    for t in targets {
        let now = released.get(&t.name).copied().unwrap_or(t.released);
        if now >= t.replicates {
            return Err(SamplingError::NoReserveLeft(t.name.clone()));
        }
        released.insert(t.name.clone(), now + 1);
        releases.push(Release {
            stratum: t.name.clone(),
            replicate: now + 1,
            note: note.to_string(),
        });
    }
    run(
        frame,
        &record.design,
        record.seed,
        &record.frame.source,
        &released,
        releases,
    )
}

fn released_counts(record: &SelectionRecord) -> BTreeMap<String, u32> {
    record
        .strata
        .iter()
        .filter(|s| s.replicates > 0)
        .map(|s| (s.name.clone(), s.released))
        .collect()
}

/// Takes per stratum: (main, reserve) in units.
fn takes(
    frame_strata: &[(String, Vec<usize>)],
    frame: &Frame,
    design: &Design,
) -> Result<Vec<(u64, u64)>, SamplingError> {
    let wr = design.method.with_replacement();
    let shares: Vec<StratumShare> = frame_strata
        .iter()
        .map(|(name, idx)| {
            let units = idx.len() as u64;
            let share = match &design.allocation {
                Allocation::Equal => 1.0,
                Allocation::Proportional if design.method.is_pps() => {
                    idx.iter().map(|&i| frame.units()[i].size).sum()
                }
                Allocation::Proportional => units as f64,
                Allocation::Neyman(_) => units as f64 * stratum_sd(frame, idx),
            };
            StratumShare {
                name: name.clone(),
                units,
                share,
            }
        })
        .collect();
    if let Allocation::Neyman(col) = &design.allocation {
        if frame.units().iter().any(|u| u.aux.is_none()) {
            return Err(SamplingError::BadAllocation(format!(
                "Neyman allocation needs a value of {col:?} for every unit"
            )));
        }
        if shares.iter().all(|s| s.share == 0.0) {
            return Err(SamplingError::BadAllocation(format!(
                "{col:?} does not vary within any stratum: every Sₕ is 0"
            )));
        }
    }
    let h = shares.len();
    match (design.size, design.reserve) {
        (SampleSize::PerStratum(k), None) => Ok(vec![(k, 0); h]),
        (SampleSize::Total(n), None) => Ok(allocate(n, &shares, !wr, design.min_per_stratum)?
            .into_iter()
            .map(|t| (t, 0))
            .collect()),
        (_, Some(_)) if wr => Err(SamplingError::BadDesign(
            "reserve replicates need a without-replacement method".into(),
        )),
        (_, Some(r)) if r.replicate_size == 0 => Err(SamplingError::BadDesign(
            "the replicate size must be at least 1".into(),
        )),
        (size, Some(r)) => {
            let k = r.replicate_size;
            let (main, reserve) = match size {
                SampleSize::PerStratum(n) | SampleSize::Total(n)
                    if n % k != 0 || r.units % k != 0 =>
                {
                    return Err(SamplingError::BadDesign(format!(
                        "with replicates of {k}, the main sample ({n}) and the reserve ({}) must be multiples of {k}",
                        r.units
                    )));
                }
                SampleSize::PerStratum(n) => (vec![n; h], vec![r.units; h]),
                SampleSize::Total(n) => {
                    // Allocate whole replicates, capped at the replicates each stratum can fill.
                    let rep_shares: Vec<StratumShare> = shares
                        .iter()
                        .map(|s| StratumShare {
                            units: s.units / k,
                            ..s.clone()
                        })
                        .collect();
                    let main: Vec<u64> =
                        allocate(n / k, &rep_shares, true, design.min_per_stratum)?
                            .into_iter()
                            .map(|x| x * k)
                            .collect();
                    let left: Vec<StratumShare> = rep_shares
                        .iter()
                        .zip(&main)
                        .map(|(s, m)| StratumShare {
                            units: s.units - m / k,
                            ..s.clone()
                        })
                        .collect();
                    let reserve: Vec<u64> = allocate(r.units / k, &left, true, 0)?
                        .into_iter()
                        .map(|x| x * k)
                        .collect();
                    (main, reserve)
                }
            };
            Ok(main.into_iter().zip(reserve).collect())
        }
    }
}

/// The standard deviation of the Neyman column within a stratum, or its value when constant.
fn stratum_sd(frame: &Frame, idx: &[usize]) -> f64 {
    let values: Vec<f64> = idx.iter().filter_map(|&i| frame.units()[i].aux).collect();
    if values.len() < 2 {
        return values.first().copied().unwrap_or(0.0).abs();
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    if var == 0.0 { mean.abs() } else { var.sqrt() }
}

/// Runs one stage of a design: the random streams are `seed::stream(seed, stage, unit)` and
/// `seed::stream(seed, "replicates", unit)`, where the unit is the stratum name, or `scope` when
/// the frame has no strata, or `scope/stratum` when it has both.
pub(crate) fn run_stage(
    frame: &Frame,
    design: &Design,
    seed: u64,
    stage: &str,
    scope: &str,
    released: &BTreeMap<String, u32>,
    releases: Vec<Release>,
) -> Result<Draw, SamplingError> {
    if frame.units().is_empty() {
        return Err(SamplingError::EmptyFrame);
    }
    let n_zero = matches!(
        design.size,
        SampleSize::Total(0) | SampleSize::PerStratum(0)
    );
    if n_zero {
        return Err(SamplingError::BadDesign(
            "the sample size must be at least 1".into(),
        ));
    }
    let frame_strata = frame.strata();
    let takes = takes(frame_strata, frame, design)?;
    let mut units: Vec<UnitResult> = (0..frame.units().len())
        .map(|index| UnitResult {
            index,
            selected: false,
            hits: 0,
            prob: 0.0,
            weight: None,
            certainty: false,
            replicate: None,
        })
        .collect();
    let mut strata = Vec::with_capacity(frame_strata.len());
    let mut drawn = Vec::new();
    for ((name, idx), &(main, reserve)) in frame_strata.iter().zip(&takes) {
        let mut sorted;
        let order: &[usize] = if frame.columns().sort.is_empty() {
            idx
        } else {
            sorted = idx.clone();
            sorted.sort_by(|&a, &b| {
                let (ua, ub) = (&frame.units()[a], &frame.units()[b]);
                ua.sort
                    .iter()
                    .zip(&ub.sort)
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.cmp(&b))
            });
            &sorted
        };
        let m = main + reserve;
        let unit = match (scope.is_empty(), name.is_empty()) {
            (true, _) => name.clone(),
            (false, true) => scope.to_string(),
            (false, false) => format!("{scope}/{name}"),
        };
        let mut stream = seed::stream(seed, stage, &unit);
        let sel: Selection = match design.method {
            Method::Srs => srs(name, order.len(), m, &mut stream)?,
            Method::Systematic => systematic(name, order.len(), m, &mut stream)?,
            Method::PpsSystematic => {
                let ids: Vec<&str> = order
                    .iter()
                    .map(|&i| frame.units()[i].id.as_str())
                    .collect();
                let sizes: Vec<f64> = order.iter().map(|&i| frame.units()[i].size).collect();
                pps_systematic(name, &ids, &sizes, m, design.certainty, &mut stream)?
            }
            Method::PpsWr => {
                let sizes: Vec<f64> = order.iter().map(|&i| frame.units()[i].size).collect();
                pps_wr(&sizes, m, &mut stream)
            }
        };
        let size_total: f64 = order.iter().map(|&i| frame.units()[i].size).sum();
        let certainties = sel.certainty.iter().filter(|&&c| c).count() as u64;
        // Replicates: the drawn units (in sorted order) in random order, cut into groups of K.
        let chosen: Vec<usize> = sel.selected();
        let mut replicate_of = vec![
            None;
            if design.reserve.is_some() {
                order.len()
            } else {
                0
            }
        ];
        let (replicates, rel) = match design.reserve {
            None => (0u32, 0u32),
            Some(r) => {
                let k = r.replicate_size as usize;
                let mut perm = chosen.clone();
                let mut rs = seed::stream(seed, "replicates", &unit);
                for j in 0..perm.len() {
                    let t = j + rs.below((perm.len() - j) as u64) as usize;
                    perm.swap(j, t);
                }
                for (p, &pos) in perm.iter().enumerate() {
                    replicate_of[pos] = Some((p / k) as u32 + 1);
                }
                let total = perm.len().div_ceil(k) as u32;
                let main_reps = (main as usize).div_ceil(k) as u32;
                (
                    total,
                    released.get(name).copied().unwrap_or(main_reps).min(total),
                )
            }
        };
        // Released units over drawn units: the factor on every probability.
        let (released_units, drawn_units) = if replicates == 0 || m == 0 {
            (1.0, 1.0)
        } else {
            let k = design.reserve.map(|r| r.replicate_size).unwrap_or(1);
            (
                (u64::from(rel) * k).min(chosen.len() as u64) as f64,
                chosen.len().max(1) as f64,
            )
        };
        for (pos, &i) in order.iter().enumerate() {
            let u = &mut units[i];
            u.prob = sel.prob[pos] * released_units / drawn_units;
            u.certainty = sel.certainty[pos];
            u.hits = sel.hits[pos];
            u.replicate = replicate_of.get(pos).copied().flatten();
            let is_released = u.replicate.is_none_or(|r| r <= rel);
            u.selected = u.hits > 0 && is_released;
            if u.selected {
                let w = sel.weight[pos];
                u.weight = Some(if released_units == drawn_units {
                    w
                } else {
                    w * drawn_units / released_units
                });
            }
        }
        for &pos in &chosen {
            let i = order[pos];
            let u = &units[i];
            drawn.push(DrawnUnit {
                id: frame.units()[i].id.clone(),
                stratum: frame.units()[i].stratum.clone(),
                hits: u.hits,
                prob: u.prob,
                certainty: u.certainty,
                replicate: u.replicate,
                released: u.replicate.is_none_or(|r| r <= rel),
            });
        }
        strata.push(StratumRecord {
            name: name.clone(),
            units: order.len() as u64,
            size_total,
            n: main,
            reserve,
            replicates,
            released: rel,
            certainties,
        });
    }
    let record = SelectionRecord {
        format: RECORD_FORMAT.into(),
        software: format!("mapframe {}", crate::VERSION),
        generator: "ChaCha20 (rand_chacha 0.10.0)".into(),
        seed_derivation: seed::DESCRIPTION.into(),
        seed,
        design: design.clone(),
        frame: FrameInfo {
            hash: frame.hash(),
            units: frame.units().len() as u64,
            columns: frame.columns().clone(),
            source: String::new(),
        },
        strata,
        releases,
        drawn,
    };
    Ok(Draw { record, units })
}
