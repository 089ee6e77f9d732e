//! Single-stage draws: exact probabilities on worked examples, Monte Carlo agreement between
//! selection frequencies and stated probabilities for every method, reserve replicates, records.

use sync_core::random::Stream;
use sync_core::sampling::methods::{pps_systematic, pps_wr, srs, systematic};
use sync_core::sampling::seed::stream;
use sync_core::sampling::{
    Allocation, Design, Frame, FrameColumns, Method, Reserve, SampleSize, SamplingError, draw,
    release, verify,
};
use sync_core::table::Table;

fn frame_of(csv: &str, columns: FrameColumns) -> Frame {
    Frame::from_table(&Table::parse(csv.as_bytes()).unwrap(), &columns).unwrap()
}

fn units(n: usize, size: impl Fn(usize) -> f64, stratum: impl Fn(usize) -> &'static str) -> String {
    let mut s = String::from("id,size,stratum,order\n");
    for i in 0..n {
        s.push_str(&format!("u{i},{},{},{}\n", size(i), stratum(i), n - i));
    }
    s
}

fn columns(size: bool, stratum: bool) -> FrameColumns {
    FrameColumns {
        id: "id".into(),
        size: size.then(|| "size".into()),
        stratum: stratum.then(|| "stratum".into()),
        ..FrameColumns::default()
    }
}

fn design(method: Method, size: SampleSize) -> Design {
    Design {
        method,
        size,
        allocation: Allocation::Proportional,
        certainty: false,
        reserve: None,
        min_per_stratum: 1,
    }
}

// ---- worked examples -------------------------------------------------------------------------

#[test]
fn systematic_23_choose_5_gives_every_unit_five_23rds() {
    let mut s = Stream::new(7);
    let sel = systematic("", 23, 5, &mut s).unwrap();
    assert!(sel.prob.iter().all(|&p| p == 5.0 / 23.0));
    assert_eq!(sel.hits.iter().sum::<u32>(), 5);
    // Positions are ⌈r + jI⌉ with I = 4.6: consecutive picks are 4 or 5 apart, never 4.6 rounded once.
    let picked = sel.selected();
    for w in picked.windows(2) {
        assert!(matches!(w[1] - w[0], 4 | 5), "{picked:?}");
    }
}

#[test]
fn systematic_positions_follow_the_fractional_interval() {
    // With u the stream's first uniform in (0, 1], r = 4.6u and the picks are ⌈r + 4.6j⌉.
    let u = stream(99, "draw", "").uniform_open_closed();
    let want: Vec<usize> = (0..5)
        .map(|j| (23.0 * (u + j as f64) / 5.0).ceil() as usize - 1)
        .collect();
    let sel = systematic("", 23, 5, &mut stream(99, "draw", "")).unwrap();
    assert_eq!(sel.selected(), want);
}

#[test]
fn pps_certainty_selection_iterates_until_stable() {
    // T = 100, n = 3: 3·50/100 ≥ 1 → certain; then T = 50, n = 2: 2·30/50 ≥ 1 → certain;
    // then T = 20, n = 1: the rest get π = M/20.
    let sizes = [50.0, 30.0, 10.0, 5.0, 3.0, 2.0];
    let ids = ["a", "b", "c", "d", "e", "f"];
    let sel = pps_systematic("", &ids, &sizes, 3, true, &mut Stream::new(1)).unwrap();
    assert_eq!(sel.prob, [1.0, 1.0, 0.5, 0.25, 0.15, 0.1]);
    assert_eq!(sel.certainty, [true, true, false, false, false, false]);
    assert_eq!(sel.hits.iter().sum::<u32>(), 3);
    assert_eq!(&sel.hits[..2], [1, 1]);
    let err = pps_systematic("", &ids, &sizes, 3, false, &mut Stream::new(1)).unwrap_err();
    assert_eq!(err.code(), "oversized_units");
    assert!(err.to_string().contains("a (n·M/T = 1.500)"), "{err}");
}

#[test]
fn pps_systematic_probabilities_are_n_m_over_t() {
    let sizes: Vec<f64> = (1..=20).map(f64::from).collect();
    let ids: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let sel = pps_systematic("", &ids, &sizes, 4, false, &mut Stream::new(3)).unwrap();
    for (i, p) in sel.prob.iter().enumerate() {
        assert!((p - 4.0 * (i + 1) as f64 / 210.0).abs() < 1e-15);
    }
}

#[test]
fn pps_with_replacement_counts_hits() {
    let sel = pps_wr(&[1.0, 1.0, 98.0], 50, &mut Stream::new(5));
    assert_eq!(sel.hits.iter().sum::<u32>(), 50);
    assert!(sel.hits[2] > 40, "{:?}", sel.hits);
    assert!((sel.prob[0] - (1.0 - 0.99f64.powi(50))).abs() < 1e-12);
    assert!((sel.weight[2] - 100.0 / (50.0 * 98.0)).abs() < 1e-15);
}

#[test]
fn a_sample_larger_than_its_frame_is_refused() {
    assert_eq!(
        srs("s", 3, 4, &mut Stream::new(1)).unwrap_err().code(),
        "sample_larger_than_frame"
    );
    assert_eq!(
        systematic("s", 3, 4, &mut Stream::new(1))
            .unwrap_err()
            .code(),
        "sample_larger_than_frame"
    );
    let f = frame_of(&units(5, |_| 1.0, |_| ""), columns(false, false));
    let e = draw(&f, &design(Method::Srs, SampleSize::Total(6)), 1, "").unwrap_err();
    assert_eq!(e.code(), "sample_larger_than_frame");
}

// ---- Monte Carlo: empirical frequencies match stated probabilities ---------------------------

/// Runs `reps` draws and checks every unit's selection frequency against its stated probability
/// within 4.5 binomial standard errors (certainty units: always).
fn monte_carlo(name: &str, reps: u32, expected: &[f64], one: impl FnMut(&mut Stream) -> Vec<u32>) {
    monte_carlo_var(name, reps, expected, |e| e * (1.0 - e), one);
}

/// The same for expected hits, with the variance of one unit's hits per draw given by `var`.
fn monte_carlo_var(
    name: &str,
    reps: u32,
    expected: &[f64],
    var: impl Fn(f64) -> f64,
    mut one: impl FnMut(&mut Stream) -> Vec<u32>,
) {
    let mut counts = vec![0u64; expected.len()];
    for r in 0..reps {
        let mut s = stream(2026, name, &r.to_string());
        for (c, h) in counts.iter_mut().zip(one(&mut s)) {
            *c += u64::from(h);
        }
    }
    for (i, (&c, &e)) in counts.iter().zip(expected).enumerate() {
        let freq = c as f64 / f64::from(reps);
        let se = (var(e) / f64::from(reps)).sqrt();
        assert!(
            (freq - e).abs() <= 4.5 * se + 1e-12,
            "{name}: unit {i}: frequency {freq:.5} against expected {e:.5} (±{:.5})",
            4.5 * se
        );
    }
}

#[test]
fn monte_carlo_srs() {
    let expected = vec![5.0 / 23.0; 23];
    monte_carlo("srs", 20_000, &expected, |s| {
        srs("", 23, 5, s).unwrap().hits
    });
}

#[test]
fn monte_carlo_systematic() {
    let expected = vec![5.0 / 23.0; 23];
    monte_carlo("systematic", 20_000, &expected, |s| {
        systematic("", 23, 5, s).unwrap().hits
    });
}

#[test]
fn monte_carlo_pps_systematic_with_certainty() {
    let sizes = [50.0, 30.0, 10.0, 5.0, 3.0, 2.0, 7.0, 1.0];
    let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let stated = pps_systematic("", &ids, &sizes, 3, true, &mut Stream::new(0))
        .unwrap()
        .prob;
    monte_carlo("pps-systematic", 20_000, &stated, |s| {
        pps_systematic("", &ids, &sizes, 3, true, s).unwrap().hits
    });
}

#[test]
fn monte_carlo_pps_with_replacement_expected_hits() {
    let sizes = [1.0, 2.0, 3.0, 4.0, 10.0];
    let expected: Vec<f64> = sizes.iter().map(|m| 4.0 * m / 20.0).collect();
    // Hits of a unit in 4 draws are binomial(4, p): variance 4p(1 − p) = e(1 − e/4).
    monte_carlo_var(
        "pps-wr",
        20_000,
        &expected,
        |e| e * (1.0 - e / 4.0),
        |s| pps_wr(&sizes, 4, s).hits,
    );
}

#[test]
fn monte_carlo_stratified_allocated_draw_through_the_public_api() {
    let csv = units(
        30,
        |i| (i % 7 + 1) as f64,
        |i| if i < 10 { "a" } else { "b" },
    );
    let f = frame_of(&csv, columns(true, true));
    for method in [Method::Srs, Method::Systematic, Method::PpsSystematic] {
        let d = design(method, SampleSize::Total(8));
        let stated: Vec<f64> = draw(&f, &d, 0, "")
            .unwrap()
            .units
            .iter()
            .map(|u| u.prob)
            .collect();
        monte_carlo(method.as_str(), 4_000, &stated, |s| {
            draw(&f, &d, s.next_u64(), "")
                .unwrap()
                .units
                .iter()
                .map(|u| u.hits)
                .collect()
        });
    }
}

// ---- strata, allocation, implicit stratification ---------------------------------------------

#[test]
fn strata_are_allocated_and_drawn_independently() {
    let csv = units(100, |_| 1.0, |i| if i < 70 { "urban" } else { "rural" });
    let f = frame_of(&csv, columns(false, true));
    let d = draw(
        &f,
        &design(Method::Systematic, SampleSize::Total(10)),
        5,
        "",
    )
    .unwrap();
    let n: Vec<(String, u64)> = d
        .record
        .strata
        .iter()
        .map(|s| (s.name.clone(), s.n))
        .collect();
    assert_eq!(n, [("rural".to_string(), 3), ("urban".to_string(), 7)]);
    // Proportional allocation is self-weighting: 7/70 = 3/30.
    assert!(d.units.iter().all(|u| (u.prob - 0.1).abs() < 1e-15));
    // A stratum's draw depends only on its own units and the seed.
    let csv_more = format!("{csv}x1,1,suburban,0\nx2,1,suburban,0\n");
    let f2 = frame_of(&csv_more, columns(false, true));
    let d2 = draw(
        &f2,
        &design(Method::Systematic, SampleSize::PerStratum(2)),
        5,
        "",
    )
    .unwrap();
    let d1 = draw(
        &f,
        &design(Method::Systematic, SampleSize::PerStratum(2)),
        5,
        "",
    )
    .unwrap();
    let urban = |d: &sync_core::sampling::Draw| {
        d.record
            .drawn
            .iter()
            .filter(|u| u.stratum == "urban")
            .map(|u| u.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(urban(&d1), urban(&d2));
}

#[test]
fn neyman_allocation_follows_n_times_s() {
    // Stratum a: 50 units, values 0/10 alternating (S ≈ 5.05); stratum b: 50 units, values 0/2 (S ≈ 1.01).
    let mut csv = String::from("id,stratum,y\n");
    for i in 0..100 {
        let (st, y) = if i < 50 {
            ("a", if i % 2 == 0 { 0 } else { 10 })
        } else {
            ("b", if i % 2 == 0 { 0 } else { 2 })
        };
        csv.push_str(&format!("u{i},{st},{y}\n"));
    }
    let cols = FrameColumns {
        aux: Some("y".into()),
        ..columns(false, true)
    };
    let f = frame_of(&csv, cols);
    let d = Design {
        allocation: Allocation::Neyman("y".into()),
        ..design(Method::Srs, SampleSize::Total(12))
    };
    let n: Vec<u64> = draw(&f, &d, 1, "")
        .unwrap()
        .record
        .strata
        .iter()
        .map(|s| s.n)
        .collect();
    assert_eq!(n, [10, 2]);
}

#[test]
fn sort_columns_order_units_before_a_systematic_draw() {
    // `order` runs backwards: sorted by it, the last unit comes first.
    let csv = units(10, |_| 1.0, |_| "");
    let sorted = FrameColumns {
        sort: vec!["order".into()],
        ..columns(false, false)
    };
    let f = frame_of(&csv, sorted);
    let f_plain = frame_of(&csv, columns(false, false));
    let d = draw(
        &f,
        &design(Method::Systematic, SampleSize::Total(1)),
        11,
        "",
    )
    .unwrap();
    let d_plain = draw(
        &f_plain,
        &design(Method::Systematic, SampleSize::Total(1)),
        11,
        "",
    )
    .unwrap();
    let pick = |d: &sync_core::sampling::Draw| d.units.iter().position(|u| u.selected).unwrap();
    assert_eq!(pick(&d), 9 - pick(&d_plain));
}

// ---- reserve replicates ----------------------------------------------------------------------

#[test]
fn reserve_replicates_are_released_in_order_and_probabilities_follow() {
    let csv = units(200, |_| 1.0, |_| "");
    let f = frame_of(&csv, columns(false, false));
    let d = Design {
        reserve: Some(Reserve {
            units: 10,
            replicate_size: 5,
        }),
        ..design(Method::Systematic, SampleSize::Total(20))
    };
    let first = draw(&f, &d, 3, "units.csv").unwrap();
    let s = &first.record.strata[0];
    assert_eq!((s.n, s.reserve, s.replicates, s.released), (20, 10, 6, 4));
    assert_eq!(first.units.iter().filter(|u| u.selected).count(), 20);
    assert_eq!(
        first.units.iter().filter(|u| u.replicate.is_some()).count(),
        30
    );
    // 30 drawn with π = 30/200, 20 of them released: π = 20/200.
    assert!(first.units.iter().all(|u| (u.prob - 0.1).abs() < 1e-15));
    assert!(
        first
            .units
            .iter()
            .filter(|u| u.selected)
            .all(|u| u.weight == Some(10.0))
    );
    assert!(
        first
            .units
            .iter()
            .filter(|u| u.selected)
            .all(|u| u.replicate.unwrap() <= 4)
    );

    let second = release(&first.record, &f, None, "low response in week 2").unwrap();
    assert_eq!(second.units.iter().filter(|u| u.selected).count(), 25);
    assert!(
        second
            .units
            .iter()
            .all(|u| (u.prob - 25.0 / 200.0).abs() < 1e-15)
    );
    assert_eq!(second.record.releases.len(), 1);
    assert_eq!(second.record.releases[0].replicate, 5);
    // The same units stay selected: releasing only adds.
    for (a, b) in first.units.iter().zip(&second.units) {
        assert!(!a.selected || b.selected);
    }
    verify(&second.record, &f).expect("a released record verifies");
    let third = release(&second.record, &f, None, "").unwrap();
    let err = release(&third.record, &f, None, "").unwrap_err();
    assert_eq!(err.code(), "no_reserve_left");
}

#[test]
fn reserve_sizes_must_fill_whole_replicates() {
    let f = frame_of(&units(50, |_| 1.0, |_| ""), columns(false, false));
    let d = Design {
        reserve: Some(Reserve {
            units: 4,
            replicate_size: 5,
        }),
        ..design(Method::Srs, SampleSize::Total(10))
    };
    let e = draw(&f, &d, 1, "").unwrap_err();
    assert_eq!(e.code(), "bad_design");
    assert!(e.to_string().contains("multiples of 5"), "{e}");
}

// ---- reproducibility -------------------------------------------------------------------------

#[test]
fn a_record_verifies_and_a_changed_frame_or_record_does_not() {
    let csv = units(
        40,
        |i| (i % 5 + 1) as f64,
        |i| if i % 2 == 0 { "a" } else { "b" },
    );
    let f = frame_of(&csv, columns(true, true));
    let d = Design {
        certainty: true,
        ..design(Method::PpsSystematic, SampleSize::Total(6))
    };
    let drawn = draw(&f, &d, 77, "units.csv").unwrap();
    verify(&drawn.record, &f).expect("reproduces");
    let tampered = frame_of(&csv.replacen("u3,4", "u3,5", 1), columns(true, true));
    assert!(matches!(
        verify(&drawn.record, &tampered),
        Err(SamplingError::FrameMismatch { .. })
    ));
    let mut other_seed = drawn.record.clone();
    other_seed.seed = 78;
    assert_eq!(
        verify(&other_seed, &f).unwrap_err().code(),
        "selection_mismatch"
    );
    let json = serde_json::to_string(&drawn.record).unwrap();
    let back: sync_core::sampling::SelectionRecord = serde_json::from_str(&json).unwrap();
    verify(&back, &f).expect("a record read back from JSON reproduces");
}

#[test]
fn pinned_draws_do_not_drift() {
    let csv = units(
        30,
        |i| (i * 7 % 11 + 1) as f64,
        |i| if i < 12 { "a" } else { "b" },
    );
    let mut rows = Vec::new();
    for method in [
        Method::Srs,
        Method::Systematic,
        Method::PpsSystematic,
        Method::PpsWr,
    ] {
        let f = frame_of(&csv, columns(method.is_pps(), true));
        let d = Design {
            certainty: true,
            ..design(method, SampleSize::Total(6))
        };
        let out = draw(&f, &d, 20261121, "").unwrap();
        let ids: Vec<String> = out
            .record
            .drawn
            .iter()
            .map(|u| format!("{}×{}", u.id, u.hits))
            .collect();
        rows.push(format!("{}: {}", method.as_str(), ids.join(" ")));
    }
    insta::assert_snapshot!(rows.join("\n"));
}
