//! Nonresponse weighting: the two-factor adjustment within classes (unknown eligibility, then
//! nonresponse), checked on a hand-computed example, as a property over random samples, and on
//! the classes that cannot be adjusted.

use proptest::prelude::*;
use sync_core::sampling::weighting::{
    ByStatus, Case, Status, WeightingError, WeightingErrorCode, adjust,
};

use Status::*;

fn case(class: &str, status: Status, base_weight: f64) -> Case {
    Case {
        base_weight,
        status,
        class: class.to_string(),
    }
}

/// Relative closeness for sums of floating-point weights.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The worked example, computed by hand.
///
/// urban: R 10, 30; NR 20; IN 20; UNK 20.
///   ΣW = 100, ΣW(R+NR+IN) = 80 → f1 = 100/80 = 1.25
///   after step 1: R 12.5, 37.5; NR 25; IN 25 → f2 = (50 + 25) / 50 = 1.5
///   final: R 18.75, 56.25; NR 0; IN 25; UNK 0. 18.75 + 56.25 + 25 = 100.
/// rural: R 40, 60; NR 100; IN 200; UNK 100, 100.
///   ΣW = 600, ΣW(R+NR+IN) = 400 → f1 = 1.5
///   after step 1: R 60, 90; NR 150; IN 300 → f2 = (150 + 150) / 150 = 2
///   final: R 120, 180; NR 0; IN 300; UNK 0, 0. 120 + 180 + 300 = 600.
/// The classes are interleaved in the input to show that weights come back in input order.
fn worked_example() -> (Vec<Case>, Vec<f64>) {
    let rows = [
        ("rural", Respondent, 40.0, 120.0),
        ("urban", Respondent, 10.0, 18.75),
        ("urban", UnknownEligibility, 20.0, 0.0),
        ("rural", UnknownEligibility, 100.0, 0.0),
        ("rural", Nonrespondent, 100.0, 0.0),
        ("urban", Nonrespondent, 20.0, 0.0),
        ("rural", Ineligible, 200.0, 300.0),
        ("urban", Respondent, 30.0, 56.25),
        ("rural", Respondent, 60.0, 180.0),
        ("urban", Ineligible, 20.0, 25.0),
        ("rural", UnknownEligibility, 100.0, 0.0),
    ];
    (
        rows.iter().map(|&(c, s, w, _)| case(c, s, w)).collect(),
        rows.iter().map(|r| r.3).collect(),
    )
}

#[test]
fn the_worked_example_gives_the_hand_computed_weights() {
    let (cases, expected) = worked_example();
    let result = adjust(&cases).unwrap();
    assert_eq!(result.weights.len(), expected.len());
    for (i, (got, want)) in result.weights.iter().zip(&expected).enumerate() {
        assert!(close(*got, *want), "case {i}: {got} != {want}");
    }
}

#[test]
fn the_worked_example_reports_each_class() {
    let (cases, _) = worked_example();
    let result = adjust(&cases).unwrap();
    let names: Vec<&str> = result.classes.iter().map(|c| c.class.as_str()).collect();
    assert_eq!(names, ["rural", "urban"], "classes are reported by key");

    let rural = &result.classes[0];
    assert_eq!(
        rural.counts,
        ByStatus {
            respondent: 2,
            nonrespondent: 1,
            ineligible: 1,
            unknown_eligibility: 2
        }
    );
    assert_eq!(
        rural.base,
        ByStatus {
            respondent: 100.0,
            nonrespondent: 100.0,
            ineligible: 200.0,
            unknown_eligibility: 200.0
        }
    );
    assert!(close(rural.f1, 1.5) && close(rural.f2, 2.0), "{rural:?}");
    assert!(close(rural.adjusted.respondent, 300.0));
    assert!(close(rural.adjusted.ineligible, 300.0));
    assert_eq!(rural.adjusted.nonrespondent, 0.0);
    assert_eq!(rural.adjusted.unknown_eligibility, 0.0);

    let urban = &result.classes[1];
    assert_eq!(
        urban.counts,
        ByStatus {
            respondent: 2,
            nonrespondent: 1,
            ineligible: 1,
            unknown_eligibility: 1
        }
    );
    assert_eq!(urban.base.respondent, 40.0);
    assert_eq!(urban.base.unknown_eligibility, 20.0);
    assert!(close(urban.f1, 1.25) && close(urban.f2, 1.5), "{urban:?}");
    assert!(close(urban.adjusted.respondent, 75.0));
    assert!(close(urban.adjusted.ineligible, 25.0));
}

#[test]
fn without_unknowns_or_nonrespondents_the_factors_are_exactly_one() {
    let cases = [
        case("", Respondent, 3.0),
        case("", Respondent, 7.0),
        case("", Ineligible, 5.0),
    ];
    let result = adjust(&cases).unwrap();
    assert_eq!(result.classes[0].f1, 1.0);
    assert_eq!(result.classes[0].f2, 1.0);
    assert_eq!(result.weights, [3.0, 7.0, 5.0]);
}

#[test]
fn a_class_without_eligible_cases_gives_unknowns_weight_to_ineligibles() {
    // Vacant dwellings and never-found addresses only: nothing to adjust for nonresponse.
    let cases = [
        case("shops", Ineligible, 10.0),
        case("shops", UnknownEligibility, 10.0),
        case("homes", Respondent, 1.0),
    ];
    let result = adjust(&cases).unwrap();
    assert_eq!(result.weights, [20.0, 0.0, 1.0]);
    let shops = result.classes.iter().find(|c| c.class == "shops").unwrap();
    assert_eq!((shops.f1, shops.f2), (2.0, 1.0));
}

#[test]
fn no_cases_no_classes() {
    let result = adjust(&[]).unwrap();
    assert!(result.weights.is_empty() && result.classes.is_empty());
}

#[test]
fn a_class_with_eligible_cases_but_no_respondent_is_named() {
    let cases = [
        case("north", Respondent, 1.0),
        case("south", Nonrespondent, 2.0),
        case("south", Nonrespondent, 2.0),
        case("south", Ineligible, 2.0),
        case("south", UnknownEligibility, 2.0),
    ];
    let errors = adjust(&cases).unwrap_err().0;
    assert_eq!(
        errors,
        [WeightingError::NoRespondents {
            class: "south".into(),
            nonrespondents: 2
        }]
    );
    assert_eq!(errors[0].code(), WeightingErrorCode::NoRespondents);
    assert_eq!(errors[0].code().as_str(), "no_respondents");
    assert_eq!(errors[0].class(), Some("south"));
    assert!(errors[0].to_string().contains("\"south\""), "{}", errors[0]);
}

#[test]
fn a_class_of_unknowns_only_is_named() {
    let cases = [
        case("north", Respondent, 1.0),
        case("east", UnknownEligibility, 4.0),
        case("east", UnknownEligibility, 4.0),
    ];
    let errors = adjust(&cases).unwrap_err().0;
    assert_eq!(
        errors,
        [WeightingError::OnlyUnknownEligibility {
            class: "east".into(),
            cases: 2
        }]
    );
    assert_eq!(errors[0].code().as_str(), "only_unknown_eligibility");
}

#[test]
fn every_class_that_cannot_be_adjusted_is_reported_at_once() {
    let cases = [
        case("c", UnknownEligibility, 1.0),
        case("b", Nonrespondent, 1.0),
        case("a", Respondent, 1.0),
    ];
    let errors = adjust(&cases).unwrap_err();
    let classes: Vec<_> = errors.0.iter().map(|e| e.class()).collect();
    assert_eq!(classes, [Some("b"), Some("c")]);
    let text = errors.to_string();
    assert!(text.contains("no_respondents") && text.contains("only_unknown_eligibility"));
}

#[test]
fn base_weights_must_be_positive_and_finite() {
    let cases = [
        case("a", Respondent, 1.0),
        case("a", Respondent, 0.0),
        case("a", Respondent, -2.0),
        case("a", Respondent, f64::NAN),
        case("a", Respondent, f64::INFINITY),
    ];
    let errors = adjust(&cases).unwrap_err().0;
    let indices: Vec<usize> = errors
        .iter()
        .map(|e| match e {
            WeightingError::BadBaseWeight { index, .. } => *index,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(indices, [1, 2, 3, 4]);
    assert!(
        errors
            .iter()
            .all(|e| e.code().as_str() == "bad_base_weight" && e.class().is_none())
    );
}

#[test]
fn weights_too_large_to_add_are_an_error_not_infinity() {
    let cases = [
        case("a", Respondent, f64::MAX),
        case("a", UnknownEligibility, f64::MAX),
    ];
    let errors = adjust(&cases).unwrap_err().0;
    assert_eq!(errors[0].code(), WeightingErrorCode::WeightOverflow);
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Respondent),
        Just(Nonrespondent),
        Just(Ineligible),
        Just(UnknownEligibility)
    ]
}

fn cases() -> impl Strategy<Value = Vec<Case>> {
    prop::collection::vec(
        (0.01f64..5_000.0, status(), 0..4usize).prop_map(|(w, s, c)| Case {
            base_weight: w,
            status: s,
            class: format!("class-{c}"),
        }),
        0..60,
    )
}

proptest! {
    #[test]
    fn within_each_class_respondents_and_ineligibles_carry_the_whole_base_weight(
        cases in cases()
    ) {
        let classes: std::collections::BTreeSet<&str> =
            cases.iter().map(|c| c.class.as_str()).collect();
        let has = |class: &str, s: Status| cases.iter().any(|c| c.class == class && c.status == s);
        let adjustable = |class: &str| {
            (has(class, Respondent) || !has(class, Nonrespondent))
                && (has(class, Respondent) || has(class, Nonrespondent) || has(class, Ineligible))
        };
        match adjust(&cases) {
            Ok(result) => {
                prop_assert!(classes.iter().all(|c| adjustable(c)));
                prop_assert_eq!(result.weights.len(), cases.len());
                prop_assert_eq!(result.classes.len(), classes.len());
                for class in &classes {
                    let members = || cases.iter().zip(&result.weights).filter(|(c, _)| c.class == *class);
                    let base: f64 = members().map(|(c, _)| c.base_weight).sum();
                    let carried: f64 = members()
                        .filter(|(c, _)| matches!(c.status, Respondent | Ineligible))
                        .map(|(_, w)| w)
                        .sum();
                    prop_assert!(close(carried, base), "class {}: {} != {}", class, carried, base);
                }
                for (c, &w) in cases.iter().zip(&result.weights) {
                    prop_assert!(w.is_finite());
                    match c.status {
                        Nonrespondent | UnknownEligibility => prop_assert_eq!(w, 0.0),
                        // Both factors are at least 1: nobody's weight shrinks.
                        Respondent | Ineligible => prop_assert!(w >= c.base_weight * (1.0 - 1e-12)),
                    }
                }
                for report in &result.classes {
                    prop_assert!(report.f1 >= 1.0 && report.f2 >= 1.0, "{:?}", report);
                }
            }
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                for e in &errors.0 {
                    let class = e.class().unwrap_or_default();
                    prop_assert!(!adjustable(class), "{} is adjustable", e);
                }
                // Every class that cannot be adjusted is named.
                let named: Vec<&str> = errors.0.iter().filter_map(|e| e.class()).collect();
                for class in classes.iter().filter(|c| !adjustable(c)) {
                    prop_assert!(named.contains(class), "{} not named in {:?}", class, named);
                }
            }
        }
    }
}

#[test]
fn aapor_categories_map_to_weighting_statuses() {
    use sync_core::aapor::Category;
    use sync_core::sampling::weighting::Status;
    let table = [
        (Category::I, Status::Respondent),
        (Category::P, Status::Respondent),
        (Category::R, Status::Nonrespondent),
        (Category::NC, Status::Nonrespondent),
        (Category::O, Status::Nonrespondent),
        (Category::UH, Status::UnknownEligibility),
        (Category::UO, Status::UnknownEligibility),
        (Category::NE, Status::Ineligible),
    ];
    for (c, s) in table {
        assert_eq!(Status::from(c), s, "{c:?}");
    }
}
