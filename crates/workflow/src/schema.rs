//! The JSON Schema of the workflow document, published as
//! `docs/workflow.schema.json` so that editors validate and complete it.
//!
//! Built from what `parse` itself uses: the type names (`ParamType::ALL`,
//! `SegmentType::ALL`), each segment type's prompt and code rules
//! (`SegmentType::prompt`, `SegmentType::code`), the limits, and "not blank" as
//! `str::trim` sees it. The schema may be looser than `check` (it cannot say
//! that names are unique, that `next` names a segment or that code is a
//! function) but never stricter: a document `check` accepts, the schema accepts.
//! Keys the parser ignores are allowed everywhere, so `$schema` is too.

use serde_json::{Map, Value, json};

use crate::js::MAX_CODE_LENGTH;
use crate::limits::{MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH};
use crate::model::{ParamType, Presence, SegmentType};

/// The dialect the schema is written in; editors and validators know it.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema as a JSON value; `docs/workflow.schema.json` is this, pretty-printed.
pub fn json_schema() -> Value {
    let not_blank = not_blank_pattern();
    json!({
        "$schema": DIALECT,
        "title": "segue workflow",
        "description": "A workflow document: a graph of segments run in a browser. \
            Reference: docs/workflow-format.md. `segue validate` checks what a schema cannot \
            (unique names, `next` targets, code that is a function, lints).",
        "type": "object",
        "required": ["name", "startSegmentName", "segments"],
        "properties": {
            "$schema": {
                "description": "Where editors find this schema. Ignored by segue, like every key it does not know.",
            },
            "name": {
                "description": "The workflow's name, for people.",
                "$ref": "#/$defs/name",
            },
            "description": {
                "description": "Notes for people. Ignored by segue.",
                "$ref": "#/$defs/notes",
            },
            "startSegmentName": {
                "description": "The `name` of the segment that runs first.",
                "$ref": "#/$defs/name",
            },
            "inputParameters": {
                "description": "Values the caller supplies when starting a run; they enter the shared state by name.",
                "$ref": "#/$defs/parameters",
            },
            "outputParameters": {
                "description": "Values read from the shared state by name when the run ends: the run's result.",
                "$ref": "#/$defs/parameters",
            },
            "segments": {
                "description": "The segments of the graph, at least one.",
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/segment"},
            },
        },
        "$defs": {
            "name": {
                "type": "string",
                "pattern": not_blank,
                "maxLength": MAX_NAME_LENGTH,
            },
            "notes": {
                // Only strings have a length: the parser ignores notes of other types.
                "maxLength": MAX_DESCRIPTION_LENGTH,
            },
            "code": {
                "type": ["string", "null"],
                "maxLength": MAX_CODE_LENGTH,
            },
            "parameters": {
                "description": "Parameters, unique by name; absent or null means none.",
                "type": ["array", "null"],
                "items": {"$ref": "#/$defs/parameter"},
            },
            "parameter": parameter(),
            "segment": segment(&not_blank),
        },
    })
}

fn parameter() -> Value {
    json!({
        "type": "object",
        "required": ["name", "type"],
        "properties": {
            "name": {
                "description": "The key in the shared state: outputs flow to later inputs of the same name.",
                "$ref": "#/$defs/name",
            },
            "type": {
                "description": "string, number, boolean, secret (a string masked wherever it appears) \
                    or file (a data URI, written to a temporary file before a segment reads it).",
                "enum": ParamType::ALL,
            },
            "required": {
                "description": "Whether the value must be present and not null. Absent or null means true.",
                "type": ["boolean", "null"],
                "default": true,
            },
            "description": {
                "description": "What the value is; the AI agent reads it.",
                "type": ["string", "null"],
                "maxLength": MAX_DESCRIPTION_LENGTH,
            },
            "defaultValue": {
                "description": "Used when the value is missing, null or empty. Must itself be valid for the \
                    parameter (checked by `segue validate`).",
            },
            "options": {
                "description": "When set, the value must be one of these strings, whatever `type` says.",
                "type": ["array", "null"],
                "minItems": 1,
                "items": {"type": "string"},
            },
        },
    })
}

fn segment(not_blank: &str) -> Value {
    let target = json!({"type": "string", "pattern": not_blank});
    let mut rules = vec![
        // A router chooses among several targets, and several targets need a router.
        json!({
            "if": {"required": ["router"], "properties": {"router": {"type": "string"}}},
            "then": {"properties": {"next": {"type": "array"}}},
        }),
        json!({
            "if": {"required": ["next"], "properties": {"next": {"type": "array"}}},
            "then": {"required": ["router"], "properties": {"router": {"type": "string"}}},
        }),
    ];
    for name in SegmentType::ALL {
        let ty = SegmentType::parse(name).expect("every listed type parses");
        let mut then = Map::new();
        let mut properties = Map::new();
        let mut required = Vec::new();
        match ty.prompt() {
            Presence::Required => {
                properties.insert("prompt".into(), json!({"type": "string", "pattern": not_blank}));
                required.push("prompt");
            }
            Presence::Optional => {}
            Presence::Forbidden => {
                properties.insert("prompt".into(), json!({"type": "null"}));
            }
        }
        match ty.code() {
            Presence::Required => {
                properties.insert("deterministic".into(), json!({"type": "string"}));
                required.push("deterministic");
            }
            Presence::Optional => {}
            Presence::Forbidden => {
                properties.insert("deterministic".into(), json!({"type": "null"}));
            }
        }
        if !required.is_empty() {
            then.insert("required".into(), json!(required));
        }
        then.insert("properties".into(), Value::Object(properties));
        rules.push(json!({
            "if": {"required": ["type"], "properties": {"type": {"const": name}}},
            "then": then,
        }));
    }
    json!({
        "type": "object",
        "required": ["name", "type", "next"],
        "properties": {
            "name": {
                "description": "Unique among the workflow's segments; `next` and routers name segments by it.",
                "$ref": "#/$defs/name",
            },
            "description": {
                "description": "Notes for people. Ignored by segue.",
                "$ref": "#/$defs/notes",
            },
            "type": {
                "description": "ui: page work, code with AI fallback (code optional). network: reads recorded \
                    responses, code with AI fallback. logic: code only, never AI. agent: AI only, no code.",
                "enum": SegmentType::ALL,
            },
            "prompt": {
                "description": "What to do, in plain words, for the AI agent; `{{name}}` is replaced by the \
                    segment's input of that name. Required for ui, network and agent; null for logic.",
                "type": ["string", "null"],
            },
            "inputParameters": {
                "description": "The state values this segment reads: only these reach its code and prompt.",
                "$ref": "#/$defs/parameters",
            },
            "outputParameters": {
                "description": "The values this segment returns into the shared state (and what the AI agent must return).",
                "$ref": "#/$defs/parameters",
            },
            "deterministic": {
                "description": "Source of one JavaScript function `async (page, parameters[, networkResponses]) => \
                    ({ ...outputs })`. Required for logic and network, optional for ui, null for agent.",
                "$ref": "#/$defs/code",
            },
            "next": {
                "description": "The segment that runs next, null to end the workflow, or several names for \
                    `router` to choose from.",
                "type": ["string", "array", "null"],
                "pattern": not_blank,
                "minItems": 1,
                "items": target,
            },
            "router": {
                "description": "With an array `next`: source of a function `(outputs) => name` that receives this \
                    segment's own outputs and returns one of the names in `next`.",
                "$ref": "#/$defs/code",
            },
        },
        "allOf": rules,
    })
}

/// A regular expression matching strings that are not blank, where blank is
/// what `str::trim` removes (`char::is_whitespace`): the class is built from
/// that predicate, so the schema and the parser agree on every character.
/// Written with `\uXXXX` escapes, which JavaScript's and Rust's regexes read alike.
fn not_blank_pattern() -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for c in (0..=char::MAX as u32).filter_map(char::from_u32).filter(|c| c.is_whitespace()) {
        let c = c as u32;
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    let mut class = String::from("[^");
    for (start, end) in ranges {
        assert!(end <= 0xFFFF, "whitespace outside the BMP needs another escape");
        class.push_str(&format!("\\u{start:04x}"));
        if end > start {
            class.push_str(&format!("-\\u{end:04x}"));
        }
    }
    class.push(']');
    class
}
