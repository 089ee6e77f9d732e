//! CSV exports statisticians use directly (DESIGN.md §4): one row per interview with the design
//! variables beside the answers ([`interviews_csv`]), and one file per repeat group with one row
//! per instance ([`repeat_csv`]).
//!
//! Columns, in order, of the interviews file:
//!
//! 1. `interview_id`, `dwelling_id`, `household_id`, `area_code`, `stratum`, `psu`, `segment`,
//!    `p1` … `pK` (every stage's inclusion probability; K is the most stages any case has),
//!    `weight` (base weight), `replicate`, `disposition` (the final AAPOR code: the recorded one,
//!    else the final disposition of the visits), `status`, `interviewer`, `form_version`,
//!    `started_at`, `ended_at` (ISO 8601 at [`ExportOptions::utc_offset_minutes`]), `gps_lon`,
//!    `gps_lat`, `gps_accuracy` (the interview's fix, as [`crate::coverage::CaseRow::from_entity`]
//!    finds it);
//! 2. one column per question outside repeats, in form order, named by its path (groups
//!    flattened: `household/size`); notes, groups and repeats have none. A select_multiple is
//!    its space-separated choice names; with [`ExportOptions::choice_columns`] it is followed by
//!    one column per choice, `path/choice`, holding 1 or 0 (empty when unanswered). With
//!    [`ExportOptions::labels`], each select question is followed by `path_label`: the labels of
//!    the chosen choices in that language (joined by `"; "` for several), the value itself when
//!    it is not a choice of the list — values are always kept, labels are added beside them;
//! 3. answers the form does not know (written by a newer form version), sorted by name, named as
//!    stored (`answers/` removed), so that nothing is dropped.
//!
//! A repeat file has `interview_id`, `instance_id`, `instance_order` (1-based, in instance id
//! order — ids are UUIDv7, so creation order — within the interview, or within the enclosing
//! instance for nested repeats), `parent_instance_id` (nested repeats only), then the repeat's
//! questions and unknown answers by the same rules. Removed instances are left out.
//!
//! Missing values are empty cells. Rows are ordered by area code, then interview id (then
//! instance order). Deleted cases and entities that are not interviews are skipped. Values:
//! integers and decimals as written, booleans `1`/`0`, positions `lat lon` (as ODK writes a
//! geopoint), lists space-separated, maps as JSON.

#[cfg(test)]
mod tests;

use crate::coverage::CaseRow;
use crate::fieldwork::field;
use crate::form::model::{Form, Question, QuestionKind, pick};
use crate::sync::{Entity, EntityKind, FieldValue};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// How the CSV files are written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportOptions {
    /// Add a `path_label` column after each select question with the labels in this language
    /// (as named in the form's `label::…` columns).
    pub labels: Option<String>,
    /// Add one 0/1 column per choice after each select_multiple.
    pub choice_columns: bool,
    /// Times are written at this offset from UTC (480 for China Standard Time).
    pub utc_offset_minutes: i32,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The CSV writer failed.
    #[error("could not write the CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The offset is not a valid UTC offset.
    #[error("{0} minutes is not a UTC offset (−1439 to 1439)")]
    BadOffset(i32),
}

impl ExportError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Csv(_) => "csv_write",
            ExportError::BadOffset(_) => "bad_utc_offset",
        }
    }
}

/// One step into a repeat: (repeat name, instance id).
type Step = (String, Uuid);

/// The answers of one interview, split by instance.
#[derive(Default)]
struct Answers<'e> {
    /// Leaf name → value, per instance path (empty path: the interview itself).
    by_instance: BTreeMap<Vec<Step>, BTreeMap<&'e str, &'e FieldValue>>,
    /// Instance paths marked removed.
    removed: BTreeSet<Vec<Step>>,
}

/// Splits `answers/<g>[<id>]/<h>[<id>]/<leaf>` into instance steps and the leaf.
fn split_answer(key: &str) -> Option<(Vec<Step>, &str)> {
    let rest = key.strip_prefix(field::ANSWERS)?;
    let mut steps = Vec::new();
    let mut leaf = rest;
    while let Some((head, tail)) = leaf.split_once('/') {
        let Some(open) = head.find('[') else { break };
        let Some(id) = head[open + 1..]
            .strip_suffix(']')
            .and_then(|s| Uuid::try_parse(s).ok())
        else {
            break;
        };
        steps.push((head[..open].to_string(), id));
        leaf = tail;
    }
    Some((steps, leaf))
}

impl<'e> Answers<'e> {
    fn of(e: &'e Entity) -> Self {
        let mut a = Answers::default();
        for (key, value) in e.fields.range(field::ANSWERS.to_string()..) {
            if !key.starts_with(field::ANSWERS) {
                break;
            }
            let Some((steps, leaf)) = split_answer(key) else {
                continue;
            };
            if leaf == "_removed" {
                if value == &FieldValue::Bool(true) {
                    a.removed.insert(steps);
                }
                continue;
            }
            if leaf.starts_with('_') && !steps.is_empty() {
                // `_present` and other markers: the instance exists.
                a.by_instance.entry(steps).or_default();
                continue;
            }
            a.by_instance.entry(steps).or_default().insert(leaf, value);
        }
        a
    }

    /// Whether the instance or one of its enclosing instances was removed.
    fn is_removed(&self, steps: &[Step]) -> bool {
        (1..=steps.len()).any(|n| self.removed.contains(&steps[..n]))
    }
}

/// The columns of one level (the interview, or one repeat).
struct Level<'f> {
    form: &'f Form,
    /// Questions with a value at this level, in form order.
    questions: Vec<&'f Question>,
    /// Leaves not in the form, sorted.
    unknown: Vec<String>,
    options: &'f ExportOptions,
}

impl<'f> Level<'f> {
    /// The questions whose enclosing repeats are exactly `chain` (question indices).
    fn new(form: &'f Form, chain: &[usize], options: &'f ExportOptions) -> Self {
        let questions = form
            .questions
            .iter()
            .enumerate()
            .filter(|(i, q)| q.kind.has_value() && form.repeats_of(*i) == chain)
            .map(|(_, q)| q)
            .collect();
        Level {
            form,
            questions,
            unknown: Vec::new(),
            options,
        }
    }

    fn knows(&self, leaf: &str) -> bool {
        self.questions
            .iter()
            .any(|q| q.name == leaf || q.path == leaf)
    }

    /// Records the leaves of `answers` the form does not know.
    fn collect_unknown<'a>(
        &self,
        answers: impl Iterator<Item = &'a BTreeMap<&'a str, &'a FieldValue>>,
        into: &mut BTreeSet<String>,
    ) {
        for map in answers {
            for leaf in map.keys() {
                if !self.knows(leaf) {
                    into.insert((*leaf).to_string());
                }
            }
        }
    }

    fn choices(&self, q: &Question) -> &'f [crate::form::Choice] {
        q.list
            .as_deref()
            .and_then(|l| self.form.choices.get(l))
            .map_or(&[], Vec::as_slice)
    }

    fn header(&self, out: &mut Vec<String>, prefix: &str) {
        for q in &self.questions {
            out.push(q.path.clone());
            if q.kind == QuestionKind::SelectMultiple && self.options.choice_columns {
                for c in self.choices(q) {
                    out.push(format!("{}/{}", q.path, c.name));
                }
            }
            if q.kind.is_select() && self.options.labels.is_some() {
                out.push(format!("{}_label", q.path));
            }
        }
        for u in &self.unknown {
            out.push(format!("{prefix}{u}"));
        }
    }

    fn row(&self, answers: Option<&BTreeMap<&str, &FieldValue>>, out: &mut Vec<String>) {
        let get = |q: &Question| {
            answers.and_then(|a| {
                a.get(q.name.as_str())
                    .or_else(|| a.get(q.path.as_str()))
                    .copied()
                    .filter(|v| !v.is_null())
            })
        };
        for q in &self.questions {
            let v = get(q);
            out.push(v.map(cell).unwrap_or_default());
            if !q.kind.is_select() {
                continue;
            }
            let chosen: Vec<String> = v.map(selected).unwrap_or_default();
            if q.kind == QuestionKind::SelectMultiple && self.options.choice_columns {
                for c in self.choices(q) {
                    out.push(match v {
                        None => String::new(),
                        Some(_) if chosen.contains(&c.name) => "1".into(),
                        Some(_) => "0".into(),
                    });
                }
            }
            if let Some(lang) = &self.options.labels {
                let list = self.choices(q);
                let labels: Vec<&str> = chosen
                    .iter()
                    .map(|name| {
                        list.iter()
                            .find(|c| &c.name == name)
                            .and_then(|c| {
                                pick(
                                    &c.labels,
                                    Some(lang),
                                    self.form.settings.default_language.as_deref(),
                                )
                            })
                            .unwrap_or(name)
                    })
                    .collect();
                out.push(labels.join("; "));
            }
        }
        for u in &self.unknown {
            out.push(
                answers
                    .and_then(|a| a.get(u.as_str()))
                    .map(|v| cell(v))
                    .unwrap_or_default(),
            );
        }
    }
}

/// The choice names of a select answer.
fn selected(v: &FieldValue) -> Vec<String> {
    match v {
        FieldValue::List(items) => items.iter().map(cell).collect(),
        other => cell(other).split_whitespace().map(str::to_string).collect(),
    }
}

/// A value as a CSV cell (see the module documentation).
fn cell(v: &FieldValue) -> String {
    match v {
        FieldValue::Null => String::new(),
        FieldValue::Bool(b) => if *b { "1" } else { "0" }.into(),
        FieldValue::Int(n) => n.to_string(),
        FieldValue::Float(x) if x.is_finite() => x.to_string(),
        FieldValue::Float(_) => String::new(),
        FieldValue::Text(s) => s.clone(),
        FieldValue::Position(p) => format!("{} {}", p.lat, p.lon),
        FieldValue::List(items) => items.iter().map(cell).collect::<Vec<_>>().join(" "),
        FieldValue::Bytes(_) | FieldValue::Map(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// The interviews to export: live interview entities by area code, then id.
fn interviews(cases: &[Entity]) -> Vec<&Entity> {
    let mut out: Vec<&Entity> = cases
        .iter()
        .filter(|e| e.kind == EntityKind::Interview && !e.deleted)
        .collect();
    out.sort_by(|a, b| {
        a.text(field::AREA_CODE)
            .cmp(&b.text(field::AREA_CODE))
            .then(a.id.cmp(&b.id))
    });
    out
}

fn time(ms: Option<&FieldValue>, offset: chrono::FixedOffset) -> String {
    let ms = match ms {
        Some(FieldValue::Int(n)) => *n,
        Some(FieldValue::Float(x)) if x.is_finite() => x.round() as i64,
        Some(other) => return cell(other),
        None => return String::new(),
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&offset)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        })
        .unwrap_or_default()
}

fn offset(options: &ExportOptions) -> Result<chrono::FixedOffset, ExportError> {
    chrono::FixedOffset::east_opt(options.utc_offset_minutes.saturating_mul(60))
        .ok_or(ExportError::BadOffset(options.utc_offset_minutes))
}

/// The number of stage probabilities (`design/p1` … `design/pK`) the cases carry.
fn stages(cases: &[&Entity]) -> usize {
    cases
        .iter()
        .flat_map(|e| {
            e.fields
                .range(field::STAGE_PROB_PREFIX.to_string()..)
                .take_while(|(k, _)| k.starts_with(field::STAGE_PROB_PREFIX))
                .filter_map(|(k, _)| k[field::STAGE_PROB_PREFIX.len()..].parse::<usize>().ok())
        })
        .max()
        .unwrap_or(0)
}

/// One row per interview (columns in the module documentation).
pub fn interviews_csv(
    form: &Form,
    cases: &[Entity],
    options: &ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    let offset = offset(options)?;
    let cases = interviews(cases);
    let answers: Vec<Answers<'_>> = cases.iter().map(|e| Answers::of(e)).collect();
    let mut level = Level::new(form, &[], options);
    let mut unknown = BTreeSet::new();
    level.collect_unknown(
        answers
            .iter()
            .filter_map(|a| a.by_instance.get(&Vec::new())),
        &mut unknown,
    );
    level.unknown = unknown.into_iter().collect();
    let k = stages(&cases);

    let mut header: Vec<String> = [
        "interview_id",
        "dwelling_id",
        "household_id",
        "area_code",
        "stratum",
        "psu",
        "segment",
    ]
    .map(String::from)
    .to_vec();
    header.extend((1..=k).map(|i| format!("p{i}")));
    header.extend(
        [
            "weight",
            "replicate",
            "disposition",
            "status",
            "interviewer",
            "form_version",
            "started_at",
            "ended_at",
            "gps_lon",
            "gps_lat",
            "gps_accuracy",
        ]
        .map(String::from),
    );
    level.header(&mut header, "");

    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for (e, a) in cases.iter().zip(&answers) {
        row.clear();
        let f = |name: &str| e.get(name).map(cell).unwrap_or_default();
        row.push(e.id.to_string());
        for name in [
            field::DWELLING,
            field::HOUSEHOLD,
            field::AREA_CODE,
            field::STRATUM,
            field::PSU,
            field::DESIGN_SEGMENT,
        ] {
            row.push(f(name));
        }
        for i in 1..=k {
            row.push(f(&crate::fieldwork::stage_prob(i)));
        }
        row.push(f(field::BASE_WEIGHT));
        row.push(f(field::REPLICATE));
        let parsed = CaseRow::from_entity(e).ok();
        let recorded = e.get(field::DISPOSITION).filter(|v| !v.is_null());
        row.push(
            match (recorded, parsed.as_ref().and_then(CaseRow::outcome)) {
                (_, Some(d)) => d.code().to_string(),
                (Some(raw), None) => cell(raw),
                (None, None) => String::new(),
            },
        );
        row.push(f(crate::sync::entity::STATUS_FIELD));
        row.push(f(field::INTERVIEWER));
        row.push(f(field::FORM_VERSION));
        row.push(time(e.get(field::STARTED_AT), offset));
        row.push(time(e.get(field::ENDED_AT), offset));
        match parsed.as_ref().and_then(|c| c.position) {
            Some(p) => {
                row.push(p.lon.to_string());
                row.push(p.lat.to_string());
                row.push(p.accuracy_m.map(|a| a.to_string()).unwrap_or_default());
            }
            None => row.extend([String::new(), String::new(), String::new()]),
        }
        level.row(a.by_instance.get(&Vec::new()), &mut row);
        w.write_record(&row)?;
    }
    finish(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    w.into_inner()
        .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
}

/// The repeat groups to export: the form's repeats in form order, then groups found in the data
/// that the form does not have, sorted.
pub fn repeat_groups(form: &Form, cases: &[Entity]) -> Vec<String> {
    let mut out: Vec<String> = form
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::BeginRepeat)
        .map(|q| q.name.clone())
        .collect();
    let mut extra = BTreeSet::new();
    for e in interviews(cases) {
        for steps in Answers::of(e).by_instance.keys() {
            if let Some((g, _)) = steps.last()
                && !out.contains(g)
            {
                extra.insert(g.clone());
            }
        }
    }
    out.extend(extra);
    out
}

/// One row per instance of the repeat `group` (columns in the module documentation).
pub fn repeat_csv(
    form: &Form,
    group: &str,
    cases: &[Entity],
    options: &ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    let cases = interviews(cases);
    let answers: Vec<Answers<'_>> = cases.iter().map(|e| Answers::of(e)).collect();
    let repeat = form
        .questions
        .iter()
        .position(|q| q.kind == QuestionKind::BeginRepeat && q.name == group);
    let mut level = match repeat {
        Some(r) => {
            let mut chain = form.repeats_of(r);
            chain.push(r);
            Level::new(form, &chain, options)
        }
        None => Level {
            form,
            questions: Vec::new(),
            unknown: Vec::new(),
            options,
        },
    };
    // The instances of the group, per interview, in order.
    let rows: Vec<Vec<(&Vec<Step>, usize)>> = answers
        .iter()
        .map(|a| {
            let mut mine: Vec<&Vec<Step>> = a
                .by_instance
                .keys()
                .filter(|s| s.last().is_some_and(|(g, _)| g == group) && !a.is_removed(s))
                .collect();
            // Instance order: by enclosing instance, then by id.
            mine.sort();
            let mut order = Vec::with_capacity(mine.len());
            let mut n = 0;
            for (i, s) in mine.iter().enumerate() {
                n = if i > 0 && mine[i - 1][..s.len() - 1] == s[..s.len() - 1] {
                    n + 1
                } else {
                    1
                };
                order.push((*s, n));
            }
            order
        })
        .collect();
    let nested = match repeat {
        Some(r) => !form.repeats_of(r).is_empty(),
        None => rows.iter().flatten().any(|(s, _)| s.len() > 1),
    };
    let mut unknown = BTreeSet::new();
    level.collect_unknown(
        rows.iter()
            .zip(&answers)
            .flat_map(|(r, a)| r.iter().filter_map(|(s, _)| a.by_instance.get(*s))),
        &mut unknown,
    );
    level.unknown = unknown.into_iter().collect();

    let mut header: Vec<String> = vec![
        "interview_id".into(),
        "instance_id".into(),
        "instance_order".into(),
    ];
    if nested {
        header.push("parent_instance_id".into());
    }
    level.header(&mut header, "");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for ((e, a), instances) in cases.iter().zip(&answers).zip(&rows) {
        for (steps, order) in instances {
            row.clear();
            row.push(e.id.to_string());
            row.push(
                steps
                    .last()
                    .map(|(_, id)| id.to_string())
                    .unwrap_or_default(),
            );
            row.push(order.to_string());
            if nested {
                row.push(
                    steps
                        .len()
                        .checked_sub(2)
                        .map(|i| steps[i].1.to_string())
                        .unwrap_or_default(),
                );
            }
            level.row(a.by_instance.get(*steps), &mut row);
            w.write_record(&row)?;
        }
    }
    finish(w)
}
