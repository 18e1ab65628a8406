//! `{{name}}` placeholders in prompts.

use serde_json::{Map, Value};

use crate::model::{ParamType, Parameter};

/// A `{{name}}` occurrence: the trimmed name and the byte range of the whole
/// placeholder in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    pub name: &'a str,
    pub range: std::ops::Range<usize>,
}

pub fn placeholders(prompt: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = prompt[from..].find("{{").map(|i| from + i) {
        let Some(close) = prompt[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let name = prompt[open + 2..close].trim();
        let is_identifier =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if is_identifier {
            found.push(Placeholder { name, range: open..close + 2 });
            from = close + 2;
        } else {
            from = open + 2;
        }
    }
    found
}

/// Replaces each `{{name}}` with the segment's input value. Secret inputs stay
/// as their placeholder, so the clear value never reaches a model or a log;
/// undeclared names are left as written.
pub fn render(prompt: &str, inputs: &[Parameter], values: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(prompt.len());
    let mut last = 0;
    for p in placeholders(prompt) {
        out.push_str(&prompt[last..p.range.start]);
        let declared = inputs.iter().find(|i| i.name == p.name);
        match (declared, values.get(p.name)) {
            (Some(param), Some(value)) if param.ty != ParamType::Secret => match value {
                Value::String(s) if param.ty == ParamType::File => out.push_str(&format!("(file {})", file_label(s))),
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            },
            _ => out.push_str(&prompt[p.range.clone()]),
        }
        last = p.range.end;
    }
    out.push_str(&prompt[last..]);
    out
}

fn file_label(data_uri: &str) -> &str {
    crate::data_uri::name_param(data_uri).unwrap_or("attached")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn param(name: &str, ty: ParamType) -> Parameter {
        Parameter { name: name.into(), ty, required: true, description: None, default_value: None, options: None }
    }

    #[test]
    fn finds_trimmed_names_and_skips_non_names() {
        let names: Vec<&str> = placeholders("a {{x}} {{ y_1 }} {{not a name}} {{z}}").iter().map(|p| p.name).collect();
        assert_eq!(names, ["x", "y_1", "z"]);
    }

    #[test]
    fn renders_values_but_never_secrets() {
        let inputs = [param("q", ParamType::String), param("pw", ParamType::Secret), param("n", ParamType::Number)];
        let values = json!({"q": "laptop", "pw": "hunter2", "n": 3}).as_object().unwrap().clone();
        let out = render("Search {{q}} x{{n}} with {{pw}} and {{other}}", &inputs, &values);
        assert_eq!(out, "Search laptop x3 with {{pw}} and {{other}}");
    }
}
