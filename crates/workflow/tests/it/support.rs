use serde_json::{Value, json};
use workflow::{Checked, Diagnostic};

/// A valid one-segment workflow whose parts the tests replace.
pub fn minimal() -> Value {
    json!({
        "name": "w",
        "startSegmentName": "s",
        "inputParameters": [{"name": "q", "type": "string", "required": false}],
        "segments": [{
            "name": "s",
            "type": "logic",
            "prompt": null,
            "inputParameters": [{"name": "q", "type": "string", "required": false}],
            "deterministic": "async (page, parameters) => ({ q: parameters.q })",
            "next": null,
        }],
    })
}

/// The errors of a check as `(code, location)` pairs.
pub fn errors(checked: &Checked) -> Vec<(&'static str, String)> {
    checked.errors().map(|d: &Diagnostic| (d.code, d.location.clone())).collect()
}

/// Checks the document as text and as a value, which must agree.
pub fn check(document: &Value) -> Checked {
    let from_text = workflow::check(&document.to_string());
    let from_value = workflow::check_value(document);
    assert_eq!(from_text.diagnostics, from_value.diagnostics, "check and check_value disagree");
    from_value
}
