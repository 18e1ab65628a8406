use serde_json::{Value, json};
use workflow::js::{MAX_CODE_LENGTH, MAX_CODE_NESTING};
use workflow::limits::{MAX_DESCRIPTION_LENGTH, MAX_JSON_DEPTH, MAX_NAME_LENGTH};

use crate::support::{check, errors, minimal};

/// `[0]` repeated: where the first array opened too deep sits.
fn indices(n: usize) -> String {
    "[0]".repeat(n)
}

#[test]
fn json_nested_at_any_depth_is_too_deeply_nested_with_its_location() {
    for depth in [MAX_JSON_DEPTH + 1, 128, 129, 10_000, 100_000, 1_000_000] {
        let text = "[".repeat(depth) + &"]".repeat(depth);
        let checked = workflow::check(&text);
        assert_eq!(errors(&checked), [("too-deeply-nested", indices(MAX_JSON_DEPTH))], "depth {depth}");
        // Unclosed is no different.
        let unclosed = workflow::check(&"[".repeat(depth));
        assert_eq!(errors(&unclosed), [("too-deeply-nested", indices(MAX_JSON_DEPTH))], "unclosed depth {depth}");
    }
    let objects = "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000);
    let checked = workflow::check(&objects);
    assert_eq!(errors(&checked), [("too-deeply-nested", vec!["a"; MAX_JSON_DEPTH].join("."))]);
}

#[test]
fn nesting_inside_a_document_is_located_by_keys_and_indices() {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let text =
        format!(r#"{{"name": "w", "segments": [{{"name": "s", "odd key\"": {{"list": [1, "[{{", {deep}]}}}}]}}"#);
    let checked = workflow::check(&text);
    let location = format!(r#"segments[0]["odd key\""].list[2]{}"#, indices(MAX_JSON_DEPTH - 5));
    assert_eq!(errors(&checked), [("too-deeply-nested", location)]);
    assert!(checked.workflow.is_none());
}

#[test]
fn the_depth_limit_itself_is_allowed() {
    let mut document = minimal();
    // The document is level 1, `extra` holds the rest.
    let mut nested = json!(1);
    for _ in 0..MAX_JSON_DEPTH - 1 {
        nested = json!([nested]);
    }
    document["extra"] = nested.clone();
    let checked = check(&document);
    assert_eq!(errors(&checked), []);
    assert!(checked.workflow.is_some());

    document["extra"] = json!([nested]);
    let checked = check(&document);
    assert_eq!(errors(&checked), [("too-deeply-nested", format!("extra{}", indices(MAX_JSON_DEPTH - 1)))]);
}

#[test]
fn a_value_deeper_than_the_limit_is_refused_by_check_value_too() {
    // The server receives parsed JSON (serde_json stops at 128 levels).
    let mut nested = json!("x");
    for _ in 0..120 {
        nested = json!({ "k": nested });
    }
    let mut document = minimal();
    document["segments"][0]["meta"] = nested;
    let checked = workflow::check_value(&document);
    let location = format!("segments[0].meta{}", ".k".repeat(MAX_JSON_DEPTH - 3));
    assert_eq!(errors(&checked), [("too-deeply-nested", location)]);
}

#[test]
fn a_nul_character_in_any_string_is_refused_where_it_is() {
    let places: &[(&str, &[&str])] = &[
        ("name", &["name"]),
        ("startSegmentName", &["startSegmentName"]),
        ("inputParameters[0].name", &["inputParameters", "0", "name"]),
        ("inputParameters[0].description", &["inputParameters", "0", "description"]),
        ("segments[0].name", &["segments", "0", "name"]),
        ("segments[0].deterministic", &["segments", "0", "deterministic"]),
        ("segments[0].inputParameters[0].name", &["segments", "0", "inputParameters", "0", "name"]),
        ("description", &["description"]),
        ("sourceProvider", &["sourceProvider"]),
    ];
    for (location, path) in places {
        let mut document = minimal();
        let mut slot = &mut document;
        for step in *path {
            slot = match step.parse::<usize>() {
                Ok(i) => &mut slot[i],
                Err(_) => &mut slot[*step],
            };
        }
        let text = slot.as_str().unwrap_or("x").to_owned();
        *slot = Value::String(format!("{text}\u{0}b"));
        let checked = check(&document);
        let nul: Vec<_> = errors(&checked).into_iter().filter(|(code, _)| *code == "nul-character").collect();
        assert_eq!(nul, [("nul-character", location.to_string())], "{location}");
        assert!(checked.workflow.is_none(), "{location}");
    }
}

#[test]
fn a_nul_character_in_a_key_or_an_array_is_located_too() {
    let mut document = minimal();
    document["extra"] = json!({"a\u{0}b": 1, "list": ["ok", "n\u{0}l"]});
    let checked = check(&document);
    assert_eq!(
        errors(&checked),
        [("nul-character", r#"extra["a\u0000b"]"#.to_owned()), ("nul-character", "extra.list[1]".to_owned())]
    );
}

#[test]
fn names_and_descriptions_have_length_limits() {
    let long_name = "n".repeat(MAX_NAME_LENGTH + 1);
    let long_description = "d".repeat(MAX_DESCRIPTION_LENGTH + 1);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name", json!(long_name), "name"),
        ("name", json!("n".repeat(1_000_000)), "name"),
        ("description", json!(long_description), "description"),
        ("sourceProvider", json!(long_name), "sourceProvider"),
    ];
    for (key, value, location) in cases {
        let mut document = minimal();
        document[key] = value;
        assert_eq!(errors(&check(&document)), [("too-long", location.to_owned())], "{location}");
    }

    let mut document = minimal();
    document["segments"][0]["inputParameters"][0]["description"] = json!(long_description);
    document["inputParameters"][0]["name"] = json!(long_name);
    let checked = check(&document);
    let codes = errors(&checked);
    assert!(codes.contains(&("too-long", "inputParameters[0].name".to_owned())), "{codes:?}");
    assert!(codes.contains(&("too-long", "segments[0].inputParameters[0].description".to_owned())), "{codes:?}");
    let message = &checked.errors().next().unwrap().message;
    assert!(message.contains(&format!("at most {MAX_NAME_LENGTH}")), "{message}");

    // A segment name is a name: too long, and every reference to it is too.
    let mut document = minimal();
    document["segments"][0]["name"] = json!(long_name);
    document["startSegmentName"] = json!(long_name);
    let codes = errors(&check(&document));
    assert_eq!(codes, [("too-long", "startSegmentName".to_owned()), ("too-long", "segments[0].name".to_owned())]);
}

#[test]
fn limits_count_characters_not_bytes() {
    let mut document = minimal();
    document["name"] = json!("é".repeat(MAX_NAME_LENGTH));
    document["inputParameters"][0]["description"] = json!("日".repeat(MAX_DESCRIPTION_LENGTH));
    assert_eq!(errors(&check(&document)), []);
}

/// The issue's request body: 1500 `[` and 1500 `]` after the arrow.
fn issue_code() -> String {
    format!("async (page, parameters) => {}{}", "[".repeat(1500), "]".repeat(1500))
}

#[test]
fn deeply_nested_code_is_too_deeply_nested_in_code_and_in_routers() {
    let mut document = minimal();
    document["segments"][0]["deterministic"] = json!(issue_code());
    let checked = check(&document);
    assert_eq!(errors(&checked), [("too-deeply-nested", "segments[0].deterministic".to_owned())]);
    let message = &checked.errors().next().unwrap().message;
    assert!(message.contains(&format!("deeper than {MAX_CODE_NESTING} levels")), "{message}");

    let mut document = minimal();
    document["segments"][0]["outputParameters"] = json!([{"name": "ok", "type": "boolean"}]);
    document["segments"][0]["deterministic"] = json!("async () => ({ ok: true })");
    document["segments"][0]["next"] = json!(["s"]);
    document["segments"][0]["router"] = json!(format!("(o) => {}o.ok", "!".repeat(100_000)));
    let checked = check(&document);
    assert_eq!(errors(&checked), [("too-long", "segments[0].router".to_owned())]);
    document["segments"][0]["router"] = json!(format!("(o) => {}o.ok", "!".repeat(MAX_CODE_NESTING + 10)));
    assert_eq!(errors(&check(&document)), [("too-deeply-nested", "segments[0].router".to_owned())]);
}

#[test]
fn code_longer_than_the_limit_is_too_long() {
    let mut document = minimal();
    let code = format!("async () => {{ {} return {{}}; }}", ";".repeat(MAX_CODE_LENGTH));
    document["segments"][0]["deterministic"] = json!(code);
    let checked = check(&document);
    assert_eq!(errors(&checked), [("too-long", "segments[0].deterministic".to_owned())]);
    let message = &checked.errors().next().unwrap().message;
    assert!(message.contains(&format!("at most {MAX_CODE_LENGTH}")), "{message}");
}
