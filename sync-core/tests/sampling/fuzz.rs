//! The frame reader, the draw and the record reader never panic, whatever CSV or JSON they get.

use proptest::prelude::*;
use sync_core::sampling::{
    Allocation, Design, Frame, FrameColumns, Method, SampleSize, SelectionRecord, draw,
};
use sync_core::table::Table;

fn exercise(bytes: &[u8], columns: &FrameColumns, n: u64, method: Method) {
    let Ok(table) = Table::parse(bytes) else {
        return;
    };
    let Ok(frame) = Frame::from_table(&table, columns) else {
        return;
    };
    let design = Design {
        method,
        size: SampleSize::Total(n),
        allocation: Allocation::Proportional,
        certainty: true,
        reserve: None,
        min_per_stratum: 1,
    };
    if let Ok(d) = draw(&frame, &design, 1, "") {
        let selected = d.units.iter().filter(|u| u.selected).count() as u64;
        if !method.with_replacement() {
            assert!(selected <= n);
        }
        assert!(
            d.units
                .iter()
                .all(|u| u.prob.is_finite() && (0.0..=1.0 + 1e-12).contains(&u.prob))
        );
    }
}

fn csvish() -> impl Strategy<Value = String> {
    let cell = prop_oneof![
        Just(String::new()),
        "[a-z0-9]{1,3}",
        (-5i32..1000).prop_map(|n| n.to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("\"q,\"".to_string()),
    ];
    let row = prop_oneof![
        9 => proptest::collection::vec(cell.clone(), 3..=3),
        1 => proptest::collection::vec(cell, 1..5),
    ]
    .prop_map(|c| c.join(","));
    proptest::collection::vec(row, 0..12)
        .prop_map(|rows| format!("id,size,stratum\n{}", rows.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let cols = FrameColumns { id: "id".into(), size: Some("size".into()), stratum: Some("stratum".into()), ..FrameColumns::default() };
        exercise(&bytes, &cols, 2, Method::PpsSystematic);
        let _ = serde_json::from_slice::<SelectionRecord>(&bytes);
    }

    #[test]
    fn arbitrary_csv_tables_never_panic(csv in csvish(), n in 0u64..6, m in 0usize..4) {
        prop_assume!(!csv.is_empty());
        let method = [Method::Srs, Method::Systematic, Method::PpsSystematic, Method::PpsWr][m];
        let cols = FrameColumns { id: "id".into(), size: Some("size".into()), stratum: Some("stratum".into()), ..FrameColumns::default() };
        exercise(csv.as_bytes(), &cols, n, method);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Well-formed frames with awkward sizes (tiny, huge, equal) and strata: every draw that
    /// succeeds has probabilities in [0, 1] and never more selections than asked.
    #[test]
    fn well_formed_frames_draw_sanely(
        sizes in proptest::collection::vec(prop_oneof![Just(1e-9), Just(1.0), Just(3.5), Just(1e12), Just(1e300), 1.0..1000.0f64], 1..40),
        strata in proptest::collection::vec(0u8..3, 40),
        n in 1u64..10,
        m in 0usize..4,
    ) {
        let mut csv = String::from("id,size,stratum\n");
        for (i, size) in sizes.iter().enumerate() {
            csv.push_str(&format!("u{i},{size},s{}\n", strata[i]));
        }
        let method = [Method::Srs, Method::Systematic, Method::PpsSystematic, Method::PpsWr][m];
        let cols = FrameColumns { id: "id".into(), size: Some("size".into()), stratum: Some("stratum".into()), ..FrameColumns::default() };
        exercise(csv.as_bytes(), &cols, n, method);
    }
}
