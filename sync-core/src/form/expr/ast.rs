//! The parsed form of an expression and the catalogue of functions.

use regex::Regex;

/// A node of the syntax tree. Chains of operators of one precedence level are flat (`a + b - c`
/// is one `Arith` node, `a or b or c` one `Or`), so a long sum does not make a deep tree.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Num(f64),
    Str(Box<str>),
    /// `${name}`: an index into the expression's references.
    Var(u32),
    /// `.`
    Current,
    /// A bare name in a choice filter: a column of the choice being filtered (`province`).
    Field(Box<str>),
    Neg(Box<Node>),
    Or(Vec<Node>),
    And(Vec<Node>),
    /// `first op1 x1 op2 x2 …` of one precedence level, evaluated left to right.
    Compare(Box<Node>, Vec<(CmpOp, Node)>),
    Arith(Box<Node>, Vec<(ArithOp, Node)>),
    Call(Func, Box<[Node]>),
    /// `regex(subject, 'literal')`, compiled once.
    Regex(Box<Node>, Pattern),
    /// `jr:choice-name(value, '${q}')`.
    ChoiceName(Box<Node>, u32),
    /// `indexed-repeat(${name}, ${repeat}, index)`.
    IndexedRepeat(u32, u32, Box<Node>),
    /// `position(..)`.
    Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A binary operator and its XPath 1.0 precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinOp {
    Or,
    And,
    Cmp(CmpOp),
    Arith(ArithOp),
}

impl BinOp {
    /// Binding power: `or` 1, `and` 2, `=` `!=` 3, `<` `<=` `>` `>=` 4, `+` `-` 5, `*` `div`
    /// `mod` 6.
    pub(super) fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Cmp(CmpOp::Eq | CmpOp::Ne) => 3,
            BinOp::Cmp(_) => 4,
            BinOp::Arith(ArithOp::Add | ArithOp::Sub) => 5,
            BinOp::Arith(_) => 6,
        }
    }
}

/// A compiled regular expression, equal to another when the patterns are.
#[derive(Debug, Clone)]
pub(super) struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// Size limit of a compiled regular expression (patterns come from form authors, and at
/// evaluation time from answers).
pub(super) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a pattern with the size limit.
pub(super) fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

macro_rules! functions {
    ($($variant:ident => $name:literal, $min:literal, $max:expr;)*) => {
        /// The functions of the language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Func { $($variant,)* }

        /// Name, function, minimum and maximum number of arguments.
        pub(super) const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
            $(($name, Func::$variant, $min, $max),)*
        ];
    };
}

const MANY: usize = usize::MAX;

functions! {
    If => "if", 3, 3;
    Not => "not", 1, 1;
    True => "true", 0, 0;
    False => "false", 0, 0;
    Boolean => "boolean", 1, 1;
    BooleanFromString => "boolean-from-string", 1, 1;
    Selected => "selected", 2, 2;
    CountSelected => "count-selected", 1, 1;
    SelectedAt => "selected-at", 2, 2;
    ChoiceName => "jr:choice-name", 2, 2;
    StringLength => "string-length", 0, 1;
    Concat => "concat", 0, MANY;
    Join => "join", 2, MANY;
    Substr => "substr", 2, 3;
    SubstringBefore => "substring-before", 2, 2;
    SubstringAfter => "substring-after", 2, 2;
    Translate => "translate", 3, 3;
    NormalizeSpace => "normalize-space", 0, 1;
    Contains => "contains", 2, 2;
    StartsWith => "starts-with", 2, 2;
    EndsWith => "ends-with", 2, 2;
    Regex => "regex", 2, 2;
    Number => "number", 0, 1;
    Int => "int", 1, 1;
    Round => "round", 1, 2;
    Floor => "floor", 1, 1;
    Ceiling => "ceiling", 1, 1;
    Abs => "abs", 1, 1;
    Pow => "pow", 2, 2;
    String => "string", 0, 1;
    Coalesce => "coalesce", 2, 2;
    Today => "today", 0, 0;
    Now => "now", 0, 0;
    Date => "date", 1, 1;
    DateTime => "date-time", 1, 1;
    FormatDate => "format-date", 2, 2;
    FormatDateTime => "format-date-time", 2, 2;
    DecimalDateTime => "decimal-date-time", 1, 1;
    DecimalDate => "decimal-date", 1, 1;
    Position => "position", 1, 1;
    Count => "count", 1, 1;
    CountNonEmpty => "count-non-empty", 1, 1;
    Sum => "sum", 1, 1;
    Max => "max", 1, MANY;
    Min => "min", 1, MANY;
    IndexedRepeat => "indexed-repeat", 3, 3;
    Once => "once", 1, 1;
    Uuid => "uuid", 0, 0;
}

/// Looks a function up by name; `jr:` may prefix any name, and `choice-name` may go without it.
pub(super) fn lookup(name: &str) -> Option<(&'static str, Func, usize, usize)> {
    let find = |n: &str| FUNCTIONS.iter().find(|f| f.0 == n).copied();
    find(name)
        .or_else(|| name.strip_prefix("jr:").and_then(find))
        .or_else(|| find(&format!("jr:{name}")))
}
