//! Checking a value against a declared parameter: defaults, `options`, types.
//! Shared by workflow inputs, segment inputs and segment outputs so that the
//! three agree on what "valid" means.

use serde_json::Value;

use crate::model::{ParamType, Parameter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Values typed by people (CLI flags, forms): numeric and boolean strings
    /// are converted to the declared type.
    Convert,
    /// Values produced by code: the JSON type must already be right.
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub kind: ValueErrorKind,
    /// One line, without the parameter's name (callers add context).
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueErrorKind {
    Missing,
    NotAnOption,
    WrongType,
}

/// Returns the value to use (`None`: absent and optional), or why it is invalid.
///
/// `null` is treated as absent, and so is an empty string when a default exists:
/// the reference applies `defaultValue` "when the value is missing/empty".
pub fn check(param: &Parameter, value: Option<&Value>, mode: Mode) -> Result<Option<Value>, ValueError> {
    let value = match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() && param.default_value.is_some() => None,
        Some(v) => Some(v),
    };
    let Some(value) = value.or(param.default_value.as_ref()) else {
        return if param.required {
            Err(ValueError { kind: ValueErrorKind::Missing, reason: "is required but missing".into() })
        } else {
            Ok(None)
        };
    };
    if let Some(options) = &param.options {
        // The reference treats option values as strings whatever the declared type.
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(wrong_type("one of the options", other)),
        };
        if !options.contains(&text) {
            let reason = format!("is {}, which is not one of the options {}", describe(value), options_list(options));
            return Err(ValueError { kind: ValueErrorKind::NotAnOption, reason });
        }
        return Ok(Some(Value::String(text)));
    }
    check_type(param.ty, value, mode).map(Some)
}

fn check_type(ty: ParamType, value: &Value, mode: Mode) -> Result<Value, ValueError> {
    let convert = mode == Mode::Convert;
    match (ty, value) {
        (ParamType::String | ParamType::Secret, Value::String(_)) => Ok(value.clone()),
        (ParamType::String, Value::Number(_) | Value::Bool(_)) if convert => Ok(Value::String(value.to_string())),
        // JavaScript has one number type: 23.0 and 23 are the same value, shown as 23.
        (ParamType::Number, Value::Number(n)) => Ok(n.as_f64().and_then(number).unwrap_or_else(|| value.clone())),
        (ParamType::Number, Value::String(s)) if convert => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(number)
            .ok_or_else(|| wrong_type("a number", value)),
        (ParamType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (ParamType::Boolean, Value::String(s)) if convert => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong_type("true or false", value)),
        },
        (ParamType::File, Value::String(s)) if s.starts_with("data:") => Ok(value.clone()),
        (ParamType::File, _) => Err(wrong_type("a data URI (data:…)", value)),
        (ParamType::String | ParamType::Secret, _) => Err(wrong_type("a string", value)),
        (ParamType::Number, _) => Err(wrong_type("a number", value)),
        (ParamType::Boolean, _) => Err(wrong_type("a boolean", value)),
    }
}

/// Integers stay integers so that `3` is not printed back as `3.0`.
fn number(f: f64) -> Option<Value> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(Value::from(f as i64))
    } else {
        serde_json::Number::from_f64(f).map(Value::Number)
    }
}

fn wrong_type(expected: &str, got: &Value) -> ValueError {
    ValueError { kind: ValueErrorKind::WrongType, reason: format!("must be {expected}, got {}", describe(got)) }
}

/// A short description that never prints long or binary values in full.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.starts_with("data:") => "a data URI".into(),
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string \"{}…\"", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

fn options_list(options: &[String]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The size of `value` as compact JSON, without building the text.
pub fn json_bytes(value: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).expect("a Value always serializes");
    count.0
}

#[cfg(test)]
mod tests;
