//! Sampling benchmark: PPS systematic over 1M units, systematic over 10M, and a three-stage draw
//! (PSUs → segments → dwellings → households) over a synthetic 1,000-area, 1M-dwelling listing.
//! Each figure is the best of 3 runs on one thread; target: each under 1 s.
//!
//! Run: `cargo bench -p sync-core --bench sampling`.

use std::time::{Duration, Instant};
use sync_core::random::Stream;
use sync_core::sampling::frame::{Frame, FrameColumns, Unit};
use sync_core::sampling::methods::{pps_systematic, systematic};
use sync_core::sampling::multistage::{
    HouseholdStage, MultiStageDesign, PsuStage, draw_multistage,
};
use sync_core::sampling::{Allocation, Design, Method, SampleSize, draw};
use sync_core::synthetic::{CityOptions, city};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("one run"))
}

fn frame(n: usize, sized: bool) -> Frame {
    let mut s = Stream::new(1);
    let units = (0..n)
        .map(|i| Unit {
            id: format!("u{i:08}"),
            stratum: String::new(),
            size: if sized {
                (s.below(500) + 1) as f64
            } else {
                1.0
            },
            sort: Vec::new(),
            sort_text: Vec::new(),
            aux: None,
        })
        .collect();
    let f = Frame::new(
        units,
        FrameColumns {
            id: "id".into(),
            size: sized.then(|| "size".into()),
            ..FrameColumns::default()
        },
    );
    // Freezing a frame computes its hash once; draws reuse it.
    let t = Instant::now();
    f.hash();
    f.strata();
    println!(
        "frame of {n} units frozen (SHA-256 content hash, strata) in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    f
}

fn report(name: &str, t: Duration) {
    let ms = t.as_secs_f64() * 1e3;
    println!(
        "{name:<58} {ms:>9.1} ms  (target < 1000 ms: {})",
        if ms < 1000.0 { "met" } else { "NOT met" }
    );
}

fn main() {
    // PPS systematic over 1M units.
    let f1 = frame(1_000_000, true);
    let ids: Vec<&str> = f1.units().iter().map(|u| u.id.as_str()).collect();
    let sizes: Vec<f64> = f1.units().iter().map(|u| u.size).collect();
    let (t, sel) = best_of(3, || {
        pps_systematic("", &ids, &sizes, 2_000, true, &mut Stream::new(7)).expect("draws")
    });
    report("PPS systematic, 1M units, n=2,000 (selection only)", t);
    assert_eq!(sel.hits.iter().sum::<u32>(), 2_000);
    let d = Design {
        method: Method::PpsSystematic,
        size: SampleSize::Total(2_000),
        allocation: Allocation::Proportional,
        certainty: true,
        reserve: None,
        min_per_stratum: 1,
    };
    let (t_full, _) = best_of(3, || draw(&f1, &d, 7, "").expect("draws"));
    report(
        "PPS systematic, 1M units, full draw (all units, record)",
        t_full,
    );

    // Systematic over 10M units.
    let f10 = frame(10_000_000, false);
    let (t, sel) = best_of(3, || {
        systematic("", 10_000_000, 10_000, &mut Stream::new(7)).expect("draws")
    });
    report("systematic, 10M units, n=10,000 (selection only)", t);
    assert_eq!(sel.hits.iter().sum::<u32>(), 10_000);
    let d = Design {
        method: Method::Systematic,
        size: SampleSize::Total(10_000),
        ..d
    };
    let (t_full10, _) = best_of(3, || draw(&f10, &d, 7, "").expect("draws"));
    report(
        "systematic, 10M units, full draw (all units, record)",
        t_full10,
    );
    drop(f10);

    // Three stages over a synthetic city.
    let listing = city(&CityOptions {
        segments: 4,
        ..CityOptions::benchmark()
    });
    let design = MultiStageDesign {
        psu: PsuStage::Draw {
            size: SampleSize::Total(100),
            allocation: Allocation::Proportional,
            certainty: true,
        },
        segment: true,
        take: 20,
        reserve: None,
        include_vacant: true,
        household: HouseholdStage::One,
    };
    let (t, out) = best_of(3, || draw_multistage(&listing, &design, 7).expect("draws"));
    report(
        "three-stage: 100 PSUs of 1,000 → 1 segment → 20 dwellings",
        t,
    );
    println!(
        "  ({} areas, {} dwellings; {} PSUs, {} households selected)",
        listing.areas.len(),
        listing.dwellings.len(),
        out.psus.len(),
        out.households.len()
    );
}
