//! `tests/validate/NAME.json` is a document; `NAME.expected` holds exactly the
//! diagnostics `segue validate` prints for it, one per line. The exit code must
//! be 2 when any of them is an error and 0 otherwise, and `--json` must agree.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{fixtures, segue, stem, text};

pub fn trials() -> Vec<Trial> {
    fixtures("tests/validate")
        .into_iter()
        .map(|path| Trial::test(format!("validate::{}", stem(&path)), move || check(&path)))
        .collect()
}

fn check(path: &Path) -> Result<(), Failed> {
    let file = path.to_str().expect("utf-8 path");
    let out = segue(&["validate", file]);
    let diagnostics: Vec<String> = text(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
        .map(str::to_owned)
        .collect();
    let actual = diagnostics.join("\n") + "\n";
    let expected_path = path.with_extension("expected");
    if std::env::var_os("SEGUE_BLESS").is_some() {
        std::fs::write(&expected_path, &actual)?;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e} (SEGUE_BLESS=1 writes it)", expected_path.display()))?;
    if actual != expected {
        return Err(format!("diagnostics differ\n--- expected\n{expected}--- actual\n{actual}").into());
    }
    let has_error = diagnostics.iter().any(|d| d.starts_with("error["));
    let want_exit = if has_error { 2 } else { 0 };
    if out.status.code() != Some(want_exit) {
        return Err(format!("exit {:?}, expected {want_exit}", out.status.code()).into());
    }
    if !has_error && !text(&out.stdout).is_empty() {
        return Err("validate printed to stdout without --json".into());
    }

    let json_out = segue(&["validate", "--json", file]);
    let report: Value = serde_json::from_slice(&json_out.stdout)?;
    if report["valid"] != Value::Bool(!has_error) || json_out.status.code() != Some(want_exit) {
        return Err(format!("--json disagrees: {report}").into());
    }
    let count = report["diagnostics"].as_array().map_or(0, Vec::len);
    if count != diagnostics.len() {
        return Err(format!("--json lists {count} diagnostics, text lists {}", diagnostics.len()).into());
    }
    Ok(())
}
