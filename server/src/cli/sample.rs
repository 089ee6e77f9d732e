//! `mapframe sample draw | verify | release`: a statistician's probability samples from a CSV of
//! units, with a selection record anyone can re-run.

use super::{CliError, Outcome};
use crate::files::{FileError, write_atomic};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use std::path::{Path, PathBuf};
use sync_core::sampling::frame::LISTING_ID_EXCLUDING_VACANT;
use sync_core::sampling::multistage::{
    HouseholdStage, MultiStageDesign, PsuStage, draw_multistage,
};
use sync_core::sampling::{
    Allocation, Design, Draw, Frame, FrameColumns, Method, Reserve, SampleSize, SelectionRecord,
    UnitResult, draw, release, verify,
};
use sync_core::table::{Table, TableError};

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// A multi-stage sample from a numbered listing: PSUs by PPS, a segment by PPS, a fixed take
    /// of dwellings in serpentine order, households; one row per selected household with every
    /// stage's probability and the base weight.
    Multistage(MultistageArgs),
    /// Draw a sample from a CSV of units and write one row per unit (and the selection record).
    Draw(DrawArgs),
    /// Re-run a selection record on its frame: exit 0 when it reproduces exactly, 1 when not.
    Verify(VerifyArgs),
    /// Release the next reserve replicate (of one stratum, or of every stratum with one left).
    Release(ReleaseArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct DrawArgs {
    /// The frame: a CSV with a header row, one row per unit — or a numbered listing
    /// (`.geojson`), whose dwellings are the units, stratified by area, in serpentine order.
    #[arg(long, value_name = "UNITS.csv|LISTING.geojson")]
    frame: PathBuf,
    /// The column holding each unit's unique id (CSV frames).
    #[arg(long, value_name = "COL")]
    id: Option<String>,
    /// Listing frames: leave out dwellings found vacant at listing.
    #[arg(long)]
    exclude_vacant: bool,
    /// The measure of size (required by pps-systematic and pps-wr).
    #[arg(long, value_name = "COL")]
    size: Option<String>,
    /// The explicit stratum.
    #[arg(long, value_name = "COL")]
    stratum: Option<String>,
    /// Sort units within strata by these columns first (implicit stratification).
    #[arg(long, value_name = "COL[,COL…]", value_delimiter = ',')]
    sort: Vec<String>,
    #[arg(long, value_parser = Method::parse)]
    method: Method,
    /// The sample size: with --stratum, the total to allocate.
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "n_per_stratum",
        conflicts_with = "n_per_stratum"
    )]
    n: Option<u64>,
    /// The same take in every stratum.
    #[arg(long, value_name = "N")]
    n_per_stratum: Option<u64>,
    /// How --n is shared between strata: proportional, equal or neyman:COL.
    #[arg(long, default_value = "proportional", value_parser = Allocation::parse)]
    allocation: Allocation,
    /// Take units with n·M/T ≥ 1 with certainty, iteratively (pps-systematic).
    #[arg(long)]
    certainty: bool,
    /// Reserve units drawn with the main sample (per stratum with --n-per-stratum).
    #[arg(long, value_name = "R", requires = "replicate_size")]
    reserve: Option<u64>,
    /// Units per reserve replicate.
    #[arg(long, value_name = "K", requires = "reserve")]
    replicate_size: Option<u64>,
    /// The smallest take of a non-empty stratum, when the total allows it.
    #[arg(long, default_value_t = 1, value_name = "N")]
    min_per_stratum: u64,
    /// The random seed (record it: it is the sample).
    #[arg(long)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Where to write the units (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-", value_name = "OUT")]
    output: PathBuf,
    /// Also write the selection record (JSON) here.
    #[arg(long, value_name = "RECORD.json")]
    record: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Households {
    All,
    One,
}

#[derive(Debug, Args)]
pub struct MultistageArgs {
    /// A numbered listing whose areas carry a measure of size (`mos`) and, optionally, a stratum.
    #[arg(value_name = "LISTING.geojson")]
    listing: PathBuf,
    /// PSUs to draw, PPS systematic within strata (allocated proportionally to size).
    #[arg(long, value_name = "N", conflicts_with = "given_psus")]
    psus: Option<u64>,
    /// The areas were drawn before listing: every area with a `prob` is a selected PSU.
    #[arg(long)]
    given_psus: bool,
    /// Choose one segment per segmented PSU, PPS.
    #[arg(long)]
    segments: bool,
    /// Dwellings per PSU.
    #[arg(long, value_name = "M")]
    take: u64,
    #[arg(long, value_name = "R", requires = "replicate_size")]
    reserve: Option<u64>,
    #[arg(long, value_name = "K", requires = "reserve")]
    replicate_size: Option<u64>,
    #[arg(long, value_enum, default_value_t = Households::One)]
    households: Households,
    #[arg(long)]
    exclude_vacant: bool,
    #[arg(long)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    #[arg(short, long, default_value = "-", value_name = "OUT")]
    output: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The selection record (or a `--format json` draw output, which contains it).
    #[arg(value_name = "RECORD.json")]
    record: PathBuf,
    #[arg(long, value_name = "UNITS.csv")]
    frame: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[arg(value_name = "RECORD.json")]
    record: PathBuf,
    #[arg(long, value_name = "UNITS.csv")]
    frame: PathBuf,
    /// Release in this stratum only.
    #[arg(long)]
    stratum: Option<String>,
    /// Why (recorded with the release).
    #[arg(long, default_value = "")]
    note: String,
    /// Where to write the updated record.
    #[arg(short, long, value_name = "RECORD.json")]
    output: PathBuf,
    /// Also write the units, one row per frame unit.
    #[arg(long, value_name = "UNITS_OUT.csv")]
    units: Option<PathBuf>,
}

pub fn run(cmd: SampleCommand) -> Result<Outcome, CliError> {
    match cmd {
        SampleCommand::Multistage(a) => run_multistage(a),
        SampleCommand::Draw(a) => run_draw(a),
        SampleCommand::Verify(a) => run_verify(a),
        SampleCommand::Release(a) => run_release(a),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| {
        CliError::File(FileError {
            path: path.to_path_buf(),
            action: "cannot read",
            source,
        })
    })
}

fn table_errors(path: &Path, errors: &[TableError]) -> CliError {
    let mut msg = format!(
        "{}: the frame cannot be used ({} problem(s)):",
        path.display(),
        errors.len()
    );
    for e in errors {
        msg.push_str(&format!("\n  {}: {e}", path.display()));
    }
    CliError::Input(msg)
}

fn is_listing(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"))
}

fn load_listing_frame(path: &Path, include_vacant: bool) -> Result<Frame, CliError> {
    let listing = super::frame::read_listing_file(path)?;
    Frame::from_listing(&listing, include_vacant)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

fn load_frame(path: &Path, columns: &FrameColumns) -> Result<Frame, CliError> {
    if is_listing(path) {
        // A listing frame's record names its columns; vacant dwellings are in it unless the
        // record says they were left out.
        return load_listing_frame(path, columns.id != LISTING_ID_EXCLUDING_VACANT);
    }
    let bytes = read_bytes(path)?;
    let table = Table::parse(&bytes).map_err(|e| table_errors(path, &[e]))?;
    Frame::from_table(&table, columns).map_err(|e| table_errors(path, &e))
}

fn run_draw(a: DrawArgs) -> Result<Outcome, CliError> {
    if a.method.is_pps() && a.size.is_none() {
        return Err(CliError::Input(format!(
            "--method {} needs --size COL (the measure of size)",
            a.method.as_str()
        )));
    }
    if a.n_per_stratum.is_some() && a.stratum.is_none() && !is_listing(&a.frame) {
        return Err(CliError::Input(
            "--n-per-stratum needs --stratum COL".into(),
        ));
    }
    let aux = match &a.allocation {
        Allocation::Neyman(col) => {
            if a.stratum.is_none() {
                return Err(CliError::Input(
                    "--allocation neyman:COL needs --stratum COL".into(),
                ));
            }
            Some(col.clone())
        }
        _ => None,
    };
    let frame = if is_listing(&a.frame) {
        if a.id.is_some() || a.size.is_some() || a.stratum.is_some() || !a.sort.is_empty() {
            return Err(CliError::Input(
                "a listing frame brings its own columns: dwellings, stratified by area, in listing-number order (drop --id, --size, --stratum, --sort)".into(),
            ));
        }
        load_listing_frame(&a.frame, !a.exclude_vacant)?
    } else {
        let Some(id) = a.id.clone() else {
            return Err(CliError::Input(
                "--id COL is required for a CSV frame".into(),
            ));
        };
        let columns = FrameColumns {
            id,
            size: a.size.clone(),
            stratum: a.stratum.clone(),
            sort: a.sort.clone(),
            aux,
        };
        load_frame(&a.frame, &columns)?
    };
    let design = Design {
        method: a.method,
        size: match (a.n, a.n_per_stratum) {
            (_, Some(k)) => SampleSize::PerStratum(k),
            (Some(n), None) => SampleSize::Total(n),
            (None, None) => return Err(CliError::Input("give --n or --n-per-stratum".into())),
        },
        allocation: a.allocation.clone(),
        certainty: a.certainty,
        reserve: match (a.reserve, a.replicate_size) {
            (Some(units), Some(replicate_size)) => Some(Reserve {
                units,
                replicate_size,
            }),
            _ => None,
        },
        min_per_stratum: a.min_per_stratum,
    };
    let source = a
        .frame
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let d = draw(&frame, &design, a.seed, &source)
        .map_err(|e| CliError::Input(format!("{}: {e}", a.frame.display())))?;
    write_draw(&frame, &d, a.format, &a.output, a.record.as_deref())?;
    let selected = d.units.iter().filter(|u| u.selected).count();
    eprintln!(
        "drew {selected} of {} unit(s) in {} stratum/strata; frame {}",
        d.units.len(),
        d.record.strata.len(),
        d.record.frame.hash
    );
    if a.record.is_none() && a.format == Format::Csv {
        eprintln!(
            "note: the selection record was not saved (--record RECORD.json keeps it for `mapframe sample verify`)"
        );
    }
    Ok(Outcome::Ok)
}

fn write_draw(
    frame: &Frame,
    d: &Draw,
    format: Format,
    output: &Path,
    record: Option<&Path>,
) -> Result<(), CliError> {
    let text = match format {
        Format::Csv => units_csv(frame, &d.units),
        Format::Json => {
            let units: Vec<serde_json::Value> = d
                .units
                .iter()
                .map(|u| {
                    let f = &frame.units()[u.index];
                    json!({
                        "id": f.id, "stratum": f.stratum, "selected": u.selected, "hits": u.hits,
                        "prob": u.prob, "weight": u.weight, "certainty": u.certainty,
                        "replicate": u.replicate,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&json!({"record": d.record, "units": units}))
                .unwrap_or_default();
            s.push('\n');
            s
        }
    };
    write_atomic(output, text.as_bytes())?;
    if let Some(path) = record {
        let mut s = serde_json::to_string_pretty(&d.record).unwrap_or_default();
        s.push('\n');
        write_atomic(path, s.as_bytes())?;
    }
    Ok(())
}

/// `id,stratum,selected,hits,prob,weight,certainty,replicate`, probabilities at full precision.
fn units_csv(frame: &Frame, units: &[UnitResult]) -> String {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(units.len() * 48));
    let _ = w.write_record([
        "id",
        "stratum",
        "selected",
        "hits",
        "prob",
        "weight",
        "certainty",
        "replicate",
    ]);
    for u in units {
        let _ = w.write_record([
            frame.units()[u.index].id.as_str(),
            frame.units()[u.index].stratum.as_str(),
            if u.selected { "true" } else { "false" },
            &u.hits.to_string(),
            &u.prob.to_string(),
            &u.weight.map(|w| w.to_string()).unwrap_or_default(),
            if u.certainty { "true" } else { "false" },
            &u.replicate.map(|r| r.to_string()).unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn load_record(path: &Path) -> Result<SelectionRecord, CliError> {
    let bytes = read_bytes(path)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        CliError::Input(format!(
            "{}: line {}, column {}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let value = match value.get("record") {
        Some(r) => r.clone(),
        None => value,
    };
    serde_json::from_value(value).map_err(|e| {
        CliError::Input(format!(
            "{}: not a mapframe selection record: {e}",
            path.display()
        ))
    })
}

fn run_verify(a: VerifyArgs) -> Result<Outcome, CliError> {
    let record = load_record(&a.record)?;
    let frame = load_frame(&a.frame, &record.frame.columns)?;
    match verify(&record, &frame) {
        Ok(d) => {
            println!(
                "reproduced: {} drawn unit(s) in {} stratum/strata from frame {} (seed {}, {})",
                d.record.drawn.len(),
                d.record.strata.len(),
                record.frame.hash,
                record.seed,
                record.software
            );
            Ok(Outcome::Ok)
        }
        Err(e) => {
            println!("NOT reproduced: {e}");
            Ok(Outcome::Found)
        }
    }
}

fn run_release(a: ReleaseArgs) -> Result<Outcome, CliError> {
    let record = load_record(&a.record)?;
    let frame = load_frame(&a.frame, &record.frame.columns)?;
    let d = release(&record, &frame, a.stratum.as_deref(), &a.note)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let mut s = serde_json::to_string_pretty(&d.record).unwrap_or_default();
    s.push('\n');
    write_atomic(&a.output, s.as_bytes())?;
    if let Some(p) = &a.units {
        write_atomic(p, units_csv(&frame, &d.units).as_bytes())?;
    }
    for r in &d.record.releases[record.releases.len()..] {
        eprintln!(
            "released replicate {} of stratum {:?}",
            r.replicate, r.stratum
        );
    }
    Ok(Outcome::Ok)
}

fn run_multistage(a: MultistageArgs) -> Result<Outcome, CliError> {
    let listing = super::frame::read_listing_file(&a.listing)?;
    let psu = match (a.psus, a.given_psus) {
        (Some(n), false) => PsuStage::Draw {
            size: SampleSize::Total(n),
            allocation: Allocation::Proportional,
            certainty: true,
        },
        (None, true) => PsuStage::Given,
        _ => {
            return Err(CliError::Input(
                "give --psus N (draw PSUs) or --given-psus (areas carry their probability)".into(),
            ));
        }
    };
    let design = MultiStageDesign {
        psu,
        segment: a.segments,
        take: a.take,
        reserve: match (a.reserve, a.replicate_size) {
            (Some(units), Some(replicate_size)) => Some(Reserve {
                units,
                replicate_size,
            }),
            _ => None,
        },
        include_vacant: !a.exclude_vacant,
        household: match a.households {
            Households::All => HouseholdStage::All,
            Households::One => HouseholdStage::One,
        },
    };
    let d = draw_multistage(&listing, &design, a.seed)
        .map_err(|e| CliError::Input(format!("{}: {e}", a.listing.display())))?;
    let text = match a.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&d).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record([
                "area",
                "stratum",
                "segment",
                "dwelling",
                "listing_number",
                "household",
                "replicate",
                "released",
                "prob_psu",
                "prob_segment",
                "prob_dwelling",
                "prob_household",
                "prob",
                "base_weight",
            ]);
            for h in &d.households {
                let p = h.probs;
                let _ = w.write_record([
                    h.area.clone(),
                    h.stratum.clone(),
                    h.segment.clone().unwrap_or_default(),
                    h.dwelling.to_string(),
                    h.listing_number.to_string(),
                    h.household.to_string(),
                    h.replicate.map(|r| r.to_string()).unwrap_or_default(),
                    h.released.to_string(),
                    p.psu.to_string(),
                    p.segment.to_string(),
                    p.dwelling.to_string(),
                    p.household.to_string(),
                    p.product().to_string(),
                    h.base_weight.to_string(),
                ]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
    };
    write_atomic(&a.output, text.as_bytes())?;
    eprintln!(
        "selected {} PSU(s) and {} household(s) from {} area(s)",
        d.psus.len(),
        d.households.iter().filter(|h| h.released).count(),
        listing.areas.len()
    );
    Ok(Outcome::Ok)
}
