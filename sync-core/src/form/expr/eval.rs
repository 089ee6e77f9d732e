//! Evaluation of a parsed expression against an [`Env`].
//!
//! Intermediate values borrow string literals from the tree (`Item::Str(Cow::Borrowed)`) and move
//! the values the environment returns, so evaluating `${consent} = 'yes'` allocates nothing
//! beyond what the environment itself returns.

use super::ast::{self, ArithOp, CmpOp, Func, Node};
use super::dates::{self, DAY_MS};
use super::value::{Scalar, Value};
use super::{Env, VarRef};
use std::borrow::Cow;
use std::cell::Cell;

/// A value during evaluation.
#[derive(Debug)]
pub(super) enum Item<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Date(i32),
    DateTime(i64),
    Nodes(Vec<Value>),
}

impl From<Value> for Item<'_> {
    fn from(v: Value) -> Self {
        match v {
            Value::String(s) => Item::Str(Cow::Owned(s)),
            Value::Number(x) => Item::Num(x),
            Value::Bool(b) => Item::Bool(b),
            Value::Date(d) => Item::Date(d),
            Value::DateTime(t) => Item::DateTime(t),
            Value::Nodes(v) => Item::Nodes(v),
        }
    }
}

impl Item<'_> {
    const EMPTY: Item<'static> = Item::Str(Cow::Borrowed(""));

    fn scalar(&self) -> Scalar<'_> {
        match self {
            Item::Str(s) => Scalar::Str(s),
            Item::Num(x) => Scalar::Num(*x),
            Item::Bool(b) => Scalar::Bool(*b),
            Item::Date(d) => Scalar::Date(*d),
            Item::DateTime(t) => Scalar::DateTime(*t),
            Item::Nodes(v) => v.first().map_or(Scalar::Str(""), Scalar::of),
        }
    }

    pub(super) fn into_value(self) -> Value {
        match self {
            Item::Str(s) => Value::String(s.into_owned()),
            Item::Num(x) => Value::Number(x),
            Item::Bool(b) => Value::Bool(b),
            Item::Date(d) => Value::Date(d),
            Item::DateTime(t) => Value::DateTime(t),
            Item::Nodes(v) => Value::Nodes(v),
        }
    }
}

/// One evaluation: the environment, the expression's references, and the UTC offset once asked.
pub(super) struct Ctx<'a> {
    pub env: &'a dyn Env,
    pub names: &'a [String],
    pub ids: &'a [Option<u32>],
    pub offset: Cell<Option<i32>>,
}

impl<'a> Ctx<'a> {
    fn var_ref(&self, slot: u32) -> VarRef<'a> {
        let i = slot as usize;
        VarRef {
            name: self.names.get(i).map_or("", String::as_str),
            id: self.ids.get(i).copied().flatten(),
        }
    }

    /// The local UTC offset in minutes, asked of the environment at most once.
    fn offset(&self) -> i32 {
        match self.offset.get() {
            Some(o) => o,
            None => {
                let o = self.env.now().1;
                self.offset.set(Some(o));
                o
            }
        }
    }

    fn number(&self, s: Scalar<'_>) -> f64 {
        match s {
            Scalar::DateTime(_) => s.number(self.offset()),
            _ => s.number(0),
        }
    }

    fn string<'s>(&self, s: Scalar<'s>) -> Cow<'s, str> {
        match s {
            Scalar::DateTime(_) => s.string(self.offset()),
            _ => s.string(0),
        }
    }

    /// Days since 1970-01-01 for date comparisons and date arithmetic.
    fn day_number(&self, s: Scalar<'_>) -> f64 {
        match s {
            Scalar::DateTime(_) | Scalar::Str(_) => s.day_number(self.offset()),
            _ => s.day_number(0),
        }
    }

    fn num(&self, i: &Item<'_>) -> f64 {
        self.number(i.scalar())
    }

    fn truthy(&self, i: &Item<'_>) -> bool {
        match i {
            Item::Nodes(v) => !v.is_empty(),
            other => other.scalar().truthy(),
        }
    }

    /// The string value, keeping a borrowed literal borrowed.
    fn string_of(&self, i: Item<'a>) -> Cow<'a, str> {
        match i {
            Item::Str(s) => s,
            Item::Nodes(v) => match v.into_iter().next() {
                Some(Value::String(s)) => Cow::Owned(s),
                Some(first) => Cow::Owned(self.string(Scalar::of(&first)).into_owned()),
                None => Cow::Borrowed(""),
            },
            other => Cow::Owned(self.string(other.scalar()).into_owned()),
        }
    }

    fn eval_string(&self, node: &'a Node) -> Cow<'a, str> {
        let item = self.eval(node);
        self.string_of(item)
    }

    fn eval_number(&self, node: &'a Node) -> f64 {
        self.num(&self.eval(node))
    }

    /// Evaluates a node. Kept small: everything but the commonest nodes is in functions of its
    /// own, so that deep expressions need little stack.
    pub(super) fn eval(&self, node: &'a Node) -> Item<'a> {
        match node {
            Node::Num(x) => Item::Num(*x),
            Node::Str(s) => Item::Str(Cow::Borrowed(s)),
            Node::Var(slot) => self.env.var(self.var_ref(*slot)).into(),
            Node::Current => self.env.current().into(),
            Node::Field(name) => self.env.field(name).into(),
            Node::Or(items) => Item::Bool(items.iter().any(|n| self.truthy(&self.eval(n)))),
            Node::And(items) => Item::Bool(items.iter().all(|n| self.truthy(&self.eval(n)))),
            Node::Compare(first, rest) => self.compare_chain(first, rest),
            Node::Arith(first, rest) => self.arith_chain(first, rest),
            Node::Call(f, args) => self.call(*f, args),
            Node::Neg(x) => self.negate(x),
            Node::Regex(subject, pattern) => self.regex(subject, &pattern.0),
            Node::ChoiceName(value, question) => self.choice_name(value, *question),
            Node::IndexedRepeat(value, repeat, index) => {
                self.indexed_repeat(*value, *repeat, index)
            }
            Node::Position => Item::Num(self.env.position().map_or(1.0, |p| p as f64)),
        }
    }

    #[inline(never)]
    fn compare_chain(&self, first: &'a Node, rest: &'a [(CmpOp, Node)]) -> Item<'a> {
        let mut acc = self.eval(first);
        for (op, n) in rest {
            let rhs = self.eval(n);
            acc = Item::Bool(self.compare(*op, &acc, &rhs));
        }
        acc
    }

    #[inline(never)]
    fn arith_chain(&self, first: &'a Node, rest: &'a [(ArithOp, Node)]) -> Item<'a> {
        let mut acc = self.eval(first);
        for (op, n) in rest {
            let rhs = self.eval(n);
            acc = Item::Num(self.arith(*op, &acc, &rhs));
        }
        acc
    }

    #[inline(never)]
    fn negate(&self, x: &'a Node) -> Item<'a> {
        let v = self.eval(x);
        let s = v.scalar();
        Item::Num(-if s.is_date() {
            self.day_number(s)
        } else {
            self.number(s)
        })
    }

    #[inline(never)]
    fn regex(&self, subject: &'a Node, re: &regex::Regex) -> Item<'a> {
        let s = self.eval_string(subject);
        Item::Bool(re.is_match(&s))
    }

    #[inline(never)]
    fn choice_name(&self, value: &'a Node, question: u32) -> Item<'a> {
        let v = self.eval_string(value);
        let v = v.trim();
        if v.is_empty() {
            return Item::EMPTY;
        }
        match self.env.choice_label(self.var_ref(question), v) {
            Some(label) => Item::Str(Cow::Owned(label)),
            None => Item::EMPTY,
        }
    }

    #[inline(never)]
    fn indexed_repeat(&self, value: u32, repeat: u32, index: &'a Node) -> Item<'a> {
        let n = self.eval_number(index);
        if n.is_finite() && n >= 1.0 {
            // Saturating: an index past usize::MAX is past the last instance anyway.
            let i = n.trunc() as usize;
            self.env
                .indexed_repeat(self.var_ref(value), self.var_ref(repeat), i)
                .into()
        } else {
            Item::EMPTY
        }
    }

    /// XPath comparison: node-sets compare existentially (a node-set against a boolean compares
    /// as a boolean).
    #[inline(never)]
    fn compare(&self, op: CmpOp, a: &Item<'_>, b: &Item<'_>) -> bool {
        match (a, b) {
            (Item::Nodes(x), Item::Nodes(y)) => x.iter().any(|p| {
                y.iter()
                    .any(|q| self.compare_scalars(op, Scalar::of(p), Scalar::of(q)))
            }),
            (Item::Nodes(x), Item::Bool(v)) => {
                self.compare_scalars(op, Scalar::Bool(!x.is_empty()), Scalar::Bool(*v))
            }
            (Item::Bool(v), Item::Nodes(y)) => {
                self.compare_scalars(op, Scalar::Bool(*v), Scalar::Bool(!y.is_empty()))
            }
            (Item::Nodes(x), other) => {
                let o = other.scalar();
                x.iter().any(|p| self.compare_scalars(op, Scalar::of(p), o))
            }
            (other, Item::Nodes(y)) => {
                let o = other.scalar();
                y.iter().any(|q| self.compare_scalars(op, o, Scalar::of(q)))
            }
            _ => self.compare_scalars(op, a.scalar(), b.scalar()),
        }
    }

    fn compare_scalars(&self, op: CmpOp, a: Scalar<'_>, b: Scalar<'_>) -> bool {
        let dated = a.is_date() || b.is_date();
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                let equal = if matches!(a, Scalar::Bool(_)) || matches!(b, Scalar::Bool(_)) {
                    a.truthy() == b.truthy()
                } else if dated {
                    self.day_number(a) == self.day_number(b)
                } else if matches!(a, Scalar::Num(_)) || matches!(b, Scalar::Num(_)) {
                    self.number(a) == self.number(b)
                } else {
                    match (a, b) {
                        (Scalar::Str(x), Scalar::Str(y)) => x == y,
                        _ => self.string(a) == self.string(b),
                    }
                };
                // NaN != NaN is true, as in XPath.
                equal == (op == CmpOp::Eq)
            }
            _ => {
                let (x, y) = if dated {
                    (self.day_number(a), self.day_number(b))
                } else {
                    (self.number(a), self.number(b))
                };
                match op {
                    CmpOp::Lt => x < y,
                    CmpOp::Le => x <= y,
                    CmpOp::Gt => x > y,
                    _ => x >= y,
                }
            }
        }
    }

    #[inline(never)]
    fn arith(&self, op: ArithOp, a: &Item<'_>, b: &Item<'_>) -> f64 {
        let (sa, sb) = (a.scalar(), b.scalar());
        let (x, y) = if sa.is_date() || sb.is_date() {
            (self.day_number(sa), self.day_number(sb))
        } else {
            (self.number(sa), self.number(sb))
        };
        match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
            // Truncated remainder, like Java's and XPath's `mod`.
            ArithOp::Mod => x % y,
        }
    }

    /// The date (day number) a value denotes, in local time.
    fn to_date(&self, s: Scalar<'_>) -> Option<i32> {
        match s {
            Scalar::Date(d) => Some(d),
            Scalar::DateTime(t) => dates::local_date(t, self.offset()),
            Scalar::Num(x) => {
                let f = x.floor();
                (f.is_finite() && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX))
                    .then_some(f as i32)
            }
            Scalar::Str(s) => dates::parse(s)?.date(self.offset()),
            Scalar::Bool(_) => None,
        }
    }

    /// The instant (UTC milliseconds) a value denotes; dates are local midnight and numbers are
    /// local days.
    fn to_datetime(&self, s: Scalar<'_>) -> Option<i64> {
        let offset_ms = i64::from(self.offset()) * 60_000;
        match s {
            Scalar::Date(d) => Some(i64::from(d) * DAY_MS - offset_ms),
            Scalar::DateTime(t) => Some(t),
            Scalar::Num(x) => {
                let ms = (x * DAY_MS as f64).round();
                // f64 → i64 saturates; keep clear of the ends so the offset cannot overflow.
                (ms.is_finite() && ms.abs() < 9e18).then(|| (ms as i64).saturating_sub(offset_ms))
            }
            Scalar::Str(s) => Some(dates::parse(s)?.utc_ms(self.offset())),
            Scalar::Bool(_) => None,
        }
    }

    /// Appends a value to a `concat`: every member of a node-set.
    fn push_all(&self, out: &mut String, i: &Item<'_>) {
        match i {
            Item::Nodes(v) => {
                for m in v {
                    out.push_str(&self.string(Scalar::of(m)));
                }
            }
            other => out.push_str(&self.string(other.scalar())),
        }
    }

    /// Numbers of a value: every member of a node-set, or the value itself.
    fn numbers(&self, i: &Item<'_>, out: &mut Vec<f64>) {
        match i {
            Item::Nodes(v) => out.extend(v.iter().map(|m| self.number(Scalar::of(m)))),
            other => out.push(self.num(other)),
        }
    }

    #[inline(never)]
    fn call(&self, f: Func, args: &'a [Node]) -> Item<'a> {
        let arg = |i: usize| args.get(i).map_or(Item::EMPTY, |n| self.eval(n));
        let string = |i: usize| self.string_of(arg(i));
        let number = |i: usize| self.num(&arg(i));
        let owned = |s: String| Item::Str(Cow::Owned(s));
        // `string()`, `number()`, `string-length()`, `normalize-space()` without an argument
        // work on `.`.
        let arg_or_current = |i: usize| match args.get(i) {
            Some(n) => self.eval(n),
            None => self.env.current().into(),
        };
        match f {
            Func::If => {
                if self.truthy(&arg(0)) {
                    arg(1)
                } else {
                    arg(2)
                }
            }
            Func::Not => Item::Bool(!self.truthy(&arg(0))),
            Func::True => Item::Bool(true),
            Func::False => Item::Bool(false),
            Func::Boolean => Item::Bool(self.truthy(&arg(0))),
            Func::BooleanFromString => {
                let s = string(0);
                Item::Bool(s == "true" || s == "1")
            }
            Func::Selected => {
                let list = string(0);
                let value = string(1);
                let value = value.trim();
                Item::Bool(list.split_whitespace().any(|w| w == value))
            }
            Func::CountSelected => Item::Num(string(0).split_whitespace().count() as f64),
            Func::SelectedAt => {
                let list = string(0);
                let n = number(1);
                if n.is_finite() && n >= 0.0 {
                    match list.split_whitespace().nth(n.trunc() as usize) {
                        Some(w) => owned(w.to_string()),
                        None => Item::EMPTY,
                    }
                } else {
                    Item::EMPTY
                }
            }
            Func::StringLength => {
                let s = self.string_of(arg_or_current(0));
                Item::Num(s.chars().count() as f64)
            }
            Func::Concat => {
                let mut out = String::new();
                for n in args.iter() {
                    self.push_all(&mut out, &self.eval(n));
                }
                owned(out)
            }
            Func::Join => {
                let sep = string(0);
                let mut parts: Vec<String> = Vec::new();
                for n in args.iter().skip(1) {
                    match self.eval(n) {
                        Item::Nodes(v) => {
                            parts.extend(v.iter().map(|m| self.string(Scalar::of(m)).into_owned()))
                        }
                        other => parts.push(self.string_of(other).into_owned()),
                    }
                }
                owned(parts.join(&sep))
            }
            Func::Substr => {
                let s = string(0);
                let len = s.chars().count() as i64;
                // Java's (int) cast: NaN is 0, out-of-range saturates.
                let int = |x: f64| if x.is_nan() { 0 } else { x.trunc() as i64 };
                let mut start = int(number(1));
                let mut end = if args.len() > 2 { int(number(2)) } else { len };
                // Negative positions count from the end, as in JavaRosa.
                if start < 0 {
                    start = start.saturating_add(len);
                }
                if end < 0 {
                    end = end.saturating_add(len);
                }
                let start = start.clamp(0, len);
                let end = end.clamp(0, len);
                if start >= end {
                    return Item::EMPTY;
                }
                let skip = usize::try_from(start).unwrap_or(0);
                let take = usize::try_from(end - start).unwrap_or(0);
                owned(s.chars().skip(skip).take(take).collect())
            }
            Func::SubstringBefore => {
                let s = string(0);
                let t = string(1);
                match s.find(t.as_ref()) {
                    Some(i) => owned(s.get(..i).unwrap_or_default().to_string()),
                    None => Item::EMPTY,
                }
            }
            Func::SubstringAfter => {
                let s = string(0);
                let t = string(1);
                match s.find(t.as_ref()) {
                    Some(i) => owned(s.get(i + t.len()..).unwrap_or_default().to_string()),
                    None => Item::EMPTY,
                }
            }
            Func::Translate => {
                let s = string(0);
                let from: Vec<char> = string(1).chars().collect();
                let to: Vec<char> = string(2).chars().collect();
                owned(
                    s.chars()
                        .filter_map(|c| match from.iter().position(|&f| f == c) {
                            Some(i) => to.get(i).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }
            Func::NormalizeSpace => {
                let s = self.string_of(arg_or_current(0));
                owned(s.split_whitespace().collect::<Vec<_>>().join(" "))
            }
            Func::Contains => Item::Bool(string(0).contains(string(1).as_ref())),
            Func::StartsWith => Item::Bool(string(0).starts_with(string(1).as_ref())),
            Func::EndsWith => Item::Bool(string(0).ends_with(string(1).as_ref())),
            Func::Regex => {
                // A pattern computed at evaluation time; literal patterns are `Node::Regex`.
                let s = string(0);
                let pattern = string(1);
                Item::Bool(ast::compile_regex(&pattern).is_ok_and(|re| re.is_match(&s)))
            }
            Func::Number => Item::Num(self.num(&arg_or_current(0))),
            Func::Int => Item::Num(number(0).trunc()),
            Func::Round => {
                let x = number(0);
                if args.len() > 1 {
                    Item::Num(round_to(x, number(1)))
                } else {
                    Item::Num(x.round())
                }
            }
            Func::Floor => Item::Num(number(0).floor()),
            Func::Ceiling => Item::Num(number(0).ceil()),
            Func::Abs => Item::Num(number(0).abs()),
            Func::Pow => Item::Num(number(0).powf(number(1))),
            Func::String => Item::Str(self.string_of(arg_or_current(0))),
            Func::Coalesce => {
                let first = arg(0);
                let first = match first {
                    Item::Nodes(v) => v.into_iter().next().map_or(Item::EMPTY, Item::from),
                    other => other,
                };
                if self.string(first.scalar()).is_empty() {
                    arg(1)
                } else {
                    first
                }
            }
            Func::Today => {
                let (ms, offset) = self.env.now();
                self.offset.set(Some(offset));
                dates::local_date(ms, offset).map_or(Item::EMPTY, Item::Date)
            }
            Func::Now => Item::DateTime(self.env.now().0),
            Func::Date => self
                .to_date(arg(0).scalar())
                .map_or(Item::EMPTY, Item::Date),
            Func::DateTime => self
                .to_datetime(arg(0).scalar())
                .map_or(Item::EMPTY, Item::DateTime),
            Func::FormatDate => {
                let d = self.to_date(arg(0).scalar());
                let fmt = string(1);
                match d {
                    Some(d) => owned(dates::format(&fmt, i64::from(d) * DAY_MS)),
                    None => Item::EMPTY,
                }
            }
            Func::FormatDateTime => {
                let t = self.to_datetime(arg(0).scalar());
                let fmt = string(1);
                let local = t.and_then(|t| t.checked_add(i64::from(self.offset()) * 60_000));
                match local {
                    Some(local) => owned(dates::format(&fmt, local)),
                    None => Item::EMPTY,
                }
            }
            Func::DecimalDateTime => Item::Num(
                self.to_datetime(arg(0).scalar())
                    .map_or(f64::NAN, |t| dates::local_days(t, self.offset())),
            ),
            Func::DecimalDate => {
                Item::Num(self.to_date(arg(0).scalar()).map_or(f64::NAN, f64::from))
            }
            Func::Count => Item::Num(match arg(0) {
                Item::Nodes(v) => v.len() as f64,
                _ => 1.0,
            }),
            Func::CountNonEmpty => Item::Num(match arg(0) {
                Item::Nodes(v) => v
                    .iter()
                    .filter(|m| !self.string(Scalar::of(m)).is_empty())
                    .count() as f64,
                other => f64::from(u8::from(!self.string(other.scalar()).is_empty())),
            }),
            Func::Sum => Item::Num(match arg(0) {
                Item::Nodes(v) => v.iter().map(|m| self.number(Scalar::of(m))).sum(),
                other => self.num(&other),
            }),
            Func::Max | Func::Min => {
                let mut xs = Vec::new();
                for n in args.iter() {
                    self.numbers(&self.eval(n), &mut xs);
                }
                let pick = if f == Func::Max { f64::max } else { f64::min };
                Item::Num(if xs.is_empty() || xs.iter().any(|x| x.is_nan()) {
                    f64::NAN
                } else {
                    xs.into_iter().fold(
                        if f == Func::Max {
                            f64::NEG_INFINITY
                        } else {
                            f64::INFINITY
                        },
                        pick,
                    )
                })
            }
            Func::Once => match self.env.stored() {
                Some(v) if !v.is_empty() => v.into(),
                _ => arg(0),
            },
            Func::Uuid => owned(self.env.uuid()),
            // Parsed into their own nodes.
            Func::ChoiceName | Func::IndexedRepeat | Func::Position => Item::EMPTY,
        }
    }
}

/// Rounds half away from zero to `digits` decimal places (negative: tens, hundreds…), on the
/// shortest decimal form of `x`, so that `round(2.675, 2)` is 2.68 as a person expects, though the
/// double nearest 2.675 is slightly below it.
pub(super) fn round_to(x: f64, digits: f64) -> f64 {
    if digits.is_nan() {
        return f64::NAN;
    }
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let d = digits.trunc().clamp(-400.0, 400.0) as i64;
    // Fast path: with a small exact power of ten and a value far from a tie, rounding the double
    // decides like rounding its decimal form, and `round(y) / 10^d` is the double nearest the
    // rounded decimal (one correctly rounded division).
    if let Ok(e) = i32::try_from(d)
        && (0..=15).contains(&e)
    {
        let p = 10f64.powi(e);
        let y = x * p;
        if y.abs() < 1e8 && (y.fract().abs() - 0.5).abs() > 1e-6 {
            return y.round() / p;
        }
    }
    round_decimal(x, d)
}

/// `round_to` on the shortest decimal form of `x`.
fn round_decimal(x: f64, d: i64) -> f64 {
    let sci = format!("{:e}", x.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return x;
    };
    let Ok(exp) = exp.parse::<i64>() else {
        return x;
    };
    let all: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // x = 0.d1d2d3… × 10^(exp+1); keep the digits before the rounding position.
    let keep = exp + 1 + d;
    let Ok(keep_n) = usize::try_from(keep) else {
        return 0.0_f64.copysign(x);
    };
    if keep_n >= all.len() {
        return x;
    }
    let mut kept: u64 = all
        .iter()
        .take(keep_n)
        .fold(0u64, |acc, &g| acc * 10 + u64::from(g));
    if all.get(keep_n).is_some_and(|&g| g >= 5) {
        kept += 1;
    }
    let rounded: f64 = format!("{kept}e{}", exp + 1 - keep)
        .parse()
        .unwrap_or(f64::NAN);
    rounded.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::{round_decimal, round_to};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_fast_path_rounds_like_the_decimal_form(x in -1e7f64..1e7, d in 0i64..8) {
            prop_assert_eq!(round_to(x, d as f64), round_decimal(x, d));
            let cents = (x * 100.0).trunc() / 100.0 + 0.005;
            prop_assert_eq!(round_to(cents, 2.0), round_decimal(cents, 2));
        }
    }

    #[test]
    fn rounding_is_decimal_and_half_away_from_zero() {
        for (x, d, r) in [
            (2.675, 2.0, 2.68),
            (-2.675, 2.0, -2.68),
            (1.005, 2.0, 1.01),
            (1234.5, -2.0, 1200.0),
            (1250.0, -2.0, 1300.0),
            (0.004, 2.0, 0.0),
            (0.005, 2.0, 0.01),
            (9.995, 2.0, 10.0),
            (5.0, -1.0, 10.0),
            (4.9, -1.0, 0.0),
            (123.456, 10.0, 123.456),
            (1.2345, 2.0, 1.23),
            (-1.2355, 3.0, -1.236),
            (0.1 + 0.2, 1.0, 0.3),
            (12_345.0 / 4.0, 2.0, 3086.25),
            (1e9 + 0.125, 2.0, 1e9 + 0.13),
            (1e300, 2.0, 1e300),
            (0.5, 0.0, 1.0),
            (-0.5, 0.0, -1.0),
        ] {
            assert_eq!(round_to(x, d), r, "round({x}, {d})");
        }
        assert!(round_to(1.0, f64::NAN).is_nan());
        assert!(round_to(f64::NAN, 1.0).is_nan());
    }
}
