//! Tables of outside input: CSV files of frame units, dispositions, weights.
//!
//! Parsing is strict about shape and encoding and precise about where a problem is: rows are
//! numbered as a spreadsheet shows them (the header is row 1, the first data row is row 2) and
//! columns by their header name. Cells are read as text; [`Table::number`] and friends interpret them.

use std::collections::HashMap;
use std::fmt;

/// Stable codes of table problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TableErrorCode {
    /// The bytes are not UTF-8 text.
    #[serde(rename = "not_utf8")]
    NotUtf8,
    /// A row has a different number of fields from the header.
    #[serde(rename = "ragged_row")]
    Ragged,
    /// No header row.
    #[serde(rename = "empty_table")]
    Empty,
    /// Two columns have the same name.
    #[serde(rename = "duplicate_column")]
    DuplicateColumn,
    /// A column named on the command line is not in the header.
    #[serde(rename = "unknown_column")]
    UnknownColumn,
    /// A cell does not hold what its column needs.
    #[serde(rename = "bad_value")]
    BadValue,
    /// A value that must be unique is repeated.
    #[serde(rename = "duplicate_value")]
    Duplicate,
    /// The CSV cannot be parsed (an unclosed quote, for instance).
    #[serde(rename = "malformed_csv")]
    Malformed,
}

impl TableErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotUtf8 => "not_utf8",
            Self::Ragged => "ragged_row",
            Self::Empty => "empty_table",
            Self::DuplicateColumn => "duplicate_column",
            Self::UnknownColumn => "unknown_column",
            Self::BadValue => "bad_value",
            Self::Duplicate => "duplicate_value",
            Self::Malformed => "malformed_csv",
        }
    }
}

/// A problem with a table, located by row and column where it has a place.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
pub struct TableError {
    pub code: TableErrorCode,
    /// Spreadsheet row number (header = 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// Column name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "row {r}, column \"{c}\": {}", self.message),
            (Some(r), None) => write!(f, "row {r}: {}", self.message),
            (None, Some(c)) => write!(f, "column \"{c}\": {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

impl TableError {
    pub fn new(
        code: TableErrorCode,
        row: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            row,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }
}

/// A parsed CSV table: a header and rows of text cells, all rows as wide as the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Spreadsheet row number of each data row (multi-line quoted cells make these differ from
    /// the index).
    row_numbers: Vec<u64>,
    index: HashMap<String, usize>,
}

/// A column of a table, found by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column(usize);

impl Table {
    /// Parses CSV bytes (UTF-8, optional byte-order mark, comma-separated, quoted as RFC 4180).
    /// Blank lines are skipped.
    pub fn parse(bytes: &[u8]) -> Result<Table, TableError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let headers = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect::<Vec<_>>(),
            Err(e) => return Err(convert(e, &[], &|_| 1)),
        };
        if headers.is_empty() || headers.iter().all(String::is_empty) {
            return Err(TableError::new(
                TableErrorCode::Empty,
                Some(1),
                None,
                "the table has no header row",
            ));
        }
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            if index.insert(h.clone(), i).is_some() {
                return Err(TableError::new(
                    TableErrorCode::DuplicateColumn,
                    Some(1),
                    Some(h),
                    "two columns have this name",
                ));
            }
        }
        // Line numbers from byte offsets: csv's own line count is off after blank lines.
        let newlines: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        let line_at = |offset: usize| -> u64 {
            let mut o = offset;
            while o < bytes.len() && (bytes[o] == b'\n' || bytes[o] == b'\r') {
                o += 1;
            }
            newlines.partition_point(|&n| n < o) as u64 + 1
        };
        let mut rows = Vec::new();
        let mut row_numbers = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record
                        .position()
                        .map(|p| line_at(p.byte() as usize))
                        .unwrap_or(0);
                    rows.push(record.iter().map(str::to_string).collect());
                    row_numbers.push(line);
                }
                Err(e) => return Err(convert(e, &headers, &line_at)),
            }
        }
        Ok(Table {
            headers,
            rows,
            row_numbers,
            index,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Finds a column by name: exactly (after trimming), else ignoring ASCII case.
    pub fn column(&self, name: &str) -> Result<Column, TableError> {
        let name = name.trim();
        if let Some(&i) = self.index.get(name) {
            return Ok(Column(i));
        }
        let folded: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
            .collect();
        if folded.len() == 1 {
            return Ok(Column(folded[0]));
        }
        Err(TableError::new(
            TableErrorCode::UnknownColumn,
            Some(1),
            Some(name),
            format!(
                "no such column; the header has: {}",
                self.headers.join(", ")
            ),
        ))
    }

    /// The column's name as written in the header.
    pub fn name(&self, c: Column) -> &str {
        &self.headers[c.0]
    }

    /// Spreadsheet row number of data row `i`.
    pub fn row_number(&self, i: usize) -> u64 {
        self.row_numbers[i]
    }

    /// The trimmed text of a cell.
    pub fn text(&self, i: usize, c: Column) -> &str {
        self.rows[i][c.0].trim()
    }

    /// An error about a cell.
    pub fn error(
        &self,
        i: usize,
        c: Column,
        code: TableErrorCode,
        message: impl Into<String>,
    ) -> TableError {
        TableError::new(code, Some(self.row_number(i)), Some(self.name(c)), message)
    }

    /// A finite number; an empty cell is `Ok(None)`.
    pub fn number(&self, i: usize, c: Column) -> Result<Option<f64>, TableError> {
        let t = self.text(i, c);
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.error(
                i,
                c,
                TableErrorCode::BadValue,
                format!("expected a number, found {t:?}"),
            )),
        }
    }
}

fn convert(e: csv::Error, headers: &[String], line_at: &dyn Fn(usize) -> u64) -> TableError {
    let line = e.position().map(|p| line_at(p.byte() as usize));
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            let column = headers.get(err.field()).cloned();
            TableError {
                code: TableErrorCode::NotUtf8,
                row: line,
                column,
                message: format!(
                    "not UTF-8 text (field {}); save the file as UTF-8",
                    err.field() + 1
                ),
            }
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => TableError::new(
            TableErrorCode::Ragged,
            line,
            None,
            format!("this row has {len} field(s) but the header has {expected_len}"),
        ),
        _ => TableError::new(
            TableErrorCode::Malformed,
            line,
            None,
            format!("cannot parse the CSV: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_table_with_bom_quotes_and_blank_lines() {
        let t =
            Table::parse(b"\xEF\xBB\xBFid,name\n1,\"a, b\"\n\n2,\"multi\nline\"\n3,c\n").unwrap();
        assert_eq!(t.headers(), ["id", "name"]);
        assert_eq!(t.len(), 3);
        let name = t.column("NAME").unwrap();
        assert_eq!(t.text(0, name), "a, b");
        assert_eq!(
            (t.row_number(0), t.row_number(1), t.row_number(2)),
            (2, 4, 6)
        );
    }

    #[test]
    fn problems_are_located() {
        type Case<'a> = (&'a [u8], TableErrorCode, Option<u64>, Option<&'a str>);
        let cases: [Case; 5] = [
            (
                b"id,size\n1,2\n\n3\n",
                TableErrorCode::Ragged,
                Some(4),
                None,
            ),
            (
                b"id,size\n1,\xff\n",
                TableErrorCode::NotUtf8,
                Some(2),
                Some("size"),
            ),
            (b"", TableErrorCode::Empty, Some(1), None),
            (
                b"id,id\n1,2\n",
                TableErrorCode::DuplicateColumn,
                Some(1),
                Some("id"),
            ),
            (b"id,size\n1,\"2\n", TableErrorCode::Malformed, None, None),
        ];
        for (bytes, code, row, column) in cases {
            match Table::parse(bytes) {
                Err(e) => {
                    assert_eq!(e.code, code, "{e}");
                    assert_eq!(e.row, row, "{e}");
                    assert_eq!(e.column.as_deref(), column, "{e}");
                }
                Ok(t) => {
                    // An unclosed quote runs to the end of the file: csv accepts it as one cell.
                    assert_eq!(code, TableErrorCode::Malformed, "{t:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_and_unknown_columns() {
        let t = Table::parse(b"id,size\na,1.5\nb,\nc,lots\n").unwrap();
        let size = t.column("size").unwrap();
        assert_eq!(t.number(0, size), Ok(Some(1.5)));
        assert_eq!(t.number(1, size), Ok(None));
        assert_eq!(
            t.number(2, size).unwrap_err().to_string(),
            "row 4, column \"size\": expected a number, found \"lots\""
        );
        assert_eq!(
            t.column("weight").unwrap_err().code,
            TableErrorCode::UnknownColumn
        );
    }
}
