//! Cases a fixture cannot express: runs that must not affect each other, and
//! files that must be gone when a run ends.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::{Server, example};
use crate::support::{segue, text, workflow_file};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("isolation::a_hung_run_does_not_block_another", a_hung_run_does_not_block_another),
        Trial::test("isolation::file_inputs_are_deleted_when_the_run_ends", file_inputs_are_deleted_when_the_run_ends),
    ]
}

/// One `segue serve` worker executing two runs at once: a run whose code never
/// returns (a busy loop, then a promise that never settles) and a normal one,
/// which completes while the hung one is still in progress.
fn a_hung_run_does_not_block_another() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "2", "--segment-timeout", "40"])?;
    let shop = server.create_workflow(example("shop_price_check.json")?)?;
    for hang in ["while (true) {}", "await new Promise(() => {});"] {
        let hung = server.create_workflow(json!({"name": "hang", "startSegmentName": "spin", "segments": [{
            "name": "spin", "type": "logic", "prompt": null, "inputParameters": [], "outputParameters": [],
            "deterministic": format!("async (page, parameters) => {{ {hang} }}"), "next": null, "router": null}]}))?;
        let hung_run = server.start_run(&hung, json!({}))?;
        server.wait_for(&hung_run, Duration::from_secs(30), |r| r["currentSegmentName"] == "spin")?;
        let ok_run = server.start_run(&shop, json!({"inputs": {"search_query": "keyboard"}}))?;
        let ok = server.wait_final(&ok_run, Duration::from_secs(30))?;
        if ok["status"] != "COMPLETED" || ok["outputs"]["top_result_title"] != "Mechanical Keyboard with Brown Switches"
        {
            return Err(format!("the healthy run did not complete beside `{hang}`: {ok}").into());
        }
        let still = server.get(&format!("/v1/runs/{hung_run}"))?;
        if still["status"] != "IN_PROGRESS" {
            return Err(format!("the runs did not execute side by side: the hung run is {still}").into());
        }
        server.post(&format!("/v1/runs/{hung_run}/cancel"), json!(null))?;
        let stopped = server.wait_final(&hung_run, Duration::from_secs(30))?;
        if stopped["status"] != "CANCELLED" {
            return Err(format!("the hung run was not stopped: {stopped}").into());
        }
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
