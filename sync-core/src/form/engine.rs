//! The interview engine: from a form and the answers so far, what the interviewer sees — which
//! questions are relevant, the values of calculations, labels in the chosen language, the choices
//! left after choice filters, required answers missing, constraint violations, the next question,
//! and whether the interview can be submitted.
//!
//! Repeat instances (roster members) are keyed by UUID, never by position, so that two phones
//! adding members offline never collide. Answers are checked by type as they are set: a wrong
//! type is an error on that question, never a panic.
//!
//! Evaluation order: questions are sorted once, at compile time, so that everything a relevance
//! condition or a calculation refers to is evaluated before it (a cycle is an error). A question
//! is relevant when its own condition and every enclosing group's hold; a question that is not
//! relevant has the empty value for everything that refers to it, as in ODK.

use super::expr::{self, Env, Expr, Value, VarRef};
use super::model::{Choice, Form, QuestionKind, pick};
use super::xlsform::{is_yes_no, label_references};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use uuid::Uuid;

/// One step of an instance path: (repeat question, instance index).
type Step = (usize, usize);

/// Called for each question in each instance: (question, instance path, instance ids).
type Visitor<'v> = dyn FnMut(usize, &[Step], &[Uuid]) + 'v;

/// When a question must be answered (likewise when it is read-only).
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Never,
    Always,
    When(Expr),
}

/// A question with its expressions parsed and bound.
#[derive(Debug, Clone)]
struct Compiled {
    relevant: Option<Expr>,
    constraint: Option<Expr>,
    calculation: Option<Expr>,
    required: Condition,
    read_only: Condition,
    choice_filter: Option<Expr>,
    repeat_count: Option<Expr>,
    default: Option<Expr>,
    /// Enclosing repeats, outermost first.
    chain: Vec<usize>,
}

/// A form ready to run.
#[derive(Debug, Clone)]
pub struct CompiledForm {
    form: Form,
    compiled: Vec<Compiled>,
    /// Evaluation order (dependencies first).
    order: Vec<usize>,
    /// For each repeat question, its ordinal among repeats; `usize::MAX` for others.
    repeat_ordinal: Vec<usize>,
    repeats: usize,
    by_name: HashMap<String, usize>,
}

/// Why a form cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error("question {question:?}, {column}: {message}")]
    Expression {
        question: String,
        column: &'static str,
        message: String,
    },
    #[error("the calculations and conditions of {0} refer to each other in a circle")]
    Cycle(String),
}

impl CompileError {
    pub fn code(&self) -> &'static str {
        match self {
            CompileError::Expression { .. } => "bad_expression",
            CompileError::Cycle(_) => "circular_reference",
        }
    }
}

impl CompiledForm {
    /// Parses and binds every expression and orders the questions for evaluation.
    pub fn compile(form: Form) -> Result<Self, Vec<CompileError>> {
        let by_name: HashMap<String, usize> = form
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.name.clone(), i))
            .collect();
        let mut errors = Vec::new();
        let mut compiled = Vec::with_capacity(form.questions.len());
        for (i, q) in form.questions.iter().enumerate() {
            let mut parse = |column: &'static str, src: Option<&String>| -> Option<Expr> {
                let src = src?;
                let parsed = if column == "choice_filter" {
                    expr::parse_choice_filter(src)
                } else {
                    expr::parse(src)
                };
                match parsed {
                    Ok(mut e) => {
                        let unknown = e.bind(|n| by_name.get(n).map(|&i| i as u32));
                        for u in unknown {
                            errors.push(CompileError::Expression {
                                question: q.name.clone(),
                                column,
                                message: format!("${{{u}}} refers to no question"),
                            });
                        }
                        Some(e)
                    }
                    Err(e) => {
                        errors.push(CompileError::Expression {
                            question: q.name.clone(),
                            column,
                            message: e.to_string(),
                        });
                        None
                    }
                }
            };
            let condition =
                |src: Option<&String>,
                 parse: &mut dyn FnMut(&'static str, Option<&String>) -> Option<Expr>,
                 column: &'static str| match src {
                    None => Condition::Never,
                    Some(s) if is_yes_no(s) => {
                        if matches!(
                            s.trim().to_lowercase().as_str(),
                            "yes" | "true" | "true()" | "1" | "y"
                        ) {
                            Condition::Always
                        } else {
                            Condition::Never
                        }
                    }
                    Some(s) => parse(column, Some(s))
                        .map(Condition::When)
                        .unwrap_or(Condition::Never),
                };
            let required = condition(q.required.as_ref(), &mut parse, "required");
            let read_only = condition(q.read_only.as_ref(), &mut parse, "read_only");
            let default = q.default.as_ref().and_then(|d| {
                if d.contains("${") || d.contains('(') {
                    parse("default", Some(d))
                } else {
                    expr::parse(&format!("'{}'", d.replace('\'', ""))).ok()
                }
            });
            compiled.push(Compiled {
                relevant: parse("relevant", q.relevant.as_ref()),
                constraint: parse("constraint", q.constraint.as_ref()),
                calculation: parse("calculation", q.calculation.as_ref()),
                required,
                read_only,
                choice_filter: parse("choice_filter", q.choice_filter.as_ref()),
                repeat_count: parse("repeat_count", q.repeat_count.as_ref()),
                default,
                chain: form.repeats_of(i),
            });
        }
        let mut repeat_ordinal = vec![usize::MAX; form.questions.len()];
        let mut repeats = 0;
        for (i, q) in form.questions.iter().enumerate() {
            if q.kind == QuestionKind::BeginRepeat {
                repeat_ordinal[i] = repeats;
                repeats += 1;
            }
        }
        // Dependencies: what relevance and calculation refer to, and the parent group.
        let n = form.questions.len();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, c) in compiled.iter().enumerate() {
            for e in [&c.relevant, &c.calculation].into_iter().flatten() {
                for r in e.references() {
                    if let Some(&j) = by_name.get(r.as_str())
                        && j != i
                    {
                        deps[i].push(j);
                    }
                }
            }
            if let Some(p) = form.questions[i].parent {
                deps[i].push(p);
            }
        }
        // Depth-first topological sort, reporting a cycle by a question in it.
        let mut state = vec![0u8; n];
        let mut order = Vec::with_capacity(n);
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            state[start] = 1;
            while let Some((node, k)) = stack.pop() {
                if k < deps[node].len() {
                    stack.push((node, k + 1));
                    let d = deps[node][k];
                    match state[d] {
                        0 => {
                            state[d] = 1;
                            stack.push((d, 0));
                        }
                        1 => {
                            errors.push(CompileError::Cycle(form.questions[d].name.clone()));
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    order.push(node);
                }
            }
        }
        if !errors.is_empty() {
            errors.dedup();
            return Err(errors);
        }
        Ok(CompiledForm {
            form,
            compiled,
            order,
            repeat_ordinal,
            repeats,
            by_name,
        })
    }

    pub fn form(&self) -> &Form {
        &self.form
    }

    fn question(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// One repeat instance (or the root of the interview), with values by question index.
#[derive(Debug, Clone)]
struct Node {
    id: Uuid,
    /// Answers as set (typed), by question index.
    answers: Vec<Option<Value>>,
    /// Type errors of answers that could not be stored.
    type_errors: Vec<Option<String>>,
    /// Effective values: empty when not relevant, the calculation for calculates.
    eff: Vec<Value>,
    relevant: Vec<bool>,
    /// Child instances per repeat ordinal.
    children: Vec<Vec<Node>>,
}

fn empty() -> Value {
    Value::String(String::new())
}

impl Node {
    fn new(id: Uuid, n: usize, repeats: usize) -> Self {
        Self {
            id,
            answers: vec![None; n],
            type_errors: vec![None; n],
            eff: vec![empty(); n],
            relevant: vec![true; n],
            children: vec![Vec::new(); repeats],
        }
    }
}

/// A question in a particular repeat instance: the question's name and the UUIDs of the
/// instances of its enclosing repeats, outermost first. Written `members[<uuid>]/age`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ItemRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Uuid>,
}

impl ItemRef {
    pub fn top(name: &str) -> Self {
        Self {
            name: name.to_string(),
            instances: Vec::new(),
        }
    }
}

/// Problems with answers given to the engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("no question is named {0:?}")]
    UnknownQuestion(String),
    #[error("{0:?} is a group or a note and takes no answer")]
    NotAnswerable(String),
    #[error("{name:?}: no repeat instance {instance}")]
    UnknownInstance { name: String, instance: Uuid },
    #[error("{name:?}: expected the ids of {expected} enclosing repeat instance(s), got {got}")]
    WrongInstances {
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    #[error("{0:?} is not a repeat")]
    NotARepeat(String),
    #[error("repeat instance {0} already exists")]
    DuplicateInstance(Uuid),
}

impl AnswerError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownQuestion(_) => "unknown_question",
            Self::NotAnswerable(_) => "not_answerable",
            Self::UnknownInstance { .. } => "unknown_instance",
            Self::WrongInstances { .. } => "wrong_instances",
            Self::Malformed { .. } => "malformed_answers",
            Self::NotARepeat(_) => "not_a_repeat",
            Self::DuplicateInstance(_) => "duplicate_instance",
        }
    }
}

/// The time and language a view is computed for (sync-core never reads the clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewOptions {
    pub language: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Local UTC offset, minutes.
    pub utc_offset_min: i32,
}

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Required and not answered.
    Required,
    /// The constraint does not hold.
    Constraint,
    /// The answer is not of the question's type.
    Type,
    /// A roster has a different number of members from its repeat_count.
    RepeatCount,
}

/// An error on one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub item: ItemRef,
    pub kind: IssueKind,
    pub message: String,
}

/// A choice as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceView {
    pub name: String,
    pub label: String,
}

/// One question in one instance, as the interviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    pub item: ItemRef,
    pub path: String,
    #[serde(rename = "type")]
    pub type_word: String,
    pub relevant: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub value: Json,
    pub required: bool,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<ChoiceView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<Issue>,
}

/// A repeat's instances against its repeat_count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatView {
    pub item: ItemRef,
    pub instances: Vec<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
}

/// The engine's view of an interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Every shown question in every instance, in form order.
    pub items: Vec<ItemView>,
    /// Values of calculations (relevant ones), by path.
    pub calculates: BTreeMap<String, Json>,
    pub repeats: Vec<RepeatView>,
    pub issues: Vec<Issue>,
    /// The first relevant question still to answer or to correct.
    pub next: Option<ItemRef>,
    pub submittable: bool,
}

/// An interview in progress: the form and the answers, typed.
#[derive(Debug, Clone)]
pub struct Session<'f> {
    form: &'f CompiledForm,
    root: Node,
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.instances.is_empty() {
            write!(f, "@")?;
            for (k, i) in self.instances.iter().enumerate() {
                if k > 0 {
                    write!(f, "/")?;
                }
                write!(f, "{i}")?;
            }
        }
        Ok(())
    }
}

/// Converts a JSON answer to a typed value for a question kind.
fn typed(kind: QuestionKind, form: &Form, list: Option<&str>, v: &Json) -> Result<Value, String> {
    use QuestionKind::*;
    let text = |v: &Json| -> Option<String> {
        match v {
            Json::String(s) => Some(s.trim().to_string()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(empty());
    }
    match kind {
        Integer | Decimal | Range => {
            let x = match v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("expected a number, got {v}"))?;
            if kind == Integer && x.fract() != 0.0 {
                return Err(format!("expected a whole number, got {x}"));
            }
            Ok(Value::Number(x))
        }
        SelectOne | SelectMultiple | Rank => {
            let words: Vec<String> = match v {
                Json::Array(a) => a
                    .iter()
                    .map(|x| text(x).ok_or_else(|| format!("expected choice names, got {x}")))
                    .collect::<Result<_, _>>()?,
                other => text(other)
                    .ok_or_else(|| format!("expected a choice name, got {other}"))?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            };
            if kind == SelectOne && words.len() > 1 {
                return Err(format!("select_one takes one choice, got {}", words.len()));
            }
            if let Some(list) = list.and_then(|l| form.choices.get(l)) {
                for w in &words {
                    if !list.iter().any(|c| &c.name == w) {
                        return Err(format!("{w:?} is not a choice of this question"));
                    }
                }
            }
            Ok(Value::String(words.join(" ")))
        }
        Date => {
            let s = text(v).ok_or_else(|| format!("expected a date YYYY-MM-DD, got {v}"))?;
            let d = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| format!("expected a date YYYY-MM-DD, got {s:?}"))?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            Ok(Value::Date((d - epoch).num_days() as i32))
        }
        DateTime => {
            let s = text(v).ok_or_else(|| format!("expected a date and time, got {v}"))?;
            let dt = chrono::DateTime::parse_from_rfc3339(&s).map_err(|_| {
                format!("expected an ISO 8601 date and time with offset, got {s:?}")
            })?;
            Ok(Value::DateTime(dt.timestamp_millis()))
        }
        Time => {
            let s = text(v).ok_or_else(|| format!("expected a time HH:MM, got {v}"))?;
            let ok = chrono::NaiveTime::parse_from_str(&s, "%H:%M:%S").is_ok()
                || chrono::NaiveTime::parse_from_str(&s, "%H:%M").is_ok();
            if ok {
                Ok(Value::String(s))
            } else {
                Err(format!("expected a time HH:MM, got {s:?}"))
            }
        }
        Geopoint => {
            let s = text(v).ok_or_else(|| {
                format!("expected \"latitude longitude [altitude accuracy]\", got {v}")
            })?;
            let nums: Vec<f64> = s
                .split_whitespace()
                .map(|x| x.parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("expected numbers in {s:?}"))?;
            if !(2..=4).contains(&nums.len())
                || !(-90.0..=90.0).contains(&nums[0])
                || !(-180.0..=180.0).contains(&nums[1])
            {
                return Err(format!(
                    "expected \"latitude longitude [altitude accuracy]\", got {s:?}"
                ));
            }
            Ok(Value::String(s))
        }
        Acknowledge => match v {
            Json::Bool(true) => Ok(Value::String("OK".into())),
            Json::String(s) if s == "OK" => Ok(Value::String("OK".into())),
            _ => Err(format!("acknowledge takes true or \"OK\", got {v}")),
        },
        _ => text(v)
            .map(Value::String)
            .ok_or_else(|| format!("expected text, got {v}")),
    }
}

/// A value as JSON for views and answers.
fn to_json(v: &Value) -> Json {
    match v {
        Value::String(s) if s.is_empty() => Json::Null,
        Value::String(s) => json!(s),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => json!(*n as i64),
        Value::Number(n) if n.is_finite() => json!(n),
        Value::Number(_) => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Date(_) | Value::DateTime(_) => json!(v.to_string_value()),
        Value::Nodes(n) => Json::Array(n.iter().map(to_json).collect()),
    }
}

/// Evaluation context: a question in an instance.
struct Ctx<'a> {
    cf: &'a CompiledForm,
    root: &'a Node,
    /// (repeat question, instance index) from the outermost repeat.
    path: &'a [Step],
    question: usize,
    current: Value,
    stored: Option<Value>,
    now: (i64, i32),
    language: Option<&'a str>,
    uuid: Uuid,
    choice: Option<&'a Choice>,
}

impl Ctx<'_> {
    fn node_at(&self, path: &[Step]) -> Option<&Node> {
        let mut node = self.root;
        for &(r, i) in path {
            node = node.children.get(self.cf.repeat_ordinal[r])?.get(i)?;
        }
        Some(node)
    }

    fn collect(&self, node: &Node, chain: &[usize], target: usize, out: &mut Vec<Value>) {
        let Some((&r, rest)) = chain.split_first() else {
            return;
        };
        for inst in &node.children[self.cf.repeat_ordinal[r]] {
            if rest.is_empty() {
                out.push(if target == r {
                    empty()
                } else {
                    inst.eff[target].clone()
                });
            } else {
                self.collect(inst, rest, target, out);
            }
        }
    }

    fn lookup(&self, target: usize) -> Value {
        let cf = self.cf;
        let mut chain: Vec<usize> = cf.compiled[target].chain.clone();
        if cf.form.questions[target].kind == QuestionKind::BeginRepeat {
            chain.push(target);
        }
        let mut node = self.root;
        for (k, &r) in chain.iter().enumerate() {
            match self.path.get(k) {
                Some(&(pr, pi)) if pr == r && target != r => {
                    match node.children[cf.repeat_ordinal[r]].get(pi) {
                        Some(n) => node = n,
                        None => return empty(),
                    }
                }
                _ => {
                    let mut out = Vec::new();
                    self.collect(node, &chain[k..], target, &mut out);
                    return Value::Nodes(out);
                }
            }
        }
        node.eff[target].clone()
    }
}

impl Env for Ctx<'_> {
    fn var(&self, v: VarRef<'_>) -> Value {
        match v
            .id
            .map(|i| i as usize)
            .or_else(|| self.cf.question(v.name))
        {
            Some(t) if t < self.cf.form.questions.len() => self.lookup(t),
            _ => empty(),
        }
    }
    fn current(&self) -> Value {
        self.current.clone()
    }
    fn position(&self) -> Option<usize> {
        self.path.last().map(|p| p.1 + 1)
    }
    fn indexed_repeat(&self, name: VarRef<'_>, repeat: VarRef<'_>, index: usize) -> Value {
        let Some(t) = name
            .id
            .map(|i| i as usize)
            .or_else(|| self.cf.question(name.name))
        else {
            return empty();
        };
        let Some(r) = repeat
            .id
            .map(|i| i as usize)
            .or_else(|| self.cf.question(repeat.name))
        else {
            return empty();
        };
        if index == 0
            || self
                .cf
                .repeat_ordinal
                .get(r)
                .is_none_or(|&o| o == usize::MAX)
        {
            return empty();
        }
        // The enclosing instances of the repeat, taken from the current context.
        let outer = &self.cf.compiled[r].chain;
        let mut path: Vec<Step> = self
            .path
            .iter()
            .take_while(|(pr, _)| outer.contains(pr))
            .copied()
            .collect();
        path.push((r, index - 1));
        if self.node_at(&path).is_none() {
            return empty();
        }
        let ctx = Ctx {
            path: &path,
            ..self.reborrow()
        };
        ctx.lookup(t)
    }
    fn now(&self) -> (i64, i32) {
        self.now
    }
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }
    fn choice_label(&self, question: VarRef<'_>, value: &str) -> Option<String> {
        let q = question
            .id
            .map(|i| i as usize)
            .or_else(|| self.cf.question(question.name))?;
        let list = self.cf.form.questions.get(q)?.list.as_ref()?;
        let c = self
            .cf
            .form
            .choices
            .get(list)?
            .iter()
            .find(|c| c.name == value)?;
        pick(
            &c.labels,
            self.language,
            self.cf.form.settings.default_language.as_deref(),
        )
        .map(str::to_string)
    }
    fn stored(&self) -> Option<Value> {
        self.stored.clone()
    }
    fn field(&self, name: &str) -> Value {
        match self.choice {
            None => empty(),
            Some(c) if name == "name" => Value::String(c.name.clone()),
            Some(c) => c
                .columns
                .get(name)
                .or_else(|| {
                    c.columns
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v)
                })
                .map(|v| Value::String(v.clone()))
                .unwrap_or_else(empty),
        }
    }
}

impl<'a> Ctx<'a> {
    fn reborrow(&self) -> Ctx<'a> {
        Ctx {
            cf: self.cf,
            root: self.root,
            path: self.path,
            question: self.question,
            current: self.current.clone(),
            stored: self.stored.clone(),
            now: self.now,
            language: self.language,
            uuid: self.uuid,
            choice: self.choice,
        }
    }
}

/// Calls `f` with the path of every instance at the depth of `chain`.
fn each_instance(
    cf: &CompiledForm,
    node: &Node,
    chain: &[usize],
    path: &mut Vec<Step>,
    f: &mut dyn FnMut(&[Step]),
) {
    let Some((&r, rest)) = chain.split_first() else {
        f(path);
        return;
    };
    for (i, inst) in node.children[cf.repeat_ordinal[r]].iter().enumerate() {
        path.push((r, i));
        each_instance(cf, inst, rest, path, f);
        path.pop();
    }
}

fn node_mut<'n>(cf: &CompiledForm, root: &'n mut Node, path: &[Step]) -> Option<&'n mut Node> {
    let mut node = root;
    for &(r, i) in path {
        node = node.children.get_mut(cf.repeat_ordinal[r])?.get_mut(i)?;
    }
    Some(node)
}

impl<'f> Session<'f> {
    /// A new, empty interview.
    pub fn new(form: &'f CompiledForm) -> Self {
        let n = form.form.questions.len();
        Session {
            form,
            root: Node::new(Uuid::nil(), n, form.repeats),
        }
    }

    /// An interview from answers in JSON: `{"name": value, "roster": [{"_id": "<uuid>", …}, …]}`.
    /// Repeat instances without `_id` get a UUID derived from their position (say so in the data
    /// you send back). Every problem is returned; answers of the wrong type are kept as type
    /// errors on their questions rather than refused.
    pub fn from_json(form: &'f CompiledForm, answers: &Json) -> Result<Self, Vec<AnswerError>> {
        let mut s = Session::new(form);
        let mut errors = Vec::new();
        let Json::Object(obj) = answers else {
            return Err(vec![AnswerError::Malformed {
                path: String::new(),
                message: "answers must be a JSON object".into(),
            }]);
        };
        s.load(obj, &mut Vec::new(), String::new(), &mut errors);
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }

    fn load(
        &mut self,
        obj: &Map<String, Json>,
        path: &mut Vec<Step>,
        prefix: String,
        errors: &mut Vec<AnswerError>,
    ) {
        let cf = self.form;
        for (key, v) in obj {
            if key == "_id" {
                continue;
            }
            let Some(q) = cf.question(key) else {
                errors.push(AnswerError::UnknownQuestion(key.clone()));
                continue;
            };
            let question = &cf.form.questions[q];
            let expected_chain: Vec<usize> = path.iter().map(|p| p.0).collect();
            if cf.compiled[q].chain != expected_chain {
                errors.push(AnswerError::Malformed {
                    path: format!("{prefix}{key}"),
                    message: "this question belongs to another repeat level".into(),
                });
                continue;
            }
            if question.kind == QuestionKind::BeginRepeat {
                let Json::Array(items) = v else {
                    errors.push(AnswerError::Malformed {
                        path: format!("{prefix}{key}"),
                        message: "a repeat takes an array of instances".into(),
                    });
                    continue;
                };
                for (k, item) in items.iter().enumerate() {
                    let Json::Object(io) = item else {
                        errors.push(AnswerError::Malformed {
                            path: format!("{prefix}{key}[{k}]"),
                            message: "an instance must be an object".into(),
                        });
                        continue;
                    };
                    let id = match io.get("_id") {
                        None => Uuid::new_v5(
                            &Uuid::NAMESPACE_OID,
                            format!("{prefix}{key}[{k}]").as_bytes(),
                        ),
                        Some(Json::String(s)) => match Uuid::parse_str(s) {
                            Ok(u) => u,
                            Err(_) => {
                                errors.push(AnswerError::Malformed {
                                    path: format!("{prefix}{key}[{k}]/_id"),
                                    message: format!("{s:?} is not a UUID"),
                                });
                                continue;
                            }
                        },
                        Some(other) => {
                            errors.push(AnswerError::Malformed {
                                path: format!("{prefix}{key}[{k}]/_id"),
                                message: format!("expected a UUID, got {other}"),
                            });
                            continue;
                        }
                    };
                    let Some(parent) = node_mut(cf, &mut self.root, path) else {
                        continue;
                    };
                    let list = &mut parent.children[cf.repeat_ordinal[q]];
                    if list.iter().any(|n| n.id == id) {
                        errors.push(AnswerError::DuplicateInstance(id));
                        continue;
                    }
                    list.push(Node::new(id, cf.form.questions.len(), cf.repeats));
                    let idx = list.len() - 1;
                    path.push((q, idx));
                    self.load(io, path, format!("{prefix}{key}[{id}]/"), errors);
                    path.pop();
                }
                continue;
            }
            if !question.kind.has_value() {
                errors.push(AnswerError::NotAnswerable(key.clone()));
                continue;
            }
            let result = typed(question.kind, &cf.form, question.list.as_deref(), v);
            if let Some(node) = node_mut(cf, &mut self.root, path) {
                match result {
                    Ok(val) => node.answers[q] = Some(val),
                    Err(m) => node.type_errors[q] = Some(m),
                }
            }
        }
    }

    /// The answers as JSON, in the shape [`Session::from_json`] reads.
    pub fn to_json(&self) -> Json {
        self.node_json(&self.root, &[])
    }

    fn node_json(&self, node: &Node, chain: &[usize]) -> Json {
        let cf = self.form;
        let mut out = Map::new();
        if !node.id.is_nil() {
            out.insert("_id".into(), json!(node.id));
        }
        for (q, question) in cf.form.questions.iter().enumerate() {
            if cf.compiled[q].chain != chain {
                continue;
            }
            if question.kind == QuestionKind::BeginRepeat {
                let mut sub = chain.to_vec();
                sub.push(q);
                let items: Vec<Json> = node.children[cf.repeat_ordinal[q]]
                    .iter()
                    .map(|c| self.node_json(c, &sub))
                    .collect();
                out.insert(question.name.clone(), Json::Array(items));
            } else if let Some(v) = &node.answers[q]
                && !v.is_empty()
            {
                out.insert(question.name.clone(), to_json(v));
            }
        }
        Json::Object(out)
    }

    /// Resolves an item to (question, instance path).
    fn resolve(&self, item: &ItemRef) -> Result<(usize, Vec<Step>), AnswerError> {
        let cf = self.form;
        let q = cf
            .question(&item.name)
            .ok_or_else(|| AnswerError::UnknownQuestion(item.name.clone()))?;
        let chain = &cf.compiled[q].chain;
        if chain.len() != item.instances.len() {
            return Err(AnswerError::WrongInstances {
                name: item.name.clone(),
                expected: chain.len(),
                got: item.instances.len(),
            });
        }
        let mut path = Vec::with_capacity(chain.len());
        let mut node = &self.root;
        for (&r, id) in chain.iter().zip(&item.instances) {
            let list = &node.children[cf.repeat_ordinal[r]];
            let i = list
                .iter()
                .position(|n| &n.id == id)
                .ok_or(AnswerError::UnknownInstance {
                    name: cf.form.questions[r].name.clone(),
                    instance: *id,
                })?;
            path.push((r, i));
            node = &list[i];
        }
        Ok((q, path))
    }

    /// Sets (or, with null, clears) an answer. A value of the wrong type is kept as a type error
    /// on the question and returned as `Ok(Some(message))`.
    pub fn set(&mut self, item: &ItemRef, value: &Json) -> Result<Option<String>, AnswerError> {
        let (q, path) = self.resolve(item)?;
        let question = &self.form.form.questions[q];
        if !question.kind.has_value() || question.kind == QuestionKind::Calculate {
            return Err(AnswerError::NotAnswerable(item.name.clone()));
        }
        let result = typed(
            question.kind,
            &self.form.form,
            question.list.as_deref(),
            value,
        );
        let node =
            node_mut(self.form, &mut self.root, &path).ok_or(AnswerError::UnknownInstance {
                name: item.name.clone(),
                instance: Uuid::nil(),
            })?;
        match result {
            Ok(v) => {
                node.answers[q] = if v.is_empty() { None } else { Some(v) };
                node.type_errors[q] = None;
                Ok(None)
            }
            Err(m) => {
                node.type_errors[q] = Some(m.clone());
                Ok(Some(m))
            }
        }
    }

    /// Adds an instance to a repeat (a roster member), inside the given enclosing instances.
    pub fn add_instance(
        &mut self,
        repeat: &str,
        enclosing: &[Uuid],
        id: Uuid,
    ) -> Result<(), AnswerError> {
        let cf = self.form;
        let r = cf
            .question(repeat)
            .ok_or_else(|| AnswerError::UnknownQuestion(repeat.into()))?;
        if cf.form.questions[r].kind != QuestionKind::BeginRepeat {
            return Err(AnswerError::NotARepeat(repeat.into()));
        }
        let (_, path) = self.resolve(&ItemRef {
            name: repeat.into(),
            instances: enclosing.to_vec(),
        })?;
        let node = node_mut(cf, &mut self.root, &path).ok_or(AnswerError::UnknownInstance {
            name: repeat.into(),
            instance: id,
        })?;
        let list = &mut node.children[cf.repeat_ordinal[r]];
        if list.iter().any(|n| n.id == id) {
            return Err(AnswerError::DuplicateInstance(id));
        }
        list.push(Node::new(id, cf.form.questions.len(), cf.repeats));
        Ok(())
    }

    /// Removes a repeat instance and everything in it.
    pub fn remove_instance(
        &mut self,
        repeat: &str,
        enclosing: &[Uuid],
        id: Uuid,
    ) -> Result<(), AnswerError> {
        let cf = self.form;
        let r = cf
            .question(repeat)
            .ok_or_else(|| AnswerError::UnknownQuestion(repeat.into()))?;
        let (_, path) = self.resolve(&ItemRef {
            name: repeat.into(),
            instances: enclosing.to_vec(),
        })?;
        let node = node_mut(cf, &mut self.root, &path).ok_or(AnswerError::UnknownInstance {
            name: repeat.into(),
            instance: id,
        })?;
        let list = node
            .children
            .get_mut(cf.repeat_ordinal[r])
            .ok_or_else(|| AnswerError::NotARepeat(repeat.into()))?;
        let before = list.len();
        list.retain(|n| n.id != id);
        if list.len() == before {
            return Err(AnswerError::UnknownInstance {
                name: repeat.into(),
                instance: id,
            });
        }
        Ok(())
    }

    /// Recomputes relevance and calculations everywhere.
    fn evaluate(&mut self, opts: &ViewOptions) {
        let cf = self.form;
        let now = (opts.now_ms, opts.utc_offset_min);
        for &q in &cf.order {
            let c = &cf.compiled[q];
            let question = &cf.form.questions[q];
            let mut results: Vec<(Vec<Step>, bool, Value)> = Vec::new();
            {
                let root = &self.root;
                each_instance(cf, root, &c.chain, &mut Vec::new(), &mut |path| {
                    let Some(node) = ({
                        let mut n = root;
                        let mut ok = true;
                        for &(r, i) in path {
                            match n.children[cf.repeat_ordinal[r]].get(i) {
                                Some(x) => n = x,
                                None => {
                                    ok = false;
                                    break;
                                }
                            }
                        }
                        ok.then_some(n)
                    }) else {
                        return;
                    };
                    let parent_relevant = question.parent.is_none_or(|p| {
                        if cf.form.questions[p].kind == QuestionKind::BeginRepeat
                            && path.last().is_some_and(|l| l.0 == p)
                        {
                            // The instance's own relevance lives in its parent node.
                            let outer = &path[..path.len() - 1];
                            let mut n = root;
                            for &(r, i) in outer {
                                n = &n.children[cf.repeat_ordinal[r]][i];
                            }
                            n.relevant[p]
                        } else {
                            node.relevant[p]
                        }
                    });
                    let stored = node.answers[q].clone();
                    let ctx = Ctx {
                        cf,
                        root,
                        path,
                        question: q,
                        current: stored.clone().unwrap_or_else(empty),
                        stored: stored.clone(),
                        now,
                        language: opts.language.as_deref(),
                        uuid: Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{q}{path:?}").as_bytes()),
                        choice: None,
                    };
                    let relevant = parent_relevant
                        && c.relevant.as_ref().is_none_or(|e| e.eval(&ctx).to_bool());
                    let value = if !relevant {
                        empty()
                    } else if let Some(calc) = &c.calculation {
                        match calc.eval(&ctx) {
                            Value::Number(n) if n.is_nan() => empty(),
                            Value::Nodes(n) => n.into_iter().next().unwrap_or_else(empty),
                            v => v,
                        }
                    } else if question.kind == QuestionKind::Metadata
                        && question.type_word == "today"
                    {
                        let days = (now.0 + i64::from(now.1) * 60_000).div_euclid(86_400_000);
                        Value::Date(days as i32)
                    } else {
                        stored.unwrap_or_else(empty)
                    };
                    results.push((path.to_vec(), relevant, value));
                });
            }
            for (path, relevant, value) in results {
                if let Some(node) = node_mut(cf, &mut self.root, &path) {
                    node.relevant[q] = relevant;
                    node.eff[q] = value;
                }
            }
        }
    }

    /// The engine's view in a language at a time.
    pub fn view(&mut self, opts: &ViewOptions) -> View {
        self.evaluate(opts);
        let cf = self.form;
        let form = &cf.form;
        let lang = opts.language.as_deref();
        let default_language = form.settings.default_language.as_deref();
        let now = (opts.now_ms, opts.utc_offset_min);
        let mut items = Vec::new();
        let mut calculates = BTreeMap::new();
        let mut repeats = Vec::new();
        let mut issues = Vec::new();
        let root = &self.root;
        // Walk questions in form order, expanding repeat instances in place.
        fn walk(
            cf: &CompiledForm,
            root: &Node,
            range: std::ops::Range<usize>,
            path: &mut Vec<Step>,
            ids: &mut Vec<Uuid>,
            visit: &mut Visitor<'_>,
        ) {
            let mut q = range.start;
            while q < range.end {
                let question = &cf.form.questions[q];
                visit(q, path, ids);
                if question.kind == QuestionKind::BeginRepeat {
                    let end = question.end.unwrap_or(q + 1).min(range.end);
                    let mut node = root;
                    for &(r, i) in path.iter() {
                        node = &node.children[cf.repeat_ordinal[r]][i];
                    }
                    let count = node.children[cf.repeat_ordinal[q]].len();
                    for i in 0..count {
                        let id = node.children[cf.repeat_ordinal[q]][i].id;
                        path.push((q, i));
                        ids.push(id);
                        walk(cf, root, q + 1..end, path, ids, visit);
                        path.pop();
                        ids.pop();
                    }
                    q = end;
                } else {
                    q += 1;
                }
            }
        }
        let n = form.questions.len();
        walk(
            cf,
            root,
            0..n,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut |q, path, ids| {
                let question = &form.questions[q];
                let c = &cf.compiled[q];
                let mut node = root;
                for &(r, i) in path {
                    node = &node.children[cf.repeat_ordinal[r]][i];
                }
                let item = ItemRef {
                    name: question.name.clone(),
                    instances: ids.to_vec(),
                };
                let relevant = node.relevant[q];
                let value = node.eff[q].clone();
                let ctx = Ctx {
                    cf,
                    root,
                    path,
                    question: q,
                    current: value.clone(),
                    stored: node.answers[q].clone(),
                    now,
                    language: lang,
                    uuid: Uuid::nil(),
                    choice: None,
                };
                let instance_path = render_path(cf, q, ids);
                if question.kind == QuestionKind::BeginRepeat {
                    if relevant {
                        let list = &node.children[cf.repeat_ordinal[q]];
                        let expected = c
                            .repeat_count
                            .as_ref()
                            .map(|e| e.eval(&ctx).to_number())
                            .filter(|x| x.is_finite() && *x >= 0.0)
                            .map(|x| x as u64);
                        if let Some(e) = expected
                            && e != list.len() as u64
                        {
                            issues.push(Issue {
                                item: item.clone(),
                                kind: IssueKind::RepeatCount,
                                message: format!(
                                    "{} needs {e} instance(s), has {}",
                                    question.name,
                                    list.len()
                                ),
                            });
                        }
                        repeats.push(RepeatView {
                            item,
                            instances: list.iter().map(|n| n.id).collect(),
                            expected,
                        });
                    }
                    return;
                }
                if question.kind == QuestionKind::Calculate {
                    if relevant {
                        calculates.insert(instance_path, to_json(&value));
                    }
                    return;
                }
                if !question.kind.is_shown() {
                    return;
                }
                let required = relevant
                    && match &c.required {
                        Condition::Never => false,
                        Condition::Always => true,
                        Condition::When(e) => e.eval(&ctx).to_bool(),
                    };
                let read_only = match &c.read_only {
                    Condition::Never => false,
                    Condition::Always => true,
                    Condition::When(e) => e.eval(&ctx).to_bool(),
                };
                let mut issue = None;
                if relevant {
                    if let Some(m) = &node.type_errors[q] {
                        issue = Some(Issue {
                            item: item.clone(),
                            kind: IssueKind::Type,
                            message: m.clone(),
                        });
                    } else if value.is_empty() {
                        if required && question.kind.has_value() {
                            let message = pick(&question.required_message, lang, default_language)
                                .map(str::to_string)
                                .unwrap_or_else(|| {
                                    default_message(
                                        lang,
                                        "This field is required.",
                                        "此项为必答题。",
                                    )
                                });
                            issue = Some(Issue {
                                item: item.clone(),
                                kind: IssueKind::Required,
                                message,
                            });
                        }
                    } else if let Some(cons) = &c.constraint
                        && !cons.eval(&ctx).to_bool()
                    {
                        let message = pick(&question.constraint_message, lang, default_language)
                            .map(|m| render(m, &ctx))
                            .unwrap_or_else(|| {
                                default_message(
                                    lang,
                                    "The answer is not allowed.",
                                    "答案不符合要求。",
                                )
                            });
                        issue = Some(Issue {
                            item: item.clone(),
                            kind: IssueKind::Constraint,
                            message,
                        });
                    }
                }
                if let Some(i) = &issue {
                    issues.push(i.clone());
                }
                let choices = if question.kind.is_select() && relevant {
                    question
                        .list
                        .as_ref()
                        .and_then(|l| form.choices.get(l))
                        .map(|list| {
                            list.iter()
                                .filter(|ch| {
                                    c.choice_filter.as_ref().is_none_or(|f| {
                                        let cctx = Ctx {
                                            choice: Some(ch),
                                            ..ctx.reborrow()
                                        };
                                        f.eval(&cctx).to_bool()
                                    })
                                })
                                .map(|ch| ChoiceView {
                                    name: ch.name.clone(),
                                    label: pick(&ch.labels, lang, default_language)
                                        .map(|l| render(l, &ctx))
                                        .unwrap_or_else(|| ch.name.clone()),
                                })
                                .collect()
                        })
                } else {
                    None
                };
                let default = if value.is_empty() {
                    c.default
                        .as_ref()
                        .map(|d| to_json(&d.eval(&ctx)))
                        .filter(|j| !j.is_null())
                } else {
                    None
                };
                items.push(ItemView {
                    item,
                    path: instance_path,
                    type_word: question.type_word.clone(),
                    relevant,
                    label: pick(&question.labels, lang, default_language).map(|l| render(l, &ctx)),
                    hint: pick(&question.hints, lang, default_language).map(|l| render(l, &ctx)),
                    value: to_json(&value),
                    required,
                    read_only,
                    default,
                    choices,
                    issue,
                });
            },
        );
        let next = items
            .iter()
            .find(|i| {
                i.relevant
                    && !i.read_only
                    && i.type_word != "note"
                    && (i.issue.is_some() || (i.value.is_null() && i.required))
            })
            .or_else(|| {
                items.iter().find(|i| {
                    i.relevant && !i.read_only && i.type_word != "note" && i.value.is_null()
                })
            })
            .map(|i| i.item.clone());
        let submittable = issues.is_empty();
        View {
            language: opts.language.clone(),
            items,
            calculates,
            repeats,
            issues,
            next,
            submittable,
        }
    }
}

/// The question's path with each enclosing repeat's instance id: `main/members[<uuid>]/age`.
fn render_path(cf: &CompiledForm, q: usize, ids: &[Uuid]) -> String {
    let mut out = cf.form.questions[q].path.clone();
    // Innermost repeat first, so that inserting leaves the shorter prefixes in place.
    for (k, &r) in cf.compiled[q].chain.iter().enumerate().rev() {
        if let Some(id) = ids.get(k) {
            let at = cf.form.questions[r].path.len();
            if at <= out.len() {
                out.insert_str(at, &format!("[{id}]"));
            }
        }
    }
    out
}

/// Replaces `${name}` in a label by the value seen from the context.
fn render(text: &str, ctx: &Ctx<'_>) -> String {
    if !text.contains("${") {
        return text.to_string();
    }
    let mut out = text.to_string();
    for r in label_references(text) {
        let v = ctx.var(VarRef { name: r, id: None });
        out = out.replace(&format!("${{{r}}}"), &v.to_string_value());
    }
    out
}

fn default_message(lang: Option<&str>, en: &str, zh: &str) -> String {
    let zh_lang = lang.is_some_and(|l| l.contains("zh") || l.contains('中'));
    if zh_lang {
        zh.to_string()
    } else {
        en.to_string()
    }
}

/// Navigation: the relevant question after (or before) `from` in the view's order.
pub fn navigate(view: &View, from: &ItemRef, forward: bool) -> Option<ItemRef> {
    let shown: Vec<&ItemView> = view.items.iter().filter(|i| i.relevant).collect();
    let pos = view
        .items
        .iter()
        .filter(|i| i.relevant)
        .position(|i| &i.item == from);
    match (pos, forward) {
        (Some(p), true) => shown.get(p + 1).map(|i| i.item.clone()),
        (Some(p), false) => p
            .checked_sub(1)
            .and_then(|p| shown.get(p))
            .map(|i| i.item.clone()),
        (None, true) => shown.first().map(|i| i.item.clone()),
        (None, false) => None,
    }
}
