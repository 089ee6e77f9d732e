//! XPath expressions of XLSForm. (Temporary stand-in with the agreed API; replaced by the real
//! parser and evaluator.)

use std::fmt;

/// A syntax error at a character position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    refs: Vec<String>,
}

/// A variable reference.
#[derive(Debug, Clone, Copy)]
pub struct VarRef<'a> {
    pub name: &'a str,
    pub id: Option<u32>,
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(f64),
    Bool(bool),
    Date(i32),
    DateTime(i64),
    Nodes(Vec<Value>),
}

/// The environment.
pub trait Env {
    fn var(&self, v: VarRef<'_>) -> Value;
    fn current(&self) -> Value;
    fn position(&self) -> Option<usize>;
    fn indexed_repeat(&self, name: VarRef<'_>, repeat: VarRef<'_>, index: usize) -> Value;
    fn now(&self) -> (i64, i32);
    fn uuid(&self) -> String;
    fn choice_label(&self, question: VarRef<'_>, value: &str) -> Option<String>;
    fn stored(&self) -> Option<Value>;
    /// A bare name (`county` in a choice filter `county=${county}`): a column of the choice
    /// being filtered. Empty outside choice filters.
    fn field(&self, _name: &str) -> Value {
        Value::String(String::new())
    }
}

impl Value {
    pub fn to_string_value(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Date(d) => d.to_string(),
            Value::DateTime(d) => d.to_string(),
            Value::Nodes(n) => n.first().map(Value::to_string_value).unwrap_or_default(),
        }
    }
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Number(n) => *n,
            Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Date(d) => f64::from(*d),
            Value::DateTime(d) => *d as f64,
            Value::Nodes(n) => n.first().map(Value::to_number).unwrap_or(f64::NAN),
        }
    }
    pub fn to_bool(&self) -> bool {
        match self {
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::Nodes(n) => !n.is_empty(),
            _ => true,
        }
    }
    pub fn is_empty(&self) -> bool {
        matches!(self, Value::String(s) if s.is_empty())
            || matches!(self, Value::Nodes(n) if n.is_empty())
    }
}

pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut refs = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            return Err(ParseError {
                position: src.len(),
                message: "unterminated ${".into(),
            });
        };
        let name = after[..j].to_string();
        if !refs.contains(&name) {
            refs.push(name);
        }
        rest = &after[j + 1..];
    }
    Ok(Expr {
        source: src.to_string(),
        refs,
    })
}

impl Expr {
    pub fn references(&self) -> &[String] {
        &self.refs
    }
    pub fn bind(&mut self, mut f: impl FnMut(&str) -> Option<u32>) -> Vec<String> {
        self.refs
            .iter()
            .filter(|r| f(r).is_none())
            .cloned()
            .collect()
    }
    pub fn eval(&self, _env: &dyn Env) -> Value {
        Value::Bool(true)
    }
    pub fn source(&self) -> &str {
        &self.source
    }
}
