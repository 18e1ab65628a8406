//! What `segue serve` stores for runs that produce too much or print colours:
//! limits given as flags reach its workers, and the API returns plain text.

use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::Server;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("limits::serve_stores_bounded_plain_runs", serve_stores_bounded_plain_runs)]
}

fn one_segment(ty: &str, code: &str) -> Value {
    json!({"name": "w", "startSegmentName": "s", "outputParameters": [],
        "segments": [{"name": "s", "type": ty, "prompt": (ty == "ui").then_some("Do it."), "inputParameters": [],
            "outputParameters": [{"name": "text", "type": "string"}],
            "deterministic": code, "next": null, "router": null}]})
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn serve_stores_bounded_plain_runs() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("serve.log");
    let flags = ["--workers", "1", "--max-output-bytes", "2000", "--max-log-lines", "5"];
    let server = Server::start_logged(dir.path(), &flags, &[], &log)?;

    let flood = "async () => { for (let i = 0; i < 50; i++) console.log('\\u001b[31mline\\u001b[0m', i); \
                 return { text: 'x'.repeat(5000) }; }";
    let wf = server.create_workflow(one_segment("logic", flood))?;
    let run = server.start_run(&wf, json!({}))?;
    let done = server.wait_final(&run, Duration::from_secs(60))?;
    check(done["error"]["code"] == "OUTPUT_TOO_LARGE", format!("--max-output-bytes reached the worker: {done}"))?;
    let message = done["error"]["message"].as_str().unwrap_or_default();
    check(message.contains("4.9 KiB (5011 bytes)") && message.contains("at most 2.0 KiB (2000 bytes)"), message)?;
    let segments = server.get(&format!("/v1/runs/{run}/segments"))?;
    let logs = &segments["data"][0]["logs"];
    let want =
        json!(["line 0", "line 1", "line 2", "line 3", "line 4", "… 45 more lines truncated (segment log limit)"]);
    check(*logs == want, format!("logs are cut at --max-log-lines, without colour codes: {logs}"))?;
    let everything = format!("{done}{segments}");
    check(!everything.contains("xxxxxxxxxxxxxxxxxxxx"), "the oversized value is not stored")?;

    let timeout = "async (page) => { await page.locator('#nope').click({ timeout: 100 }); return {}; }";
    let wf = server.create_workflow(one_segment("ui", timeout))?;
    let run = server.start_run(&wf, json!({}))?;
    let done = server.wait_final(&run, Duration::from_secs(60))?;
    let message = done["error"]["message"].as_str().unwrap_or_default();
    check(message.contains("Timeout 100ms exceeded") && message.contains("  - waiting for locator('#nope')"), message)?;
    let segments = server.get(&format!("/v1/runs/{run}/segments"))?;
    check(!format!("{done}{segments}").contains('\u{1b}'), format!("escape codes were stored: {done}"))
}
