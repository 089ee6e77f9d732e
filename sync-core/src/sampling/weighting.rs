//! Nonresponse adjustment of base weights within weighting classes.
//!
//! The standard two-factor adjustment (Valliant, Dever & Kreuter, *Practical Tools for Designing
//! and Weighting Survey Samples*, 2nd ed., ch. 13). Each sampled case has a base weight (the
//! inverse of its inclusion probability), a final status — respondent (R), eligible
//! nonrespondent (NR), ineligible (IN) or unknown eligibility (UNK) — and a weighting class.
//! Within each class:
//!
//! 1. **Unknown eligibility.** `f1 = ΣW(all) / ΣW(R + NR + IN)`. R, NR and IN weights are
//!    multiplied by `f1`; UNK weights become 0. The cases whose eligibility is known stand for
//!    those whose eligibility is not.
//! 2. **Nonresponse.** `f2 = (ΣW₁(R) + ΣW₁(NR)) / ΣW₁(R)`, with the weights after step 1.
//!    R weights are multiplied by `f2`; NR weights become 0; IN keep their step-1 weight.
//!
//! So within every class Σ final(R) + Σ final(IN) = Σ base(all): the adjusted respondents and
//! ineligibles still add up to the population the class's sample represents.
//!
//! A class whose eligibility is unknown for every case, or that has eligible cases but no
//! respondent, cannot be adjusted: [`adjust`] reports it by name (collapse it with a neighbouring
//! class and try again) rather than produce infinite or NaN weights. A class with no eligible
//! case at all (only ineligibles, perhaps with unknowns) needs no nonresponse factor: its `f2` is 1.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The final status of a sampled case, as weighting sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// An eligible case that responded (R).
    Respondent,
    /// An eligible case that did not respond (NR).
    Nonrespondent,
    /// A case known not to be eligible (IN): vacant dwelling, no eligible member, …
    Ineligible,
    /// A case whose eligibility was never established (UNK): never contacted, address not found, …
    UnknownEligibility,
}

impl From<crate::aapor::Category> for Status {
    /// AAPOR categories as weighting classes see them: interviews (complete or partial) are
    /// respondents; refusals, non-contacts and other eligible non-interviews are nonrespondents;
    /// 3.x cases are of unknown eligibility; 4.x cases are ineligible.
    fn from(c: crate::aapor::Category) -> Self {
        use crate::aapor::Category::*;
        match c {
            I | P => Status::Respondent,
            R | NC | O => Status::Nonrespondent,
            UH | UO => Status::UnknownEligibility,
            NE => Status::Ineligible,
        }
    }
}

impl Status {
    /// The status's stable name: `respondent`, `nonrespondent`, `ineligible`,
    /// `unknown_eligibility`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Respondent => "respondent",
            Self::Nonrespondent => "nonrespondent",
            Self::Ineligible => "ineligible",
            Self::UnknownEligibility => "unknown_eligibility",
        }
    }
}

/// One sampled case to be weighted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// The base (design) weight: positive and finite.
    pub base_weight: f64,
    /// The case's final status.
    pub status: Status,
    /// The weighting class the case belongs to (any string; `""` is a class like any other).
    pub class: String,
}

/// One value per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ByStatus<T> {
    /// For respondents (R).
    pub respondent: T,
    /// For eligible nonrespondents (NR).
    pub nonrespondent: T,
    /// For ineligibles (IN).
    pub ineligible: T,
    /// For cases of unknown eligibility (UNK).
    pub unknown_eligibility: T,
}

impl<T> ByStatus<T> {
    /// The value for a status.
    pub fn get(&self, status: Status) -> &T {
        match status {
            Status::Respondent => &self.respondent,
            Status::Nonrespondent => &self.nonrespondent,
            Status::Ineligible => &self.ineligible,
            Status::UnknownEligibility => &self.unknown_eligibility,
        }
    }

    /// The value for a status, to change it.
    pub fn get_mut(&mut self, status: Status) -> &mut T {
        match status {
            Status::Respondent => &mut self.respondent,
            Status::Nonrespondent => &mut self.nonrespondent,
            Status::Ineligible => &mut self.ineligible,
            Status::UnknownEligibility => &mut self.unknown_eligibility,
        }
    }
}

/// What happened in one weighting class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// The class key.
    pub class: String,
    /// Number of cases by status.
    pub counts: ByStatus<usize>,
    /// Sum of base weights by status.
    pub base: ByStatus<f64>,
    /// The unknown-eligibility factor (1 when no case has unknown eligibility).
    pub f1: f64,
    /// The nonresponse factor (1 when every eligible case responded, or there is no eligible case).
    pub f2: f64,
    /// Sum of adjusted weights by status (nonrespondents and unknowns are 0).
    pub adjusted: ByStatus<f64>,
}

/// The result of [`adjust`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adjustment {
    /// The adjusted weight of each case, in input order.
    pub weights: Vec<f64>,
    /// One report per class, ordered by class key.
    pub classes: Vec<ClassReport>,
}

/// Stable machine codes of weighting problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightingErrorCode {
    /// A base weight is zero, negative, infinite or NaN.
    BadBaseWeight,
    /// A class has eligible cases but no respondent.
    NoRespondents,
    /// Every case of a class has unknown eligibility.
    OnlyUnknownEligibility,
    /// A class's weights or factors are too large for a 64-bit float.
    WeightOverflow,
}

impl WeightingErrorCode {
    /// The code as written in reports: `bad_base_weight`, `no_respondents`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadBaseWeight => "bad_base_weight",
            Self::NoRespondents => "no_respondents",
            Self::OnlyUnknownEligibility => "only_unknown_eligibility",
            Self::WeightOverflow => "weight_overflow",
        }
    }
}

/// A reason the weights cannot be adjusted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightingError {
    /// The base weight of case `index` (0-based, input order) is not a positive finite number.
    #[error("case {index}: the base weight must be a positive finite number, found {weight}")]
    BadBaseWeight { index: usize, weight: f64 },
    /// The class has eligible cases but none responded, so their weight has nowhere to go.
    #[error(
        "class {class:?}: {nonrespondents} eligible case(s) but no respondent; collapse it with another class"
    )]
    NoRespondents {
        class: String,
        nonrespondents: usize,
    },
    /// No case of the class has known eligibility, so the unknown-eligibility factor is undefined.
    #[error(
        "class {class:?}: all {cases} case(s) have unknown eligibility; collapse it with another class"
    )]
    OnlyUnknownEligibility { class: String, cases: usize },
    /// The class's weight sums, factors or adjusted weights are too large for a 64-bit float
    /// (base weights spanning hundreds of orders of magnitude).
    #[error("class {class:?}: the weights or adjustment factors are too large to compute")]
    WeightOverflow { class: String },
}

impl WeightingError {
    /// The stable machine code.
    pub fn code(&self) -> WeightingErrorCode {
        match self {
            Self::BadBaseWeight { .. } => WeightingErrorCode::BadBaseWeight,
            Self::NoRespondents { .. } => WeightingErrorCode::NoRespondents,
            Self::OnlyUnknownEligibility { .. } => WeightingErrorCode::OnlyUnknownEligibility,
            Self::WeightOverflow { .. } => WeightingErrorCode::WeightOverflow,
        }
    }

    /// The class the problem is in, when it is about a class.
    pub fn class(&self) -> Option<&str> {
        match self {
            Self::BadBaseWeight { .. } => None,
            Self::NoRespondents { class, .. }
            | Self::OnlyUnknownEligibility { class, .. }
            | Self::WeightOverflow { class } => Some(class),
        }
    }
}

/// Every reason the weights cannot be adjusted: bad base weights in input order, then class
/// problems in class-key order. Never empty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct WeightingErrors(pub Vec<WeightingError>);

impl fmt::Display for WeightingErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot adjust the weights ({} problem(s))", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {}: {e}", e.code().as_str())?;
        }
        Ok(())
    }
}

/// Adjusts base weights for unknown eligibility and nonresponse within weighting classes (see
/// the module documentation). Returns every problem found rather than a partial result.
pub fn adjust(cases: &[Case]) -> Result<Adjustment, WeightingErrors> {
    let mut errors: Vec<WeightingError> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| !(c.base_weight.is_finite() && c.base_weight > 0.0))
        .map(|(index, c)| WeightingError::BadBaseWeight {
            index,
            weight: c.base_weight,
        })
        .collect();
    if !errors.is_empty() {
        return Err(WeightingErrors(errors));
    }

    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in cases.iter().enumerate() {
        members.entry(c.class.as_str()).or_default().push(i);
    }

    let mut weights = vec![0.0; cases.len()];
    let mut classes = Vec::with_capacity(members.len());
    for (class, indices) in members {
        let mut counts = ByStatus::<usize>::default();
        let mut base = ByStatus::<f64>::default();
        for &i in &indices {
            *counts.get_mut(cases[i].status) += 1;
            *base.get_mut(cases[i].status) += cases[i].base_weight;
        }
        let known = base.respondent + base.nonrespondent + base.ineligible;
        let total = known + base.unknown_eligibility;
        let error = if !total.is_finite() {
            Some(WeightingError::WeightOverflow {
                class: class.to_string(),
            })
        } else if counts.respondent + counts.nonrespondent + counts.ineligible == 0 {
            Some(WeightingError::OnlyUnknownEligibility {
                class: class.to_string(),
                cases: counts.unknown_eligibility,
            })
        } else if counts.respondent == 0 && counts.nonrespondent > 0 {
            Some(WeightingError::NoRespondents {
                class: class.to_string(),
                nonrespondents: counts.nonrespondent,
            })
        } else {
            None
        };
        if let Some(e) = error {
            errors.push(e);
            continue;
        }

        // Step 1: unknown eligibility. `total == known` exactly when there are no unknowns.
        let f1 = total / known;
        let mut step1 = ByStatus::<f64>::default();
        for &i in &indices {
            let c = &cases[i];
            weights[i] = match c.status {
                Status::UnknownEligibility => 0.0,
                _ => c.base_weight * f1,
            };
            *step1.get_mut(c.status) += weights[i];
        }

        // Step 2: nonresponse.
        let f2 = if counts.respondent == 0 {
            1.0
        } else {
            (step1.respondent + step1.nonrespondent) / step1.respondent
        };
        let mut adjusted = ByStatus::<f64>::default();
        for &i in &indices {
            let c = &cases[i];
            match c.status {
                Status::Respondent => weights[i] *= f2,
                Status::Nonrespondent => weights[i] = 0.0,
                Status::Ineligible | Status::UnknownEligibility => {}
            }
            *adjusted.get_mut(c.status) += weights[i];
        }

        if ![f1, f2, adjusted.respondent, adjusted.ineligible]
            .iter()
            .all(|x| x.is_finite())
        {
            errors.push(WeightingError::WeightOverflow {
                class: class.to_string(),
            });
            continue;
        }
        classes.push(ClassReport {
            class: class.to_string(),
            counts,
            base,
            f1,
            f2,
            adjusted,
        });
    }
    if errors.is_empty() {
        Ok(Adjustment { weights, classes })
    } else {
        Err(WeightingErrors(errors))
    }
}
