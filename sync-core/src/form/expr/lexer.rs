//! Tokens of the expression language, read one at a time so that the first error in the text is
//! the one reported.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(f64),
    Str(String),
    /// `${name}`.
    Ref(String),
    /// A function name or an operator name (`and`, `or`, `div`, `mod`), possibly prefixed (`jr:`).
    Name(String),
    LParen,
    RParen,
    Comma,
    Dot,
    DotDot,
    Plus,
    Minus,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    // XPath that XLSForm expressions do not need; read so that the error can say so.
    Slash,
    Pipe,
    LBracket,
    RBracket,
    At,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    /// Character offsets of the token in the source: `[pos, end)`.
    pub pos: usize,
    pub end: usize,
}

pub(super) struct Lexer {
    chars: Vec<char>,
    at: usize,
}

impl Lexer {
    pub fn new(src: &str) -> Self {
        Lexer {
            chars: src.chars().collect(),
            at: 0,
        }
    }

    /// The source text of a token, shortened for messages.
    pub fn text(&self, t: &Token) -> String {
        if t.tok == Tok::End {
            return "the end".to_string();
        }
        let s: String = self
            .chars
            .get(t.pos..t.end)
            .unwrap_or_default()
            .iter()
            .take(24)
            .collect();
        if t.end - t.pos > 24 {
            format!("'{s}…'")
        } else {
            format!("'{s}'")
        }
    }

    /// The character at a character offset.
    pub fn char_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn peek_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The next token. Not inlined: the parser's recursive functions stay small.
    #[inline(never)]
    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        while self.peek_at(self.at).is_some_and(char::is_whitespace) {
            self.at += 1;
        }
        let pos = self.at;
        let Some(c) = self.peek_at(pos) else {
            return Ok(Token {
                tok: Tok::End,
                pos,
                end: pos,
            });
        };
        let next = self.peek_at(pos + 1);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '=' => (Tok::Eq, 1),
            '|' => (Tok::Pipe, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '@' => (Tok::At, 1),
            '/' => (Tok::Slash, if next == Some('/') { 2 } else { 1 }),
            '!' if next == Some('=') => (Tok::Ne, 2),
            '!' => {
                return Err(ParseError::new(
                    pos,
                    "'!' must be followed by '=' (write not(...) to negate)",
                ));
            }
            '<' if next == Some('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '.' if next == Some('.') => (Tok::DotDot, 2),
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => return Ok(self.number(pos)),
            '.' => (Tok::Dot, 1),
            '0'..='9' => return Ok(self.number(pos)),
            '\'' | '"' => return self.string(pos, c),
            '$' => return self.reference(pos),
            c if c.is_ascii_alphabetic() || c == '_' => return Ok(self.name(pos)),
            '‘' | '’' | '“' | '”' => {
                return Err(ParseError::new(
                    pos,
                    format!("curly quote {c} cannot delimit a string: use ' or \""),
                ));
            }
            c => return Err(ParseError::new(pos, unexpected_char(c))),
        };
        self.at = pos + len;
        Ok(Token {
            tok,
            pos,
            end: self.at,
        })
    }

    /// Digits (`.` digits?)? | `.` digits — XPath has no exponent.
    fn number(&mut self, pos: usize) -> Token {
        let mut i = pos;
        while self.peek_at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if self.peek_at(i) == Some('.') {
            i += 1;
            while self.peek_at(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        let text: String = self.chars.get(pos..i).unwrap_or_default().iter().collect();
        self.at = i;
        Token {
            tok: Tok::Num(text.parse().unwrap_or(f64::NAN)),
            pos,
            end: i,
        }
    }

    /// XPath strings have no escapes: a string ends at the next quote of the same kind.
    fn string(&mut self, pos: usize, quote: char) -> Result<Token, ParseError> {
        let mut i = pos + 1;
        loop {
            match self.peek_at(i) {
                None => return Err(ParseError::new(pos, "unterminated string")),
                Some(c) if c == quote => break,
                Some(_) => i += 1,
            }
        }
        let text: String = self
            .chars
            .get(pos + 1..i)
            .unwrap_or_default()
            .iter()
            .collect();
        self.at = i + 1;
        Ok(Token {
            tok: Tok::Str(text),
            pos,
            end: self.at,
        })
    }

    fn reference(&mut self, pos: usize) -> Result<Token, ParseError> {
        if self.peek_at(pos + 1) != Some('{') {
            return Err(ParseError::new(
                pos,
                "'$' must start a reference like ${name}",
            ));
        }
        let (name, end) = read_reference(&self.chars, pos)?;
        self.at = end;
        Ok(Token {
            tok: Tok::Ref(name),
            pos,
            end,
        })
    }

    /// `[A-Za-z_][A-Za-z0-9_.-]*`, optionally `prefix:` before it. Function and operator names are
    /// ASCII; question names only appear inside `${}`.
    fn name(&mut self, pos: usize) -> Token {
        let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        let mut i = pos;
        while self.peek_at(i).is_some_and(is_name) {
            i += 1;
        }
        if self.peek_at(i) == Some(':')
            && self
                .peek_at(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            i += 1;
            while self.peek_at(i).is_some_and(is_name) {
                i += 1;
            }
        }
        let text: String = self.chars.get(pos..i).unwrap_or_default().iter().collect();
        self.at = i;
        Token {
            tok: Tok::Name(text),
            pos,
            end: i,
        }
    }
}

/// Reads `${name}` starting at the `$` at `pos`; returns the name and the offset after `}`.
pub(super) fn read_reference(chars: &[char], pos: usize) -> Result<(String, usize), ParseError> {
    let start = pos + 2;
    let mut i = start;
    loop {
        match chars.get(i) {
            None => {
                return Err(ParseError::new(
                    pos,
                    "unterminated reference: '}' is missing after ${",
                ));
            }
            Some('}') => break,
            Some(&c) => {
                let ok = if i == start {
                    is_name_start(c)
                } else {
                    is_name_char(c)
                };
                if !ok {
                    let what = if c.is_whitespace() {
                        "a space".to_string()
                    } else {
                        format!("'{c}'")
                    };
                    return Err(ParseError::new(
                        i,
                        if i == start && is_name_char(c) {
                            format!("a question name cannot start with {what}")
                        } else {
                            format!("{what} cannot appear in a question name inside ${{}}")
                        },
                    ));
                }
                i += 1;
            }
        }
    }
    if i == start {
        return Err(ParseError::new(pos, "empty reference ${}"));
    }
    let name: String = chars.get(start..i).unwrap_or_default().iter().collect();
    Ok((name, i + 1))
}

/// XML 1.0 (5th edition) NameStartChar.
fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (5th edition) NameChar.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn unexpected_char(c: char) -> String {
    let code = u32::from(c);
    if (0xFF01..=0xFF5E).contains(&code) {
        // Full-width punctuation from a Chinese input method.
        if let Some(ascii) = char::from_u32(code - 0xFEE0) {
            return format!("full-width '{c}': use '{ascii}'");
        }
    }
    match c {
        '。' => "full-width '。': use '.'".to_string(),
        '、' => "'、' is not an operator: separate arguments with ','".to_string(),
        c if c.is_alphabetic() => {
            format!("unexpected character '{c}': refer to questions as ${{name}}")
        }
        c if c.is_control() => format!("unexpected control character U+{code:04X}"),
        c => format!("unexpected character '{c}'"),
    }
}
