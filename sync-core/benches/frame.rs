//! Frame benchmark: a synthetic city of 1,000 areas, 100,000 buildings and 1,000,000 dwellings;
//! times the full self-check and serpentine numbering on one thread, and the same on the real
//! Kunming listing when `../shared/data` is present.
//!
//! Run: `cargo bench -p sync-core --bench frame` (add `-- --quick` for a 100-area city).

use std::time::{Duration, Instant};
use sync_core::listing::geojson::{ImportOptions, read_listing};
use sync_core::selfcheck::{CheckOptions, check};
use sync_core::serpentine::{NumberingOptions, number};
use sync_core::synthetic::{CityOptions, city, populate_dwellings};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let options = if quick {
        CityOptions {
            areas: 100,
            ..CityOptions::benchmark()
        }
    } else {
        CityOptions::benchmark()
    };
    let t = Instant::now();
    let listing = city(&options);
    println!(
        "generated city: {} areas, {} buildings, {} dwellings in {:.2?}",
        listing.areas.len(),
        listing.buildings.len(),
        listing.dwellings.len(),
        t.elapsed()
    );
    let runs = 3;
    let (check_time, report) = best_of(runs, || check(&listing, &CheckOptions::default()));
    println!(
        "self-check (all checks, 1 thread): {:>8.1} ms  ({} findings; target < 2000 ms: {})",
        check_time.as_secs_f64() * 1e3,
        report.findings.len(),
        if check_time.as_secs_f64() < 2.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    let (number_time, numbering) = best_of(runs, || number(&listing, &NumberingOptions::default()));
    println!(
        "serpentine numbering:              {:>8.1} ms  ({} buildings, {} dwellings numbered)",
        number_time.as_secs_f64() * 1e3,
        numbering.buildings.len(),
        numbering.dwellings.len()
    );
    let per_dwelling = check_time.as_secs_f64() * 1e9 / listing.dwellings.len().max(1) as f64;
    println!(
        "self-check per dwelling: {per_dwelling:.0} ns; numbering/self-check ratio: {:.2}",
        number_time.as_secs_f64() / check_time.as_secs_f64()
    );

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/kunming-jinjiang-buildings.geojson");
    match std::fs::read_to_string(&path) {
        Err(_) => println!("kunming: skipped ({} not found)", path.display()),
        Ok(text) => {
            let options = ImportOptions {
                area_key: "community".into(),
                ..ImportOptions::default()
            };
            let (read_time, imported) = best_of(5, || {
                read_listing(&text, None, &options).expect("the Kunming file reads")
            });
            let mut listing = imported.listing;
            populate_dwellings(&mut listing);
            let (check_time, report) = best_of(5, || check(&listing, &CheckOptions::default()));
            println!(
                "kunming: read {} buildings in {:.2} ms; self-check of {} dwellings in {:.2} ms ({} findings)",
                listing.buildings.len(),
                read_time.as_secs_f64() * 1e3,
                listing.dwellings.len(),
                check_time.as_secs_f64() * 1e3,
                report.findings.len()
            );
        }
    }
}
