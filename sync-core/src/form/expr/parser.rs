//! Precedence climbing over the XPath 1.0 grammar, restricted to what XLSForm expressions use.

use super::ast::{self, ArithOp, BinOp, CmpOp, Func, Node, Pattern};
use super::lexer::{Lexer, Tok, Token, read_reference};
use super::{MAX_DEPTH, ParseError, dates};
use std::collections::HashMap;

/// Parses `src` into a tree and the referenced names (in order of first appearance).
pub(super) fn parse(src: &str) -> Result<(Node, Vec<String>), ParseError> {
    parse_with(src, false)
}

/// Parses, allowing bare names (choice columns) when `allow_fields` is set.
pub(super) fn parse_with(src: &str, allow_fields: bool) -> Result<(Node, Vec<String>), ParseError> {
    if src.trim().is_empty() {
        return Err(ParseError::new(0, "the expression is empty"));
    }
    let mut p = Parser {
        lex: Lexer::new(src),
        peeked: None,
        depth: 0,
        names: Vec::new(),
        slots: HashMap::new(),
        allow_fields,
    };
    let (root, _) = p.expr()?;
    let t = p.next()?;
    if t.tok != Tok::End {
        return Err(p.stray(&t).unwrap_or_else(|| {
            let message = if t.tok == Tok::RParen {
                "unexpected ')' without a matching '('".to_string()
            } else {
                format!(
                    "expected an operator or the end of the expression, found {}",
                    p.lex.text(&t)
                )
            };
            ParseError::new(t.pos, message)
        }));
    }
    Ok((root, p.names))
}

struct Parser {
    lex: Lexer,
    peeked: Option<Token>,
    /// Levels open on the way down: parentheses, calls, right operands.
    depth: usize,
    names: Vec<String>,
    slots: HashMap<String, u32>,
    /// Bare names are choice columns (choice filters) rather than mistakes.
    allow_fields: bool,
}

type Step<T> = Result<T, ParseError>;

/// A parsed subexpression and its depth: the most operators, calls and parentheses around any of
/// its values (a bare value is 0, `-(1 + 2)` is 3).
type Sub = (Node, usize);

#[cold]
#[inline(never)]
fn too_deep(pos: usize) -> ParseError {
    ParseError::new(
        pos,
        format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)"),
    )
}

/// `depth`, or an error at `pos` when it is over the limit.
fn within(depth: usize, pos: usize) -> Step<usize> {
    if depth > MAX_DEPTH {
        Err(too_deep(pos))
    } else {
        Ok(depth)
    }
}

impl Parser {
    fn peek(&mut self) -> Step<&Token> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex.next_token()?,
        };
        Ok(self.peeked.insert(t))
    }

    fn next(&mut self) -> Step<Token> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next_token(),
        }
    }

    fn peek_is(&mut self, tok: &Tok) -> Step<bool> {
        Ok(&self.peek()?.tok == tok)
    }

    /// The slot of a referenced name.
    #[inline(never)]
    fn slot(&mut self, name: String) -> u32 {
        if let Some(&s) = self.slots.get(&name) {
            return s;
        }
        let s = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.slots.insert(name.clone(), s);
        self.names.push(name);
        s
    }

    /// Opens a level on the way down (a parenthesis, a call, a right operand) at `pos`. The
    /// parser's recursion is bounded by this; the finished tree's depth is checked as it is built.
    fn descend(&mut self, pos: usize) -> Step<()> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(pos));
        }
        self.depth += 1;
        Ok(())
    }

    /// A whole expression.
    fn expr(&mut self) -> Step<Sub> {
        self.binary(0)
    }

    /// Operators binding at least as tightly as `min` (precedence climbing; left-associative).
    fn binary(&mut self, min: u8) -> Step<Sub> {
        let (mut lhs, mut depth) = self.unary()?;
        loop {
            let t = self.peek()?;
            let Some(op) = binary_op(&t.tok) else { break };
            if op.precedence() < min {
                break;
            }
            let pos = t.pos;
            self.next()?;
            self.descend(pos)?;
            let rhs = self.binary(op.precedence() + 1);
            self.depth -= 1;
            let (rhs, rhs_depth) = rhs?;
            (lhs, depth) = combine(lhs, depth, op, rhs, rhs_depth);
            depth = within(depth, pos)?;
        }
        Ok((lhs, depth))
    }

    /// `-`* primary. Negations collapse to one or two (two still convert to a number).
    fn unary(&mut self) -> Step<Sub> {
        let mut negations = 0usize;
        let pos = self.peek()?.pos;
        while self.peek_is(&Tok::Minus)? {
            self.next()?;
            negations += 1;
        }
        let (node, depth) = self.primary()?;
        Ok(match negations {
            0 => (node, depth),
            n if n % 2 == 1 => (Node::Neg(Box::new(node)), within(depth + 1, pos)?),
            _ => (
                Node::Neg(Box::new(Node::Neg(Box::new(node)))),
                within(depth + 2, pos)?,
            ),
        })
    }

    fn primary(&mut self) -> Step<Sub> {
        let t = self.next()?;
        match t.tok {
            Tok::Num(x) => Ok((Node::Num(x), 0)),
            Tok::Str(s) => Ok((Node::Str(s.into()), 0)),
            Tok::Ref(name) => Ok((Node::Var(self.slot(name)), 0)),
            Tok::Dot => Ok((Node::Current, 0)),
            Tok::LParen => {
                self.descend(t.pos)?;
                let inner = self.expr();
                self.depth -= 1;
                let (inner, depth) = inner?;
                let close = self.next()?;
                if close.tok != Tok::RParen {
                    return Err(self.unclosed(&close, t.pos));
                }
                Ok((inner, within(depth + 1, t.pos)?))
            }
            Tok::Name(name) if self.peek_is(&Tok::LParen)? => self.call(name, t.pos),
            Tok::Name(name)
                if self.allow_fields && !["and", "or", "div", "mod"].contains(&name.as_str()) =>
            {
                Ok((Node::Field(name.into()), 0))
            }
            _ => Err(self.not_a_value(&t)),
        }
    }

    #[cold]
    #[inline(never)]
    fn unclosed(&self, close: &Token, open: usize) -> ParseError {
        self.stray(close).unwrap_or_else(|| {
            ParseError::new(
                close.pos,
                format!(
                    "expected ')' to close the '(' at character {open}, found {}",
                    self.lex.text(close)
                ),
            )
        })
    }

    #[cold]
    #[inline(never)]
    fn not_a_value(&self, t: &Token) -> ParseError {
        match &t.tok {
            Tok::DotDot => ParseError::new(t.pos, "'..' is only allowed in position(..)"),
            Tok::Name(name) => ParseError::new(t.pos, bare_name(name)),
            Tok::End => ParseError::new(t.pos, "unexpected end of the expression"),
            _ => self.stray(t).unwrap_or_else(|| {
                ParseError::new(
                    t.pos,
                    format!("expected a value before {}", self.lex.text(t)),
                )
            }),
        }
    }

    /// A specific message for XPath that XLSForm expressions do not support, and for operators
    /// written in capitals.
    fn stray(&self, t: &Token) -> Option<ParseError> {
        let message = match &t.tok {
            Tok::Slash => {
                "paths like /data/x are not supported: refer to questions as ${x}".to_string()
            }
            Tok::LBracket | Tok::RBracket => "predicates [...] are not supported".to_string(),
            Tok::Pipe => "unions (|) are not supported".to_string(),
            Tok::At => "attributes (@) are not supported".to_string(),
            Tok::Name(n) => {
                let lower = n.to_ascii_lowercase();
                if n != &lower && ["and", "or", "div", "mod"].contains(&lower.as_str()) {
                    format!("operators are lower-case: write '{lower}', not '{n}'")
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        Some(ParseError::new(t.pos, message))
    }

    /// `name(` has been seen (the `(` not consumed).
    #[inline(never)]
    fn call(&mut self, name: String, pos: usize) -> Step<Sub> {
        let Some((_, func, min, max)) = ast::lookup(&name) else {
            return Err(unknown_function(&name, pos));
        };
        let open = self.next()?.pos;
        if func == Func::Position {
            self.position_args(&name)?;
            return Ok((Node::Position, 1));
        }
        self.descend(open)?;
        let args = self.arguments(&name);
        self.depth -= 1;
        let (args, arg_pos, depth) = args?;
        let depth = within(depth + 1, open)?;
        let node = self.build_call(&name, (func, min, max), pos, args, &arg_pos)?;
        Ok((node, depth))
    }

    /// The arguments up to the closing `)`, where each starts, and the deepest one's depth.
    fn arguments(&mut self, name: &str) -> Step<(Vec<Node>, Vec<usize>, usize)> {
        let mut args = Vec::new();
        let mut arg_pos = Vec::new();
        let mut depth = 0;
        if self.peek_is(&Tok::RParen)? {
            self.next()?;
            return Ok((args, arg_pos, depth));
        }
        loop {
            arg_pos.push(self.peek()?.pos);
            let (arg, d) = self.expr()?;
            args.push(arg);
            depth = depth.max(d);
            let t = self.next()?;
            match t.tok {
                Tok::Comma => {}
                Tok::RParen => return Ok((args, arg_pos, depth)),
                _ => return Err(self.unfinished_call(&t, name)),
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn unfinished_call(&self, t: &Token, name: &str) -> ParseError {
        self.stray(t).unwrap_or_else(|| {
            ParseError::new(t.pos, format!("expected ')' after the arguments of {name}"))
        })
    }

    /// Checks the arguments of a call and builds its node.
    #[inline(never)]
    fn build_call(
        &mut self,
        name: &str,
        (func, min, max): (Func, usize, usize),
        pos: usize,
        args: Vec<Node>,
        arg_pos: &[usize],
    ) -> Step<Node> {
        if args.len() < min || args.len() > max {
            return Err(ParseError::new(
                pos,
                arity_message(name, func, min, max, args.len()),
            ));
        }
        let at = |i: usize| arg_pos.get(i).copied().unwrap_or(pos);
        match func {
            Func::ChoiceName => {
                let question = match args.get(1) {
                    Some(Node::Var(slot)) => Some(*slot),
                    Some(Node::Str(s)) => {
                        let chars: Vec<char> = s.trim().chars().collect();
                        match read_reference(&chars, 0) {
                            Ok((q, end)) if chars.first() == Some(&'$') && end == chars.len() => {
                                Some(self.slot(q))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let (Some(question), Some(value)) = (question, args.into_iter().next()) else {
                    return Err(ParseError::new(
                        at(1),
                        format!(
                            "the second argument of {name} must name a question, like '${{q}}'"
                        ),
                    ));
                };
                Ok(Node::ChoiceName(Box::new(value), question))
            }
            Func::IndexedRepeat => {
                let not_reference = |i: usize| {
                    let which = if i == 0 { "first" } else { "second" };
                    ParseError::new(
                        at(i),
                        format!("the {which} argument of {name} must be a ${{}} reference"),
                    )
                };
                for i in 0..2 {
                    if !matches!(args.get(i), Some(Node::Var(_))) {
                        return Err(not_reference(i));
                    }
                }
                let mut it = args.into_iter();
                let (Some(Node::Var(value)), Some(Node::Var(repeat)), Some(index)) =
                    (it.next(), it.next(), it.next())
                else {
                    return Err(not_reference(0));
                };
                Ok(Node::IndexedRepeat(value, repeat, Box::new(index)))
            }
            Func::Regex => {
                let mut it = args.into_iter();
                match (it.next(), it.next()) {
                    (Some(subject), Some(Node::Str(pattern))) => match ast::compile_regex(&pattern)
                    {
                        Ok(re) => Ok(Node::Regex(Box::new(subject), Pattern(re))),
                        Err(e) => Err(ParseError::new(
                            at(1),
                            format!("invalid regular expression: {}", regex_problem(&e)),
                        )),
                    },
                    (Some(subject), Some(pattern)) => {
                        Ok(Node::Call(func, vec![subject, pattern].into()))
                    }
                    _ => Ok(Node::Call(func, Box::new([]))),
                }
            }
            Func::FormatDate | Func::FormatDateTime => {
                if let Some(Node::Str(fmt)) = args.get(1)
                    && let Some((i, spec)) = dates::bad_format(fmt)
                {
                    let p = at(1);
                    let inside = matches!(self.lex.char_at(p), Some('\'' | '"'));
                    return Err(ParseError::new(
                        if inside { p + 1 + i } else { p },
                        format!(
                            "unknown conversion {spec} in the format of {name} (known: {})",
                            dates::FORMAT_CHARS
                                .chars()
                                .map(|c| format!("%{c}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    ));
                }
                Ok(Node::Call(func, args.into()))
            }
            _ => Ok(Node::Call(func, args.into())),
        }
    }

    /// `position(` has been read: only `..` may follow.
    #[inline(never)]
    fn position_args(&mut self, name: &str) -> Step<()> {
        let t = self.next()?;
        if t.tok != Tok::DotDot {
            return Err(ParseError::new(
                t.pos,
                format!("{name}() takes '..' as its argument: write {name}(..)"),
            ));
        }
        let t = self.next()?;
        if t.tok != Tok::RParen {
            return Err(ParseError::new(
                t.pos,
                format!("expected ')' after the arguments of {name}"),
            ));
        }
        Ok(())
    }
}

fn binary_op(tok: &Tok) -> Option<BinOp> {
    Some(match tok {
        Tok::Name(n) => match n.as_str() {
            "or" => BinOp::Or,
            "and" => BinOp::And,
            "div" => BinOp::Arith(ArithOp::Div),
            "mod" => BinOp::Arith(ArithOp::Mod),
            _ => return None,
        },
        Tok::Eq => BinOp::Cmp(CmpOp::Eq),
        Tok::Ne => BinOp::Cmp(CmpOp::Ne),
        Tok::Lt => BinOp::Cmp(CmpOp::Lt),
        Tok::Le => BinOp::Cmp(CmpOp::Le),
        Tok::Gt => BinOp::Cmp(CmpOp::Gt),
        Tok::Ge => BinOp::Cmp(CmpOp::Ge),
        Tok::Plus => BinOp::Arith(ArithOp::Add),
        Tok::Minus => BinOp::Arith(ArithOp::Sub),
        Tok::Star => BinOp::Arith(ArithOp::Mul),
        _ => return None,
    })
}

/// `lhs op rhs`, appended to `lhs` when it is a chain of the same precedence (evaluation is left
/// to right either way), so that long chains stay flat. Returns the node and its depth.
#[inline(never)]
fn combine(lhs: Node, lhs_depth: usize, op: BinOp, rhs: Node, rhs_depth: usize) -> Sub {
    let appended = lhs_depth.max(rhs_depth + 1);
    let fresh = lhs_depth.max(rhs_depth) + 1;
    let level = BinOp::precedence;
    match (op, lhs) {
        (BinOp::Or, Node::Or(mut items)) => {
            items.push(rhs);
            (Node::Or(items), appended)
        }
        (BinOp::Or, lhs) => (Node::Or(vec![lhs, rhs]), fresh),
        (BinOp::And, Node::And(mut items)) => {
            items.push(rhs);
            (Node::And(items), appended)
        }
        (BinOp::And, lhs) => (Node::And(vec![lhs, rhs]), fresh),
        (BinOp::Cmp(o), Node::Compare(first, mut rest))
            if rest
                .first()
                .is_some_and(|(p, _)| level(BinOp::Cmp(*p)) == level(op)) =>
        {
            rest.push((o, rhs));
            (Node::Compare(first, rest), appended)
        }
        (BinOp::Cmp(o), lhs) => (Node::Compare(Box::new(lhs), vec![(o, rhs)]), fresh),
        (BinOp::Arith(o), Node::Arith(first, mut rest))
            if rest
                .first()
                .is_some_and(|(p, _)| level(BinOp::Arith(*p)) == level(op)) =>
        {
            rest.push((o, rhs));
            (Node::Arith(first, rest), appended)
        }
        (BinOp::Arith(o), lhs) => (Node::Arith(Box::new(lhs), vec![(o, rhs)]), fresh),
    }
}

#[cold]
#[inline(never)]
fn unknown_function(name: &str, pos: usize) -> ParseError {
    let hint = match name {
        "substring" => ": use substr(text, start, end), which counts from 0",
        "current" | "instance" | "pulldata" | "random" | "last" => " (not supported)",
        _ => "",
    };
    ParseError::new(pos, format!("unknown function {name}(){hint}"))
}

fn bare_name(name: &str) -> String {
    if ["and", "or", "div", "mod"].contains(&name) {
        format!("expected a value before '{name}'")
    } else if ast::lookup(name).is_some() {
        format!("{name} is a function: write {name}()")
    } else {
        format!("unexpected name '{name}': refer to questions as ${{{name}}}")
    }
}

fn arity_message(name: &str, func: Func, min: usize, max: usize, found: usize) -> String {
    let n = |k: usize| {
        if k == 1 {
            "1 argument".to_string()
        } else {
            format!("{k} arguments")
        }
    };
    let takes = if max == 0 {
        "no arguments".to_string()
    } else if min == max {
        n(min)
    } else if max == usize::MAX {
        format!("at least {}", n(min))
    } else if max == min + 1 {
        format!("{min} or {}", n(max))
    } else {
        format!("{min} to {max} arguments")
    };
    let hint = match func {
        Func::Uuid => " (uuid(length) is not supported)",
        Func::IndexedRepeat if found > 3 => " (nested repeats are not supported)",
        _ => "",
    };
    format!("{name}() takes {takes}, found {found}{hint}")
}

/// The one-line reason from a regex error.
fn regex_problem(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:"))
            .map_or_else(|| s.clone(), |l| l.trim().to_string()),
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
        _ => e.to_string(),
    }
}
