//! Multi-stage draws over a listing: stage probabilities, base weights, unbiasedness.

use sync_core::listing::Listing;
use sync_core::sampling::multistage::{
    HouseholdStage, MultiStageDesign, PsuStage, draw_multistage,
};
use sync_core::sampling::{Allocation, Reserve, SampleSize};
use sync_core::synthetic::{CityOptions, city};

fn town() -> Listing {
    let mut l = city(&CityOptions {
        areas: 12,
        buildings_per_area: 9,
        dwellings_per_building: 4,
        segments: 3,
        ..CityOptions::default()
    });
    // Some dwellings hold two households.
    for (i, d) in l.dwellings.iter_mut().enumerate() {
        if i % 7 == 0 {
            d.households = 2;
        }
    }
    l
}

fn design(household: HouseholdStage) -> MultiStageDesign {
    MultiStageDesign {
        psu: PsuStage::Draw {
            size: SampleSize::Total(4),
            allocation: Allocation::Proportional,
            certainty: true,
        },
        segment: true,
        take: 5,
        reserve: None,
        include_vacant: true,
        household,
    }
}

#[test]
fn every_household_carries_its_stage_probabilities_and_base_weight() {
    let l = town();
    let d = draw_multistage(&l, &design(HouseholdStage::One), 9).unwrap();
    assert_eq!(d.psus.len(), 4, "one PSU per stratum of the 4 strata");
    for psu in &d.psus {
        assert!(psu.segment.is_some(), "every PSU is segmented");
        let dwellings: std::collections::BTreeSet<_> = d
            .households
            .iter()
            .filter(|h| h.area == psu.area)
            .map(|h| h.dwelling)
            .collect();
        assert_eq!(
            dwellings.len(),
            5,
            "a fixed take of 5 dwellings in {}",
            psu.area
        );
    }
    for h in &d.households {
        let p = h.probs;
        assert!((h.base_weight * p.psu * p.segment * p.dwelling * p.household - 1.0).abs() < 1e-12);
        assert!(
            p.psu > 0.0 && p.psu <= 1.0 && p.segment > 0.0 && p.dwelling > 0.0 && p.household > 0.0
        );
    }
    let two = d.households.iter().find(|h| h.probs.household < 1.0);
    if let Some(h) = two {
        assert_eq!(h.probs.household, 0.5);
    }
}

#[test]
fn base_weights_estimate_the_number_of_households_without_bias() {
    // E[Σ w] over repeated draws = the households in the frame (Horvitz–Thompson).
    let l = town();
    let total: f64 = l
        .dwellings
        .iter()
        .map(|d| f64::from(d.households.max(1)))
        .sum();
    let reps = 400;
    let mut mean = 0.0;
    for seed in 0..reps {
        let d = draw_multistage(&l, &design(HouseholdStage::One), seed).unwrap();
        mean += d.households.iter().map(|h| h.base_weight).sum::<f64>() / reps as f64;
    }
    assert!(
        (mean / total - 1.0).abs() < 0.05,
        "mean estimate {mean:.1} against {total}"
    );
}

#[test]
fn all_households_of_a_dwelling_can_be_taken() {
    let l = town();
    let d = draw_multistage(&l, &design(HouseholdStage::All), 9).unwrap();
    assert!(d.households.iter().all(|h| h.probs.household == 1.0));
}

#[test]
fn reserve_dwellings_are_drawn_with_the_main_take_but_not_released() {
    let l = town();
    let design = MultiStageDesign {
        reserve: Some(Reserve {
            units: 5,
            replicate_size: 5,
        }),
        segment: false,
        ..design(HouseholdStage::One)
    };
    let d = draw_multistage(&l, &design, 4).unwrap();
    let released = d
        .households
        .iter()
        .filter(|h| h.released)
        .map(|h| h.dwelling)
        .collect::<std::collections::BTreeSet<_>>();
    let all = d
        .households
        .iter()
        .map(|h| h.dwelling)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(released.len(), 4 * 5);
    assert_eq!(all.len(), 4 * 10);
}

#[test]
fn given_psus_use_their_recorded_probability() {
    let mut l = town();
    l.areas[2].first_stage_prob = Some(0.25);
    l.areas[5].first_stage_prob = Some(0.5);
    let design = MultiStageDesign {
        psu: PsuStage::Given,
        segment: false,
        ..design(HouseholdStage::All)
    };
    let d = draw_multistage(&l, &design, 1).unwrap();
    let areas: Vec<(&str, f64)> = d.psus.iter().map(|p| (p.area.as_str(), p.prob)).collect();
    assert_eq!(
        areas,
        [
            (l.areas[2].code.as_str(), 0.25),
            (l.areas[5].code.as_str(), 0.5)
        ]
    );
}

#[test]
fn an_unnumbered_listing_is_refused() {
    let mut l = town();
    l.dwellings[0].listing_number = None;
    let design = MultiStageDesign {
        psu: PsuStage::Draw {
            size: SampleSize::Total(12),
            allocation: Allocation::Proportional,
            certainty: true,
        },
        ..design(HouseholdStage::All)
    };
    let e = draw_multistage(&l, &design, 1).unwrap_err();
    assert_eq!(e.code(), "bad_listing");
}
