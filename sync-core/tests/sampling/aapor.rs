//! AAPOR Standard Definitions for in-person household surveys: the final disposition codes, their
//! rate categories, the final code of a visit history, every outcome rate, and counting a CSV
//! table of cases.

use proptest::prelude::*;
use sync_core::aapor::{
    Category, Counts, Disposition, EMethod, MAX_ERRORS, RATE_NAMES, Rates, RatesOptions,
    RatesReport, TableErrors, final_disposition, rates, rates_from_table,
};
use sync_core::table::{Table, TableErrorCode};

/// The AAPOR in-person table as the Standard Definitions print it: code, category, label.
const TABLE: [(&str, Category, &str); 38] = [
    ("1.1", Category::I, "Complete"),
    ("1.2", Category::P, "Partial"),
    ("2.10", Category::R, "Refusal and break-off"),
    ("2.11", Category::R, "Refusal"),
    ("2.111", Category::R, "Household-level refusal"),
    ("2.112", Category::R, "Known-respondent refusal"),
    ("2.12", Category::R, "Break-off"),
    ("2.20", Category::NC, "Non-contact"),
    (
        "2.23",
        Category::NC,
        "Unable to enter building/reach housing unit",
    ),
    ("2.24", Category::NC, "No one at residence"),
    ("2.25", Category::NC, "Respondent away/unavailable"),
    ("2.30", Category::O, "Other"),
    ("2.31", Category::O, "Dead"),
    (
        "2.32",
        Category::O,
        "Physically or mentally unable/incompetent",
    ),
    ("2.33", Category::O, "Language"),
    ("2.331", Category::O, "Household-level language problem"),
    ("2.332", Category::O, "Respondent language problem"),
    (
        "2.333",
        Category::O,
        "No interviewer available for needed language",
    ),
    ("2.36", Category::O, "Miscellaneous"),
    ("3.10", Category::UH, "Unknown if housing unit"),
    ("3.11", Category::UH, "Not attempted or worked"),
    ("3.17", Category::UH, "Unable to reach/unsafe area"),
    ("3.18", Category::UH, "Unable to locate address"),
    (
        "3.20",
        Category::UO,
        "Housing unit, unknown if eligible respondent",
    ),
    ("3.21", Category::UO, "No screener completed"),
    ("3.90", Category::UO, "Other"),
    ("4.10", Category::NE, "Out of sample"),
    ("4.50", Category::NE, "Not a housing unit"),
    (
        "4.51",
        Category::NE,
        "Business, government office, other organization",
    ),
    ("4.52", Category::NE, "Institution"),
    ("4.53", Category::NE, "Group quarters"),
    ("4.60", Category::NE, "Vacant housing unit"),
    ("4.61", Category::NE, "Regular, vacant residences"),
    (
        "4.62",
        Category::NE,
        "Seasonal/vacation/temporary residence",
    ),
    ("4.63", Category::NE, "Other"),
    ("4.70", Category::NE, "No eligible respondent"),
    ("4.80", Category::NE, "Quota filled"),
    ("4.90", Category::NE, "Other"),
];

fn d(code: &str) -> Disposition {
    code.parse()
        .unwrap_or_else(|e| panic!("{code} should parse: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Codes

#[test]
fn every_code_of_the_in_person_table_parses_displays_and_has_its_category() {
    for (code, category, label) in TABLE {
        let disposition = d(code);
        assert_eq!(disposition.to_string(), code);
        assert_eq!(disposition.category(), category, "{code}");
        assert_eq!(disposition.label(), label, "{code}");
        assert!(!disposition.label_zh().is_empty(), "{code}");
    }
    assert_eq!(
        Disposition::ALL.len(),
        TABLE.len(),
        "no code beyond the table"
    );
    let codes: Vec<String> = Disposition::ALL.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        codes,
        TABLE.map(|(c, _, _)| c),
        "ALL lists the table in its order"
    );
}

#[test]
fn chinese_labels_are_the_words_field_teams_use() {
    for (code, zh) in [
        ("1.1", "完成访问"),
        ("1.2", "部分完成"),
        ("2.11", "拒访"),
        ("2.20", "未接触"),
        ("2.24", "家中无人"),
        ("4.61", "空房空户"),
    ] {
        assert_eq!(d(code).label_zh(), zh, "{code}");
    }
}

#[test]
fn spreadsheet_forms_of_codes_are_accepted() {
    // Spreadsheets store codes as numbers and drop trailing zeros; cells carry stray spaces.
    let aliases = [
        ("2.1", "2.10"),
        ("2.2", "2.20"),
        ("2.3", "2.30"),
        ("3.1", "3.10"),
        ("3.2", "3.20"),
        ("3.9", "3.90"),
        ("4.1", "4.10"),
        ("4.5", "4.50"),
        ("4.6", "4.60"),
        ("4.7", "4.70"),
        ("4.8", "4.80"),
        ("4.9", "4.90"),
        (" 1.1 ", "1.1"),
        ("\t2.111\r\n", "2.111"),
        ("\u{3000}4.61", "4.61"),
    ];
    for (text, canonical) in aliases {
        assert_eq!(d(text).to_string(), canonical, "{text:?}");
    }
}

#[test]
fn whole_categories_are_refused_with_their_codes() {
    for (text, first, last, not) in [
        ("1", "1.1", "1.2", "2.10"),
        ("2", "2.10", "2.36", "3.10"),
        ("3", "3.10", "3.90", "2.36"),
        ("4", "4.10", "4.90", "3.90"),
        (" 2.0 ", "2.10", "2.36", "1.1"),
        ("4.00", "4.10", "4.90", "1.1"),
    ] {
        let e = text.parse::<Disposition>().unwrap_err();
        assert_eq!(e.code(), "whole_category_disposition", "{text:?}");
        let message = e.to_string();
        assert!(
            message.contains(first) && message.contains(last) && !message.contains(not),
            "{text:?}: {message}"
        );
    }
    assert_eq!(
        "2".parse::<Disposition>().unwrap_err().to_string(),
        "\"2\" is the whole category \"eligible, non-interview\", not a final disposition; use one \
         of its codes: 2.10, 2.11, 2.111, 2.112, 2.12, 2.20, 2.23, 2.24, 2.25, 2.30, 2.31, 2.32, \
         2.33, 2.331, 2.332, 2.333, 2.36"
    );
}

#[test]
fn anything_else_is_refused() {
    for (text, code) in [
        ("", "empty_disposition"),
        ("   ", "empty_disposition"),
        ("5.1", "unknown_disposition"),
        ("0", "unknown_disposition"),
        ("1.3", "unknown_disposition"),
        ("1.10", "unknown_disposition"),
        ("2.13", "unknown_disposition"),
        ("2.100", "unknown_disposition"),
        ("2.3331", "unknown_disposition"),
        ("4.64", "unknown_disposition"),
        ("2,11", "unknown_disposition"),
        ("1.1 Complete", "unknown_disposition"),
        ("complete", "unknown_disposition"),
        ("完成访问", "unknown_disposition"),
        ("-1.1", "unknown_disposition"),
    ] {
        let e = text.parse::<Disposition>().unwrap_err();
        assert_eq!(e.code(), code, "{text:?}: {e}");
    }
    assert!(
        "5.1"
            .parse::<Disposition>()
            .unwrap_err()
            .to_string()
            .starts_with("unknown disposition code \"5.1\"")
    );
}

#[test]
fn codes_serialize_as_their_canonical_text() {
    let v = serde_json::to_value([d("2.1"), d("4.61")]).unwrap();
    assert_eq!(v, serde_json::json!(["2.10", "4.61"]));
    let back: Vec<Disposition> = serde_json::from_value(serde_json::json!(["2.1", "1.1"])).unwrap();
    assert_eq!(back, [d("2.10"), d("1.1")]);
    assert!(serde_json::from_value::<Disposition>(serde_json::json!("9.9")).is_err());
}

// ---------------------------------------------------------------------------------------------
// Visit histories

#[test]
fn the_final_code_of_a_visit_history_follows_the_priority_rule() {
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (&[], None, "no visit, no final code"),
        (&["3.90"], Some("3.90"), "one visit is final"),
        (
            &["2.24", "2.24", "1.1"],
            Some("1.1"),
            "a complete after non-contacts",
        ),
        (
            &["1.1", "2.11"],
            Some("1.1"),
            "a complete stands against a later refusal",
        ),
        (&["1.2", "1.1"], Some("1.1"), "complete beats partial"),
        (&["1.1", "1.2"], Some("1.1"), "whatever the order"),
        (&["2.11", "1.2"], Some("1.2"), "partial beats refusal"),
        (&["1.2", "4.61"], Some("1.2"), "partial beats ineligible"),
        (
            &["2.11", "4.61"],
            Some("4.61"),
            "established ineligibility beats refusal",
        ),
        (&["4.61", "2.111"], Some("4.61"), "whatever the order"),
        (
            &["2.24", "2.111"],
            Some("2.111"),
            "refusal beats non-contact",
        ),
        (&["2.111", "2.24"], Some("2.111"), "whatever the order"),
        (
            &["2.33", "2.12"],
            Some("2.12"),
            "break-off beats other non-interview",
        ),
        (
            &["2.24", "2.331"],
            Some("2.331"),
            "other non-interview beats non-contact",
        ),
        (&["2.32", "2.25"], Some("2.32"), "whatever the order"),
        (
            &["3.18", "2.24"],
            Some("2.24"),
            "non-contact beats unknown eligibility",
        ),
        (&["2.24", "3.21"], Some("2.24"), "whatever the order"),
        (
            &["3.11", "3.21"],
            Some("3.21"),
            "unknown respondent beats unknown housing unit",
        ),
        (&["3.90", "3.17"], Some("3.90"), "whatever the order"),
        (
            &["2.24", "2.25", "2.23"],
            Some("2.23"),
            "within a group, the latest visit",
        ),
        (
            &["2.11", "2.12", "2.10"],
            Some("2.10"),
            "within a group, the latest visit",
        ),
        (
            &["4.61", "4.51"],
            Some("4.51"),
            "within a group, the latest visit",
        ),
        (
            &["3.20", "3.90"],
            Some("3.90"),
            "3.2x and 3.9x are one group",
        ),
        (
            &["3.18", "2.111", "2.24", "4.53", "1.2", "2.25"],
            Some("1.2"),
            "a long history",
        ),
    ];
    for (visits, expected, why) in cases {
        let visits: Vec<Disposition> = visits.iter().map(|c| d(c)).collect();
        let got = final_disposition(&visits).map(|d| d.to_string());
        assert_eq!(got.as_deref(), *expected, "{visits:?}: {why}");
    }
}

// ---------------------------------------------------------------------------------------------
// Rates

/// Counts in the order I, P, R, NC, O, UH, UO, NE.
fn counts([i, p, r, nc, o, uh, uo, ne]: [f64; 8]) -> Counts {
    Counts {
        i,
        p,
        r,
        nc,
        o,
        uh,
        uo,
        ne,
    }
}

/// I=400, P=50, R=150, NC=100, O=20, UH=60, UO=40, NE=180.
/// I+P = 450; R+NC+O = 270; UH+UO = 100; I+P+R+O = 620; I+P+R = 600.
fn example() -> Counts {
    counts([400.0, 50.0, 150.0, 100.0, 20.0, 60.0, 40.0, 180.0])
}

fn assert_rates(got: &Rates, expected: &[(&str, Option<f64>)]) {
    let named = got.named();
    assert_eq!(expected.len(), RATE_NAMES.len(), "every rate is specified");
    for (name, want) in expected {
        let (_, value) = named
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no rate {name}"));
        match (value, want) {
            (Some(v), Some(w)) => assert!((v - w).abs() < 1e-12, "{name}: got {v}, want {w}"),
            (v, w) => assert_eq!(v, w, "{name}"),
        }
    }
}

#[test]
fn rates_with_e_estimated_proportionally() {
    // e = (I+P+R+NC+O) / (I+P+R+NC+O+NE) = 720 / 900 = 0.8, so e(UH+UO) = 80.
    let r = rates(&example(), EMethod::PROPORTIONAL);
    assert_eq!(r.e, Some(0.8));
    assert_eq!(r.e_method.as_str(), "proportional");
    assert_rates(
        &r,
        &[
            ("RR1", Some(400.0 / 820.0)),
            ("RR2", Some(450.0 / 820.0)),
            ("RR3", Some(400.0 / 800.0)),
            ("RR4", Some(450.0 / 800.0)),
            ("RR5", Some(400.0 / 720.0)),
            ("RR6", Some(450.0 / 720.0)),
            ("COOP1", Some(400.0 / 620.0)),
            ("COOP2", Some(450.0 / 620.0)),
            ("COOP3", Some(400.0 / 600.0)),
            ("COOP4", Some(450.0 / 600.0)),
            ("REF1", Some(150.0 / 820.0)),
            ("REF2", Some(150.0 / 800.0)),
            ("REF3", Some(150.0 / 720.0)),
            ("CON1", Some(620.0 / 820.0)),
            ("CON2", Some(620.0 / 800.0)),
            ("CON3", Some(620.0 / 720.0)),
        ],
    );
}

#[test]
fn rates_with_e_given() {
    // e = 0.25, so e(UH+UO) = 25 and the e-denominator is 720 + 25 = 745; the rest is unchanged.
    let r = rates(&example(), EMethod::given(0.25).unwrap());
    assert_eq!(r.e, Some(0.25));
    assert_eq!(r.e_method.as_str(), "given");
    assert_rates(
        &r,
        &[
            ("RR1", Some(400.0 / 820.0)),
            ("RR2", Some(450.0 / 820.0)),
            ("RR3", Some(400.0 / 745.0)),
            ("RR4", Some(450.0 / 745.0)),
            ("RR5", Some(400.0 / 720.0)),
            ("RR6", Some(450.0 / 720.0)),
            ("COOP1", Some(400.0 / 620.0)),
            ("COOP2", Some(450.0 / 620.0)),
            ("COOP3", Some(400.0 / 600.0)),
            ("COOP4", Some(450.0 / 600.0)),
            ("REF1", Some(150.0 / 820.0)),
            ("REF2", Some(150.0 / 745.0)),
            ("REF3", Some(150.0 / 720.0)),
            ("CON1", Some(620.0 / 820.0)),
            ("CON2", Some(620.0 / 745.0)),
            ("CON3", Some(620.0 / 720.0)),
        ],
    );
}

#[test]
fn e_of_one_makes_rr3_rr1_and_e_of_zero_makes_rr3_rr5() {
    let c = example();
    let one = rates(&c, EMethod::given(1.0).unwrap());
    let zero = rates(&c, EMethod::given(0.0).unwrap());
    assert_eq!((one.rr3, one.rr4, one.ref2), (one.rr1, one.rr2, one.ref1));
    assert_eq!(
        (zero.rr3, zero.rr4, zero.con2),
        (zero.rr5, zero.rr6, zero.con3)
    );
}

#[test]
fn a_given_e_must_lie_between_zero_and_one() {
    for bad in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
        let e = EMethod::given(bad).unwrap_err();
        assert_eq!(e.code(), "e_out_of_range", "{bad}");
    }
    assert_eq!(EMethod::given(0.5).unwrap().given_value(), Some(0.5));
    assert_eq!(EMethod::PROPORTIONAL.given_value(), None);
}

#[test]
fn zero_denominators_give_no_rate_not_nan() {
    let none = [None; 16];
    let all_none: Vec<(&str, Option<f64>)> = RATE_NAMES.into_iter().zip(none).collect();
    // Nothing at all; only ineligible cases.
    for c in [
        Counts::default(),
        counts([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
    ] {
        assert_rates(&rates(&c, EMethod::PROPORTIONAL), &all_none);
    }
    assert_eq!(rates(&Counts::default(), EMethod::PROPORTIONAL).e, None);
    assert_eq!(
        rates(
            &counts([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
            EMethod::PROPORTIONAL
        )
        .e,
        Some(0.0),
        "every case whose eligibility is known was ineligible"
    );

    // Only unknown eligibility: e cannot be estimated, so the e-rates are undefined; with e given
    // they are defined again.
    let unknown = counts([0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 2.0, 0.0]);
    let r = rates(&unknown, EMethod::PROPORTIONAL);
    assert_eq!(r.e, None);
    assert_rates(
        &r,
        &[
            ("RR1", Some(0.0)),
            ("RR2", Some(0.0)),
            ("RR3", None),
            ("RR4", None),
            ("RR5", None),
            ("RR6", None),
            ("COOP1", None),
            ("COOP2", None),
            ("COOP3", None),
            ("COOP4", None),
            ("REF1", Some(0.0)),
            ("REF2", None),
            ("REF3", None),
            ("CON1", Some(0.0)),
            ("CON2", None),
            ("CON3", None),
        ],
    );
    let r = rates(&unknown, EMethod::given(0.5).unwrap());
    assert_eq!((r.rr3, r.ref2, r.con2), (Some(0.0), Some(0.0), Some(0.0)));
    assert_eq!(
        rates(&unknown, EMethod::given(0.0).unwrap()).rr3,
        None,
        "0 × unknown leaves nothing"
    );

    // Only non-contacts: nobody was reached, so cooperation is undefined.
    let r = rates(
        &counts([0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0]),
        EMethod::PROPORTIONAL,
    );
    assert_eq!(
        (r.rr1, r.con1, r.coop1, r.coop3),
        (Some(0.0), Some(0.0), None, None)
    );

    // Only other non-interviews: COOP3 and COOP4 leave O out of their denominator.
    let r = rates(
        &counts([0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0]),
        EMethod::PROPORTIONAL,
    );
    assert_eq!((r.coop1, r.coop3, r.con3), (Some(0.0), None, Some(1.0)));
}

#[test]
fn undefined_rates_are_null_in_json_and_whole_counts_are_integers() {
    let mut report = report(b"disp\n4.61\n", opts("disp"));
    let v = serde_json::to_value(&report.overall).unwrap();
    assert_eq!(v["RR1"], serde_json::Value::Null);
    assert_eq!(v["e"], 0.0);
    assert_eq!(v["NE"], serde_json::json!(1));
    assert!(v["NE"].is_u64() || v["NE"].is_i64(), "{v}");
    report.overall.counts.i = 2.5;
    let v = serde_json::to_value(&report.overall).unwrap();
    assert_eq!(v["I"], serde_json::json!(2.5));
}

#[test]
fn the_flat_json_object_has_every_key_in_a_stable_order() {
    let r = report(b"disp\n1.1\n2.11\n", opts("disp"));
    let v = serde_json::to_value(&r.overall).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "cases", "weighted", "I", "P", "R", "NC", "O", "UH", "UO", "NE", "e", "e_method",
            "RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4", "REF1",
            "REF2", "REF3", "CON1", "CON2", "CON3"
        ]
    );
    assert_eq!(v["RR1"], 0.5);
    assert_eq!(v["weighted"], false);
}

// ---------------------------------------------------------------------------------------------
// Counting a table

fn opts(code: &str) -> RatesOptions<'_> {
    RatesOptions {
        code_column: code,
        weight_column: None,
        by_column: None,
        e: EMethod::PROPORTIONAL,
    }
}

fn count_csv(bytes: &[u8], options: RatesOptions<'_>) -> Result<RatesReport, TableErrors> {
    let table = Table::parse(bytes)?;
    rates_from_table(&table, &options)
}

fn report(bytes: &[u8], options: RatesOptions<'_>) -> RatesReport {
    count_csv(bytes, options).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems as (code, row, column).
fn problems(
    bytes: &[u8],
    options: RatesOptions<'_>,
) -> Vec<(TableErrorCode, Option<u64>, Option<String>)> {
    match count_csv(bytes, options) {
        Ok(r) => panic!("expected problems, got {r:?}"),
        Err(e) => e
            .errors
            .into_iter()
            .map(|e| (e.code, e.row, e.column))
            .collect(),
    }
}

#[test]
fn a_table_of_the_example_counts_gives_the_example_rates() {
    let mut csv = String::from("case,disposition\n");
    let mut n = 0;
    for (code, times) in [
        ("1.1", 400),
        ("1.2", 50),
        ("2.111", 150),
        ("2.24", 100),
        ("2.33", 20),
        ("3.18", 60),
        ("3.2", 40),
        ("4.61", 180),
    ] {
        for _ in 0..times {
            n += 1;
            csv.push_str(&format!("{n},{code}\n"));
        }
    }
    let r = report(csv.as_bytes(), opts("disposition"));
    assert_eq!(r.overall.counts, example());
    assert_eq!(r.overall.cases, 1000);
    assert!(!r.overall.weighted);
    assert_eq!(r.overall.rates, rates(&example(), EMethod::PROPORTIONAL));
    assert_eq!((r.by, r.groups.len()), (None, 0));
}

const WEIGHTED: &[u8] = b"case,disp,w,area\n\
1,1.1,2.5,A2\n\
2,1.1,1.5,A10\n\
3,2.11,3,A2\n\
4,4.61,0,A2\n\
5,3.18,1,A10\n\
6, 2.1 ,0.5,A10\n";

#[test]
fn weights_are_summed_and_cases_still_counted() {
    let r = report(
        WEIGHTED,
        RatesOptions {
            weight_column: Some("w"),
            ..opts("disp")
        },
    );
    // I = 2.5 + 1.5; R = 3 + 0.5; UH = 1; NE = 0 (weight 0), but six cases.
    assert_eq!(
        r.overall.counts,
        counts([4.0, 0.0, 3.5, 0.0, 0.0, 1.0, 0.0, 0.0])
    );
    assert_eq!(r.overall.cases, 6);
    assert!(r.overall.weighted);
    assert_eq!(r.overall.rates.rr1, Some(4.0 / 8.5));
    assert_eq!(r.overall.rates.e, Some(1.0), "7.5 / (7.5 + 0)");
}

#[test]
fn groups_have_their_own_counts_and_e_in_natural_order() {
    let r = report(
        WEIGHTED,
        RatesOptions {
            weight_column: Some("w"),
            by_column: Some("AREA"),
            e: EMethod::PROPORTIONAL,
            ..opts("disp")
        },
    );
    assert_eq!(
        r.by.as_deref(),
        Some("area"),
        "the header's spelling of the column"
    );
    let names: Vec<&str> = r.groups.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["A2", "A10"]);
    let (a2, a10) = (&r.groups[0].1, &r.groups[1].1);
    assert_eq!(a2.counts, counts([2.5, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(a10.counts, counts([1.5, 0.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0]));
    assert_eq!((a2.cases, a10.cases), (3, 3));
    assert_eq!(a2.rates.rr1, Some(2.5 / 5.5));
    assert_eq!(a10.rates.rr1, Some(1.5 / 3.0));
    assert_eq!(a10.rates.rr3, Some(1.5 / 3.0), "e = 2 / 2 = 1 in A10");

    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["by"], "area");
    let keys: Vec<&String> = v["groups"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["A2", "A10"]);
    assert_eq!(v["groups"]["A2"]["cases"], 3);
    assert_eq!(v["overall"]["cases"], 6);
}

#[test]
fn a_given_e_applies_to_every_group() {
    let r = report(
        WEIGHTED,
        RatesOptions {
            by_column: Some("area"),
            e: EMethod::given(0.5).unwrap(),
            ..opts("disp")
        },
    );
    for g in std::iter::once(&r.overall).chain(r.groups.iter().map(|(_, g)| g)) {
        assert_eq!((g.rates.e, g.rates.e_method.as_str()), (Some(0.5), "given"));
    }
    // A10 unweighted: I = 1, R = 1, UH = 1 → RR3 = 1 / (2 + 0.5).
    assert_eq!(r.groups[1].1.rates.rr3, Some(1.0 / 2.5));
}

#[test]
fn a_blank_group_value_is_a_group_of_its_own() {
    let r = report(
        b"disp,interviewer\n1.1,\n2.24,  \n1.1,w1\n",
        RatesOptions {
            by_column: Some("interviewer"),
            ..opts("disp")
        },
    );
    let groups: Vec<(&str, u64)> = r
        .groups
        .iter()
        .map(|(k, g)| (k.as_str(), g.cases))
        .collect();
    assert_eq!(groups, [("", 2), ("w1", 1)]);
}

#[test]
fn a_table_with_no_cases_has_no_rates() {
    let r = report(b"disp,w\n", opts("disp"));
    assert_eq!(r.overall.cases, 0);
    assert_eq!(r.overall.rates.rr1, None);
}

#[test]
fn bad_cells_are_all_reported_with_row_and_column() {
    let csv = b"case,disp,w\n\
1,1.1,1\n\
2,5.1,1\n\
3,,2\n\
4,2.11,abc\n\
\n\
5,2,-1\n\
6,4.61,\n\
7,\"1.1\",1\n";
    let bad = TableErrorCode::BadValue;
    let col = |c: &str| Some(c.to_string());
    assert_eq!(
        problems(
            csv,
            RatesOptions {
                weight_column: Some("w"),
                ..opts("disp")
            }
        ),
        [
            (bad, Some(3), col("disp")),
            (bad, Some(4), col("disp")),
            (bad, Some(5), col("w")),
            (bad, Some(7), col("disp")),
            (bad, Some(7), col("w")),
            (bad, Some(8), col("w")),
        ]
    );
    let e = count_csv(
        csv,
        RatesOptions {
            weight_column: Some("w"),
            ..opts("disp")
        },
    )
    .unwrap_err();
    let messages: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
    assert!(
        messages[0].starts_with("row 3, column \"disp\": unknown disposition code \"5.1\""),
        "{}",
        messages[0]
    );
    assert_eq!(
        messages[1],
        "row 4, column \"disp\": empty disposition code"
    );
    assert_eq!(
        messages[2],
        "row 5, column \"w\": expected a number, found \"abc\""
    );
    assert!(messages[3].contains("whole category"), "{}", messages[3]);
    assert_eq!(
        messages[4],
        "row 7, column \"w\": negative weight -1; weights must be 0 or more"
    );
    assert_eq!(
        messages[5],
        "row 8, column \"w\": no weight; every case needs one (0 or more)"
    );
}

#[test]
fn every_unknown_column_is_reported_at_once() {
    let unknown = TableErrorCode::UnknownColumn;
    assert_eq!(
        problems(
            b"case,disp\n1,1.1\n",
            RatesOptions {
                code_column: "disposition",
                weight_column: Some("weight"),
                by_column: Some("area"),
                e: EMethod::PROPORTIONAL,
            }
        ),
        [
            (unknown, Some(1), Some("disposition".to_string())),
            (unknown, Some(1), Some("weight".to_string())),
            (unknown, Some(1), Some("area".to_string())),
        ]
    );
}

#[test]
fn unreadable_tables_are_located() {
    let o = || opts("disp");
    assert_eq!(
        problems(b"id,disp\n1,1.1\n2,\xff\n", o()),
        [(TableErrorCode::NotUtf8, Some(3), Some("disp".to_string()))]
    );
    assert_eq!(
        problems(b"id,disp\n1,1.1\n2,1.1,extra\n", o()),
        [(TableErrorCode::Ragged, Some(3), None)]
    );
    assert_eq!(problems(b"", o()), [(TableErrorCode::Empty, Some(1), None)]);
}

#[test]
fn at_most_max_errors_problems_are_listed() {
    let mut csv = String::from("disp\n");
    for _ in 0..(MAX_ERRORS + 10) {
        csv.push_str("9.9\n");
    }
    let e = count_csv(csv.as_bytes(), opts("disp")).unwrap_err();
    assert_eq!(e.errors.len(), MAX_ERRORS);
    assert!(e.truncated);
    assert!(e.to_string().ends_with("(more problems not shown)"));
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Checks what must hold of any result: rates and e in 0..=1 (never NaN), groups adding up.
fn check_report(r: &RatesReport) {
    for g in std::iter::once(&r.overall).chain(r.groups.iter().map(|(_, g)| g)) {
        for (name, v) in g.rates.named() {
            if let Some(v) = v {
                assert!((0.0..=1.0 + 1e-12).contains(&v), "{name} = {v}");
            }
        }
        if let Some(e) = g.rates.e {
            assert!((0.0..=1.0).contains(&e), "e = {e}");
        }
        if !g.weighted {
            assert_eq!(g.counts.total(), g.cases as f64);
        }
    }
    if r.by.is_some() {
        let cases: u64 = r.groups.iter().map(|(_, g)| g.cases).sum();
        assert_eq!(cases, r.overall.cases);
    }
    assert!(serde_json::to_string(r).is_ok());
}

fn exercise(bytes: &[u8], weight: Option<&str>, by: Option<&str>) {
    if let Ok(r) = count_csv(
        bytes,
        RatesOptions {
            weight_column: weight,
            by_column: by,
            ..opts("code")
        },
    ) {
        check_report(&r);
    }
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(TABLE.map(|(c, _, _)| c).to_vec()).prop_map(String::from),
        proptest::sample::select(vec![
            "2.1", " 3.9 ", "4.6", "1", "2.0", "5.1", "", "\"1.1\"", "\"a,b\"", "张三", "-1",
            "1e308", "0", "NaN", "inf", "\"\n\"", "\u{feff}"
        ])
        .prop_map(String::from),
        (0.0f64..1e6).prop_map(|x| x.to_string()),
        "[ -~]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes, None, None);
        let mut with_header = b"code,w,g\n".to_vec();
        with_header.extend_from_slice(&bytes);
        exercise(&with_header, Some("w"), Some("g"));
    }

    #[test]
    fn arbitrary_csv_text_never_panics(
        rows in proptest::collection::vec((cell(), cell(), cell()), 0..40),
        weighted in any::<bool>(),
        grouped in any::<bool>(),
    ) {
        let mut csv = String::from("code,w,g\n");
        for (a, b, c) in rows {
            csv.push_str(&format!("{a},{b},{c}\n"));
        }
        exercise(csv.as_bytes(), weighted.then_some("w"), grouped.then_some("g"));
    }

    #[test]
    fn valid_tables_always_count(
        rows in proptest::collection::vec(
            (proptest::sample::select(Disposition::ALL.to_vec()), 0.0f64..1e3, 0u8..4),
            0..60,
        ),
        e in proptest::option::of(0.0f64..=1.0),
    ) {
        let mut csv = String::from("code,w,g\n");
        for (d, w, g) in &rows {
            csv.push_str(&format!("{d},{w},g{g}\n"));
        }
        let e = e.map_or(EMethod::PROPORTIONAL, |e| EMethod::given(e).unwrap());
        let r = count_csv(
            csv.as_bytes(),
            RatesOptions { weight_column: Some("w"), by_column: Some("g"), e, ..opts("code") },
        ).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(r.overall.cases, rows.len() as u64);
        check_report(&r);
        let unweighted = count_csv(
            csv.as_bytes(),
            RatesOptions { e, ..opts("code") },
        ).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(unweighted.overall.counts, Counts::of(rows.iter().map(|(d, _, _)| *d)));
    }
}
