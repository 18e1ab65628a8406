use super::*;

#[test]
fn accepts_arrow_and_function_expressions() {
    assert_eq!(parse_function("async (page, parameters) => { return {}; }").unwrap().arity, 2);
    assert_eq!(parse_function("(p) => p.x ? 'a' : 'b'").unwrap().arity, 1);
    assert_eq!(parse_function("async function (page) { return {}; }").unwrap().arity, 1);
}

#[test]
fn rejects_non_functions_and_syntax_errors() {
    assert!(parse_function("42").unwrap_err().to_string().starts_with("expected a function"));
    let err = parse_function("async (page) => { return {; }").unwrap_err().to_string();
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
    let facts = parse_function("async (page) => { await page.goto('u'); await page.waitForLoadState('networkidle'); }")
        .unwrap();
    let calls: Vec<(&str, Option<&str>)> =
        facts.calls.iter().map(|c| (c.method.as_str(), c.first_string_arg.as_deref())).collect();
    assert_eq!(calls, [("goto", Some("u")), ("waitForLoadState", Some("networkidle"))]);
}

/// Code of exactly `MAX_CODE_LENGTH` characters: `open` repeated, `middle`,
/// `close` repeated as often, padded with spaces.
fn at_max_length(open: &str, middle: &str, close: &str) -> String {
    let prefix = "async (page, parameters) => ";
    let n = (MAX_CODE_LENGTH - prefix.len() - middle.len()) / (open.len() + close.len());
    let code = format!("{prefix}{}{middle}{}", open.repeat(n), close.repeat(n));
    let padding = " ".repeat(MAX_CODE_LENGTH - code.len());
    code + &padding
}

/// Every shape of nesting oxc recurses on, as long as code may be.
const DEEP_SHAPES: &[(&str, &str, &str, &str)] = &[
    ("brackets", "[", "", "]"),
    ("unclosed brackets", "[", "", ""),
    ("parentheses", "(", "x", ")"),
    ("unclosed parentheses", "(", "", ""),
    ("blocks", "{", "", "}"),
    ("object literals", "({a:", "1", "})"),
    ("not chain", "!", "x", ""),
    ("bitwise not chain", "~", "x", ""),
    ("negation chain", "- ", "x", ""),
    ("typeof chain", "typeof ", "x", ""),
    ("await chain", "await ", "x", ""),
    ("ternary chain", "a?a:", "a", ""),
    ("assignment chain", "a=", "a", ""),
    ("addition chain", "a+", "a", ""),
    ("exponent chain", "a**", "a", ""),
    ("member chain", "", "a", ".b"),
    ("call chain", "", "a", "()"),
    ("index chain", "", "a", "[0]"),
    ("template literals", "`${", "", "}`"),
    ("tagged templates", "", "a", "``"),
    ("arrow chain", "a=>", "a", ""),
    ("new chain", "new ", "X", ""),
    ("if chain", "{if(a)", "x", "}"),
    ("else-if chain", "{if(a){}", "", "else if(a){}"),
    ("label chain", "{a:", "x", "}"),
    ("spread chain", "[...", "a", "]"),
    ("class extends chain", "class extends ", "X", "{}"),
];

#[test]
fn the_analysis_stack_holds_every_shape_at_the_maximum_length() {
    for (shape, open, middle, close) in DEEP_SHAPES {
        let code = at_max_length(open, middle, close);
        assert_eq!(code.chars().count(), MAX_CODE_LENGTH, "{shape}");
        // Straight to oxc, without the nesting estimate: the stack alone must hold.
        match on_analysis_stack(&code) {
            Ok(_) | Err(Error::NotAFunction(_)) => {}
            Err(other) => panic!("{shape}: {other}"),
        }
    }
}

#[test]
fn deep_shapes_are_too_deeply_nested_before_oxc_reads_them() {
    for (shape, open, middle, close) in DEEP_SHAPES {
        let code = at_max_length(open, middle, close);
        let error = parse_function(&code).unwrap_err();
        assert!(matches!(error, Error::TooDeep { .. }), "{shape}: {error}");
        // Just over the limit is enough.
        let shallow = format!("async (page, parameters) => {}{middle}{}", open.repeat(1_100), close.repeat(1_100));
        assert!(matches!(parse_function(&shallow), Err(Error::TooDeep { .. })), "{shape} at 1100 levels");
    }
}

#[test]
fn too_deep_names_the_character_where_the_limit_is_crossed() {
    let code = format!("(p) => {}", "!".repeat(2 * MAX_CODE_NESTING));
    let Err(Error::TooDeep { at_char }) = parse_function(&code) else { panic!("not too deep") };
    // `(p) => ` is 7 characters, its `=>` one level, so the limit falls inside the `!`s.
    assert!((MAX_CODE_NESTING..MAX_CODE_NESTING + 10).contains(&at_char), "{at_char}");
    assert!(Error::TooDeep { at_char }.to_string().contains(&format!("at character {at_char}")));
}

#[test]
fn code_longer_than_the_limit_is_refused_without_parsing() {
    let code = format!("(p) => {}", " ".repeat(MAX_CODE_LENGTH));
    assert_eq!(parse_function(&code), Err(Error::TooLong { chars: MAX_CODE_LENGTH + 7 }));
    // Characters, not bytes: `é` is two bytes.
    let accented = format!("(p) => '{}'", "é".repeat(MAX_CODE_LENGTH - 10));
    assert!(parse_function(&accented).is_ok());
}

#[test]
fn long_realistic_code_stays_far_below_the_nesting_limit() {
    // Statement after statement, with and without semicolons, blocks, chains of
    // `else if`, string concatenation over lines, regular expressions and templates.
    let statement = "  const row = await page.locator(`tr:nth-child(${i + 1})`).textContent()\n  if (/total:\\s*\\(\\d+\\)/.test(row)) { rows.push(row.trim()) } else if (row === '') { break } else { skipped++ }\n  title = 'a' +\n    'b' + (x ? `c${y}` : \"d)\") + '(' // )))\n  items.push({ name: row.split(',')[0], price: Number(row.split(',')[1]) });\n  for (const [k, v] of Object.entries(parameters)) console.log(k, v)\n";
    let body = statement.repeat(MAX_CODE_LENGTH / statement.len() - 1);
    let code = format!("async (page, parameters) => {{\n  const rows = []\n{body}  return {{ rows }}\n}}");
    assert!(code.chars().count() <= MAX_CODE_LENGTH);
    assert_eq!(nesting::check(&code, 40), Ok(()), "realistic code estimated deeper than 40");
    assert!(parse_function(&code).is_ok());
}

#[test]
fn regular_expressions_and_strings_do_not_hide_nesting() {
    // Brackets inside strings, comments and regular expressions are text, not nesting…
    let text = "(p) => { const r = /[(\\[{]+/g; const s = '((([[[{{{'; /* ((( */ return `${s}(((` }";
    assert_eq!(nesting::check(text, 10), Ok(()));
    // …and unbalanced brackets in them do not close real ones.
    let sneaky = format!("(p) => {}'))))]]]]' + /)))]]]/ + `)))`{}", "(".repeat(50), ")".repeat(50));
    assert!(nesting::check(&sneaky, 40).is_err());
}
