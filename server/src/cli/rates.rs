//! `mapframe rates`: AAPOR outcome rates from a CSV file of final dispositions, one row per case,
//! overall and per group, unweighted or weighted.

use super::{CliError, Outcome};
use crate::files::{FileError, write_atomic};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use sync_core::aapor::{
    Category, EMethod, GroupRates, RATE_NAMES, RatesOptions, RatesReport, TableErrors,
    rates_from_table,
};
use sync_core::table::Table;

/// Computes RR1–RR6, COOP1–4, REF1–3 and CON1–3 as the AAPOR Standard Definitions define them
/// for in-person household surveys.
#[derive(Debug, Args)]
pub struct RatesArgs {
    /// The cases: a CSV file with a header row, one row per case. `-` reads standard input.
    #[arg(long, value_name = "CASES.csv")]
    dispositions: PathBuf,
    /// The column holding each case's final AAPOR disposition code (1.1, 2.111, 4.61, …;
    /// spreadsheet forms such as 2.1 for 2.10 are accepted).
    #[arg(long, value_name = "COL")]
    code_column: String,
    /// A column of case weights (numbers ≥ 0): counts become sums of weights.
    #[arg(long, value_name = "COL")]
    weight: Option<String>,
    /// A column to group cases by (area, interviewer, …): rates per group and overall.
    #[arg(long, value_name = "COL")]
    by: Option<String>,
    /// The share of unknown-eligibility cases assumed eligible, from 0 to 1 (default: estimated
    /// proportionally, (I+P+R+NC+O) / (I+P+R+NC+O+NE), within each group).
    #[arg(long = "e", value_name = "VALUE", value_parser = parse_e, allow_negative_numbers = true)]
    e: Option<EMethod>,
    /// Output: a readable table, or JSON for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How the rates are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable table of counts and rates.
    Text,
    /// One JSON object (see `run`).
    Json,
}

fn parse_e(s: &str) -> Result<EMethod, String> {
    let e: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, found {s:?}"))?;
    EMethod::given(e).map_err(|e| e.to_string())
}

/// Runs `mapframe rates`.
///
/// JSON output, without `--by`: one flat object — `cases`, `weighted`, the counts `I`, `P`, `R`,
/// `NC`, `O`, `UH`, `UO`, `NE`, `e`, `e_method` ("given" or "proportional") and the rates `RR1` …
/// `CON3` (null when undefined). With `--by COL`: `{"overall": {…}, "by": "COL", "groups":
/// {"value": {…}, …}}`, groups in natural order.
pub fn run(args: RatesArgs) -> Result<Outcome, CliError> {
    let path = args.dispositions.as_path();
    let bytes = read_bytes(path)?;
    let options = RatesOptions {
        code_column: &args.code_column,
        weight_column: args.weight.as_deref(),
        by_column: args.by.as_deref(),
        e: args.e.unwrap_or(EMethod::PROPORTIONAL),
    };
    let report = Table::parse(&bytes)
        .map_err(TableErrors::from)
        .and_then(|table| rates_from_table(&table, &options))
        .map_err(|errors| CliError::Input(describe_errors(&errors, path)))?;
    let text = match args.format {
        Format::Json => {
            let value = match report.by {
                Some(_) => serde_json::to_string_pretty(&report),
                None => serde_json::to_string_pretty(&report.overall),
            };
            let mut s = value.map_err(|e| CliError::Input(format!("cannot write JSON: {e}")))?;
            s.push('\n');
            s
        }
        Format::Text => render(&report, path, args.weight.as_deref()),
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(Outcome::Ok)
}

/// Reads the whole file as bytes (the table reader reports bytes that are not UTF-8 by row and
/// column). `-` reads standard input.
fn read_bytes(path: &Path) -> Result<Vec<u8>, FileError> {
    let result = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    result.map_err(|source| FileError {
        path: path.to_path_buf(),
        action: "cannot read",
        source,
    })
}

/// `cases.csv: row 7, column "disp": …`, one line per problem.
fn describe_errors(errors: &TableErrors, path: &Path) -> String {
    let file = path.display();
    if let ([only], false) = (errors.errors.as_slice(), errors.truncated) {
        return format!("{file}: {only}");
    }
    let mut out = format!("{} problems in {file}:", errors.errors.len());
    for e in &errors.errors {
        out.push_str(&format!("\n  {file}: {e}"));
    }
    if errors.truncated {
        out.push_str("\n  (more problems not shown)");
    }
    out
}

/// The readable report: a table of counts and two of rates (in per cent), one row per group and
/// one for all cases.
fn render(report: &RatesReport, path: &Path, weight: Option<&str>) -> String {
    let o = &report.overall;
    let mut out = format!(
        "AAPOR outcome rates: {}\n  {} case(s), {}; e {}\n",
        path.display(),
        o.cases,
        match weight {
            Some(w) => format!("counts are sums of the weights in \"{w}\""),
            None => "unweighted".into(),
        },
        match o.rates.e_method.given_value() {
            Some(e) => format!("given: {e}"),
            None if report.by.is_some() => "estimated proportionally within each group".into(),
            None => "estimated proportionally".into(),
        }
    );
    let mut rows: Vec<(String, &GroupRates)> = report
        .groups
        .iter()
        .map(|(k, g)| (if k.is_empty() { "(blank)" } else { k }.to_string(), g))
        .collect();
    rows.push(("overall".into(), o));
    let group_title = report.by.as_deref().unwrap_or("");
    let width = rows
        .iter()
        .map(|(k, _)| display_width(k))
        .chain([display_width(group_title)])
        .max()
        .unwrap_or(0);

    let mut counts_header: Vec<String> = vec!["cases".into()];
    counts_header.extend(Category::ALL.iter().map(|c| c.as_str().to_string()));
    counts_header.push("e".into());
    let counts_rows = rows.iter().map(|(k, g)| {
        let mut cells = vec![g.cases.to_string()];
        cells.extend(Category::ALL.iter().map(|&c| count(g.counts.get(c))));
        cells.push(g.rates.e.map_or("-".into(), |e| format!("{e:.3}")));
        (k.as_str(), cells)
    });
    out.push_str("\nCounts\n");
    out.push_str(&table(
        group_title,
        width,
        &counts_header,
        &counts_rows.collect::<Vec<_>>(),
    ));

    for (title, names) in [
        ("Response and cooperation rates (%)", &RATE_NAMES[..10]),
        ("Refusal and contact rates (%)", &RATE_NAMES[10..]),
    ] {
        let header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let body = rows.iter().map(|(k, g)| {
            let named = g.rates.named();
            let cells = names
                .iter()
                .map(|n| {
                    named
                        .iter()
                        .find(|(m, _)| m == n)
                        .and_then(|(_, v)| *v)
                        .map_or("-".into(), |v| format!("{:.1}", v * 100.0))
                })
                .collect();
            (k.as_str(), cells)
        });
        out.push_str(&format!("\n{title}\n"));
        out.push_str(&table(
            group_title,
            width,
            &header,
            &body.collect::<Vec<_>>(),
        ));
    }
    out.push_str(
        "\nI complete, P partial, R refusal and break-off, NC non-contact,\n\
         O other eligible non-interview, UH unknown if housing unit,\n\
         UO unknown eligibility (other), NE not eligible; - undefined (zero denominator).\n",
    );
    out
}

/// Rows of right-aligned cells under a header, each column as wide as its widest cell, the first
/// column (the group) left-aligned in `width` terminal columns.
fn table(title: &str, width: usize, header: &[String], rows: &[(&str, Vec<String>)]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|(_, cells)| cells.get(i))
                .chain([&header[i]])
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
                .max(5)
        })
        .collect();
    let line = |first: &str, cells: &[String]| {
        let mut s = pad(first, width);
        for (c, w) in cells.iter().zip(&widths) {
            s.push_str(&format!("  {c:>w$}"));
        }
        s.push('\n');
        s
    };
    let mut out = line(title, header);
    for (k, cells) in rows {
        out.push_str(&line(k, cells));
    }
    out
}

/// A count: whole numbers as they are, weighted sums to one decimal.
fn count(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Columns a text takes in a terminal: East Asian wide characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// Left-aligns a text in `width` terminal columns.
fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(display_width(s)),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_are_padded_by_their_terminal_width() {
        assert_eq!(pad("张三", 6), "张三  ");
        assert_eq!(pad("A1", 4), "A1  ");
        assert_eq!(pad("toolong", 3), "toolong");
    }

    #[test]
    fn e_is_checked_when_the_arguments_are_read() {
        assert!(parse_e("0.8").is_ok());
        assert!(parse_e("1.5").unwrap_err().contains("from 0 to 1"));
        assert!(parse_e("most").unwrap_err().contains("\"most\""));
    }
}
