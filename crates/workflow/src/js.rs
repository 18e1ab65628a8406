//! Static facts about segment code and routers, read with oxc. Used to reject
//! code that is not a function and to power the lints; never to run anything.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, BindingPattern, CallExpression, ComputedMemberExpression, Expression, FormalParameters,
    StaticMemberExpression, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_diagnostics::OxcDiagnostic;
use oxc_parser::Parser;
use oxc_span::SourceType;

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

/// Checks that `source` is a single function expression (arrow or `function`).
pub fn parse_function(source: &str) -> Result<FunctionFacts, String> {
    let allocator = Allocator::default();
    let expr = Parser::new(&allocator, source, SourceType::mjs()).parse_expression().map_err(|errors| match errors
        .first()
    {
        Some(e) => format!("syntax error: {e}{}", at_position(source, e)),
        None => "syntax error".to_owned(),
    })?;
    let mut collector = Collector::default();
    match expr.without_parentheses() {
        Expression::ArrowFunctionExpression(f) => {
            collector.bind(&f.params);
            collector.visit_arrow_function_body(&f.body);
        }
        Expression::FunctionExpression(f) => {
            let Some(body) = &f.body else {
                return Err("the function has no body".into());
            };
            collector.bind(&f.params);
            collector.visit_function_body(body);
        }
        _ => return Err("expected a function such as `async (page, parameters) => { … }`".into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_arrow_and_function_expressions() {
        assert_eq!(parse_function("async (page, parameters) => { return {}; }").unwrap().arity, 2);
        assert_eq!(parse_function("(p) => p.x ? 'a' : 'b'").unwrap().arity, 1);
        assert_eq!(parse_function("async function (page) { return {}; }").unwrap().arity, 1);
    }

    #[test]
    fn rejects_non_functions_and_syntax_errors() {
        assert!(parse_function("42").unwrap_err().starts_with("expected a function"));
        let err = parse_function("async (page) => { return {; }").unwrap_err();
        assert!(err.starts_with("syntax error:"), "{err}");
        assert!(err.contains("at character"), "{err}");
    }

    #[test]
    fn collects_parameter_reads_in_every_form() {
        let facts = parse_function(
            "async (page, params) => { const { b } = params; await page.fill('#q', params.a + params['c']); return {}; }",
        )
        .unwrap();
        assert_eq!(facts.reads[1], ["b", "a", "c"]);
        let destructured = parse_function("({ x, y }) => x ? 'a' : 'b'").unwrap();
        assert_eq!(destructured.reads[0], ["x", "y"]);
    }

    #[test]
    fn collects_method_calls_with_string_arguments() {
        let facts =
            parse_function("async (page) => { await page.goto('u'); await page.waitForLoadState('networkidle'); }")
                .unwrap();
        let calls: Vec<(&str, Option<&str>)> =
            facts.calls.iter().map(|c| (c.method.as_str(), c.first_string_arg.as_deref())).collect();
        assert_eq!(calls, [("goto", Some("u")), ("waitForLoadState", Some("networkidle"))]);
    }
}
