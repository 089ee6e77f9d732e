//! XLSForm: the spreadsheet format every survey team already writes questionnaires in (ODK,
//! KoboToolbox, SurveyCTO). This module turns a workbook — sheets as grids of text, however they
//! were read (`.xlsx`, `.xls`, a folder of CSV files) — into a [`Form`], or into every authoring
//! error at once, each with its sheet, row, column and a plain message.
//!
//! Real forms are messy, and what ODK's converter accepts is accepted here: header names in any
//! case with surrounding spaces (`Label::English (en)`), `constraint message` for
//! `constraint_message`, `jr:constraintMsg`, empty rows, `begin group` or `begin_group`,
//! `select_one list or_other`, `select_one_from_file`, yes/no/true()/1 for `required`.

use super::expr;
use super::model::{Choice, FORM_MODEL_VERSION, Form, Labels, Question, QuestionKind, Settings};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// One sheet: its name and its cells, row by row (the first row is the header).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

/// A workbook as read from a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workbook {
    pub sheets: Vec<Sheet>,
}

/// A mistake in the form as authored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthoringError {
    pub sheet: String,
    /// Spreadsheet row (header = 1).
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for AuthoringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sheet {}", self.sheet)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every authoring error of a form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct AuthoringErrors(pub Vec<AuthoringError>);

impl fmt::Display for AuthoringErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A column: its base name (normalised) and language (as written), and the header as written.
#[derive(Debug, Clone)]
struct Col {
    base: String,
    lang: Option<String>,
    header: String,
}

fn normalise_header(h: &str) -> Col {
    let header = h.trim().to_string();
    let (base, lang) = match header.split_once("::") {
        Some((b, l)) => (b, Some(l.trim().to_string())),
        None => (header.as_str(), None),
    };
    let b = base.trim().to_lowercase().replace(' ', "_");
    let base = match b.as_str() {
        "jr:constraintmsg" | "constraint_msg" => "constraint_message",
        "jr:requiredmsg" | "required_msg" => "required_message",
        "caption" => "label",
        "relevance" | "bind::relevant" => "relevant",
        "calculate" | "bind::calculate" => "calculation",
        "jr:count" | "count" => "repeat_count",
        "list" | "list_name" | "listname" => "list_name",
        "readonly" => "read_only",
        other => other,
    }
    .to_string();
    // Media columns (`media::image::English`) keep their full name as an extra column.
    let (base, lang) = if base == "media" {
        (header.to_lowercase(), None)
    } else {
        (base, lang)
    };
    Col { base, lang, header }
}

/// A sheet with its header parsed. The header is the first non-empty row.
struct Grid<'a> {
    sheet: &'a Sheet,
    cols: Vec<Col>,
    header: usize,
}

impl<'a> Grid<'a> {
    fn new(sheet: &'a Sheet) -> Self {
        let header = sheet
            .rows
            .iter()
            .position(|r| r.iter().any(|c| !c.trim().is_empty()))
            .unwrap_or(0);
        let cols = sheet
            .rows
            .get(header)
            .map(|h| h.iter().map(|c| normalise_header(c)).collect())
            .unwrap_or_default();
        Self {
            sheet,
            cols,
            header,
        }
    }

    fn has(&self, base: &str) -> bool {
        self.cols.iter().any(|c| c.base == base)
    }

    /// Data rows with their spreadsheet row numbers, skipping empty rows.
    fn rows(&self) -> impl Iterator<Item = (usize, &'a [String])> + '_ {
        self.sheet
            .rows
            .iter()
            .enumerate()
            .skip(self.header + 1)
            .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
            .map(|(i, r)| (i + 1, r.as_slice()))
    }

    fn cell<'r>(&self, row: &'r [String], base: &str) -> Option<&'r str> {
        self.cols
            .iter()
            .position(|c| c.base == base && c.lang.is_none())
            .or_else(|| self.cols.iter().position(|c| c.base == base))
            .and_then(|i| row.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// All language variants of a column.
    fn labels(&self, row: &[String], base: &str, languages: &mut Vec<String>) -> Labels {
        let mut out = Labels::new();
        for (i, c) in self.cols.iter().enumerate() {
            if c.base != base {
                continue;
            }
            if let Some(v) = row.get(i).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                let lang = c.lang.clone().unwrap_or_else(|| "default".to_string());
                if !languages.contains(&lang) {
                    languages.push(lang.clone());
                }
                out.insert(lang, v.to_string());
            }
        }
        out
    }
}

/// Columns of the survey sheet that mapframe interprets.
const SURVEY_COLUMNS: &[&str] = &[
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "read_only",
    "appearance",
    "choice_filter",
    "repeat_count",
    "parameters",
    "trigger",
];

fn find_sheet<'a>(wb: &'a Workbook, name: &str) -> Option<&'a Sheet> {
    wb.sheets
        .iter()
        .find(|s| s.name.trim().eq_ignore_ascii_case(name))
}

/// Whether a name is a valid XML element name (what ODK requires of question names).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parses a type cell into (kind, normalised type word, list name, or_other).
fn parse_type(cell: &str) -> Result<(QuestionKind, String, Option<String>, bool), String> {
    let words: Vec<&str> = cell.split_whitespace().collect();
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    // "begin group" / "end repeat" written with a space.
    let (first, rest) = if matches!(first.as_str(), "begin" | "end") && words.len() >= 2 {
        (format!("{first}_{}", words[1].to_lowercase()), &words[2..])
    } else {
        (first, words.get(1..).unwrap_or(&[]))
    };
    use QuestionKind::*;
    let simple = |k: QuestionKind,
                  w: &str|
     -> Result<(QuestionKind, String, Option<String>, bool), String> {
        if rest.is_empty() {
            Ok((k, w.to_string(), None, false))
        } else {
            Err(format!("unexpected {:?} after type {w}", rest.join(" ")))
        }
    };
    match first.as_str() {
        "select_one"
        | "select_multiple"
        | "rank"
        | "select_one_from_file"
        | "select_multiple_from_file" => {
            let kind = match first.as_str() {
                "select_one" | "select_one_from_file" => SelectOne,
                "rank" => Rank,
                _ => SelectMultiple,
            };
            let Some(list) = rest.first() else {
                return Err(format!(
                    "{first} needs a choice list name: \"{first} LIST\""
                ));
            };
            let or_other = match rest.get(1..).unwrap_or(&[]) {
                [] => false,
                [w] if w.eq_ignore_ascii_case("or_other") => true,
                more => {
                    return Err(format!(
                        "unexpected {:?} after the list name (only or_other may follow)",
                        more.join(" ")
                    ));
                }
            };
            let word = if first.ends_with("_from_file") {
                first.trim_end_matches("_from_file").to_string()
            } else {
                first.clone()
            };
            Ok((kind, word, Some(list.to_string()), or_other))
        }
        "text" | "string" => simple(Text, "text"),
        "integer" | "int" => simple(Integer, "integer"),
        "decimal" => simple(Decimal, "decimal"),
        "date" => simple(Date, "date"),
        "time" => simple(Time, "time"),
        "datetime" => simple(DateTime, "dateTime"),
        "geopoint" => simple(Geopoint, "geopoint"),
        "geotrace" => simple(Geotrace, "geotrace"),
        "geoshape" => simple(Geoshape, "geoshape"),
        "note" => simple(Note, "note"),
        "calculate" => simple(Calculate, "calculate"),
        "acknowledge" | "trigger" => simple(Acknowledge, "acknowledge"),
        "range" => simple(Range, "range"),
        "image" | "photo" => simple(Image, "image"),
        "audio" => simple(Audio, "audio"),
        "video" => simple(Video, "video"),
        "file" => simple(File, "file"),
        "barcode" => simple(Barcode, "barcode"),
        "hidden" => simple(Hidden, "hidden"),
        "start" | "end" | "today" | "deviceid" | "username" | "phonenumber" | "subscriberid"
        | "simserial" | "email" | "audit" | "start-geopoint" | "background-audio"
        | "xml-external" | "csv-external" => simple(Metadata, &first),
        "begin_group" => simple(BeginGroup, "begin_group"),
        "begin_repeat" => simple(BeginRepeat, "begin_repeat"),
        "end_group" | "end_repeat" => Ok((Note, first.clone(), None, false)),
        "" => Err("the type is empty".into()),
        other => Err(format!("unknown question type {other:?}")),
    }
}

/// Reads a form from a workbook: every authoring error is reported, none is fatal on its own.
pub fn read_form(wb: &Workbook) -> Result<Form, AuthoringErrors> {
    let mut errors: Vec<AuthoringError> = Vec::new();
    let err = |errors: &mut Vec<AuthoringError>,
               sheet: &str,
               row: Option<usize>,
               column: Option<&str>,
               message: String| {
        errors.push(AuthoringError {
            sheet: sheet.to_string(),
            row,
            column: column.map(str::to_string),
            message,
        });
    };
    let Some(survey) = find_sheet(wb, "survey") else {
        let names: Vec<&str> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
        return Err(AuthoringErrors(vec![AuthoringError {
            sheet: "survey".into(),
            row: None,
            column: None,
            message: format!(
                "the workbook has no survey sheet (sheets: {})",
                names.join(", ")
            ),
        }]));
    };
    let sname = survey.name.clone();
    let grid = Grid::new(survey);
    for needed in ["type", "name"] {
        if !grid.has(needed) {
            err(
                &mut errors,
                &sname,
                Some(1),
                Some(needed),
                format!("the survey sheet needs a {needed} column"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(AuthoringErrors(errors));
    }
    let mut languages: Vec<String> = Vec::new();

    // Choices.
    let mut choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let mut choice_rows: HashMap<String, usize> = HashMap::new();
    if let Some(sheet) = find_sheet(wb, "choices") {
        let g = Grid::new(sheet);
        for needed in ["list_name", "name"] {
            if !g.has(needed) {
                err(
                    &mut errors,
                    &sheet.name,
                    Some(1),
                    Some(needed),
                    format!("the choices sheet needs a {needed} column"),
                );
            }
        }
        if g.has("list_name") && g.has("name") {
            let mut seen: HashSet<(String, String)> = HashSet::new();
            for (row, cells) in g.rows() {
                let (Some(list), Some(name)) = (g.cell(cells, "list_name"), g.cell(cells, "name"))
                else {
                    let missing = if g.cell(cells, "list_name").is_none() {
                        "list_name"
                    } else {
                        "name"
                    };
                    err(
                        &mut errors,
                        &sheet.name,
                        Some(row),
                        Some(missing),
                        format!("the choice has no {missing}"),
                    );
                    continue;
                };
                if !seen.insert((list.to_string(), name.to_string())) {
                    err(
                        &mut errors,
                        &sheet.name,
                        Some(row),
                        Some("name"),
                        format!("choice {name:?} appears twice in list {list:?}"),
                    );
                    continue;
                }
                choice_rows.entry(list.to_string()).or_insert(row);
                let labels = g.labels(cells, "label", &mut languages);
                let mut columns = BTreeMap::new();
                for (i, c) in g.cols.iter().enumerate() {
                    if !matches!(c.base.as_str(), "list_name" | "name" | "label")
                        && let Some(v) = cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
                    {
                        columns.insert(c.header.clone(), v.to_string());
                    }
                }
                choices.entry(list.to_string()).or_default().push(Choice {
                    name: name.to_string(),
                    labels,
                    columns,
                });
            }
        }
    }

    // Settings.
    let mut settings = Settings::default();
    if let Some(sheet) = find_sheet(wb, "settings") {
        let g = Grid::new(sheet);
        if let Some((_, cells)) = g.rows().next() {
            for (i, c) in g.cols.iter().enumerate() {
                let Some(v) = cells
                    .get(i)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                else {
                    continue;
                };
                match c.base.as_str() {
                    "form_id" | "id_string" => settings.form_id = v,
                    "version" => settings.version = v,
                    "form_title" | "title" => settings.form_title = v,
                    "default_language" => settings.default_language = Some(v),
                    "instance_name" => settings.instance_name = Some(v),
                    _ => {
                        settings.extra.insert(c.header.clone(), v);
                    }
                }
            }
        }
    }

    // Survey rows.
    let mut questions: Vec<Question> = Vec::new();
    let mut stack: Vec<(usize, QuestionKind, usize)> = Vec::new(); // (index, kind, row)
    let mut names_at: HashMap<(Option<usize>, String), usize> = HashMap::new();
    for (row, cells) in grid.rows() {
        let type_cell = grid.cell(cells, "type").unwrap_or("");
        let name_cell = grid.cell(cells, "name");
        let (kind, type_word, list, or_other) = match parse_type(type_cell) {
            Ok(t) => t,
            Err(m) => {
                if type_cell.is_empty() && name_cell.is_none() {
                    continue;
                }
                err(&mut errors, &sname, Some(row), Some("type"), m);
                continue;
            }
        };
        if type_word == "end_group" || type_word == "end_repeat" {
            let want = if type_word == "end_group" {
                QuestionKind::BeginGroup
            } else {
                QuestionKind::BeginRepeat
            };
            match stack.pop() {
                Some((i, k, _)) if k == want => questions[i].end = Some(questions.len()),
                Some((i, k, open_row)) => {
                    err(
                        &mut errors,
                        &sname,
                        Some(row),
                        Some("type"),
                        format!(
                            "{type_word} closes {} {:?} opened in row {open_row}",
                            if k == QuestionKind::BeginGroup {
                                "group"
                            } else {
                                "repeat"
                            },
                            questions[i].name
                        ),
                    );
                    questions[i].end = Some(questions.len());
                }
                None => err(
                    &mut errors,
                    &sname,
                    Some(row),
                    Some("type"),
                    format!("{type_word} without a matching begin"),
                ),
            }
            continue;
        }
        let Some(name) = name_cell else {
            err(
                &mut errors,
                &sname,
                Some(row),
                Some("name"),
                format!("a {type_word} needs a name"),
            );
            continue;
        };
        if !valid_name(name) {
            err(
                &mut errors,
                &sname,
                Some(row),
                Some("name"),
                format!(
                    "{name:?} is not a valid name: start with a letter or _, then letters, digits, _, - or ."
                ),
            );
        }
        let parent = stack.last().map(|s| s.0);
        if let Some(prev) = names_at.insert((parent, name.to_string()), row) {
            err(
                &mut errors,
                &sname,
                Some(row),
                Some("name"),
                format!("the name {name:?} is already used in row {prev} in the same group"),
            );
        }
        if let Some(l) = &list
            && !choices.contains_key(l)
            && !type_cell.to_lowercase().contains("_from_file")
        {
            err(
                &mut errors,
                &sname,
                Some(row),
                Some("type"),
                format!("the choice list {l:?} is not in the choices sheet"),
            );
        }
        let path = match parent {
            Some(p) => format!("{}/{name}", questions[p].path),
            None => name.to_string(),
        };
        let mut q = Question {
            name: name.to_string(),
            type_word,
            kind,
            list,
            or_other,
            path,
            parent,
            end: None,
            labels: grid.labels(cells, "label", &mut languages),
            hints: grid.labels(cells, "hint", &mut languages),
            required: grid.cell(cells, "required").map(str::to_string),
            required_message: grid.labels(cells, "required_message", &mut languages),
            relevant: grid.cell(cells, "relevant").map(str::to_string),
            constraint: grid.cell(cells, "constraint").map(str::to_string),
            constraint_message: grid.labels(cells, "constraint_message", &mut languages),
            calculation: grid.cell(cells, "calculation").map(str::to_string),
            default: grid.cell(cells, "default").map(str::to_string),
            read_only: grid.cell(cells, "read_only").map(str::to_string),
            appearance: grid.cell(cells, "appearance").map(str::to_string),
            choice_filter: grid.cell(cells, "choice_filter").map(str::to_string),
            repeat_count: grid.cell(cells, "repeat_count").map(str::to_string),
            parameters: BTreeMap::new(),
            trigger: grid.cell(cells, "trigger").map(str::to_string),
            extra: BTreeMap::new(),
            row,
        };
        if let Some(p) = grid.cell(cells, "parameters") {
            for pair in p
                .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
                .filter(|s| !s.is_empty())
            {
                match pair.split_once('=') {
                    Some((k, v)) => {
                        q.parameters
                            .insert(k.trim().to_string(), v.trim().to_string());
                    }
                    None => err(
                        &mut errors,
                        &sname,
                        Some(row),
                        Some("parameters"),
                        format!("{pair:?} is not key=value"),
                    ),
                }
            }
        }
        for (i, c) in grid.cols.iter().enumerate() {
            if !SURVEY_COLUMNS.contains(&c.base.as_str())
                && let Some(v) = cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
            {
                q.extra.insert(c.header.clone(), v.to_string());
            }
        }
        if q.kind == QuestionKind::Calculate && q.calculation.is_none() {
            err(
                &mut errors,
                &sname,
                Some(row),
                Some("calculation"),
                format!("calculate {name:?} has no calculation"),
            );
        }
        let index = questions.len();
        let or_other_question = q.or_other.then(|| Question {
            name: format!("{name}_other"),
            type_word: "text".into(),
            kind: QuestionKind::Text,
            list: None,
            or_other: false,
            path: format!("{}_other", q.path),
            parent,
            end: None,
            labels: [("default".to_string(), "Specify other.".to_string())]
                .into_iter()
                .collect(),
            hints: Labels::new(),
            required: None,
            required_message: Labels::new(),
            relevant: Some(format!("selected(${{{name}}}, 'other')")),
            constraint: None,
            constraint_message: Labels::new(),
            calculation: None,
            default: None,
            read_only: None,
            appearance: None,
            choice_filter: None,
            repeat_count: None,
            parameters: BTreeMap::new(),
            trigger: None,
            extra: BTreeMap::new(),
            row,
        });
        if matches!(kind, QuestionKind::BeginGroup | QuestionKind::BeginRepeat) {
            stack.push((index, kind, row));
        }
        questions.push(q);
        if let Some(o) = or_other_question {
            questions.push(o);
        }
    }
    for (i, k, row) in stack.drain(..).rev() {
        err(
            &mut errors,
            &sname,
            Some(row),
            Some("type"),
            format!(
                "{} {:?} is never closed: add an {} row",
                if k == QuestionKind::BeginGroup {
                    "group"
                } else {
                    "repeat"
                },
                questions[i].name,
                if k == QuestionKind::BeginGroup {
                    "end_group"
                } else {
                    "end_repeat"
                }
            ),
        );
        questions[i].end = Some(questions.len());
    }
    // "other" choices for or_other lists.
    for q in &questions {
        if q.or_other
            && let Some(list) = q.list.as_ref().and_then(|l| choices.get_mut(l))
            && !list.iter().any(|c| c.name == "other")
        {
            list.push(Choice {
                name: "other".into(),
                labels: [("default".to_string(), "Other".to_string())]
                    .into_iter()
                    .collect(),
                columns: BTreeMap::new(),
            });
        }
    }

    // Expressions: syntax and references.
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, q) in questions.iter().enumerate() {
        by_name.entry(q.name.as_str()).or_default().push(i);
    }
    let mut expr_errors = Vec::new();
    for q in &questions {
        let columns: [(&str, Option<&String>); 7] = [
            ("relevant", q.relevant.as_ref()),
            ("constraint", q.constraint.as_ref()),
            ("calculation", q.calculation.as_ref()),
            ("choice_filter", q.choice_filter.as_ref()),
            ("repeat_count", q.repeat_count.as_ref()),
            (
                "default",
                q.default
                    .as_ref()
                    .filter(|d| d.contains("${") || d.contains('(')),
            ),
            ("required", q.required.as_ref().filter(|r| !is_yes_no(r))),
        ];
        for (column, src) in columns {
            let Some(src) = src else { continue };
            let parsed = if column == "choice_filter" {
                expr::parse_choice_filter(src)
            } else {
                expr::parse(src)
            };
            match parsed {
                Err(e) => expr_errors.push((
                    q.row,
                    column,
                    format!(
                        "expression error at character {}: {} in {src:?}",
                        e.position, e.message
                    ),
                )),
                Ok(parsed) => {
                    for r in parsed.references() {
                        match by_name.get(r.as_str()).map(Vec::len) {
                            None => expr_errors.push((
                                q.row,
                                column,
                                format!("${{{r}}} refers to no question"),
                            )),
                            Some(n) if n > 1 => expr_errors.push((
                                q.row,
                                column,
                                format!("${{{r}}} is ambiguous: {n} questions have that name"),
                            )),
                            _ => {}
                        }
                    }
                }
            }
        }
        for (column, labels) in [("label", &q.labels), ("hint", &q.hints)] {
            for text in labels.values() {
                for r in label_references(text) {
                    if !by_name.contains_key(r) {
                        expr_errors.push((
                            q.row,
                            column,
                            format!("${{{r}}} in the {column} refers to no question"),
                        ));
                    }
                }
            }
        }
    }
    for (row, column, message) in expr_errors {
        err(&mut errors, &sname, Some(row), Some(column), message);
    }
    if settings.form_id.is_empty() {
        settings.form_id = "form".into();
    }
    if let Some(d) = &settings.default_language
        && !languages.contains(d)
        && !languages.is_empty()
    {
        err(
            &mut errors,
            "settings",
            Some(2),
            Some("default_language"),
            format!(
                "no column is in the default language {d:?} (languages: {})",
                languages.join(", ")
            ),
        );
    }
    if questions
        .iter()
        .all(|q| !q.kind.has_value() || q.kind == QuestionKind::Metadata)
        && errors.is_empty()
    {
        err(
            &mut errors,
            &sname,
            None,
            None,
            "the survey has no questions".into(),
        );
    }
    if errors.is_empty() {
        Ok(Form {
            model_version: FORM_MODEL_VERSION,
            settings,
            languages,
            questions,
            choices,
        })
    } else {
        Err(AuthoringErrors(errors))
    }
}

/// Whether a `required` cell is a plain yes/no rather than an expression.
pub fn is_yes_no(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "yes" | "no" | "true" | "false" | "true()" | "false()" | "1" | "0" | "y" | "n"
    )
}

/// `${name}` references in a label or hint.
pub fn label_references(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                out.push(&after[..j]);
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}
