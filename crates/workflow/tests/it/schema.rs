//! The published JSON Schema (`docs/workflow.schema.json`): it is what
//! `workflow::schema` generates, every document of the repository that
//! `check` accepts passes it, it is never stricter than `check` (a property
//! over generated documents), and it rejects what it can see is wrong.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use workflow::{Presence, SegmentType};

use crate::support::minimal;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(&workflow::schema::json_schema()).expect("the schema is a valid 2020-12 schema")
    })
}

/// Why the schema refuses `document`, one line per error; empty when it passes.
fn schema_errors(document: &Value) -> Vec<String> {
    validator().iter_errors(document).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn check_valid(document: &Value) -> bool {
    workflow::check_value(document).workflow.is_some()
}

#[test]
fn checked_in_schema_is_generated() {
    let generated = serde_json::to_string_pretty(&workflow::schema::json_schema()).expect("serializes") + "\n";
    let path = repo().join("docs/workflow.schema.json");
    if std::env::var_os("SEGUE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/workflow.schema.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/workflow.schema.json is out of date: run SEGUE_BLESS=1 cargo nextest run -p workflow schema"
    );
}

fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Every workflow document kept in the repository, by where it is: the
/// examples, the CLI's fixtures (run fixtures hold theirs under `workflow`)
/// and the fuzz corpus. Files that are not JSON are left out.
fn repository_documents() -> Vec<(String, Value)> {
    let mut documents = Vec::new();
    for dir in ["examples", "tests/workflows", "tests/validate", "crates/workflow/tests/corpus"] {
        for file in json_files(dir) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                documents.push((file.display().to_string(), value));
            }
        }
    }
    for file in json_files("tests/run") {
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("fixture");
        if fixture["workflow"].is_object() {
            documents.push((format!("{}: workflow", file.display()), fixture["workflow"].clone()));
        }
    }
    documents
}

#[test]
fn repository_workflows_that_check_accepts_pass_the_schema() {
    let mut valid = 0;
    for (name, document) in repository_documents() {
        if !check_valid(&document) {
            continue;
        }
        valid += 1;
        let errors = schema_errors(&document);
        assert!(errors.is_empty(), "{name} is valid but the schema refuses it:\n{}", errors.join("\n"));
    }
    // The examples, the valid lint fixtures, the run fixtures and a few seeds.
    assert!(valid >= 60, "only {valid} valid documents found: did a folder move?");
}

#[test]
fn dollar_schema_is_accepted_and_ignored() {
    let mut document = minimal();
    document["$schema"] = json!("../docs/workflow.schema.json");
    let checked = workflow::check_value(&document);
    assert!(checked.workflow.is_some(), "{:?}", checked.diagnostics);
    assert_eq!(checked.diagnostics, workflow::check_value(&minimal()).diagnostics);
    assert_eq!(schema_errors(&document), Vec::<String>::new());
}

/// `minimal()` with the value at `pointer` set (its parent must exist).
fn with(pointer: &str, value: Value) -> Value {
    let mut document = minimal();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    document.pointer_mut(parent).expect("parent")[key] = value;
    document
}

/// `minimal()` without the key at `pointer`.
fn without(pointer: &str) -> Value {
    let mut document = minimal();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    document.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent object").remove(key);
    document
}

/// Documents both `check` and the schema refuse, each with the error the
/// schema reports (its instance path).
#[test]
fn the_schema_rejects_what_it_can_see() {
    let cases = [
        ("/name", with("/name", json!("  "))),
        ("", without("/startSegmentName")),
        ("/segments", with("/segments", json!([]))),
        ("/inputParameters/0/type", with("/inputParameters/0/type", json!("list"))),
        ("/inputParameters/0/options", with("/inputParameters/0/options", json!([]))),
        ("/inputParameters/0/required", with("/inputParameters/0/required", json!("yes"))),
        ("/segments/0/type", with("/segments/0/type", json!("browser"))),
        ("/segments/0", without("/segments/0/next")),
        ("/segments/0/prompt", with("/segments/0/prompt", json!("Do it."))),
        ("/segments/0/deterministic", with("/segments/0/deterministic", Value::Null)),
        ("/segments/0/next", with("/segments/0/router", json!("(o) => 's'"))),
        ("/segments/0", with("/segments/0/next", json!(["s"]))),
        ("/segments/0/next", with("/segments/0/next", json!([]))),
        ("/segments/0/deterministic", with("/segments/0/deterministic", json!("x".repeat(70_000)))),
        ("/name", with("/name", json!("n".repeat(201)))),
    ];
    for (path, document) in cases {
        assert!(!check_valid(&document), "check accepts {document}");
        let errors = schema_errors(&document);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "expected an error at '{path}', got {errors:?}"
        );
    }
}

/// The prompt and code rules of each segment type, as `SegmentType::prompt`
/// and `code` state them, hold for `check` and the schema alike.
#[test]
fn segment_type_rules_agree_with_check_and_the_schema() {
    let prompts = [None, Some(Value::Null), Some(json!("")), Some(json!(" \u{85}\t")), Some(json!("Do it."))];
    let codes = [None, Some(Value::Null), Some(json!("async (page, parameters) => ({})"))];
    for ty in SegmentType::ALL {
        let rules = SegmentType::parse(ty).unwrap();
        for prompt in &prompts {
            for code in &codes {
                let mut document = minimal();
                let segment = document["segments"][0].as_object_mut().unwrap();
                segment.insert("type".into(), json!(ty));
                segment.remove("prompt");
                segment.remove("deterministic");
                if let Some(p) = prompt {
                    segment.insert("prompt".into(), p.clone());
                }
                if let Some(c) = code {
                    segment.insert("deterministic".into(), c.clone());
                }
                let has_prompt = prompt.as_ref().and_then(Value::as_str).is_some_and(|p| !p.trim().is_empty());
                let prompt_is_null = prompt.as_ref().is_none_or(Value::is_null);
                let has_code = code.as_ref().is_some_and(|c| !c.is_null());
                let expected = match rules.prompt() {
                    Presence::Required => has_prompt,
                    Presence::Optional => has_prompt || prompt_is_null,
                    Presence::Forbidden => prompt_is_null,
                } && match rules.code() {
                    Presence::Required => has_code,
                    Presence::Optional => true,
                    Presence::Forbidden => !has_code,
                };
                let what = format!("{ty} segment with prompt {prompt:?} and code {code:?}");
                assert_eq!(check_valid(&document), expected, "check, {what}");
                assert_eq!(schema_errors(&document).is_empty(), expected, "schema, {what}");
            }
        }
    }
}

/// Strings that are blank or not depending on which characters count as
/// white space: the schema must see them as `str::trim` does.
fn name() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(json!("a")),
        1 => Just(json!("")),
        1 => prop::sample::select(&[" ", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{feff}", "\u{200b}", "\u{180e}"][..])
            .prop_map(|w| json!(w)),
        1 => Just(json!(" a\u{a0}")),
        1 => Just(Value::Null),
        1 => Just(json!(7)),
    ]
}

fn nullable_string() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![Just(Value::Null), Just(json!("text")), Just(json!("")), Just(json!(1))])
}

fn parameter() -> impl Strategy<Value = Value> {
    (
        name(),
        prop_oneof![Just(json!("string")), Just(json!("secret")), Just(json!("number")), Just(json!("date"))],
        prop::option::of(prop_oneof![Just(Value::Null), Just(json!(false)), Just(json!(true)), Just(json!(0))]),
        nullable_string(),
        prop::option::of(prop_oneof![Just(Value::Null), Just(json!([])), Just(json!(["1", "2"])), Just(json!([1]))]),
    )
        .prop_map(|(name, ty, required, description, options)| {
            let mut p = json!({"name": name, "type": ty});
            for (key, value) in [("required", required), ("description", description), ("options", options)] {
                if let Some(v) = value {
                    p[key] = v;
                }
            }
            p
        })
}

/// A workflow of two segments `a` and `b` whose fields vary only in ways a
/// JSON Schema can express: there, `check` and the schema must agree exactly.
fn expressible() -> impl Strategy<Value = Value> {
    let ty = prop_oneof![Just("ui"), Just("network"), Just("logic"), Just("agent"), Just("other")];
    let prompt = prop::option::of(prop_oneof![Just(Value::Null), Just(json!("Do it.")), Just(json!("\u{a0}"))]);
    let code = prop::option::of(prop_oneof![Just(Value::Null), Just(json!("async (page) => ({})")), Just(json!(1))]);
    let next = prop::option::of(prop_oneof![
        Just(Value::Null),
        Just(json!("b")),
        Just(json!(["a", "b"])),
        Just(json!([])),
        Just(json!(3)),
    ]);
    let router = prop::option::of(prop_oneof![Just(Value::Null), Just(json!("(o) => 'b'")), Just(json!(false))]);
    let parameters = prop::option::of(prop_oneof![
        Just(Value::Null),
        prop::collection::vec(parameter(), 0..2).prop_map(|ps| {
            // Names unique, which a schema cannot require.
            Value::Array(ps.into_iter().take(1).collect())
        }),
        Just(json!({})),
    ]);
    (ty, prompt, code, next, router, parameters.clone(), parameters, nullable_string()).prop_map(
        |(ty, prompt, code, next, router, inputs, outputs, description)| {
            let mut a = json!({"name": "a", "type": ty});
            for (key, value) in [
                ("prompt", prompt),
                ("deterministic", code),
                ("next", next),
                ("router", router),
                ("inputParameters", inputs),
                ("outputParameters", outputs),
                ("description", description),
            ] {
                if let Some(v) = value {
                    a[key] = v;
                }
            }
            json!({
                "$schema": "workflow.schema.json",
                "name": "w",
                "startSegmentName": "a",
                "segments": [a, {"name": "b", "type": "logic", "deterministic": "async () => ({})", "next": null}],
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_schema_agrees_with_check_where_it_can(document in expressible()) {
        let checked = workflow::check_value(&document);
        let errors = schema_errors(&document);
        prop_assert_eq!(
            checked.workflow.is_some(),
            errors.is_empty(),
            "check: {:?}\nschema: {:?}",
            checked.diagnostics,
            errors
        );
    }

    #[test]
    fn the_schema_is_never_stricter_than_check(name in name(), input in parameter(), output in parameter()) {
        let mut document = minimal();
        document["name"] = name;
        document["inputParameters"] = json!([input]);
        document["segments"][0]["outputParameters"] = json!([output]);
        if check_valid(&document) {
            prop_assert_eq!(schema_errors(&document), Vec::<String>::new());
        }
    }
}
