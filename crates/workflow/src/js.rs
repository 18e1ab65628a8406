//! Static facts about segment code and routers, read with oxc. Used to reject
//! code that is not a function and to power the lints; never to run anything.
//!
//! Code is untrusted and oxc recurses once per nesting level with no guard of
//! its own, so `parse_function` refuses code over `MAX_CODE_LENGTH`, refuses
//! code `nesting` estimates deeper than `MAX_CODE_NESTING`, and runs oxc on a
//! thread whose stack holds any code of the maximum length.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, BindingPattern, CallExpression, ComputedMemberExpression, Expression, FormalParameters,
    StaticMemberExpression, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_diagnostics::OxcDiagnostic;
use oxc_parser::Parser;
use oxc_span::SourceType;

mod nesting;
#[cfg(test)]
mod tests;

/// What the lints need to know about one function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FunctionFacts {
    /// Number of declared positional parameters.
    pub arity: usize,
    /// Keys read from each positional parameter (`p.x`, `p['x']`, `{ x } = p`),
    /// indexed like the parameters.
    pub reads: Vec<Vec<String>>,
    /// Method calls in source order (`page.goto(…)` gives `goto`).
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    /// The first argument when it is a string literal.
    pub first_string_arg: Option<String>,
}

/// The longest code (segment `deterministic` or router) the validator reads, in characters.
pub const MAX_CODE_LENGTH: usize = 65_536;
/// How deeply code may nest, as estimated by `nesting::check`.
pub const MAX_CODE_NESTING: usize = 1_000;
/// The stack oxc runs on. oxc recurses once per nesting level, up to about
/// 3 KB a level in debug builds (`((((…` is the worst), and a level takes at
/// least one character, so this holds code of `MAX_CODE_LENGTH` whatever its
/// shape, even code that the nesting estimate misjudges. Only the pages used
/// are ever touched.
const ANALYSIS_STACK: usize = 256 << 20;

/// Why code could not be read as a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not a single function expression, or not JavaScript at all.
    NotAFunction(String),
    TooLong {
        chars: usize,
    },
    TooDeep {
        at_char: usize,
    },
    /// The analysis thread could not start or oxc panicked: never the code's fault alone.
    AnalysisFailed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotAFunction(reason) => f.write_str(reason),
            Error::TooLong { chars } => {
                write!(f, "the code is {chars} characters long; at most {MAX_CODE_LENGTH} are allowed")
            }
            Error::TooDeep { at_char } => write!(
                f,
                "the code nests deeper than {MAX_CODE_NESTING} levels (at character {at_char}); split it into functions or segments"
            ),
            Error::AnalysisFailed(reason) => write!(f, "the code could not be analysed: {reason}"),
        }
    }
}

/// Checks that `source` is a single function expression (arrow or `function`)
/// and reads its facts. Safe for any input: long or deeply nested code is an
/// `Err`, never a stack overflow.
pub fn parse_function(source: &str) -> Result<FunctionFacts, Error> {
    let chars = source.chars().count();
    if chars > MAX_CODE_LENGTH {
        return Err(Error::TooLong { chars });
    }
    nesting::check(source, MAX_CODE_NESTING).map_err(|e| Error::TooDeep { at_char: e.at_char })?;
    on_analysis_stack(source)
}

/// Parses and visits `source` on a thread whose stack holds any code of
/// `MAX_CODE_LENGTH` (the nesting estimate is a diagnostic, this is the guarantee).
fn on_analysis_stack(source: &str) -> Result<FunctionFacts, Error> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("js-analysis".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, || analyse(source))
            .map_err(|e| Error::AnalysisFailed(format!("cannot start the analysis thread: {e}")))?;
        thread.join().map_err(|panic| {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser panicked".to_owned());
            Error::AnalysisFailed(reason)
        })?
    })
}

fn analyse(source: &str) -> Result<FunctionFacts, Error> {
    let allocator = Allocator::default();
    let expr = Parser::new(&allocator, source, SourceType::mjs()).parse_expression().map_err(|errors| {
        Error::NotAFunction(match errors.first() {
            Some(e) => format!("syntax error: {e}{}", at_position(source, e)),
            None => "syntax error".to_owned(),
        })
    })?;
    let mut collector = Collector::default();
    match expr.without_parentheses() {
        Expression::ArrowFunctionExpression(f) => {
            collector.bind(&f.params);
            collector.visit_arrow_function_body(&f.body);
        }
        Expression::FunctionExpression(f) => {
            let Some(body) = &f.body else {
                return Err(Error::NotAFunction("the function has no body".into()));
            };
            collector.bind(&f.params);
            collector.visit_function_body(body);
        }
        _ => return Err(Error::NotAFunction("expected a function such as `async (page, parameters) => { … }`".into())),
    }
    Ok(FunctionFacts { arity: collector.names.len(), reads: collector.reads, calls: collector.calls })
}

fn at_position(source: &str, e: &OxcDiagnostic) -> String {
    match e.labels.first() {
        Some(label) => {
            let offset = (label.offset() as usize).min(source.len());
            let column = source.get(..offset).map_or(offset, |before| before.chars().count()) + 1;
            format!(" (at character {column})")
        }
        None => String::new(),
    }
}

#[derive(Default)]
struct Collector {
    /// Parameter names, `None` for destructured ones.
    names: Vec<Option<String>>,
    reads: Vec<Vec<String>>,
    calls: Vec<Call>,
}

impl Collector {
    /// Records the function's parameters; destructured ones read their keys up front.
    fn bind(&mut self, params: &FormalParameters) {
        for item in &params.items {
            match &item.pattern {
                BindingPattern::BindingIdentifier(id) => {
                    self.names.push(Some(id.name.to_string()));
                    self.reads.push(Vec::new());
                }
                BindingPattern::ObjectPattern(obj) => {
                    self.names.push(None);
                    self.reads.push(
                        obj.properties.iter().filter_map(|p| p.key.static_name().map(|n| n.to_string())).collect(),
                    );
                }
                _ => {
                    self.names.push(None);
                    self.reads.push(Vec::new());
                }
            }
        }
    }

    fn param_index(&self, expr: &Expression) -> Option<usize> {
        let Expression::Identifier(id) = expr.without_parentheses() else {
            return None;
        };
        self.names.iter().position(|n| n.as_deref() == Some(id.name.as_str()))
    }

    fn record_read(&mut self, object: &Expression, key: &str) {
        if let Some(i) = self.param_index(object) {
            self.reads[i].push(key.to_owned());
        }
    }
}

impl<'a> Visit<'a> for Collector {
    fn visit_static_member_expression(&mut self, it: &StaticMemberExpression<'a>) {
        self.record_read(&it.object, it.property.name.as_str());
        walk::walk_static_member_expression(self, it);
    }

    fn visit_computed_member_expression(&mut self, it: &ComputedMemberExpression<'a>) {
        if let Expression::StringLiteral(key) = &it.expression {
            self.record_read(&it.object, key.value.as_str());
        }
        walk::walk_computed_member_expression(self, it);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if let (BindingPattern::ObjectPattern(obj), Some(init)) = (&it.id, &it.init)
            && let Some(i) = self.param_index(init)
        {
            let keys = obj.properties.iter().filter_map(|p| p.key.static_name().map(|n| n.to_string()));
            self.reads[i].extend(keys);
        }
        walk::walk_variable_declarator(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Some(member) = it.callee.without_parentheses().as_member_expression()
            && let Some(method) = member.static_property_name()
        {
            let first_string_arg = match it.arguments.first() {
                Some(Argument::StringLiteral(s)) => Some(s.value.to_string()),
                _ => None,
            };
            self.calls.push(Call { method: method.to_string(), first_string_arg });
        }
        walk::walk_call_expression(self, it);
    }
}
