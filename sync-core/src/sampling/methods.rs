//! The selection methods, each a pure function of the units' sizes, the sample size and a random
//! stream. They return, per unit, the number of hits and the exact inclusion probability.
//!
//! - **Simple random sampling without replacement**: a partial Fisher–Yates shuffle of the unit
//!   indices (`j + below(N − j)` for j = 0..n); π = n/N.
//! - **Systematic** with a *fractional* interval: I = N/n, r = I·u with u uniform in (0, 1], units
//!   at positions ⌈r + jI⌉ (1-based) for j = 0..n; π = n/N exactly for every unit — never the
//!   integer-interval shortcut, which gives some units probability 1/⌊N/n⌋ and others 0.
//! - **PPS systematic** on cumulated sizes: certainty units (n·Mᵢ/T ≥ 1) are taken with π = 1 and
//!   removed, and the test is repeated on the rest with n and T reduced until no unit qualifies;
//!   then I = T′/n′, r = I·u, and a unit is hit when a point r + jI falls in its cumulated interval.
//!   π = n′·Mᵢ/T′.
//! - **PPS with replacement**: n independent draws with probability Mᵢ/T (a point u·T located in
//!   the cumulated sizes); a unit can be hit more than once. π (at least one hit) = 1 − (1 − pᵢ)ⁿ;
//!   the Hansen–Hurwitz weight per hit is 1/(n·pᵢ).

use super::SamplingError;
use crate::random::Stream;

/// The result for one stratum: per unit (in the order given), hits, inclusion probability and
/// whether it was a certainty selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub hits: Vec<u32>,
    pub prob: Vec<f64>,
    /// The base weight of a hit, computed directly (N/n, T/(n·M)) rather than as 1/prob, so that
    /// 23/5 is written 4.6 and not 4.6000000000000005.
    pub weight: Vec<f64>,
    pub certainty: Vec<bool>,
}

impl Selection {
    fn empty(n: usize) -> Self {
        Self {
            hits: vec![0; n],
            prob: vec![0.0; n],
            weight: vec![0.0; n],
            certainty: vec![false; n],
        }
    }

    /// Indices of the units hit at least once, in order.
    pub fn selected(&self) -> Vec<usize> {
        (0..self.hits.len()).filter(|&i| self.hits[i] > 0).collect()
    }
}

fn check_wor(stratum: &str, units: usize, n: u64) -> Result<(), SamplingError> {
    if n as usize > units {
        return Err(SamplingError::SampleLargerThanFrame {
            stratum: stratum.to_string(),
            n,
            units: units as u64,
        });
    }
    Ok(())
}

/// Simple random sampling without replacement.
pub fn srs(
    stratum: &str,
    units: usize,
    n: u64,
    stream: &mut Stream,
) -> Result<Selection, SamplingError> {
    check_wor(stratum, units, n)?;
    let mut s = Selection::empty(units);
    if units == 0 {
        return Ok(s);
    }
    s.prob.fill(n as f64 / units as f64);
    s.weight.fill(units as f64 / n.max(1) as f64);
    let mut idx: Vec<usize> = (0..units).collect();
    for j in 0..n as usize {
        let k = j + stream.below((units - j) as u64) as usize;
        idx.swap(j, k);
        s.hits[idx[j]] = 1;
    }
    Ok(s)
}

/// Systematic sampling with a fractional interval over units in the given order.
pub fn systematic(
    stratum: &str,
    units: usize,
    n: u64,
    stream: &mut Stream,
) -> Result<Selection, SamplingError> {
    check_wor(stratum, units, n)?;
    let mut s = Selection::empty(units);
    if n == 0 || units == 0 {
        return Ok(s);
    }
    let big_n = units as f64;
    let nf = n as f64;
    s.prob.fill(nf / big_n);
    s.weight.fill(big_n / nf);
    let u = stream.uniform_open_closed();
    for j in 0..n {
        // ⌈r + jI⌉ with r = I·u, I = N/n, computed as ⌈N(u + j)/n⌉.
        let pos = (big_n * (u + j as f64) / nf).ceil() as usize;
        let k = pos.clamp(1, units) - 1;
        s.hits[k] += 1;
    }
    Ok(s)
}

/// PPS systematic over the sizes in the given order. With `certainty`, large units are taken
/// with probability 1 (iteratively); without it, a unit with n·M/T > 1 is an error.
pub fn pps_systematic(
    stratum: &str,
    ids: &[&str],
    sizes: &[f64],
    n: u64,
    certainty: bool,
    stream: &mut Stream,
) -> Result<Selection, SamplingError> {
    let units = sizes.len();
    check_wor(stratum, units, n)?;
    let mut s = Selection::empty(units);
    if n == 0 || units == 0 {
        return Ok(s);
    }
    let mut is_cert = vec![false; units];
    let mut n_rest = n;
    if certainty {
        loop {
            let certain = is_cert.iter().filter(|&&c| c).count() as u64;
            if certain >= n {
                break;
            }
            let rest = n - certain;
            let total: f64 = (0..units).filter(|&i| !is_cert[i]).map(|i| sizes[i]).sum();
            if total <= 0.0 {
                break;
            }
            let mut found = false;
            for i in 0..units {
                if !is_cert[i] && rest as f64 * sizes[i] >= total {
                    is_cert[i] = true;
                    found = true;
                }
            }
            if !found {
                break;
            }
        }
        let certain = is_cert.iter().filter(|&&c| c).count() as u64;
        if certain > n {
            // More units qualify than the sample holds: the design cannot take them all.
            return Err(SamplingError::TooManyCertainties {
                stratum: stratum.to_string(),
                n,
                certainties: certain,
            });
        }
        n_rest = n - certain;
    } else {
        let total: f64 = sizes.iter().sum();
        let over: Vec<String> = (0..units)
            .filter(|&i| n as f64 * sizes[i] > total * (1.0 + 1e-12))
            .take(5)
            .map(|i| format!("{} (n·M/T = {:.3})", ids[i], n as f64 * sizes[i] / total))
            .collect();
        if !over.is_empty() {
            return Err(SamplingError::OversizedUnits {
                stratum: stratum.to_string(),
                units: over,
            });
        }
    }
    for (i, _) in is_cert.iter().enumerate().filter(|(_, c)| **c) {
        {
            s.hits[i] = 1;
            s.prob[i] = 1.0;
            s.weight[i] = 1.0;
            s.certainty[i] = true;
        }
    }
    let total: f64 = (0..units).filter(|&i| !is_cert[i]).map(|i| sizes[i]).sum();
    if n_rest == 0 || total <= 0.0 {
        return Ok(s);
    }
    let nr = n_rest as f64;
    let interval = total / nr;
    let u = stream.uniform_open_closed();
    // Points r + jI, r = I·u; walk the cumulated sizes once.
    let mut j = 0u64;
    let mut point = interval * u;
    let mut cum = 0.0;
    let mut last_rest = None;
    for i in 0..units {
        if is_cert[i] {
            continue;
        }
        last_rest = Some(i);
        let p = nr * sizes[i] / total;
        s.prob[i] = p.min(1.0);
        s.weight[i] = total / (nr * sizes[i]);
        cum += sizes[i];
        while j < n_rest && point <= cum {
            s.hits[i] += 1;
            j += 1;
            point = interval * (u + j as f64);
        }
    }
    // Rounding can leave the last point a hair above the cumulated total: it belongs to the last unit.
    if let Some(i) = last_rest {
        while j < n_rest {
            s.hits[i] += 1;
            j += 1;
        }
    }
    Ok(s)
}

/// PPS with replacement: n independent draws proportional to size.
pub fn pps_wr(sizes: &[f64], n: u64, stream: &mut Stream) -> Selection {
    let units = sizes.len();
    let mut s = Selection::empty(units);
    if units == 0 || n == 0 {
        return s;
    }
    let mut cum = Vec::with_capacity(units);
    let mut total = 0.0;
    for &m in sizes {
        total += m;
        cum.push(total);
    }
    for (i, &m) in sizes.iter().enumerate() {
        let p = m / total;
        s.prob[i] = 1.0 - (1.0 - p).powf(n as f64);
        s.weight[i] = total / (n as f64 * m);
    }
    for _ in 0..n {
        let x = stream.uniform_open_closed() * total;
        let i = cum.partition_point(|&c| c < x).min(units - 1);
        s.hits[i] += 1;
    }
    s
}
