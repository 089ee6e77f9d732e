//! `mapframe kish`: Kish respondent selection — which adult a table selects and with what exact
//! probability, and the tables for a run of addresses from the cycle of twelve.

use super::{CliError, Outcome};
use crate::files::write_atomic;
use clap::{ArgGroup, Args, ValueEnum};
use serde_json::json;
use std::path::Path;
use sync_core::sampling::kish::{self, CYCLE, KishTable};

/// The largest household `--adults` accepts.
const MAX_ADULTS: u32 = 100;
/// The most addresses `--assign` accepts.
const MAX_ADDRESSES: usize = 1_000_000;

/// Kish respondent selection. Either `--adults K --table T`: the adult to interview and every
/// adult's exact selection probability; or `--assign N --seed S`: the tables of N consecutive
/// addresses from the cycle of twelve (A B1 C D E1 F A B2 C D E2 F) at a seeded start.
///
/// `--adults` JSON: `{"table", "adults", "selected", "probabilities": [{"adult", "fraction",
/// "prob"}]}`. `--assign` JSON: `{"seed", "start" (0-based slot of address 1 in "cycle"),
/// "cycle", "addresses": [{"address" (1-based), "table"}]}`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("mode").required(true).args(["adults", "assign"])),
    after_help = "Examples:\n  \
                  mapframe kish --adults 5 --table E1                  adult to interview, exact probabilities\n  \
                  mapframe kish --assign 40 --seed 2026 --format json  tables for 40 addresses"
)]
pub struct KishArgs {
    /// The number of eligible adults in the household, listed in Kish's order (men oldest to
    /// youngest, then women oldest to youngest).
    #[arg(long, value_name = "K", requires = "table")]
    adults: Option<u32>,
    /// The Kish table assigned to the address: A, B1, B2, C, D, E1, E2 or F.
    #[arg(long, value_name = "TABLE", conflicts_with = "assign")]
    table: Option<String>,
    /// With --adults: print one JSON object instead of a report.
    #[arg(long, conflicts_with = "assign")]
    json: bool,
    /// Assign tables to this many consecutive addresses.
    #[arg(long, value_name = "N", requires = "seed")]
    assign: Option<usize>,
    /// With --assign: the project seed; the start slot is drawn from it (stage "kish").
    #[arg(long, value_name = "S", conflicts_with = "adults")]
    seed: Option<u64>,
    /// With --assign: `csv` (address,table) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Csv, conflicts_with = "adults")]
    format: Format,
}

/// Output format of `--assign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `address,table`, one row per address.
    Csv,
    /// One JSON object with the seed, start slot, cycle and addresses.
    Json,
}

/// Runs `mapframe kish`: writes the selection or the assignment to standard output.
pub fn run(args: KishArgs) -> Result<Outcome, CliError> {
    let text = match (args.adults, args.assign) {
        (Some(adults), None) => select(adults, args.table.as_deref().unwrap_or(""), args.json)?,
        (None, Some(addresses)) => assign(addresses, args.seed.unwrap_or(0), args.format)?,
        // clap's group makes exactly one of them present.
        _ => {
            return Err(CliError::Input(
                "give exactly one of --adults and --assign".into(),
            ));
        }
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(Outcome::Ok)
}

fn select(adults: u32, table: &str, as_json: bool) -> Result<String, CliError> {
    let table: KishTable = table
        .parse()
        .map_err(|e: kish::KishError| CliError::Input(format!("--table: {e}")))?;
    if !(1..=MAX_ADULTS).contains(&adults) {
        return Err(CliError::Input(format!(
            "--adults must be between 1 and {MAX_ADULTS} eligible adults, found {adults}"
        )));
    }
    let selected = kish::select(table, adults)
        .ok_or_else(|| CliError::Input(format!("--adults {adults}: no adult can be selected")))?;
    let probabilities = kish::probabilities(adults);
    if as_json {
        let value = json!({
            "table": table.as_str(),
            "adults": adults,
            "selected": selected,
            "probabilities": probabilities.iter().zip(1u32..).map(|(p, adult)| json!({
                "adult": adult,
                "fraction": p.to_string(),
                "prob": p.as_f64(),
            })).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
        s.push('\n');
        return Ok(s);
    }
    let mut out = format!(
        "Kish table {table}, {adults} eligible adult(s): interview adult number {selected}.\n\n\
         adult  probability\n"
    );
    for (p, adult) in probabilities.iter().zip(1u32..) {
        let mark = if adult == selected {
            "  <- selected"
        } else {
            ""
        };
        out.push_str(&format!(
            "{adult:>5}  {:<5} {:.6}{mark}\n",
            p.to_string(),
            p.as_f64()
        ));
    }
    out.push_str(
        "\nAdults are numbered in Kish's order: men from oldest to youngest, then women from oldest \
         to youngest.\nProbabilities are before the table is known, with tables assigned in Kish's \
         shares (A, C, D, F 1/6; B1, B2, E1, E2 1/12).\n",
    );
    if adults == 5 {
        out.push_str("With 5 adults Kish's tables do not give every adult the same chance.\n");
    }
    if adults > 6 {
        out.push_str(
            "With more than 6 adults Kish's tables never select adults 7 and beyond (probability 0).\n",
        );
    }
    Ok(out)
}

fn assign(addresses: usize, seed: u64, format: Format) -> Result<String, CliError> {
    if !(1..=MAX_ADDRESSES).contains(&addresses) {
        return Err(CliError::Input(format!(
            "--assign must be between 1 and {MAX_ADDRESSES} addresses, found {addresses}"
        )));
    }
    let tables = kish::assign(addresses, seed);
    match format {
        Format::Csv => {
            let mut out = String::from("address,table\n");
            for (table, address) in tables.iter().zip(1usize..) {
                out.push_str(&format!("{address},{table}\n"));
            }
            Ok(out)
        }
        Format::Json => {
            let value = json!({
                "seed": seed,
                "start": kish::start_slot(seed),
                "cycle": CYCLE.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "addresses": tables.iter().zip(1usize..).map(|(t, address)| json!({
                    "address": address,
                    "table": t.as_str(),
                })).collect::<Vec<_>>(),
            });
            let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
            s.push('\n');
            Ok(s)
        }
    }
}
