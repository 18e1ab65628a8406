use serde_json::{Value, json};

use super::*;

fn param(ty: ParamType, required: bool) -> Parameter {
    Parameter { name: "p".into(), ty, required, description: None, default_value: None, options: None }
}

fn check_ok(p: &Parameter, v: Value, mode: Mode) -> Option<Value> {
    check(p, Some(&v), mode).unwrap()
}

#[test]
fn null_is_absent_for_optional_and_missing_for_required() {
    assert_eq!(check(&param(ParamType::String, false), Some(&Value::Null), Mode::Strict), Ok(None));
    let err = check(&param(ParamType::String, true), Some(&Value::Null), Mode::Strict).unwrap_err();
    assert_eq!(err.kind, ValueErrorKind::Missing);
}

#[test]
fn default_applies_to_missing_null_and_empty() {
    let p = Parameter { default_value: Some(json!("x")), ..param(ParamType::String, true) };
    assert_eq!(check(&p, None, Mode::Strict), Ok(Some(json!("x"))));
    assert_eq!(check_ok(&p, json!(null), Mode::Strict), Some(json!("x")));
    assert_eq!(check_ok(&p, json!(""), Mode::Strict), Some(json!("x")));
    assert_eq!(check_ok(&p, json!("y"), Mode::Strict), Some(json!("y")));
}

#[test]
fn convert_mode_parses_numbers_and_booleans() {
    assert_eq!(check_ok(&param(ParamType::Number, true), json!("12"), Mode::Convert), Some(json!(12)));
    assert_eq!(check_ok(&param(ParamType::Number, true), json!(" 2.5"), Mode::Convert), Some(json!(2.5)));
    assert_eq!(check_ok(&param(ParamType::Boolean, true), json!("TRUE"), Mode::Convert), Some(json!(true)));
    let err = check(&param(ParamType::Number, true), Some(&json!("abc")), Mode::Convert).unwrap_err();
    assert_eq!(err.reason, "must be a number, got \"abc\"");
}

#[test]
fn strict_mode_rejects_strings_for_numbers() {
    let err = check(&param(ParamType::Number, true), Some(&json!("12")), Mode::Strict).unwrap_err();
    assert_eq!(err.kind, ValueErrorKind::WrongType);
}

#[test]
fn options_are_strings_whatever_the_type() {
    let p = Parameter { options: Some(vec!["1".into(), "2".into()]), ..param(ParamType::Number, true) };
    assert_eq!(check_ok(&p, json!(2), Mode::Strict), Some(json!("2")));
    let err = check(&p, Some(&json!("3")), Mode::Strict).unwrap_err();
    assert_eq!(err.kind, ValueErrorKind::NotAnOption);
    assert_eq!(err.reason, "is \"3\", which is not one of the options [\"1\", \"2\"]");
}

#[test]
fn file_requires_a_data_uri() {
    assert!(check(&param(ParamType::File, true), Some(&json!("/etc/passwd")), Mode::Convert).is_err());
    assert!(check(&param(ParamType::File, true), Some(&json!("data:text/plain;base64,aGk=")), Mode::Strict).is_ok());
}

#[test]
fn whole_numbers_are_integers() {
    assert_eq!(check_ok(&param(ParamType::Number, true), json!(23.0), Mode::Strict), Some(json!(23)));
    assert_eq!(check_ok(&param(ParamType::Number, true), json!(18.99), Mode::Strict), Some(json!(18.99)));
}
