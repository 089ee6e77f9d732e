//! The form model: a questionnaire as mapframe runs it, read from XLSForm (see [`super::xlsform`]).
//!
//! Questions are kept in form order in one flat list; groups and repeats are questions too
//! (`begin_group`, `begin_repeat`) and every question knows its parent, so the tree is implicit.
//! Expressions are kept as written; [`super::engine`] compiles them. Labels, hints and messages are
//! maps from language to text; the plain `label` column is the language `"default"`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the serialised form model.
pub const FORM_MODEL_VERSION: u32 = 1;

/// Text in several languages: language name (as in `label::中文 (zh)`, or `default`) → text.
pub type Labels = BTreeMap<String, String>;

/// Picks the text for a language: the language itself, else the form's default language, else
/// `default`, else any.
pub fn pick<'a>(
    labels: &'a Labels,
    lang: Option<&str>,
    default_language: Option<&str>,
) -> Option<&'a str> {
    lang.and_then(|l| labels.get(l))
        .or_else(|| default_language.and_then(|l| labels.get(l)))
        .or_else(|| labels.get("default"))
        .or_else(|| labels.values().next())
        .map(String::as_str)
}

/// What kind of question a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    Integer,
    Decimal,
    SelectOne,
    SelectMultiple,
    Rank,
    Date,
    Time,
    DateTime,
    Geopoint,
    Geotrace,
    Geoshape,
    Note,
    Calculate,
    Acknowledge,
    Range,
    Image,
    Audio,
    Video,
    File,
    Barcode,
    Hidden,
    /// Metadata filled in by the device: start, end, today, deviceid, username, …
    Metadata,
    BeginGroup,
    BeginRepeat,
}

impl QuestionKind {
    /// Whether the interviewer sees and answers it (not a group, calculate, hidden or metadata).
    pub fn is_shown(self) -> bool {
        !matches!(
            self,
            QuestionKind::Calculate
                | QuestionKind::Hidden
                | QuestionKind::Metadata
                | QuestionKind::BeginGroup
                | QuestionKind::BeginRepeat
        )
    }

    /// Whether it is answered by choosing from a list.
    pub fn is_select(self) -> bool {
        matches!(
            self,
            QuestionKind::SelectOne | QuestionKind::SelectMultiple | QuestionKind::Rank
        )
    }

    /// Whether it holds an answer at all.
    pub fn has_value(self) -> bool {
        !matches!(
            self,
            QuestionKind::Note | QuestionKind::BeginGroup | QuestionKind::BeginRepeat
        )
    }
}

/// One survey row: a question, group or repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub name: String,
    /// The XLSForm type word as written, normalised: `select_one`, `integer`, `begin_group`, …
    pub type_word: String,
    pub kind: QuestionKind,
    /// For selects: the choice list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// `select_one list or_other`: an "other" choice was added, with a text question `NAME_other`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub or_other: bool,
    /// Names of the enclosing groups and repeats, then the name, joined by `/`.
    pub path: String,
    /// Index of the enclosing group or repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// For groups and repeats: the index one past their last descendant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hints: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub required_message: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constraint_message: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_count: Option<String>,
    /// `parameters` as key=value pairs (`start=0 end=10 step=1`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Columns mapframe does not interpret, kept as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// The spreadsheet row it came from (1-based; header is row 1).
    pub row: usize,
}

/// One choice of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// Other columns (used by choice filters: `state=${state}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

/// The `settings` sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub form_id: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub form_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

/// A questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub model_version: u32,
    pub settings: Settings,
    /// Languages used anywhere, in order of first appearance.
    pub languages: Vec<String>,
    pub questions: Vec<Question>,
    pub choices: BTreeMap<String, Vec<Choice>>,
}

impl Form {
    /// The index of a question by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.questions.iter().position(|q| q.name == name)
    }

    /// The indices of the enclosing repeats of a question, outermost first.
    pub fn repeats_of(&self, mut i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(p) = self.questions[i].parent {
            if self.questions[p].kind == QuestionKind::BeginRepeat {
                out.push(p);
            }
            i = p;
        }
        out.reverse();
        out
    }
}
