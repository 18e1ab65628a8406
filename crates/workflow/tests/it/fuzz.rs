//! Property: `workflow::check` answers every input, valid or not, without
//! panicking or overflowing its stack, and every diagnostic points into the
//! document. Inputs: near-valid workflows, deep nesting, arbitrary text and
//! JSON, and every file of `tests/corpus/` (kept seeds, replayed each run).
//!
//! Cases per property: 64, or `PROPTEST_CASES` for a longer local run.
//! Failures found are kept in `tests/proptest-regressions/fuzz.txt` and
//! replayed first.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Map, Value, json};
use workflow::Checked;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/proptest-regressions/fuzz.txt"))),
        ..Config::default()
    }
}

/// Codes whose location may be the whole document.
const DOCUMENT_CODES: &[&str] = &["invalid-json", "not-an-object", "nul-character"];

/// The property, for a document given as text.
fn holds_for_text(text: &str) -> Result<(), String> {
    let checked = workflow::check(text);
    let value: Option<Value> = serde_json::from_str(text).ok();
    holds(&checked, value.as_ref())
}

fn holds(checked: &Checked, document: Option<&Value>) -> Result<(), String> {
    let has_errors = checked.errors().next().is_some();
    if checked.workflow.is_some() == has_errors {
        return Err(format!("workflow {:?} with errors {has_errors}", checked.workflow.is_some()));
    }
    for d in &checked.diagnostics {
        if d.message.is_empty() || d.code.is_empty() {
            return Err(format!("empty diagnostic: {d}"));
        }
        if d.location.is_empty() && !DOCUMENT_CODES.contains(&d.code) {
            return Err(format!("no location: {d}"));
        }
        if let Some(document) = document
            && !d.location.is_empty()
            && !resolves(document, &d.location)
        {
            return Err(format!("location not in the document: {d}"));
        }
    }
    Ok(())
}

/// Whether every step of `location` but the last exists in `document` (the
/// last may be a missing field). Keys shortened with `…` match by prefix.
fn resolves(document: &Value, location: &str) -> bool {
    let Some(steps) = steps(location) else { return false };
    let mut here = document;
    for (i, step) in steps.iter().enumerate() {
        let next = match (here, step) {
            (Value::Array(items), Step::Index(k)) => items.get(*k),
            (Value::Object(fields), Step::Key(key)) => fields.get(key).or_else(|| {
                let prefix = key.strip_suffix('…')?;
                fields.iter().find(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v)
            }),
            _ => None,
        };
        match next {
            Some(v) => here = v,
            None => return i == steps.len() - 1,
        }
    }
    true
}

enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[0]["odd key"]` → steps.
fn steps(location: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = location;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(quoted) = rest.strip_prefix("[\"") {
            // The key is a JSON string: find its closing quote.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end?;
            steps.push(Step::Key(serde_json::from_str(&format!("\"{}\"", &quoted[..end])).ok()?));
            rest = quoted[end + 1..].strip_prefix(']')?;
        } else if let Some(index) = rest.strip_prefix('[') {
            let end = index.find(']')?;
            steps.push(Step::Index(index[..end].parse().ok()?));
            rest = &index[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(Step::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    Some(steps)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z\u{0}]{0,5}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop_oneof!["[a-z]{1,3}", any::<String>()], inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Tokens that nest, quote, comment and divide.
const CODE_TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "!",
    "a",
    "=>",
    "?",
    ":",
    "`",
    "${",
    "/",
    "'",
    "\n",
    "//",
    "/*",
    "*/",
    "if",
    "else",
    "new ",
    ".",
    ",",
    ";",
    "+",
    "=",
    "parameters.q",
    "\\",
];

/// JavaScript-looking code made of `CODE_TOKENS`, some repeated thousands of times.
fn code() -> impl Strategy<Value = String> {
    let token = prop::sample::select(CODE_TOKENS);
    let repeated = (token.clone(), 1..3_000usize).prop_map(|(t, n)| t.repeat(n));
    prop_oneof![
        prop::collection::vec(token, 0..200).prop_map(|ts| ts.concat()),
        prop::collection::vec(repeated, 1..4).prop_map(|ts| ts.concat()),
        any::<String>(),
    ]
    .prop_map(|body| format!("async (page, parameters) => {body}"))
}

fn parameter() -> impl Strategy<Value = Value> {
    (
        prop_oneof!["[a-z]{1,4}", any::<String>()],
        prop_oneof![Just("string"), Just("number"), Just("boolean"), Just("secret"), Just("file"), Just("list")],
        prop::option::of(any::<bool>()),
        prop::option::of(any_json()),
    )
        .prop_map(|(name, ty, required, default)| {
            json!({"name": name, "type": ty, "required": required, "defaultValue": default})
        })
}

fn segment() -> impl Strategy<Value = Value> {
    let names = prop_oneof![Just("s0".to_owned()), Just("s1".to_owned()), Just("s2".to_owned()), "[a-z\u{0}]{0,3}"];
    let next =
        prop_oneof![Just(Value::Null), Just(json!("s1")), Just(json!(["s0", "s2"])), Just(json!([])), any_json(),];
    (
        names,
        prop_oneof![Just("ui"), Just("network"), Just("logic"), Just("agent"), Just("other")],
        prop::option::of("[a-z {}]{0,20}"),
        prop::option::of(code()),
        prop::collection::vec(parameter(), 0..3),
        prop::collection::vec(parameter(), 0..3),
        next,
        prop::option::of(code()),
    )
        .prop_map(|(name, ty, prompt, code, inputs, outputs, next, router)| {
            json!({
                "name": name,
                "type": ty,
                "prompt": prompt,
                "deterministic": code,
                "inputParameters": inputs,
                "outputParameters": outputs,
                "next": next,
                "router": router,
            })
        })
}

/// A workflow close to valid, with one field sometimes replaced by anything.
fn near_valid() -> impl Strategy<Value = Value> {
    let fields = prop::sample::select(
        &["name", "startSegmentName", "segments", "inputParameters", "outputParameters", "description"][..],
    );
    (
        prop::collection::vec(segment(), 0..4),
        prop::collection::vec(parameter(), 0..3),
        prop::option::of((fields, any_json())),
    )
        .prop_map(|(segments, inputs, replaced)| {
            let mut document = json!({
                "name": "fuzzed",
                "startSegmentName": "s0",
                "inputParameters": inputs,
                "segments": segments,
            });
            if let Some((field, value)) = replaced {
                document[field] = value;
            }
            document
        })
}

/// JSON text nested with arrays and objects, closed or not, up to 200 000 levels.
fn deep_text() -> impl Strategy<Value = String> {
    let open = prop_oneof![Just("["), Just("{\"a\":"), Just("[1,"), Just("{\"\\\"\":")];
    (prop::collection::vec((open, 1..50_000usize), 1..5), any::<bool>(), "[\\[\\]{}\",:a0 ]{0,20}").prop_map(
        |(runs, close, tail)| {
            let mut text: String = runs.iter().map(|(o, n)| o.repeat(*n)).collect();
            text.push_str(&tail);
            if close {
                let depth: usize = runs.iter().map(|(_, n)| n).sum();
                text.push_str(&"]".repeat(depth));
            }
            text
        },
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn near_valid_workflows(document in near_valid()) {
        let checked = workflow::check_value(&document);
        prop_assert_eq!(holds(&checked, Some(&document)), Ok(()));
        prop_assert_eq!(holds_for_text(&document.to_string()), Ok(()));
    }

    #[test]
    fn deep_nesting(text in deep_text()) {
        prop_assert_eq!(holds_for_text(&text), Ok(()));
    }

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        prop_assert_eq!(holds_for_text(&text), Ok(()));
    }

    #[test]
    fn arbitrary_json(document in any_json()) {
        prop_assert_eq!(holds(&workflow::check_value(&document), Some(&document)), Ok(()));
    }
}

#[test]
fn corpus() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> =
        std::fs::read_dir(&folder).expect("tests/corpus").map(|e| e.expect("entry").path()).collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus lost its seeds");
    for file in files {
        let bytes = std::fs::read(&file).expect("corpus file");
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = holds_for_text(&text) {
            panic!("{}: {e}", file.display());
        }
    }
}
