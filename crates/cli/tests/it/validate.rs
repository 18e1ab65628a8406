//! `tests/validate/NAME.json` is a document; `NAME.expected` holds exactly the
//! diagnostics `segue validate` prints for it, one per line. The exit code must
//! be 2 when any of them is an error and 0 otherwise, and `--json` must agree.
//! `hostile` cases are generated: too large to keep as fixtures.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{fixtures, segue, stem, text};

pub fn trials() -> Vec<Trial> {
    let fixtures = fixtures("tests/validate")
        .into_iter()
        .map(|path| Trial::test(format!("validate::{}", stem(&path)), move || check(&path)));
    fixtures.chain(hostile()).collect()
}

/// Documents that once crashed `segue validate` (exit 134, stack overflow):
/// each must exit 2 with its diagnostic, in text and in JSON.
fn hostile() -> Vec<Trial> {
    let code_at = |body: String| {
        let code = format!("async (page, parameters) => {body}");
        let document = json!({"name": "w", "startSegmentName": "s", "segments": [
            {"name": "s", "type": "logic", "prompt": null, "deterministic": code, "next": null}]});
        (document.to_string(), "segments[0].deterministic".to_owned())
    };
    let deep_json = |depth: usize| ("[".repeat(depth) + &"]".repeat(depth), "[0]".repeat(64));
    let cases: Vec<(&str, (String, String))> = vec![
        ("json_depth_10000", deep_json(10_000)),
        ("json_depth_100000", deep_json(100_000)),
        ("json_depth_1000000", deep_json(1_000_000)),
        ("code_brackets_10000", code_at("[".repeat(10_000) + &"]".repeat(10_000))),
        ("code_not_chain_60000", code_at("!".repeat(60_000) + "x")),
        ("code_addition_chain_30000", code_at("a+".repeat(30_000) + "a")),
        ("code_unclosed_parentheses_60000", code_at("(".repeat(60_000))),
    ];
    cases
        .into_iter()
        .map(|(name, (document, location))| {
            Trial::test(format!("validate::hostile::{name}"), move || too_deeply_nested(&document, &location))
        })
        .collect()
}

fn too_deeply_nested(document: &str, location: &str) -> Result<(), Failed> {
    let mut file = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::io::Write::write_all(&mut file, document.as_bytes())?;
    let path = file.path().to_str().expect("utf-8 path");
    let out = segue(&["validate", path]);
    let want = format!("error[too-deeply-nested] {location}: ");
    if out.status.code() != Some(2) || !text(&out.stderr).contains(&want) {
        return Err(format!("exit {:?}, stderr: {}", out.status.code(), text(&out.stderr)).into());
    }
    let json_out = segue(&["validate", "--json", path]);
    let report: Value = serde_json::from_slice(&json_out.stdout)?;
    let first = &report["diagnostics"][0];
    if json_out.status.code() != Some(2) || first["code"] != "too-deeply-nested" || first["location"] != location {
        return Err(format!("--json: exit {:?}, {report}", json_out.status.code()).into());
    }
    Ok(())
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
