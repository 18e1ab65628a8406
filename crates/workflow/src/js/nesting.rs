//! A cheap, non-recursive estimate of how deeply a JavaScript source nests,
//! read before oxc sees it: oxc's parser and visitor recurse once per level
//! and have no guard of their own.
//!
//! The estimate counts brackets (`(`, `[`, `{`, `${`) and, inside each
//! bracket, the tokens that can nest an expression or statement one level
//! deeper: operators, `new`, `typeof`, `if`, `else`, `=>`, member access, a
//! closing bracket (calls chain: `f()()`), template literals (tags chain). A
//! bracket's count restarts where the language starts a sibling rather than a
//! child: at `,` and `;`, and where a new statement starts after a block or a
//! line break. It errs towards counting too much. It is a diagnostic, not the
//! safety net: that is the analysis thread's stack (`js::ANALYSIS_STACK`).

/// Where the estimate first went over the limit, in characters from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub at_char: usize,
}

/// `Err` when some point of `source` nests deeper than `limit` levels.
pub fn check(source: &str, limit: usize) -> Result<(), TooDeep> {
    let mut scan = Scanner { src: source.as_bytes(), pos: 0, frames: vec![Frame::new(Bracket::Root)], depth: 1 };
    let mut prev = Prev::Start;
    while let Some((start, next)) = scan.step(prev) {
        prev = next;
        if scan.depth > limit {
            let at_char = source.get(..start).map_or(start, |before| before.chars().count()) + 1;
            return Err(TooDeep { at_char });
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bracket {
    Root,
    /// `(` right after `if`, `for`, `while`, `with`, `switch` or `catch`.
    StatementHead,
    Paren,
    Square,
    Block,
    Object,
    /// `${` of a template literal: its `}` resumes the template text.
    Substitution,
}

struct Frame {
    bracket: Bracket,
    /// Nesting tokens seen in this bracket since its last sibling boundary.
    chain: usize,
}

impl Frame {
    fn new(bracket: Bracket) -> Frame {
        Frame { bracket, chain: 0 }
    }
}

/// What the previous token was: it decides whether `/` starts a regular
/// expression, whether `{` opens a block and whether a new statement starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    Start,
    /// An identifier, a literal, `)`, `]`, an object's `}` or postfix `++`:
    /// `/` divides after it, and a line break may end the statement.
    ExpressionEnd,
    /// The `)` of a statement head: a statement (or a block) follows.
    HeadClose,
    /// A block's `}`: the next identifier or keyword starts a new statement.
    BlockClose,
    /// `=>`, `else`, `do`, `try`, `finally`, a `)`: a `{` after it is a body.
    BeforeBody,
    /// `if`, `for`, `while`, `with`, `switch`, `catch`.
    HeadKeyword,
    /// A block's `{` or `;`: a `{` after it is a nested block.
    StatementStart,
    /// Anything else: an operator, `(`, `[`, `,`, an operator keyword.
    ExpressionStart,
}

impl Prev {
    fn regex_allowed(self) -> bool {
        self != Prev::ExpressionEnd
    }

    fn opens_block(self) -> bool {
        matches!(self, Prev::Start | Prev::HeadClose | Prev::BlockClose | Prev::BeforeBody | Prev::StatementStart)
    }
}

/// Longest first, so that `>>>=` is one token; `!!` is two.
const OPERATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=", "<=", ">=", "&&",
    "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>",
];

/// Keywords that nest what follows them one level deeper.
const NESTING_KEYWORDS: &[&str] = &[
    "new",
    "typeof",
    "void",
    "delete",
    "await",
    "yield",
    "in",
    "instanceof",
    "of",
    "if",
    "else",
    "for",
    "while",
    "do",
    "with",
    "extends",
    "return",
    "throw",
    "case",
    "switch",
    "catch",
    "try",
    "finally",
];
/// Keywords that continue the statement before them, even after a line break or a block.
const CONTINUATION_KEYWORDS: &[&str] = &["else", "catch", "finally", "while", "in", "instanceof", "of", "extends"];
const HEAD_KEYWORDS: &[&str] = &["if", "for", "while", "with", "switch", "catch"];
const BODY_KEYWORDS: &[&str] = &["else", "do", "try", "finally"];

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'\\' || b >= 0x80
}

struct Scanner<'s> {
    src: &'s [u8],
    pos: usize,
    /// Never empty: the root frame is never popped.
    frames: Vec<Frame>,
    /// Sum over the frames of `1 + chain`: the estimated depth at `pos`.
    depth: usize,
}

impl Scanner<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn chain_link(&mut self) {
        if let Some(top) = self.frames.last_mut() {
            top.chain += 1;
            self.depth += 1;
        }
    }

    fn restart_chain(&mut self) {
        if let Some(top) = self.frames.last_mut() {
            self.depth -= std::mem::take(&mut top.chain);
        }
    }

    fn push(&mut self, bracket: Bracket) {
        self.frames.push(Frame::new(bracket));
        self.depth += 1;
    }

    /// Reads one token and updates the estimate: its start and the new `Prev`.
    fn step(&mut self, prev: Prev) -> Option<(usize, Prev)> {
        let newline_before = self.skip_trivia();
        let start = self.pos;
        let b = self.peek(0)?;
        let next = match b {
            b'(' | b'[' | b'{' => {
                self.pos += 1;
                let bracket = match b {
                    b'(' if prev == Prev::HeadKeyword => Bracket::StatementHead,
                    b'(' => Bracket::Paren,
                    b'[' => Bracket::Square,
                    _ if prev.opens_block() => Bracket::Block,
                    _ => Bracket::Object,
                };
                self.push(bracket);
                if bracket == Bracket::Block { Prev::StatementStart } else { Prev::ExpressionStart }
            }
            b')' | b']' | b'}' => {
                self.pos += 1;
                self.close()
            }
            b',' | b';' => {
                self.pos += 1;
                self.restart_chain();
                if b == b';' { Prev::StatementStart } else { Prev::ExpressionStart }
            }
            b'`' => {
                self.pos += 1;
                self.chain_link();
                self.template_text()
            }
            b'/' if prev.regex_allowed() => {
                self.statement_start(prev, newline_before);
                self.skip_regex();
                Prev::ExpressionEnd
            }
            b'\'' | b'"' | b'0'..=b'9' => {
                self.statement_start(prev, newline_before);
                if b.is_ascii_digit() {
                    self.skip_number()
                } else {
                    self.skip_string(b)
                }
                Prev::ExpressionEnd
            }
            b'.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => {
                self.skip_number();
                Prev::ExpressionEnd
            }
            _ if is_identifier_byte(b) => {
                while self.peek(0).is_some_and(is_identifier_byte) {
                    self.pos += 1;
                }
                let word = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                self.word(word, prev, newline_before)
            }
            _ => {
                let rest = &self.src[self.pos..];
                let len = OPERATORS.iter().find(|op| rest.starts_with(op.as_bytes())).map_or(1, |op| op.len());
                let op = &rest[..len];
                self.pos += len;
                self.chain_link();
                match op {
                    b"=>" => Prev::BeforeBody,
                    b"++" | b"--" if prev == Prev::ExpressionEnd => Prev::ExpressionEnd,
                    _ => Prev::ExpressionStart,
                }
            }
        };
        Some((start, next))
    }

    fn word(&mut self, word: &str, prev: Prev, newline_before: bool) -> Prev {
        if CONTINUATION_KEYWORDS.contains(&word) {
            self.chain_link();
        } else {
            self.statement_start(prev, newline_before);
            if NESTING_KEYWORDS.contains(&word) {
                self.chain_link();
            }
        }
        if HEAD_KEYWORDS.contains(&word) {
            Prev::HeadKeyword
        } else if BODY_KEYWORDS.contains(&word) {
            Prev::BeforeBody
        } else if NESTING_KEYWORDS.contains(&word) {
            Prev::ExpressionStart
        } else {
            Prev::ExpressionEnd
        }
    }

    /// A token that can start a statement: after a block, or on a new line
    /// after a complete expression, it starts a sibling of what came before.
    fn statement_start(&mut self, prev: Prev, newline_before: bool) {
        if prev == Prev::BlockClose || (newline_before && prev == Prev::ExpressionEnd) {
            self.restart_chain();
        }
    }

    fn close(&mut self) -> Prev {
        if self.frames.len() == 1 {
            // Unbalanced: oxc reports it; the estimate only needs to stay an over-count.
            self.chain_link();
            return Prev::ExpressionEnd;
        }
        let Some(frame) = self.frames.pop() else { return Prev::ExpressionEnd };
        self.depth -= 1 + frame.chain;
        match frame.bracket {
            // The template was counted as one link when it started.
            Bracket::Substitution => self.template_text(),
            Bracket::StatementHead => {
                self.chain_link();
                Prev::HeadClose
            }
            Bracket::Block => {
                self.chain_link();
                Prev::BlockClose
            }
            Bracket::Paren => {
                self.chain_link();
                // `function f(a) {` and `if (a) {`: a `{` after `)` is a body.
                if self.next_non_space() == Some(b'{') { Prev::BeforeBody } else { Prev::ExpressionEnd }
            }
            Bracket::Root | Bracket::Square | Bracket::Object => {
                self.chain_link();
                Prev::ExpressionEnd
            }
        }
    }

    fn next_non_space(&self) -> Option<u8> {
        self.src[self.pos..].iter().copied().find(|b| !b.is_ascii_whitespace())
    }

    /// Skips white space and comments; true when a line break was among them.
    fn skip_trivia(&mut self) -> bool {
        let mut newline = false;
        while let Some(b) = self.peek(0) {
            match b {
                b'\n' | b'\r' => {
                    newline = true;
                    self.pos += 1;
                }
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'/' if self.peek(1) == Some(b'/') => {
                    while self.peek(0).is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    self.pos += 2;
                    while self.pos < self.src.len() && !self.src[self.pos..].starts_with(b"*/") {
                        newline |= self.src[self.pos] == b'\n';
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 2).min(self.src.len());
                }
                _ => break,
            }
        }
        newline
    }

    fn skip_string(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            self.pos += if b == b'\\' { 2 } else { 1 };
            if b == quote || b == b'\n' {
                break;
            }
        }
        self.pos = self.pos.min(self.src.len());
    }

    /// Template text up to its closing backtick, or up to a `${`, which opens a frame.
    fn template_text(&mut self) -> Prev {
        while let Some(b) = self.peek(0) {
            match b {
                b'\\' => self.pos += 2,
                b'`' => {
                    self.pos += 1;
                    return Prev::ExpressionEnd;
                }
                b'$' if self.peek(1) == Some(b'{') => {
                    self.pos += 2;
                    self.push(Bracket::Substitution);
                    return Prev::ExpressionStart;
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.src.len());
        Prev::ExpressionEnd
    }

    fn skip_regex(&mut self) {
        self.pos += 1;
        let mut in_class = false;
        while let Some(b) = self.peek(0) {
            self.pos += if b == b'\\' { 2 } else { 1 };
            match b {
                b'[' => in_class = true,
                b']' => in_class = false,
                b'/' if !in_class => break,
                b'\n' => break,
                _ => {}
            }
        }
        self.pos = self.pos.min(self.src.len());
        while self.peek(0).is_some_and(is_identifier_byte) {
            self.pos += 1;
        }
    }

    fn skip_number(&mut self) {
        while self.peek(0).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_') {
            self.pos += 1;
        }
    }
}
