//! `tests/run/NAME.json` describes one `segue run` against the demo site:
//!
//! ```json
//! { "about": "what it shows",
//!   "workflow": "examples/x.json" | { …inline document… },
//!   "args": ["--input", "q=mug"],
//!   "exit": 0,
//!   "outputs": { … },          // exit 0: stdout must be exactly this JSON object
//!   "stderr": ["…"],           // substrings stderr must contain
//!   "stderrNot": ["…"],        // substrings neither stdout nor stderr may contain
//!   "artifacts": {             // optional: run with `--artifacts DIR`, then check DIR
//!     "files": ["end.png"],    // files DIR must hold
//!     "contain": {"outputs.json": "…"},     // a substring each named file must hold
//!     "notContain": {"page.html": "…"},    // a substring each named file must not hold
//!     "zipNotContain": {"trace.zip": "…"} }, // a substring no entry of the named zip may hold
//!   "llm": {                   // optional: a scripted model for this run
//!     "provider": "openai" | "anthropic",
//!     "rules": [{"task": "regex", "when": "regex", "calls": [{"name": "click", "arguments": {"ref": "$1"}}]}],
//!     "requests": 3,           // how many requests it must receive (optional)
//!     "vision": true,          // send screenshots (SEGUE_LLM_VISION=1)
//!     "received": ["…"],       // substrings some request to the model must contain
//!     "receivedNot": ["…"] } } // substrings no request to the model may contain
//! ```

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{fixtures, repo_root, scripted_model, segue_with_env, stem, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    let mut trials: Vec<Trial> = fixtures("tests/run")
        .into_iter()
        .map(|path| Trial::test(format!("run::{}", stem(&path)), move || check(&path)))
        .collect();
    trials.push(Trial::test("run::headed_without_a_display_says_what_to_do", headed_without_a_display));
    trials
}

/// `--headed` on a machine without a display stops before starting anything, and says why.
fn headed_without_a_display() -> Result<(), Failed> {
    let no_display = [("DISPLAY", String::new()), ("WAYLAND_DISPLAY", String::new())];
    let out = segue_with_env(
        &["run", "examples/shop_price_check.json", "--input", "search_query=mug", "--headed"],
        &no_display,
    );
    let said = text(&out.stderr);
    if out.status.code() != Some(2) || !said.contains("needs a display") || !said.contains("xvfb-run") {
        return Err(format!("exit {:?}: {said}", out.status.code()).into());
    }
    Ok(())
}

fn strings(case: &Value, key: &str) -> Vec<String> {
    case[key].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn check(path: &Path) -> Result<(), Failed> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let document = match &case["workflow"] {
        Value::String(file) => std::fs::read_to_string(repo_root().join(file))?,
        inline @ Value::Object(_) => inline.to_string(),
        other => {
            return Err(format!("`workflow` must be a path or a document, got {other}").into());
        }
    };
    let workflow = workflow_file(&document);
    let mut args = vec!["run".to_owned(), workflow.path().to_string_lossy().into_owned()];
    args.extend(strings(&case, "args"));
    let artifacts = tempfile::tempdir()?;
    let wants_artifacts = case["artifacts"].is_object();
    if wants_artifacts {
        args.extend(["--artifacts".to_owned(), artifacts.path().to_string_lossy().into_owned()]);
    }
    let llm = &case["llm"];
    let model = match llm["rules"].as_array() {
        Some(rules) => Some(scripted_model(rules)?),
        None => None,
    };
    let env: Vec<(&str, String)> = match &model {
        Some(m) => {
            let anthropic = llm["provider"] == "anthropic";
            let base = if anthropic { m.anthropic_base() } else { m.openai_base() };
            vec![
                ("SEGUE_LLM_PROVIDER", if anthropic { "anthropic" } else { "openai" }.to_owned()),
                ("SEGUE_LLM_BASE_URL", base),
                ("SEGUE_LLM_MODEL", "scripted".to_owned()),
                ("SEGUE_LLM_API_KEY", "test-key".to_owned()),
                ("SEGUE_LLM_VISION", if llm["vision"] == true { "1" } else { "0" }.to_owned()),
            ]
        }
        None => Vec::new(),
    };
    let out = segue_with_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), &env);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let context = || format!("\n--- stdout\n{stdout}--- stderr\n{stderr}");
    if std::env::var_os("SEGUE_TEST_SHOW_LOGS").is_some() {
        eprintln!("{}", context());
    }

    let want_exit = case["exit"].as_i64().ok_or("fixture needs `exit`")?;
    if out.status.code().map(i64::from) != Some(want_exit) {
        return Err(format!("exit {:?}, expected {want_exit}{}", out.status.code(), context()).into());
    }
    if want_exit == 0 {
        let outputs: Value =
            serde_json::from_str(&stdout).map_err(|e| format!("stdout is not one JSON object: {e}{}", context()))?;
        if outputs != case["outputs"] {
            return Err(format!("outputs differ: expected {}{}", case["outputs"], context()).into());
        }
    } else if !stdout.trim().is_empty() {
        return Err(format!("a failed run printed to stdout{}", context()).into());
    }
    for needle in strings(&case, "stderr") {
        if !stderr.contains(&needle) {
            return Err(format!("stderr lacks {needle:?}{}", context()).into());
        }
    }
    if let Some(model) = &model {
        let received = model.received_text();
        if let Some(n) = llm["requests"].as_u64()
            && model.request_count() as u64 != n
        {
            return Err(
                format!("the model received {} requests, expected {n}{}", model.request_count(), context()).into()
            );
        }
        for needle in strings(llm, "received") {
            if !received.contains(&needle) {
                return Err(format!("no request to the model contained {needle:?}").into());
            }
        }
        for needle in strings(llm, "receivedNot") {
            if received.contains(&needle) {
                return Err(format!("the model received {needle:?}").into());
            }
        }
    }
    if wants_artifacts {
        check_artifacts(&case["artifacts"], artifacts.path()).map_err(|e| format!("{e}{}", context()))?;
    }
    for needle in strings(&case, "stderrNot") {
        if stderr.contains(&needle) || stdout.contains(&needle) {
            return Err(format!("output contains {needle:?}{}", context()).into());
        }
    }
    Ok(())
}

fn check_artifacts(want: &Value, dir: &Path) -> Result<(), String> {
    let listed: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    for file in strings(want, "files") {
        if !listed.contains(&file) {
            return Err(format!("artifact {file} missing; the folder holds {listed:?}"));
        }
    }
    // (key, read the file as a zip's entries, whether the needle must be there)
    for (key, zipped, present) in
        [("contain", false, true), ("notContain", false, false), ("zipNotContain", true, false)]
    {
        for (file, needle) in want[key].as_object().into_iter().flatten() {
            let needle = needle.as_str().unwrap_or_default();
            let texts = read_artifact(&dir.join(file), zipped).map_err(|e| format!("artifact {file}: {e}"))?;
            if texts.iter().any(|t| t.contains(needle)) != present {
                let verb = if present { "lacks" } else { "holds" };
                return Err(format!("artifact {file} {verb} {needle:?}"));
            }
        }
    }
    Ok(())
}

/// The file's text, or the text of each of its entries when it is a zip.
fn read_artifact(path: &Path, zipped: bool) -> Result<Vec<String>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if !zipped {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        return Ok(vec![String::from_utf8_lossy(&bytes).into_owned()]);
    }
    let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut texts = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(|e| e.to_string())?;
        texts.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(texts)
}
