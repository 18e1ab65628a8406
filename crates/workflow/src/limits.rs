//! What a document may hold whatever its structure: how deeply its JSON
//! nests, no NUL character in any string (PostgreSQL text cannot store one),
//! and how long names and descriptions may be. Code has its own limits in `js`.
//!
//! Every walk here uses an explicit stack: a document is untrusted input and
//! its depth must not become ours.

use serde_json::Value;

use crate::diagnostic::Diagnostic;

/// Arrays and objects may nest this deep (the document itself is level 1).
/// A valid workflow needs 6; serde_json gives up at 128 with a less helpful error.
pub const MAX_JSON_DEPTH: usize = 64;
/// `name`, `startSegmentName` and `sourceProvider`, in characters.
pub const MAX_NAME_LENGTH: usize = 200;
/// `description`, in characters.
pub const MAX_DESCRIPTION_LENGTH: usize = 10_000;

/// The length limit of a string field, by its key, wherever it appears.
fn length_limit(key: &str) -> Option<usize> {
    match key {
        "name" | "startSegmentName" | "sourceProvider" => Some(MAX_NAME_LENGTH),
        "description" => Some(MAX_DESCRIPTION_LENGTH),
        _ => None,
    }
}

/// A value still to visit, with what its parent knows about it.
struct Pending<'v> {
    value: &'v Value,
    location: String,
    /// Arrays and objects around it, itself included when it is one.
    depth: usize,
    /// The key it is stored under, when its parent is an object.
    key: Option<&'v str>,
}

/// Every limit `value` breaks, each with its JSON location, in document order.
pub fn scan(value: &Value) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut pending = vec![Pending { value, location: String::new(), depth: 1, key: None }];
    while let Some(Pending { value, location, depth, key }) = pending.pop() {
        if key.is_some_and(|k| k.contains('\0')) {
            let message = "a key contains a NUL character (U+0000), which PostgreSQL cannot store";
            found.push(Diagnostic::error("nul-character", location.clone(), message));
        }
        match value {
            Value::String(s) => string(&mut found, s, &location, key.and_then(length_limit)),
            Value::Array(_) | Value::Object(_) if depth > MAX_JSON_DEPTH => found.push(too_deep(location)),
            // Children are pushed last first so that they come out in document order.
            Value::Array(items) => pending.extend(items.iter().enumerate().rev().map(|(i, item)| Pending {
                value: item,
                location: format!("{location}[{i}]"),
                depth: depth + 1,
                key: None,
            })),
            Value::Object(fields) => pending.extend(fields.iter().rev().map(|(k, item)| Pending {
                value: item,
                location: push_key(&location, k),
                depth: depth + 1,
                key: Some(k),
            })),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    found
}

fn string(found: &mut Vec<Diagnostic>, s: &str, location: &str, limit: Option<usize>) {
    if s.contains('\0') {
        let message =
            format!("{} contains a NUL character (U+0000), which PostgreSQL cannot store", describe(location));
        found.push(Diagnostic::error("nul-character", location, message));
    }
    if let Some(limit) = limit
        && s.len() > limit
        && s.chars().count() > limit
    {
        let message =
            format!("{} is {} characters long; at most {limit} are allowed", describe(location), s.chars().count());
        found.push(Diagnostic::error("too-long", location, message));
    }
}

pub fn too_deep(location: String) -> Diagnostic {
    let message = format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels here; a workflow needs 6");
    Diagnostic::error("too-deeply-nested", location, message)
}

/// How a message names the value at `location`: `name` of segments[1], say.
fn describe(location: &str) -> String {
    if location.is_empty() {
        return "the document".to_owned();
    }
    // A plain key ends the location after its parent's `.`; quoted keys and indices are named whole.
    match location.rsplit_once('.') {
        Some((parent, key)) if !key.contains(['[', '"']) => format!("`{key}` of {parent}"),
        None if !location.contains(['[', '"']) => format!("`{location}` of the workflow"),
        _ => format!("`{location}`"),
    }
}

/// Keys longer than this are cut in locations, which stay one readable line.
const MAX_KEY_IN_LOCATION: usize = 40;

/// `location.key`, or `location["odd key"]` for a key that is not a plain word.
pub fn push_key(location: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= MAX_KEY_IN_LOCATION
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        return if location.is_empty() { key.to_owned() } else { format!("{location}.{key}") };
    }
    let mut shown: String = key.chars().take(MAX_KEY_IN_LOCATION).collect();
    if shown.len() < key.len() {
        shown.push('…');
    }
    // JSON string syntax shows control characters such as NUL as escapes.
    format!("{location}[{}]", Value::String(shown))
}
