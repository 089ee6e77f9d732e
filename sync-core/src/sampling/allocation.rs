//! Allocation of a total sample size to explicit strata, rounded by largest remainder.
//!
//! Quotas nₕ* = n·sₕ/Σs for a share sₕ: the number of units (proportional; for PPS methods the
//! total size), 1 (equal), Nₕ·Sₕ (Neyman). Each stratum gets ⌊nₕ*⌋ and the units left over go one
//! each to the strata with the largest fractional parts (ties to the stratum listed first). A
//! stratum never gets more than it has (without replacement): the excess is re-allocated over the
//! others. When the sample is at least as large as the number of strata, every stratum gets at least
//! `minimum` units (default 1), because a stratum with no sample has units of probability zero.

use super::SamplingError;
use serde::{Deserialize, Serialize};

/// How to share a total sample size between strata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method", content = "column")]
pub enum Allocation {
    /// In proportion to the stratum's units (or, for PPS methods, its total size).
    Proportional,
    /// The same number in every stratum.
    Equal,
    /// In proportion to Nₕ·Sₕ, with Sₕ the standard deviation of the named column in the stratum
    /// (or the column's value, when it is constant within every stratum: a column of prior
    /// standard deviations).
    Neyman(String),
}

impl Allocation {
    /// Parses `proportional`, `equal` or `neyman:COLUMN`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "proportional" | "prop" => Ok(Allocation::Proportional),
            "equal" => Ok(Allocation::Equal),
            _ => match t.split_once(':') {
                Some((m, c)) if m.eq_ignore_ascii_case("neyman") && !c.trim().is_empty() => {
                    Ok(Allocation::Neyman(c.trim().to_string()))
                }
                _ => Err(format!(
                    "unknown allocation {t:?}: expected proportional, equal or neyman:COLUMN"
                )),
            },
        }
    }
}

/// What the allocation needs to know about a stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct StratumShare {
    pub name: String,
    /// Units in the stratum (the cap without replacement).
    pub units: u64,
    /// The share weight sₕ.
    pub share: f64,
}

/// Allocates `n` over the strata. `cap` says whether a stratum's take is limited to its units.
pub fn allocate(
    n: u64,
    strata: &[StratumShare],
    cap: bool,
    minimum: u64,
) -> Result<Vec<u64>, SamplingError> {
    let h = strata.len();
    if h == 0 {
        return Ok(Vec::new());
    }
    let capacity: u64 = strata.iter().map(|s| s.units).sum();
    if cap && n > capacity {
        return Err(SamplingError::SampleLargerThanFrame {
            stratum: String::new(),
            n,
            units: capacity,
        });
    }
    if let Some(bad) = strata
        .iter()
        .find(|s| !(s.share.is_finite() && s.share >= 0.0))
    {
        return Err(SamplingError::BadAllocation(format!(
            "stratum {:?} has share {}",
            bad.name, bad.share
        )));
    }
    let mut take = vec![0u64; h];
    let nonempty: Vec<usize> = (0..h).filter(|&i| strata[i].units > 0).collect();
    if n >= nonempty.len() as u64 {
        for &i in &nonempty {
            take[i] = minimum.min(if cap { strata[i].units } else { u64::MAX });
        }
    }
    let mut fixed = vec![false; h];
    loop {
        let given: u64 = take.iter().sum();
        if given >= n {
            break;
        }
        let left = n - given;
        // Strata still open: not fixed at their cap.
        let open: Vec<usize> = (0..h)
            .filter(|&i| !fixed[i] && (!cap || take[i] < strata[i].units))
            .collect();
        if open.is_empty() {
            break;
        }
        let total_share: f64 = open.iter().map(|&i| strata[i].share).sum();
        let shares: Vec<f64> = if total_share > 0.0 {
            open.iter()
                .map(|&i| strata[i].share / total_share)
                .collect()
        } else {
            vec![1.0 / open.len() as f64; open.len()]
        };
        // Quotas of what is left on top of what each already has, so that minimums count.
        let base: f64 = open.iter().map(|&i| take[i] as f64).sum::<f64>() + left as f64;
        let mut quota: Vec<f64> = shares
            .iter()
            .zip(&open)
            .map(|(s, &i)| (s * base - take[i] as f64).max(0.0))
            .collect();
        let qsum: f64 = quota.iter().sum();
        if qsum > 0.0 {
            for q in &mut quota {
                *q *= left as f64 / qsum;
            }
        } else {
            quota = shares.iter().map(|s| s * left as f64).collect();
        }
        // Over-cap strata are fixed at their cap and the rest re-allocated.
        let over: Vec<usize> = open
            .iter()
            .zip(&quota)
            .filter(|(i, q)| cap && take[**i] as f64 + **q > strata[**i].units as f64)
            .map(|(i, _)| *i)
            .collect();
        if !over.is_empty() {
            for i in over {
                take[i] = strata[i].units;
                fixed[i] = true;
            }
            continue;
        }
        let floors: Vec<u64> = quota.iter().map(|q| q.floor() as u64).collect();
        let mut rest = left - floors.iter().sum::<u64>().min(left);
        for (k, &i) in open.iter().enumerate() {
            take[i] += floors[k];
        }
        let mut order: Vec<usize> = (0..open.len()).collect();
        order.sort_by(|&a, &b| {
            (quota[b] - quota[b].floor())
                .total_cmp(&(quota[a] - quota[a].floor()))
                .then(a.cmp(&b))
        });
        for k in order {
            if rest == 0 {
                break;
            }
            let i = open[k];
            if !cap || take[i] < strata[i].units {
                take[i] += 1;
                rest -= 1;
            }
        }
        if rest == 0 {
            break;
        }
    }
    Ok(take)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strata(units: &[u64]) -> Vec<StratumShare> {
        units
            .iter()
            .enumerate()
            .map(|(i, &u)| StratumShare {
                name: format!("s{i}"),
                units: u,
                share: u as f64,
            })
            .collect()
    }

    #[test]
    fn largest_remainder_table() {
        let cases: [(u64, &[u64], &[u64]); 5] = [
            (10, &[50, 30, 20], &[5, 3, 2]),
            (10, &[45, 35, 20], &[5, 3, 2]), // quotas 4.5, 3.5, 2.0: remainders tie, first wins
            (7, &[1, 1, 1], &[1, 1, 1]),     // capped
            (3, &[1000, 1, 1], &[1, 1, 1]),  // every stratum at least one
            (100, &[10, 500, 490], &[1, 50, 49]),
        ];
        for (n, units, want) in cases {
            if n > units.iter().sum::<u64>() {
                assert!(allocate(n, &strata(units), true, 1).is_err());
                continue;
            }
            let got = allocate(n, &strata(units), true, 1).unwrap();
            assert_eq!(got, want, "n={n} units={units:?}");
            assert_eq!(got.iter().sum::<u64>(), n);
        }
    }

    #[test]
    fn a_capped_stratum_gives_its_excess_to_the_others() {
        let equal: Vec<StratumShare> = [5u64, 100, 100]
            .iter()
            .map(|&u| StratumShare {
                name: String::new(),
                units: u,
                share: 1.0,
            })
            .collect();
        assert_eq!(allocate(30, &equal, true, 1).unwrap(), [5, 13, 12]);
    }

    #[test]
    fn parses_allocations() {
        assert_eq!(
            Allocation::parse("neyman:income"),
            Ok(Allocation::Neyman("income".into()))
        );
        assert_eq!(Allocation::parse("Equal"), Ok(Allocation::Equal));
        assert!(Allocation::parse("neyman:").is_err());
    }
}
