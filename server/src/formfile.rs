//! Reading XLSForm files: `.xlsx`/`.xlsm`/`.xls`/`.ods` through calamine, or a folder of CSV
//! files (one per sheet, named `survey.csv`, `choices.csv`, `settings.csv`). The result is a
//! [`Workbook`] of text grids for `sync_core::form::xlsform::read_form`.

use calamine::{Data, Reader, open_workbook_auto_from_rs};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use sync_core::form::xlsform::{Sheet, Workbook};

/// Why a form file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormFileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a spreadsheet mapframe can read ({message}); save it as .xlsx, .xls or a folder of CSV files"
    )]
    Spreadsheet { path: PathBuf, message: String },
    #[error("{path}, sheet {sheet}: {message}")]
    Sheet {
        path: PathBuf,
        sheet: String,
        message: String,
    },
    #[error("{path}: row {row}: {message}")]
    Csv {
        path: PathBuf,
        row: u64,
        message: String,
    },
}

/// Text of a cell as an author sees it: whole numbers without ".0".
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads a workbook from a spreadsheet file or a folder of CSV sheets.
pub fn read_workbook(path: &Path) -> Result<Workbook, FormFileError> {
    let io = |source| FormFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        let mut sheets = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
            .collect();
        entries.sort();
        for file in entries {
            let bytes = std::fs::read(&file).map_err(|source| FormFileError::Io {
                path: file.clone(),
                source,
            })?;
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| FormFileError::Csv {
                    path: file.clone(),
                    row: e.position().map(|p| p.line()).unwrap_or(0),
                    message: e.to_string(),
                })?;
                rows.push(record.iter().map(str::to_string).collect());
            }
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            sheets.push(Sheet { name, rows });
        }
        if sheets.is_empty() {
            return Err(FormFileError::Spreadsheet {
                path: path.to_path_buf(),
                message: "the folder has no .csv files".into(),
            });
        }
        return Ok(Workbook { sheets });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    read_workbook_bytes(path, bytes)
}

/// Reads a spreadsheet (`.xlsx`, `.xlsm`, `.xls`, `.ods`) from memory, as uploaded; `path` names it
/// in errors.
pub fn read_workbook_bytes(path: &Path, bytes: Vec<u8>) -> Result<Workbook, FormFileError> {
    let mut wb =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| FormFileError::Spreadsheet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| FormFileError::Sheet {
                path: path.to_path_buf(),
                sheet: name.clone(),
                message: e.to_string(),
            })?;
        // Keep spreadsheet row numbers: pad the rows above the first used one.
        let (first_row, _) = range.start().unwrap_or((0, 0));
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); first_row as usize];
        for r in range.rows() {
            rows.push(r.iter().map(cell_text).collect());
        }
        sheets.push(Sheet { name, rows });
    }
    Ok(Workbook { sheets })
}
