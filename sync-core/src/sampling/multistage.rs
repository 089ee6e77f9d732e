//! Multi-stage selection over a listing: PSUs (areas) by PPS → optionally one segment per PSU by
//! PPS → a fixed take of dwellings per PSU by systematic sampling in serpentine order → households
//! within dwellings. Respondents are selected later, at the door (see [`super::kish`]).
//!
//! Every selected household keeps each stage's probability and its base weight
//! 1/(π_psu · π_segment · π_dwelling · π_household). Streams: `psu` (unit = stratum), `segment`
//! (unit = area code), `dwelling` (unit = area code), `replicates` (unit = area code), `household`
//! (unit = dwelling UUID) — see [`super::seed`].

use super::design::{Design, Method, Reserve, SampleSize, run_stage};
use super::frame::{Frame, FrameColumns, SortValue, Unit};
use super::methods::pps_systematic;
use super::{Allocation, SamplingError, seed};
use crate::ids::DwellingId;
use crate::listing::{Listing, Occupancy};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How PSUs are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsuStage {
    /// Draw PSUs from the listing's areas, PPS systematic on their measure of size within strata
    /// (in order of area code).
    Draw {
        size: SampleSize,
        allocation: Allocation,
        certainty: bool,
    },
    /// The areas were drawn before they were listed: every area with a recorded first-stage
    /// probability is a selected PSU.
    Given,
}

/// Which households of a selected dwelling are interviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStage {
    All,
    /// One household, chosen with equal probability.
    One,
}

/// A multi-stage design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiStageDesign {
    pub psu: PsuStage,
    /// Choose one segment per PSU (PPS on the segment's measure of size, or its listed dwellings)
    /// in PSUs that are segmented.
    pub segment: bool,
    /// Dwellings per PSU (main sample).
    pub take: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<Reserve>,
    /// Keep dwellings found vacant at listing in the dwelling frame.
    pub include_vacant: bool,
    pub household: HouseholdStage,
}

/// Stage probabilities of a selected household.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageProbs {
    pub psu: f64,
    pub segment: f64,
    pub dwelling: f64,
    pub household: f64,
}

impl StageProbs {
    /// The overall inclusion probability.
    pub fn product(&self) -> f64 {
        self.psu * self.segment * self.dwelling * self.household
    }
}

/// A selected PSU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedPsu {
    pub area: String,
    pub stratum: String,
    pub prob: f64,
    pub certainty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    pub segment_prob: f64,
    /// Dwellings in the PSU's (or segment's) dwelling frame.
    pub dwellings: u64,
    /// Hash of that dwelling frame.
    pub frame_hash: String,
}

/// A selected household (one row per household of a selected dwelling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedHousehold {
    pub area: String,
    pub stratum: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    pub dwelling: DwellingId,
    pub listing_number: u32,
    /// Household number within the dwelling, 1-based.
    pub household: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicate: Option<u32>,
    pub released: bool,
    pub probs: StageProbs,
    /// 1/∏π for a released household.
    pub base_weight: f64,
}

/// The result of a multi-stage draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiStageDraw {
    pub seed: u64,
    pub design: MultiStageDesign,
    pub psus: Vec<SelectedPsu>,
    pub households: Vec<SelectedHousehold>,
}

/// Draws a multi-stage sample from a numbered listing.
pub fn draw_multistage(
    listing: &Listing,
    design: &MultiStageDesign,
    seed: u64,
) -> Result<MultiStageDraw, SamplingError> {
    if design.take == 0 {
        return Err(SamplingError::BadDesign(
            "the take of dwellings per PSU must be at least 1".into(),
        ));
    }
    // Stage 1.
    let psus: Vec<(usize, f64, bool)> = match &design.psu {
        PsuStage::Given => listing
            .areas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.first_stage_prob.map(|p| (i, p, p >= 1.0)))
            .collect(),
        PsuStage::Draw {
            size,
            allocation,
            certainty,
        } => {
            let mut units = Vec::with_capacity(listing.areas.len());
            for a in &listing.areas {
                let mos = a.measure_of_size.filter(|m| *m > 0.0).ok_or_else(|| {
                    SamplingError::Listing(format!(
                        "area {} has no positive measure of size to draw it by",
                        a.code
                    ))
                })?;
                units.push(Unit {
                    id: a.code.clone(),
                    stratum: a.stratum.clone().unwrap_or_default(),
                    size: mos,
                    sort: vec![SortValue::from_text(&a.code)],
                    sort_text: vec![a.code.clone()],
                    aux: None,
                });
            }
            let frame = Frame::new(
                units,
                FrameColumns {
                    id: "area".into(),
                    size: Some("mos".into()),
                    stratum: Some("stratum".into()),
                    sort: vec!["area".into()],
                    aux: None,
                },
            );
            let d = Design {
                method: Method::PpsSystematic,
                size: *size,
                allocation: allocation.clone(),
                certainty: *certainty,
                reserve: None,
                min_per_stratum: 1,
            };
            let draw = run_stage(&frame, &d, seed, "psu", "", &Default::default(), Vec::new())?;
            let by_code: HashMap<&str, usize> = listing
                .areas
                .iter()
                .enumerate()
                .map(|(i, a)| (a.code.as_str(), i))
                .collect();
            draw.units
                .iter()
                .filter(|u| u.selected)
                .map(|u| {
                    (
                        by_code[frame.units()[u.index].id.as_str()],
                        u.prob,
                        u.certainty,
                    )
                })
                .collect()
        }
    };
    // Dwellings by area, in listing order; buildings' segments.
    let area_index = listing.area_index();
    let segment_of: HashMap<_, Option<&str>> = listing
        .buildings
        .iter()
        .map(|b| (b.id, b.segment.as_deref()))
        .collect();
    let mut by_area: Vec<Vec<usize>> = vec![Vec::new(); listing.areas.len()];
    for (i, d) in listing.dwellings.iter().enumerate() {
        match d.occupancy {
            Occupancy::Business | Occupancy::NotDwelling => continue,
            Occupancy::Vacant if !design.include_vacant => continue,
            _ => {}
        }
        if let Some(&a) = area_index.get(&d.area) {
            by_area[a].push(i);
        }
    }
    let mut out_psus = Vec::with_capacity(psus.len());
    let mut households = Vec::new();
    for (ai, p_psu, certainty) in psus {
        let area = &listing.areas[ai];
        let stratum = area.stratum.clone().unwrap_or_default();
        let mut dws = by_area[ai].clone();
        if let Some(d) = dws
            .iter()
            .find(|&&d| listing.dwellings[d].listing_number.is_none())
        {
            return Err(SamplingError::Listing(format!(
                "area {}: dwelling {} has no listing number; number the listing before drawing",
                area.code,
                Listing::dwelling_label(&listing.dwellings[*d])
            )));
        }
        dws.sort_by_key(|&d| (listing.dwellings[d].listing_number, listing.dwellings[d].id));
        // Stage 2: one segment, PPS.
        let (segment, p_seg) = if design.segment && !area.segments.is_empty() {
            let seg_of_dwelling = |d: usize| {
                listing.dwellings[d]
                    .building
                    .and_then(|b| segment_of.get(&b).copied().flatten())
            };
            let counts: Vec<f64> = area
                .segments
                .iter()
                .map(|s| {
                    s.measure_of_size.unwrap_or_else(|| {
                        dws.iter()
                            .filter(|&&d| seg_of_dwelling(d) == Some(s.code.as_str()))
                            .count() as f64
                    })
                })
                .collect();
            let ids: Vec<&str> = area.segments.iter().map(|s| s.code.as_str()).collect();
            if counts.iter().all(|c| *c <= 0.0) {
                return Err(SamplingError::Listing(format!(
                    "area {}: no segment has a size",
                    area.code
                )));
            }
            let mut stream = seed::stream(seed, "segment", &area.code);
            let sel = pps_systematic(&area.code, &ids, &counts, 1, true, &mut stream)?;
            let k = sel.hits.iter().position(|&h| h > 0).unwrap_or(0);
            let code = area.segments[k].code.clone();
            dws.retain(|&d| seg_of_dwelling(d) == Some(code.as_str()));
            (Some(code), sel.prob[k])
        } else {
            (None, 1.0)
        };
        // Stage 3: dwellings, systematic in serpentine order.
        let frame = Frame::new(
            dws.iter()
                .map(|&d| {
                    let n = listing.dwellings[d].listing_number.unwrap_or(0);
                    Unit {
                        id: listing.dwellings[d].id.to_string(),
                        stratum: String::new(),
                        size: 1.0,
                        sort: Vec::new(),
                        sort_text: vec![n.to_string()],
                        aux: None,
                    }
                })
                .collect(),
            FrameColumns {
                id: "dwelling".into(),
                size: None,
                stratum: None,
                sort: Vec::new(),
                aux: None,
            },
        );
        let mut psu = SelectedPsu {
            area: area.code.clone(),
            stratum: stratum.clone(),
            prob: p_psu,
            certainty,
            segment: segment.clone(),
            segment_prob: p_seg,
            dwellings: dws.len() as u64,
            frame_hash: String::new(),
        };
        if dws.is_empty() {
            psu.frame_hash = frame.hash();
            out_psus.push(psu);
            continue;
        }
        let total = design.take + design.reserve.map(|r| r.units).unwrap_or(0);
        let (size, reserve) = if total as usize >= dws.len() {
            // A PSU smaller than the take: every dwelling, no reserve.
            (SampleSize::PerStratum(dws.len() as u64), None)
        } else {
            (SampleSize::PerStratum(design.take), design.reserve)
        };
        let d = Design {
            method: Method::Systematic,
            size,
            allocation: Allocation::Equal,
            certainty: false,
            reserve,
            min_per_stratum: 1,
        };
        let draw = run_stage(
            &frame,
            &d,
            seed,
            "dwelling",
            &area.code,
            &Default::default(),
            Vec::new(),
        )?;
        psu.frame_hash = draw.record.frame.hash.clone();
        out_psus.push(psu);
        for (pos, u) in draw.units.iter().enumerate() {
            if u.hits == 0 {
                continue;
            }
            let dw = &listing.dwellings[dws[pos]];
            let h = dw.households.max(1);
            let chosen: Vec<(u16, f64)> = match design.household {
                HouseholdStage::All => (1..=h).map(|k| (k, 1.0)).collect(),
                HouseholdStage::One if h == 1 => vec![(1, 1.0)],
                HouseholdStage::One => {
                    let mut s = seed::stream(seed, "household", &dw.id.to_string());
                    vec![(s.below(u64::from(h)) as u16 + 1, 1.0 / f64::from(h))]
                }
            };
            let released = u.replicate.is_none_or(|_| u.selected);
            for (k, p_hh) in chosen {
                let probs = StageProbs {
                    psu: p_psu,
                    segment: p_seg,
                    dwelling: u.prob,
                    household: p_hh,
                };
                households.push(SelectedHousehold {
                    area: area.code.clone(),
                    stratum: stratum.clone(),
                    segment: segment.clone(),
                    dwelling: dw.id,
                    listing_number: dw.listing_number.unwrap_or(0),
                    household: k,
                    replicate: u.replicate,
                    released,
                    probs,
                    base_weight: 1.0 / probs.product(),
                });
            }
        }
    }
    Ok(MultiStageDraw {
        seed,
        design: design.clone(),
        psus: out_psus,
        households,
    })
}
