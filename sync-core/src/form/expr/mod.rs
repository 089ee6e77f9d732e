//! The XPath expression language of XLSForm (ODK, KoboToolbox, SurveyCTO): `relevant`,
//! `constraint`, `calculation`, `choice_filter`, `repeat_count`, `required` and `default`.
//!
//! Parse once with [`parse`], bind the `${name}` references to the caller's ids with
//! [`Expr::bind`], then [`Expr::eval`] as often as answers change. Evaluation is a pure function of
//! the expression and the [`Env`]: the same answers give the same value on every phone and on the
//! server (the current time, UUIDs and labels come from the `Env`, never from the machine).
//!
//! # The language
//!
//! - **Literals**: numbers `12`, `3.5`, `.5` (no exponent, as in XPath); strings in `'single'` or
//!   `"double"` quotes, without escapes. `${name}` refers to a question (XML names, any script:
//!   `${年龄}`); `.` is the value of the question being evaluated; `..` is only accepted in
//!   `position(..)`. Whitespace (any Unicode whitespace) may go anywhere between tokens.
//! - **Operators**, loosest first: `or`; `and`; `=` `!=`; `<` `<=` `>` `>=`; `+` `-`; `*` `div`
//!   `mod`; unary `-`. All left-associative; keywords are lower-case as in XPath.
//! - Paths (`/data/x`), predicates, unions and axes are not supported: questions are `${name}`.
//! - Nesting (operators, function calls, parentheses) is limited to [`MAX_DEPTH`] levels.
//!
//! # Values and coercions (XPath 1.0)
//!
//! An unanswered question is the empty string. `number()` of a string is its trimmed decimal value
//! or NaN (so `''` is NaN, and **arithmetic with an empty answer is NaN**: `${a} + ${b}` is NaN
//! while either is unanswered — wrap with `coalesce(${a}, 0)` or `if(${a} = '', 0, ${a})`).
//! `number(true())` is 1. `boolean()` of a number is false for 0 and NaN, of a string for `''`
//! (`'false'` is true), of a node-set for an empty one. `string()` of a number has no `.0` for
//! integers, no exponent, and is `NaN`, `Infinity` or `-Infinity` where it must; `string(true())`
//! is `true`. A node-set ([`Value::Nodes`], a question inside a repeat seen from outside it) is its
//! first value for `string()` and `number()`; `concat`, `join`, `count`, `sum`, `max`, `min` and
//! `count-non-empty` use every member.
//!
//! **Comparisons.** `=` and `!=`: if either side is a boolean both compare as booleans; else if
//! either is a date or date-time both compare as dates (below); else if either is a number both
//! compare as numbers; else as strings. `<` `<=` `>` `>=` compare numbers, or dates when either
//! side is a date or date-time. NaN compares false with everything (and `!=` true). A node-set
//! compares true if any of its members does (against a boolean it compares as a boolean).
//!
//! **Dates.** [`Value::Date`] is a calendar day, [`Value::DateTime`] an instant shown in the local
//! time of the [`Env::now`] offset. In a date context (a comparison or arithmetic where one side
//! is a date or date-time) each side becomes a number of local days since 1970-01-01: a date its
//! day number, a date-time the fractional day, a string that reads as `YYYY-MM-DD` or an ISO date-
//! time as that date, any other string its number. So `${dob} < today()` and
//! `today() - ${dob}` (a number of days) work whether the engine passes a [`Value::Date`] or the
//! string `'1990-04-01'`. The string of a date is `YYYY-MM-DD`, of a date-time ODK's
//! `2024-05-01T10:30:00.000+08:00`.
//!
//! # Functions
//!
//! Wrong numbers of arguments are parse errors; wrong types are coerced, never an error.
//!
//! | function | result |
//! | --- | --- |
//! | `if(c, a, b)` | `a` when `boolean(c)`, else `b`; only that branch is evaluated |
//! | `not(x)` `boolean(x)` `true()` `false()` `boolean-from-string(s)` | booleans (`boolean-from-string`: `'true'` or `'1'`) |
//! | `selected(list, v)` | whether the space-separated `list` contains `v` (trimmed) |
//! | `count-selected(list)` | number of items in the list |
//! | `selected-at(list, n)` | item `n` (0-based); `''` when out of range or not a number |
//! | `jr:choice-name(v, '${q}')` | label of choice `v` of question `q` ([`Env::choice_label`]); also `${q}` unquoted; `''` when unknown |
//! | `string-length(s)` | number of characters (Unicode scalar values) |
//! | `concat(...)` | any number of arguments; node-sets contribute every member |
//! | `join(sep, ...)` | members of node-sets and other arguments joined by `sep` |
//! | `substr(s, start[, end])` | characters `start..end` (0-based, end exclusive); negative positions count from the end (as JavaRosa); clamped to the string |
//! | `contains` `starts-with` `ends-with` `substring-before` `substring-after` `translate` `normalize-space` | as XPath 1.0 |
//! | `regex(s, pattern)` | whether the pattern matches anywhere in `s` (anchor with `^…$`). A literal pattern is compiled at parse time and an invalid one is a parse error; a computed pattern that is invalid gives false. Syntax is the `regex` crate's (no look-around or back-references; `\d` is any Unicode digit) |
//! | `number(x)` `string(x)` `string-length()` `normalize-space()` | without an argument, of `.` |
//! | `int(x)` | truncated toward zero |
//! | `round(x[, digits])` | half away from zero, on the decimal form (`round(2.675, 2)` = 2.68); negative digits round to tens, hundreds… |
//! | `floor` `ceiling` `abs` `pow(x, y)` | IEEE |
//! | `coalesce(a, b)` | `a` unless its string is empty, else `b` |
//! | `today()` `now()` | the local date, and the instant, from [`Env::now`] |
//! | `date(x)` | a date from a day number (floored), a date string, or a date-time (its local date); `''` when `x` is not a date |
//! | `date-time(x)` | an instant from a fractional local day number, a date-time string (local when it has no zone), or a date (local midnight); `''` when not a date |
//! | `decimal-date-time(x)` `decimal-date(x)` | local days since 1970-01-01, fractional / of the date; NaN when not a date |
//! | `format-date(d, fmt)` `format-date-time(d, fmt)` | `%Y` year, `%y` 2-digit year, `%m` 2-digit month, `%n` month, `%b` month abbreviation (English), `%d` 2-digit day, `%e` day, `%a` weekday abbreviation (English), `%H` 2-digit hour, `%h` hour, `%M` 2-digit minute, `%S` 2-digit second, `%3` milliseconds. An unknown `%x` in a literal format is a parse error, in a computed one it is copied. `format-date` ignores the time of day. `''` when `d` is not a date |
//! | `position(..)` | the 1-based index of the current repeat instance ([`Env::position`]); 1 outside a repeat, as in JavaRosa |
//! | `count(n)` `sum(n)` `count-non-empty(n)` | over the members of a node-set; a single value counts as one node. `sum` of an empty node-set is 0; an empty member makes the sum NaN |
//! | `max(...)` `min(...)` | over node-set members and arguments; NaN if there are none or any is NaN |
//! | `indexed-repeat(${q}, ${repeat}, n)` | [`Env::indexed_repeat`]; `''` when `n` < 1 or not a number |
//! | `once(x)` | the stored value ([`Env::stored`]) when non-empty, else `x` (not evaluated otherwise) |
//! | `uuid()` | [`Env::uuid`] |
//!
//! Function names may carry the `jr:` prefix.

mod ast;
mod dates;
mod eval;
mod lexer;
mod parser;
mod value;

pub use value::Value;

use std::cell::Cell;
use std::collections::HashMap;

/// How deeply an expression may nest: each operator, function call and pair of parentheses
/// around a value is one level (`-(1 + 2)` is three deep, `if(a, b, if(c, d, e))` two; a chain
/// like `a + b - c` is one level however long). Deeper input is a [`ParseError`] rather than a
/// stack overflow. At this depth a release build needs about 400 KiB of stack to parse and 200 KiB
/// to evaluate (tested within 512 KiB, the stack of an iOS secondary thread).
pub const MAX_DEPTH: usize = 200;

/// A syntax error, located by character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct ParseError {
    /// 0-based offset in the source, in characters (not bytes).
    pub position: usize,
    /// What is wrong, in plain words: "unknown function foo()", "unterminated string".
    pub message: String,
}

impl ParseError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        ParseError {
            position,
            message: message.into(),
        }
    }
}

/// A parsed expression: its syntax tree and the names it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    root: ast::Node,
    /// `${}` references in order of first appearance.
    names: Vec<String>,
    /// The id bound to each reference.
    ids: Vec<Option<u32>>,
}

/// Parses an expression. See the [module documentation](self) for the language.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let (root, names) = parser::parse(src)?;
    Ok(Expr {
        source: src.to_string(),
        root,
        ids: vec![None; names.len()],
        names,
    })
}

/// Parses a `choice_filter`: as [`parse`], and bare names (`province = ${province}`) are the
/// columns of the choice being filtered, read through [`Env::field`].
pub fn parse_choice_filter(src: &str) -> Result<Expr, ParseError> {
    let (root, names) = parser::parse_with(src, true)?;
    Ok(Expr {
        source: src.to_string(),
        root,
        ids: vec![None; names.len()],
        names,
    })
}

impl Expr {
    /// The `${name}` references, in order of first appearance, without duplicates (including the
    /// question named in `jr:choice-name` and the arguments of `indexed-repeat`).
    pub fn references(&self) -> &[String] {
        &self.names
    }

    /// Binds each reference to an id chosen by the caller (e.g. a question index); `f` returns
    /// None for an unknown name. Returns the names that could not be bound, in order (the caller
    /// reports "undefined ${x}"). Binding again replaces earlier ids. The ids are handed to the
    /// [`Env`] in [`VarRef::id`] so that it can look values up without hashing names.
    pub fn bind(&mut self, mut f: impl FnMut(&str) -> Option<u32>) -> Vec<String> {
        let mut unbound = Vec::new();
        for (name, id) in self.names.iter().zip(self.ids.iter_mut()) {
            *id = f(name);
            if id.is_none() {
                unbound.push(name.clone());
            }
        }
        unbound
    }

    /// Evaluates the expression. Never fails: wrong types are coerced as XPath does.
    pub fn eval(&self, env: &dyn Env) -> Value {
        let ctx = eval::Ctx {
            env,
            names: &self.names,
            ids: &self.ids,
            offset: Cell::new(None),
        };
        ctx.eval(&self.root).into_value()
    }

    /// The text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A variable reference as the evaluator hands it to the environment.
#[derive(Debug, Clone, Copy)]
pub struct VarRef<'a> {
    /// The name inside `${}`.
    pub name: &'a str,
    /// The id [`Expr::bind`] gave it, if any.
    pub id: Option<u32>,
}

/// What an expression can see: answers, the current question, the clock, labels.
pub trait Env {
    /// The value of `${name}` seen from the current context. The engine returns a single value, or
    /// `Value::Nodes` (every repeat instance's value) when the question is inside a repeat the
    /// current context is not in.
    fn var(&self, v: VarRef<'_>) -> Value;
    /// `.` — the value of the question being evaluated (constraints, choice filters use it).
    fn current(&self) -> Value;
    /// `position(..)`: 1-based index of the current repeat instance, None outside a repeat.
    fn position(&self) -> Option<usize>;
    /// `indexed-repeat(${name}, ${repeat}, n)` (n is 1-based).
    fn indexed_repeat(&self, name: VarRef<'_>, repeat: VarRef<'_>, index: usize) -> Value;
    /// The current time, given by the caller (sync-core never reads the clock): milliseconds since
    /// the Unix epoch, and the local UTC offset in minutes (for `today()`, `now()`, formatting).
    fn now(&self) -> (i64, i32);
    /// `uuid()`: supplied by the caller so that evaluation stays deterministic.
    fn uuid(&self) -> String;
    /// `jr:choice-name(value, '${q}')`: the label of choice `value` of question `q` in the current
    /// language.
    fn choice_label(&self, question: VarRef<'_>, value: &str) -> Option<String>;
    /// The value already stored for the question being evaluated (for `once()`), if any.
    fn stored(&self) -> Option<Value>;
    /// A bare name in a choice filter: the column of that name of the choice being filtered
    /// (`name` is the choice's name). Empty by default and outside choice filters.
    fn field(&self, _name: &str) -> Value {
        Value::default()
    }
}

/// An [`Env`] backed by maps, for tests, tools and the command line. Unknown names are empty
/// answers; ids are ignored.
#[derive(Debug, Clone)]
pub struct MapEnv {
    /// Answers by question name; a repeated question is a [`Value::Nodes`].
    pub values: HashMap<String, Value>,
    /// The value of `.`.
    pub current: Value,
    /// The repeat instance `position(..)` returns.
    pub position: Option<usize>,
    /// The current time, milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// The local UTC offset in minutes (480 for China).
    pub utc_offset_minutes: i32,
    /// What `uuid()` returns.
    pub uuid: String,
    /// Choice labels: question name → choice name → label.
    pub labels: HashMap<String, HashMap<String, String>>,
    /// What `once()` sees as already stored.
    pub stored: Option<Value>,
}

impl Default for MapEnv {
    fn default() -> Self {
        MapEnv {
            values: HashMap::new(),
            current: Value::default(),
            position: None,
            now_ms: 0,
            utc_offset_minutes: 0,
            uuid: "00000000-0000-0000-0000-000000000000".to_string(),
            labels: HashMap::new(),
            stored: None,
        }
    }
}

impl MapEnv {
    /// An environment with no answers, at the epoch, in UTC.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an answer (builder style).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.insert(name.into(), value.into());
        self
    }

    /// Sets an answer.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(name.into(), value.into());
    }
}

impl Env for MapEnv {
    fn var(&self, v: VarRef<'_>) -> Value {
        self.values.get(v.name).cloned().unwrap_or_default()
    }

    fn current(&self) -> Value {
        self.current.clone()
    }

    fn position(&self) -> Option<usize> {
        self.position
    }

    /// Member `index` of the question's node-set; a single value is instance 1.
    fn indexed_repeat(&self, name: VarRef<'_>, _repeat: VarRef<'_>, index: usize) -> Value {
        match self.values.get(name.name) {
            Some(Value::Nodes(v)) => index
                .checked_sub(1)
                .and_then(|i| v.get(i))
                .cloned()
                .unwrap_or_default(),
            Some(single) if index == 1 => single.clone(),
            _ => Value::default(),
        }
    }

    fn now(&self) -> (i64, i32) {
        (self.now_ms, self.utc_offset_minutes)
    }

    fn uuid(&self) -> String {
        self.uuid.clone()
    }

    fn choice_label(&self, question: VarRef<'_>, value: &str) -> Option<String> {
        self.labels.get(question.name)?.get(value).cloned()
    }

    fn stored(&self) -> Option<Value> {
        self.stored.clone()
    }
}
