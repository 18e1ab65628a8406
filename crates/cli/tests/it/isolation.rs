//! Cases a fixture cannot express: runs that must not affect each other, and
//! files that must be gone when a run ends.

use std::process::Command;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::support::{repo_root, segue, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("isolation::a_hung_run_does_not_block_another", a_hung_run_does_not_block_another),
        Trial::test("isolation::file_inputs_are_deleted_when_the_run_ends", file_inputs_are_deleted_when_the_run_ends),
    ]
}

fn a_hung_run_does_not_block_another() -> Result<(), Failed> {
    let hang = json!({"name": "hang", "startSegmentName": "spin", "segments": [{
        "name": "spin", "type": "logic", "prompt": null, "inputParameters": [], "outputParameters": [],
        "deterministic": "async (page, parameters) => { while (true) {} }", "next": null, "router": null}]});
    let hang_file = workflow_file(&hang.to_string());
    let hung = Command::new(env!("CARGO_BIN_EXE_segue"))
        .args(["run", hang_file.path().to_str().unwrap(), "--segment-timeout", "20"])
        .current_dir(repo_root())
        .output();
    let shop = std::fs::read_to_string(repo_root().join("examples/shop_price_check.json"))?;
    let shop_file = workflow_file(&shop);
    // Started while the hung run spins: both are separate processes with separate runners.
    let (hung, ok) = std::thread::scope(|s| {
        let hung = s.spawn(move || hung);
        let ok = segue(&["run", shop_file.path().to_str().unwrap(), "--input", "search_query=keyboard"]);
        (hung.join().expect("thread"), ok)
    });
    let hung = hung?;
    if ok.status.code() != Some(0) {
        return Err(format!("the healthy run failed: {}", text(&ok.stderr)).into());
    }
    let outputs: Value = serde_json::from_slice(&ok.stdout)?;
    if outputs["top_result_title"] != "Mechanical Keyboard with Brown Switches" {
        return Err(format!("unexpected outputs {outputs}").into());
    }
    let stderr = text(&hung.stderr);
    if hung.status.code() != Some(1) || !stderr.contains("segment 'spin' failed (SEGMENT_TIMEOUT)") {
        return Err(format!("the hung run did not time out cleanly: {stderr}").into());
    }
    Ok(())
}

fn file_inputs_are_deleted_when_the_run_ends() -> Result<(), Failed> {
    let doc = json!({"name": "path", "startSegmentName": "show",
        "inputParameters": [{"name": "doc", "type": "file"}],
        "outputParameters": [{"name": "path", "type": "string"}],
        "segments": [{"name": "show", "type": "logic", "prompt": null,
            "inputParameters": [{"name": "doc", "type": "file"}],
            "outputParameters": [{"name": "path", "type": "string"}],
            "deterministic": "async (page, parameters) => { await page.setContent('<input type=file>'); await page.locator('input').setInputFiles(parameters.doc); const name = await page.locator('input').evaluate(e => e.files[0].name + ':' + e.files[0].size); return { path: parameters.doc + '|' + name }; }",
            "next": null, "router": null}]});
    let file = workflow_file(&doc.to_string());
    let out =
        segue(&["run", file.path().to_str().unwrap(), "--input", "doc=data:text/plain;name=hello.txt;base64,aGVsbG8="]);
    if out.status.code() != Some(0) {
        return Err(format!("run failed: {}", text(&out.stderr)).into());
    }
    let outputs: Value = serde_json::from_slice(&out.stdout)?;
    let shown = outputs["path"].as_str().ok_or("no path output")?;
    let (path, seen) = shown.split_once('|').ok_or("unexpected output")?;
    if seen != "hello.txt:5" || !path.ends_with("/hello.txt") {
        return Err(format!("the page did not receive the file: {shown}").into());
    }
    if std::path::Path::new(path).exists() {
        return Err(format!("{path} still exists after the run").into());
    }
    Ok(())
}
