//! `mapframe sample draw | verify | release`: a statistician's probability samples from a CSV of
//! units, with a selection record anyone can re-run.

use super::{CliError, Outcome};
use crate::files::{FileError, write_atomic};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use std::path::{Path, PathBuf};
use sync_core::sampling::{
    Allocation, Design, Draw, Frame, FrameColumns, Method, Reserve, SampleSize, SelectionRecord,
    UnitResult, draw, release, verify,
};
use sync_core::table::{Table, TableError};

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
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
    /// The frame: a CSV with a header row, one row per unit.
    #[arg(long, value_name = "UNITS.csv")]
    frame: PathBuf,
    /// The column holding each unit's unique id.
    #[arg(long, value_name = "COL")]
    id: String,
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

fn load_frame(path: &Path, columns: &FrameColumns) -> Result<Frame, CliError> {
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
    if a.n_per_stratum.is_some() && a.stratum.is_none() {
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
    let columns = FrameColumns {
        id: a.id.clone(),
        size: a.size.clone(),
        stratum: a.stratum.clone(),
        sort: a.sort.clone(),
        aux,
    };
    let frame = load_frame(&a.frame, &columns)?;
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
