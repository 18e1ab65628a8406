//! The tools offered to the model, with their argument schemas. `complete`
//! takes the segment's `outputParameters` as a JSON Schema.

use serde_json::{Map, Value, json};
use workflow::{ParamType, Parameter};

use crate::llm::Tool;

pub const COMPLETE: &str = "complete";
pub const FAIL: &str = "fail";

pub fn all(outputs: &[Parameter]) -> Vec<Tool> {
    let reference = json!({"type": "string", "description": "An element's ref from the latest snapshot, e.g. e12"});
    vec![
        tool("goto", "Navigate to a URL.", json!({"url": {"type": "string"}}), &["url"]),
        tool("click", "Click an element.", json!({"ref": reference}), &["ref"]),
        tool(
            "fill",
            "Replace the text of an input. To type a secret, pass its {{name}} placeholder; it is replaced with the real value.",
            json!({"ref": reference, "value": {"type": "string"}}),
            &["ref", "value"],
        ),
        tool(
            "select_option",
            "Choose options of a <select>.",
            json!({"ref": reference, "values": {"type": "array", "items": {"type": "string"}}}),
            &["ref", "values"],
        ),
        tool(
            "press",
            "Press a key (e.g. Enter, Tab, ArrowDown), on an element when ref is given.",
            json!({"key": {"type": "string"}, "ref": reference}),
            &["key"],
        ),
        tool(
            "scroll",
            "Scroll the page, or scroll an element into view when ref is given.",
            json!({"direction": {"type": "string", "enum": ["up", "down"]}, "ref": reference}),
            &["direction"],
        ),
        tool(
            "wait",
            "Wait for the page to change.",
            json!({"seconds": {"type": "number", "minimum": 0, "maximum": 30}}),
            &["seconds"],
        ),
        tool(
            "upload_file",
            "Attach a file input of this step (by parameter name) to a file chooser element.",
            json!({"ref": reference, "parameter": {"type": "string"}}),
            &["ref", "parameter"],
        ),
        Tool {
            name: COMPLETE,
            description: "Finish the step, returning its outputs.",
            parameters: output_schema(outputs),
        },
        tool(
            "fail",
            "Give up when the step cannot be done; say why.",
            json!({"reason": {"type": "string"}}),
            &["reason"],
        ),
    ]
}

fn tool(name: &'static str, description: &'static str, properties: Value, required: &[&str]) -> Tool {
    Tool {
        name,
        description,
        parameters: json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false}),
    }
}

/// The segment's outputs as the JSON Schema of `complete`'s arguments.
pub fn output_schema(outputs: &[Parameter]) -> Value {
    let mut properties = Map::new();
    for p in outputs {
        let mut schema = match (&p.options, p.ty) {
            (Some(options), _) => json!({"type": "string", "enum": options}),
            (None, ParamType::Number) => json!({"type": "number"}),
            (None, ParamType::Boolean) => json!({"type": "boolean"}),
            (None, ParamType::File) => json!({"type": "string", "description": "a data: URI"}),
            (None, ParamType::String | ParamType::Secret) => json!({"type": "string"}),
        };
        if let Some(d) = &p.description {
            let text = match schema.get("description").and_then(Value::as_str) {
                Some(existing) => format!("{d} ({existing})"),
                None => d.clone(),
            };
            schema["description"] = Value::String(text);
        }
        properties.insert(p.name.clone(), schema);
    }
    let required: Vec<&str> = outputs.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// Checks `complete`'s arguments as the engine will: the reason is sent back to the model.
pub fn validate_complete(outputs: &[Parameter], args: &Value) -> Result<Map<String, Value>, String> {
    let Some(given) = args.as_object() else { return Err("the arguments must be an object of outputs".into()) };
    let mut problems = Vec::new();
    for key in given.keys() {
        if !outputs.iter().any(|p| &p.name == key) {
            problems.push(format!("'{key}' is not an output of this step"));
        }
    }
    let mut valid = Map::new();
    for p in outputs {
        match workflow::values::check(p, given.get(&p.name), workflow::values::Mode::Strict) {
            Ok(Some(v)) => {
                valid.insert(p.name.clone(), v);
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("'{}' {}", p.name, e.reason)),
        }
    }
    if problems.is_empty() { Ok(valid) } else { Err(problems.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, ty: ParamType, required: bool, options: Option<Vec<String>>) -> Parameter {
        Parameter { name: name.into(), ty, required, description: Some("d".into()), default_value: None, options }
    }

    #[test]
    fn complete_schema_follows_the_outputs() {
        let outputs = [
            param("title", ParamType::String, true, None),
            param("price", ParamType::Number, false, None),
            param("size", ParamType::String, true, Some(vec!["s".into(), "m".into()])),
        ];
        let schema = output_schema(&outputs);
        assert_eq!(schema["required"], json!(["title", "size"]));
        assert_eq!(schema["properties"]["price"]["type"], "number");
        assert_eq!(schema["properties"]["size"]["enum"], json!(["s", "m"]));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn invalid_completions_say_what_is_wrong() {
        let outputs = [param("title", ParamType::String, true, None), param("price", ParamType::Number, false, None)];
        let err = validate_complete(&outputs, &json!({"price": "12", "extra": 1})).unwrap_err();
        assert_eq!(
            err,
            "'extra' is not an output of this step; 'title' is required but missing; 'price' must be a number, got \"12\""
        );
        let ok = validate_complete(&outputs, &json!({"title": "Mug", "price": null})).unwrap();
        assert_eq!(Value::Object(ok), json!({"title": "Mug"}));
    }
}
