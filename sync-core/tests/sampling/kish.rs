//! Kish respondent selection: the tables as Kish printed them, the exact probabilities they give,
//! the cycle of twelve and its seeded start, Kish's order of adults, and the seeded uniform draw.

use std::collections::HashMap;
use sync_core::sampling::kish::{
    Adult, CYCLE, KishTable, Probability, Sex, assign, kish_order, probabilities, probability,
    respondent, select, start_slot, uniform_select,
};
use sync_core::sampling::seed::stream;

use KishTable::*;

/// Kish (1949), as printed: table, share in twelfths, adult number for K = 1, 2, 3, 4, 5, 6+.
const KISH_1949: [(KishTable, u64, [u32; 6]); 8] = [
    (A, 2, [1, 1, 1, 1, 1, 1]),
    (B1, 1, [1, 1, 1, 1, 2, 2]),
    (B2, 1, [1, 1, 1, 2, 2, 2]),
    (C, 2, [1, 1, 2, 2, 3, 3]),
    (D, 2, [1, 2, 2, 3, 4, 4]),
    (E1, 1, [1, 2, 3, 3, 3, 5]),
    (E2, 1, [1, 2, 3, 4, 5, 5]),
    (F, 2, [1, 2, 3, 4, 5, 6]),
];

fn p(numerator: u64, denominator: u64) -> Probability {
    Probability::new(numerator, denominator).unwrap()
}

fn sum(ps: &[Probability]) -> Probability {
    ps.iter()
        .try_fold(Probability::ZERO, |acc, &x| acc.checked_add(x))
        .expect("probabilities add up to at most 1")
}

/// How far a count may stray from its expectation in the Monte Carlo checks: five binomial
/// standard deviations. The seeds are fixed, so these tests cannot flake; a wrong share (1/6
/// instead of 1/12 is a difference of about 30 standard deviations here) still fails them.
fn within_five_sigma(count: usize, trials: usize, p: f64) -> bool {
    let mean = trials as f64 * p;
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    (count as f64 - mean).abs() <= 5.0 * sd
}

#[test]
fn every_table_selects_the_adult_kish_printed() {
    for (table, _, row) in KISH_1949 {
        assert_eq!(table.row(), row, "{table}");
        for k in 1..=6u32 {
            assert_eq!(
                select(table, k),
                Some(row[k as usize - 1]),
                "table {table}, K={k}"
            );
        }
        // The 6+ column covers every larger household.
        for k in [7, 8, 10, 25, u32::MAX] {
            assert_eq!(select(table, k), Some(row[5]), "table {table}, K={k}");
        }
        assert_eq!(
            select(table, 0),
            None,
            "nobody to select in an empty household"
        );
    }
    assert_eq!(
        KishTable::ALL.to_vec(),
        KISH_1949.iter().map(|r| r.0).collect::<Vec<_>>()
    );
}

#[test]
fn the_whole_table_does_not_drift() {
    let mut out = format!("{:<6} {:<6} K=1", "table", "share");
    for k in 2..=8 {
        out.push_str(&format!("{k:>3}"));
    }
    out.push('\n');
    for table in KishTable::ALL {
        out.push_str(&format!(
            "{:<6} {:<6} ",
            table.to_string(),
            table.share().to_string()
        ));
        for k in 1..=8 {
            let n = select(table, k).map_or("-".into(), |n| n.to_string());
            out.push_str(&format!("{n:>3}"));
        }
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

#[test]
fn a_selected_adult_is_always_one_of_the_household() {
    for table in KishTable::ALL {
        for k in 1..=10 {
            let n = select(table, k).unwrap();
            assert!((1..=k.min(6)).contains(&n), "table {table}, K={k}: {n}");
        }
    }
}

#[test]
fn table_shares_are_sixths_and_twelfths_and_add_to_one() {
    for (table, twelfths, _) in KISH_1949 {
        assert_eq!(table.share(), p(twelfths, 12), "{table}");
    }
    assert_eq!(p(1, 6), A.share());
    assert_eq!(p(1, 12), E2.share());
    let shares: Vec<Probability> = KishTable::ALL.iter().map(|t| t.share()).collect();
    assert_eq!(sum(&shares), Probability::ONE);
}

#[test]
fn each_probability_is_the_share_of_the_tables_that_select_that_adult() {
    for k in 1..=10u32 {
        for adult in 1..=k {
            let twelfths: u64 = KISH_1949
                .iter()
                .filter(|(_, _, row)| row[(k.min(6) - 1) as usize] == adult)
                .map(|(_, t, _)| t)
                .sum();
            assert_eq!(
                probability(adult, k),
                Some(p(twelfths, 12)),
                "adult {adult} of {k}"
            );
        }
    }
}

#[test]
fn probabilities_sum_to_exactly_one_for_every_household_size() {
    for k in 1..=10u32 {
        let ps = probabilities(k);
        assert_eq!(ps.len(), k as usize, "K={k}");
        assert_eq!(sum(&ps), Probability::ONE, "K={k}: {ps:?}");
        // Adults 1..6 carry all of it: beyond the sixth, nobody can be selected.
        let first_six = &ps[..ps.len().min(6)];
        assert_eq!(sum(first_six), Probability::ONE, "K={k}");
        for (adult, q) in ps.iter().enumerate().skip(6) {
            assert!(q.is_zero(), "adult {} of {k} has {q}", adult + 1);
        }
    }
}

#[test]
fn kish_is_equal_probability_except_for_five_and_for_seven_or_more() {
    for k in [1u32, 2, 3, 4, 6] {
        assert_eq!(probabilities(k), vec![p(1, k.into()); k as usize], "K={k}");
    }
    let sixth = p(1, 6);
    let quarter = p(1, 4);
    assert_eq!(
        probabilities(5),
        vec![sixth, sixth, quarter, sixth, quarter],
        "with five adults the third and fifth have 1/4, the others 1/6"
    );
    for k in 7..=10u32 {
        let ps = probabilities(k);
        assert_eq!(ps[..6], [sixth; 6], "K={k}");
        assert!(ps[6..].iter().all(|q| *q == Probability::ZERO), "K={k}");
    }
}

#[test]
fn probabilities_are_reduced_fractions_with_decimal_values() {
    let q = probability(3, 5).unwrap();
    assert_eq!((q.numerator(), q.denominator()), (1, 4));
    assert_eq!(q.to_string(), "1/4");
    assert_eq!(q.as_f64(), 0.25);
    assert_eq!(probability(7, 7).unwrap().to_string(), "0/1");
    assert_eq!(probability(1, 1).unwrap().to_string(), "1/1");
    assert!((probability(1, 3).unwrap().as_f64() - 1.0 / 3.0).abs() < 1e-15);
}

#[test]
fn there_is_no_probability_for_an_adult_outside_the_household() {
    assert_eq!(probability(0, 3), None);
    assert_eq!(probability(4, 3), None);
    assert_eq!(probability(1, 0), None);
    assert!(probabilities(0).is_empty());
}

#[test]
fn table_names_parse_ignoring_case_and_print_as_kish_wrote_them() {
    for table in KishTable::ALL {
        let name = table.to_string();
        assert_eq!(name.parse::<KishTable>(), Ok(table));
        assert_eq!(name.to_lowercase().parse::<KishTable>(), Ok(table));
        assert_eq!(format!(" {name} ").parse::<KishTable>(), Ok(table));
    }
    assert_eq!(B1.to_string(), "B1");
    for bad in ["", "B", "G", "B3", "E 1", "1"] {
        let e = bad.parse::<KishTable>().unwrap_err();
        assert_eq!(e.code(), "unknown_kish_table", "{bad:?}");
        assert!(e.to_string().contains("A, B1, B2, C, D, E1, E2, F"), "{e}");
    }
}

#[test]
fn the_cycle_of_twelve_is_fixed_and_has_kishs_shares() {
    assert_eq!(CYCLE, [A, B1, C, D, E1, F, A, B2, C, D, E2, F]);
    for (table, twelfths, _) in KISH_1949 {
        let n = CYCLE.iter().filter(|&&t| t == table).count() as u64;
        assert_eq!(n, twelfths, "{table} appears {n} time(s) in the cycle");
    }
    // Any six consecutive slots (wrapping) hold each of A, C, D, F exactly once.
    for start in 0..12 {
        let six: Vec<KishTable> = (0..6).map(|i| CYCLE[(start + i) % 12]).collect();
        for t in [A, C, D, F] {
            assert_eq!(six.iter().filter(|&&x| x == t).count(), 1, "{six:?}");
        }
    }
}

#[test]
fn the_start_slot_is_below_twelve_of_the_kish_stream() {
    for seed in [0, 1, 42, 20261121, u64::MAX] {
        let expected = stream(seed, "kish", "").below(12) as usize;
        assert_eq!(start_slot(seed), expected, "seed {seed}");
    }
}

#[test]
fn addresses_take_consecutive_slots_from_the_start() {
    for seed in 0..50 {
        let start = start_slot(seed);
        let tables = assign(30, seed);
        assert_eq!(tables.len(), 30);
        for (i, t) in tables.iter().enumerate() {
            assert_eq!(*t, CYCLE[(start + i) % 12], "seed {seed}, address {i}");
        }
        // Every twelve consecutive addresses get exactly the shares of the cycle.
        for window in tables.windows(12) {
            let mut sorted = window.to_vec();
            sorted.sort();
            let mut cycle = CYCLE.to_vec();
            cycle.sort();
            assert_eq!(sorted, cycle, "seed {seed}");
        }
    }
    assert!(assign(0, 7).is_empty());
}

#[test]
fn assignment_is_reproducible_and_extends_without_changing() {
    let seed = 20261121;
    let a = assign(25, seed);
    assert_eq!(a, assign(25, seed));
    assert_eq!(a[..10], assign(10, seed)[..]);
    let starts: std::collections::BTreeSet<usize> = (0..100).map(start_slot).collect();
    assert!(starts.len() > 6, "seeds must move the start: {starts:?}");
}

#[test]
fn the_assignment_for_a_seed_is_pinned() {
    let seed = 20261121;
    let tables: Vec<String> = assign(14, seed).iter().map(|t| t.to_string()).collect();
    insta::assert_snapshot!(format!(
        "seed {seed}: start slot {}\n{}",
        start_slot(seed),
        tables.join(" ")
    ));
}

#[test]
fn across_seeds_each_table_reaches_its_share_of_addresses() {
    // One address per seed: the share of seeds giving each table to the first address.
    let seeds = 12_000usize;
    let mut first = HashMap::<KishTable, usize>::new();
    for seed in 0..seeds as u64 {
        *first.entry(assign(1, seed)[0]).or_default() += 1;
    }
    for table in KishTable::ALL {
        let share = table.share().as_f64();
        let n = first.get(&table).copied().unwrap_or(0);
        assert!(
            within_five_sigma(n, seeds, share),
            "table {table}: {n} of {seeds} first addresses, expected share {share}"
        );
    }
    // A later address (the 8th) is as likely as the first to get each table.
    let mut eighth = HashMap::<KishTable, usize>::new();
    for seed in 0..seeds as u64 {
        *eighth.entry(assign(8, seed)[7]).or_default() += 1;
    }
    for table in KishTable::ALL {
        let n = eighth.get(&table).copied().unwrap_or(0);
        assert!(
            within_five_sigma(n, seeds, table.share().as_f64()),
            "table {table}: {n}"
        );
    }
}

#[test]
fn across_seeds_adults_are_selected_with_the_stated_probabilities() {
    // Households of five: the unequal case. Table from the cycle, then the table's choice.
    let seeds = 12_000usize;
    let mut counts = [0usize; 5];
    for seed in 0..seeds as u64 {
        let table = assign(1, seed)[0];
        counts[select(table, 5).unwrap() as usize - 1] += 1;
    }
    for (i, &n) in counts.iter().enumerate() {
        let q = probability(i as u32 + 1, 5).unwrap().as_f64();
        assert!(
            within_five_sigma(n, seeds, q),
            "adult {}: {n} of {seeds}, expected {q}",
            i + 1
        );
    }
}

fn man(age: u32) -> Adult {
    Adult {
        sex: Sex::Male,
        age: Some(age),
    }
}

fn woman(age: u32) -> Adult {
    Adult {
        sex: Sex::Female,
        age: Some(age),
    }
}

#[test]
fn kish_order_is_men_oldest_first_then_women_oldest_first() {
    struct Case {
        name: &'static str,
        roster: Vec<Adult>,
        order: Vec<usize>,
    }
    let unknown_sex = |age| Adult {
        sex: Sex::Unknown,
        age: Some(age),
    };
    let cases = [
        Case {
            name: "empty household",
            roster: vec![],
            order: vec![],
        },
        Case {
            name: "one adult",
            roster: vec![woman(30)],
            order: vec![0],
        },
        Case {
            name: "grandmother, son, daughter-in-law, grandfather",
            roster: vec![woman(71), man(45), woman(43), man(74)],
            order: vec![3, 1, 0, 2],
        },
        Case {
            name: "a young man comes before an old woman",
            roster: vec![woman(90), man(18)],
            order: vec![1, 0],
        },
        Case {
            name: "twins keep the roster's order",
            roster: vec![man(30), woman(52), man(30), man(55)],
            order: vec![3, 0, 2, 1],
        },
        Case {
            name: "unknown sex comes after both sexes, oldest first",
            roster: vec![unknown_sex(20), woman(25), unknown_sex(60), man(40)],
            order: vec![3, 1, 2, 0],
        },
        Case {
            name: "unknown age comes last within its sex",
            roster: vec![
                Adult {
                    sex: Sex::Male,
                    age: None,
                },
                man(20),
                woman(33),
                Adult {
                    sex: Sex::Female,
                    age: None,
                },
                man(64),
            ],
            order: vec![4, 1, 0, 2, 3],
        },
    ];
    for case in cases {
        assert_eq!(kish_order(&case.roster), case.order, "{}", case.name);
    }
}

#[test]
fn the_respondent_is_the_tables_number_in_kish_order() {
    // Adults in Kish's order: man 74 (#1), man 45 (#2), woman 71 (#3), woman 43 (#4).
    let roster = [woman(71), man(45), woman(43), man(74)];
    let expected = [
        (A, 3),
        (B1, 3),
        (B2, 1),
        (C, 1),
        (D, 0),
        (E1, 0),
        (E2, 2),
        (F, 2),
    ];
    for (table, index) in expected {
        assert_eq!(respondent(table, &roster), Some(index), "table {table}");
    }
    assert_eq!(respondent(F, &[]), None);
}

#[test]
fn uniform_choice_has_probability_one_over_k_and_is_reproducible() {
    assert_eq!(uniform_select(0, 1, "h1"), None);
    for k in 1..=12usize {
        let (i, q) = uniform_select(k, 2026, "household-7").unwrap();
        assert!(i < k);
        assert_eq!(q, p(1, k as u64), "k={k}");
        assert_eq!(uniform_select(k, 2026, "household-7"), Some((i, q)));
    }
    // The index is below(k) of the household's respondent stream.
    let expected = stream(2026, "respondent", "household-7").below(5) as usize;
    assert_eq!(uniform_select(5, 2026, "household-7").unwrap().0, expected);
}

#[test]
fn uniform_choice_frequencies_are_one_over_k() {
    let k = 7;
    let households = 14_000usize;
    let mut counts = [0usize; 7];
    for h in 0..households {
        let (i, _) = uniform_select(k, 20261121, &format!("hh-{h}")).unwrap();
        counts[i] += 1;
    }
    for (i, &n) in counts.iter().enumerate() {
        assert!(
            within_five_sigma(n, households, 1.0 / k as f64),
            "member {i}: {n} of {households} ({counts:?})"
        );
    }
    // Different seeds choose differently for the same household.
    let by_seed: std::collections::BTreeSet<usize> = (0..50)
        .map(|seed| uniform_select(k, seed, "hh-0").unwrap().0)
        .collect();
    assert!(by_seed.len() > 1);
}
