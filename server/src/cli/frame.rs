//! `mapframe frame …`: the listing self-check, serpentine numbering, statistics and generated
//! listings.

use super::{CliError, Outcome};
use crate::files::{read_text, write_atomic};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use sync_core::crs::Crs;
use sync_core::listing::Listing;
use sync_core::listing::geojson::{
    ExportOptions, ImportErrors, ImportOptions, InputKind, id_json, read_listing, write_listing,
};
use sync_core::selfcheck::{CheckOptions, Report, Severity, check};
use sync_core::serpentine::{NumberingOptions, number};
use sync_core::stats::{AreaStats, stats};
use sync_core::synthetic::{CityOptions, city, populate_dwellings};

#[derive(Debug, Subcommand)]
pub enum FrameCommand {
    /// Self-check a listing (绘图自查). Exit 0 when no finding is an error, 1 when one is, 2 when
    /// the input cannot be read.
    Check(CheckArgs),
    /// Write serpentine numbers (buildings) and listing numbers (dwellings) into a listing.
    Number(NumberArgs),
    /// Count buildings and dwellings by area, building kind and occupancy.
    Stats(StatsArgs),
    /// Write a generated listing: a synthetic city, or dwellings for the residential buildings of
    /// a file of footprints (OpenStreetMap has none).
    Generate(GenerateArgs),
}

/// Where a listing comes from.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The listing: a GeoJSON FeatureCollection of buildings and dwellings (and optionally areas).
    /// See docs/listing-geojson.md. `-` reads standard input.
    #[arg(value_name = "LISTING.geojson", required_unless_present = "demo")]
    listing: Option<PathBuf>,
    /// Area boundaries, one feature per area with a `code` property.
    #[arg(long, value_name = "AREAS.geojson")]
    areas: Option<PathBuf>,
    /// The coordinate system of the input; converted to WGS-84 on reading.
    #[arg(long, default_value = "wgs84", value_parser = parse_crs)]
    crs: Crs,
    /// The property through which buildings and dwellings name their area's code.
    #[arg(long, default_value = "area", value_name = "PROPERTY")]
    area_key: String,
    /// Instead of a file, use a generated neighbourhood of 6 areas and about 2,000 dwellings with
    /// one example of each common listing mistake.
    #[arg(long, conflicts_with_all = ["listing", "areas"])]
    demo: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print one JSON object {"findings": [...], "summary": {...}} instead of a report.
    #[arg(long)]
    json: bool,
    /// How far outside its area a building or dwelling may lie, metres.
    #[arg(long, default_value_t = CheckOptions::default().outside_tolerance_m, value_name = "M")]
    outside_tolerance: f64,
    /// Dwellings with the same address closer than this are flagged as near-duplicates, metres.
    #[arg(long, default_value_t = CheckOptions::default().near_duplicate_m, value_name = "M")]
    near_duplicate: f64,
    /// A jump between consecutive buildings in serpentine order longer than this is flagged, metres.
    #[arg(long, default_value_t = CheckOptions::default().serpentine_jump_m, value_name = "M")]
    serpentine_jump: f64,
    /// Relative tolerance of entrances × floors × dwellings per floor against dwellings listed.
    #[arg(long, default_value_t = CheckOptions::default().apartment_tolerance, value_name = "FRACTION")]
    apartment_tolerance: f64,
    /// Allowed band of listed dwellings ÷ measure of size, as LOW,HIGH.
    #[arg(long, default_value = "0.7,1.3", value_parser = parse_band, value_name = "LOW,HIGH")]
    size_band: (f64, f64),
    /// Allowed band of the vacancy rate, as LOW,HIGH.
    #[arg(long, default_value = "0,0.3", value_parser = parse_band, value_name = "LOW,HIGH")]
    vacancy_band: (f64, f64),
}

#[derive(Debug, Args)]
pub struct NumberArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the numbered listing (`-` for standard output).
    #[arg(short, long, value_name = "OUT.geojson")]
    output: PathBuf,
    /// Height of the serpentine bands, metres (default: from the density of buildings).
    #[arg(long, value_name = "M")]
    band: Option<f64>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the listing (`-` for standard output).
    #[arg(short, long, value_name = "OUT.geojson")]
    output: PathBuf,
    /// Add dwellings to the residential buildings of this listing instead of generating a city.
    #[arg(long, value_name = "LISTING.geojson")]
    from_buildings: Option<PathBuf>,
    /// With --from-buildings: the coordinate system of that file.
    #[arg(long, default_value = "wgs84", value_parser = parse_crs)]
    crs: Crs,
    /// With --from-buildings: the property naming each building's area.
    #[arg(long, default_value = "area", value_name = "PROPERTY")]
    area_key: String,
    #[arg(long, default_value_t = 6)]
    areas: usize,
    #[arg(long, default_value_t = 30)]
    buildings_per_area: usize,
    #[arg(long, default_value_t = 12)]
    dwellings_per_building: u32,
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Plant one example of each common listing mistake.
    #[arg(long)]
    defects: bool,
}

fn parse_crs(s: &str) -> Result<Crs, String> {
    s.parse()
}

fn parse_band(s: &str) -> Result<(f64, f64), String> {
    let (lo, hi) = s
        .split_once(',')
        .ok_or_else(|| format!("expected LOW,HIGH, found {s:?}"))?;
    let lo: f64 = lo
        .trim()
        .parse()
        .map_err(|_| format!("{lo:?} is not a number"))?;
    let hi: f64 = hi
        .trim()
        .parse()
        .map_err(|_| format!("{hi:?} is not a number"))?;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(format!("expected LOW <= HIGH, found {lo},{hi}"));
    }
    Ok((lo, hi))
}

pub fn run(cmd: FrameCommand) -> Result<Outcome, CliError> {
    match cmd {
        FrameCommand::Check(a) => run_check(a),
        FrameCommand::Number(a) => run_number(a),
        FrameCommand::Stats(a) => run_stats(a),
        FrameCommand::Generate(a) => run_generate(a),
    }
}

/// The demo neighbourhood used by `--demo`.
pub fn demo_listing() -> Listing {
    city(&CityOptions {
        areas: 6,
        buildings_per_area: 30,
        dwellings_per_building: 12,
        defects: true,
        ..CityOptions::default()
    })
}

struct Loaded {
    listing: Listing,
    name: String,
    listing_had_areas: bool,
}

fn load(input: &InputArgs) -> Result<Loaded, CliError> {
    if input.demo {
        return Ok(Loaded {
            listing: demo_listing(),
            name: "generated demo neighbourhood".into(),
            listing_had_areas: true,
        });
    }
    let path = input.listing.as_deref().unwrap_or(Path::new("-"));
    let text = read_text(path)?;
    let areas_text = input.areas.as_deref().map(read_text).transpose()?;
    let options = ImportOptions {
        crs: input.crs,
        area_key: input.area_key.clone(),
    };
    match read_listing(&text, areas_text.as_deref(), &options) {
        Ok(imported) => Ok(Loaded {
            listing: imported.listing,
            name: path.display().to_string(),
            listing_had_areas: imported.listing_had_areas,
        }),
        Err(errors) => Err(CliError::Input(describe_import_errors(
            &errors,
            path,
            input.areas.as_deref(),
        ))),
    }
}

/// Reads a listing file with the default conventions (area codes in `area`, WGS-84).
pub(super) fn read_listing_file(path: &Path) -> Result<Listing, CliError> {
    let input = InputArgs {
        listing: Some(path.to_path_buf()),
        areas: None,
        crs: Crs::Wgs84,
        area_key: "area".into(),
        demo: false,
    };
    load(&input).map(|l| l.listing)
}

fn describe_import_errors(errors: &ImportErrors, listing: &Path, areas: Option<&Path>) -> String {
    let mut out = format!(
        "cannot read the listing ({} problem(s)):",
        errors.errors.len()
    );
    for e in &errors.errors {
        let file = match e.input {
            InputKind::Listing => listing,
            InputKind::Areas => areas.unwrap_or(listing),
        };
        out.push_str(&format!("\n  {}: {e}", file.display()));
    }
    if errors.truncated {
        out.push_str("\n  (more problems not shown)");
    }
    out
}

fn run_check(a: CheckArgs) -> Result<Outcome, CliError> {
    let loaded = load(&a.input)?;
    let options = CheckOptions {
        outside_tolerance_m: a.outside_tolerance,
        near_duplicate_m: a.near_duplicate,
        serpentine_jump_m: a.serpentine_jump,
        apartment_tolerance: a.apartment_tolerance,
        size_band: a.size_band,
        vacancy_band: a.vacancy_band,
        ..CheckOptions::default()
    };
    let report = check(&loaded.listing, &options);
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&report_json(&report)).unwrap_or_default();
        s.push('\n');
        s
    } else {
        render_report(&report, &loaded.name)
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(if report.has_errors() {
        Outcome::Found
    } else {
        Outcome::Ok
    })
}

/// The JSON form of a report: `{"findings": [{"code", "severity", "message", "message_zh", "area",
/// "ids"}], "summary": {...}}`.
fn report_json(report: &Report) -> serde_json::Value {
    json!({
        "findings": report.findings.iter().map(|f| json!({
            "code": f.code.as_str(),
            "severity": f.severity.as_str(),
            "message": f.message,
            "message_zh": f.message_zh,
            "area": f.area,
            "ids": f.ids.iter().map(|id| id_json(id)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "summary": report.summary,
    })
}

/// How many findings of one code a human report shows before summarising.
const SHOWN_PER_CODE: usize = 10;

fn render_report(report: &Report, name: &str) -> String {
    let s = &report.summary;
    let mut out = format!(
        "Self-check of {name}\n  {} area(s), {} building(s), {} dwelling(s)\n  {} error(s), {} warning(s), {} note(s)\n",
        s.areas, s.buildings, s.dwellings, s.errors, s.warnings, s.infos
    );
    let mut i = 0;
    while i < report.findings.len() {
        let code = report.findings[i].code;
        let group: Vec<_> = report.findings[i..]
            .iter()
            .take_while(|f| f.code == code)
            .collect();
        let label = match code.severity() {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "NOTE",
        };
        out.push_str(&format!("\n{label} {} ({})\n", code.as_str(), group.len()));
        for f in group.iter().take(SHOWN_PER_CODE) {
            out.push_str(&format!("  - {}\n    {}\n", f.message, f.message_zh));
        }
        if group.len() > SHOWN_PER_CODE {
            out.push_str(&format!(
                "  … and {} more (--json lists them all)\n",
                group.len() - SHOWN_PER_CODE
            ));
        }
        i += group.len();
    }
    if report.findings.is_empty() {
        out.push_str("\nNo findings: the listing is ready to be frozen as a frame.\n");
    } else if !report.has_errors() {
        out.push_str("\nNo errors: the listing can be frozen once the warnings are reviewed.\n");
    } else {
        out.push_str("\nErrors must be corrected before the listing is frozen as a frame.\n");
    }
    out
}

fn run_number(a: NumberArgs) -> Result<Outcome, CliError> {
    let mut loaded = load(&a.input)?;
    if let Some(b) = a.band
        && !(b.is_finite() && b > 0.0)
    {
        return Err(CliError::Input(format!(
            "--band must be a positive number of metres, found {b}"
        )));
    }
    let numbering = number(&loaded.listing, &NumberingOptions { band_m: a.band });
    numbering.apply(&mut loaded.listing);
    let text = write_listing(
        &loaded.listing,
        &ExportOptions {
            areas: loaded.listing_had_areas || a.input.demo,
            ..ExportOptions::default()
        },
    );
    write_atomic(&a.output, text.as_bytes())?;
    eprintln!(
        "numbered {} building(s) and {} dwelling(s) in {} area(s); wrote {}",
        numbering.buildings.len(),
        numbering.dwellings.len(),
        loaded.listing.areas.len(),
        a.output.display()
    );
    Ok(Outcome::Ok)
}

fn run_stats(a: StatsArgs) -> Result<Outcome, CliError> {
    let loaded = load(&a.input)?;
    let st = stats(&loaded.listing);
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&st).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut out = format!(
            "{:<12} {:>9} {:>11} {:>9} {:>10} {:>9} {:>7} {:>9} {:>8} {:>9}\n",
            "area",
            "buildings",
            "residential",
            "dwellings",
            "households",
            "occupied",
            "vacant",
            "business",
            "not_dw.",
            "list/MOS"
        );
        let row = |s: &AreaStats| {
            let o = |k: &str| s.occupancy.get(k).copied().unwrap_or(0);
            format!(
                "{:<12} {:>9} {:>11} {:>9} {:>10} {:>9} {:>7} {:>9} {:>8} {:>9}\n",
                s.code,
                s.buildings,
                s.residential_buildings,
                s.dwellings,
                s.households,
                o("occupied"),
                o("vacant"),
                o("business"),
                o("not_dwelling"),
                s.listed_to_mos
                    .map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "-".into())
            )
        };
        for s in &st.areas {
            out.push_str(&row(s));
        }
        out.push_str(&row(&AreaStats {
            code: "total".into(),
            ..st.total.clone()
        }));
        out.push_str("\nbuildings by kind:");
        for (k, n) in &st.total.building_kinds {
            out.push_str(&format!(" {k}={n}"));
        }
        out.push('\n');
        out
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(Outcome::Ok)
}

fn run_generate(a: GenerateArgs) -> Result<Outcome, CliError> {
    let (listing, export) = match &a.from_buildings {
        Some(path) => {
            let input = InputArgs {
                listing: Some(path.clone()),
                areas: None,
                crs: a.crs,
                area_key: a.area_key.clone(),
                demo: false,
            };
            let mut loaded = load(&input)?;
            let added = populate_dwellings(&mut loaded.listing);
            eprintln!(
                "added {added} dwelling(s) to the residential buildings of {}",
                path.display()
            );
            (
                loaded.listing,
                ExportOptions {
                    areas: loaded.listing_had_areas,
                    ..ExportOptions::default()
                },
            )
        }
        None => {
            if a.areas == 0 || a.buildings_per_area == 0 || a.dwellings_per_building == 0 {
                return Err(CliError::Input(
                    "--areas, --buildings-per-area and --dwellings-per-building must be at least 1"
                        .into(),
                ));
            }
            let listing = city(&CityOptions {
                areas: a.areas,
                buildings_per_area: a.buildings_per_area,
                dwellings_per_building: a.dwellings_per_building,
                seed: a.seed,
                defects: a.defects,
                ..CityOptions::default()
            });
            (listing, ExportOptions::default())
        }
    };
    write_atomic(&a.output, write_listing(&listing, &export).as_bytes())?;
    Ok(Outcome::Ok)
}
