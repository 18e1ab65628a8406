//! The dashboard in Chromium: `crates/dashboard/tests/e2e.mjs` drives it with the
//! runner's playwright-core against this service (workers, the demo site) through
//! sign-in, creating a workflow from a file, a run watched live, a failed run's
//! error and screenshot, a run waiting for input, and an artifact's download.
//! `SEGUE_DASHBOARD_SCREENSHOTS=DIR` also saves pictures of the main pages there, a
//! relative `DIR` under the repository (`docs/dashboard` holds the committed ones).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;

/// Long enough for Chromium to start on a loaded CI machine; the script itself takes ~20 s.
const SCRIPT_LIMIT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_drives_runs_in_a_browser() {
    let server = TestServer::start(2).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("greet_visitor.json");
    std::fs::write(&file, serde_json::to_string_pretty(&greet_visitor(&server.demo)).expect("JSON")).expect("write");

    let failing = create(&server, "click_missing", fails_on_missing_element(&server.demo)).await;
    let failed = server.post(&format!("/v1/workflows/{failing}/runs"), json!({"waitSeconds": 60})).await;
    assert_eq!(failed.body["status"], "FAILED", "{}", failed.body);
    let download = create(&server, "download_report", server.example("download_report.json")).await;
    let asked = json!({"waitSeconds": 60, "artifacts": {"screenshots": "every-segment"}});
    let downloaded = server.post(&format!("/v1/workflows/{download}/runs"), asked).await;
    assert_eq!(downloaded.body["status"], "COMPLETED", "{}", downloaded.body);

    let options = testkit::runner_options();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut script = tokio::process::Command::new(program(&options.node, &options.search_path));
    script
        .arg(root.join("crates/dashboard/tests/e2e.mjs"))
        .env("SEGUE_URL", &server.base)
        .env("SEGUE_KEY", &server.admin_key)
        .env("RUNNER_DIR", &options.runner_dir)
        .env("CHROMIUM", &options.chromium)
        .env("WORKFLOW_FILE", &file)
        .env("FAILED_RUN", failed.body["id"].as_str().expect("id"))
        .env("DOWNLOAD_RUN", downloaded.body["id"].as_str().expect("id"))
        .kill_on_drop(true);
    if let Some(shots) = std::env::var_os("SEGUE_DASHBOARD_SCREENSHOTS") {
        std::fs::create_dir_all(root.join(&shots)).expect("screenshot folder");
        // A relative folder is the repository's (tests run in the crate's folder).
        script.env("SCREENSHOTS", root.join(shots));
    }
    let output = tokio::time::timeout(SCRIPT_LIMIT, script.output())
        .await
        .expect("the dashboard script finished in time")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the dashboard script failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("dashboard e2e passed"), "{stdout}\n{stderr}");

    // The page the script created a workflow and started runs through is the API's.
    let runs = server.get("/v1/runs?limit=100").await;
    assert_eq!(runs.status, StatusCode::OK);
    let greetings = runs.body["data"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["workflowId"] != failing && r["workflowId"] != download)
        .count();
    assert_eq!(greetings, 2, "{}", runs.body);
}

/// The dashboard's unknown paths stay the API's: JSON 404s, and `/v1` untouched.
#[tokio::test]
async fn the_dashboard_leaves_unknown_routes_to_the_api() {
    let server = TestServer::start(0).await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{}/", server.base)).send().await.expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"].to_str().unwrap_or_default().contains("frame-ancestors 'none'"));
    for path in ["/v1/nope", "/assets/nope.js", "/nope"] {
        let missing = server.get(path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        if path.starts_with("/v1") || path == "/nope" {
            assert_eq!(missing.body["error"]["code"], "NOT_FOUND", "{path}: {}", missing.body);
        }
    }
}

/// A workflow named for the pictures of the pages that show it.
async fn create(server: &TestServer, name: &str, definition: serde_json::Value) -> String {
    let created =
        server.post("/v1/workflows", json!({"name": name, "sourceProvider": "demo", "definition": definition})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().expect("id").to_owned()
}

/// `name` as given when it is a path, else the first match in `search_path`.
fn program(name: &Path, search_path: &[PathBuf]) -> PathBuf {
    if name.components().count() > 1 {
        return name.to_owned();
    }
    search_path.iter().map(|dir| dir.join(name)).find(|p| p.is_file()).unwrap_or_else(|| name.to_owned())
}

/// Opens the demo shop, then greets after a pause long enough to watch it run.
fn greet_visitor(demo: &str) -> serde_json::Value {
    let who = json!({"name": "who", "type": "string", "required": true, "description": "Who to greet"});
    let mood = json!({"name": "mood", "type": "string", "required": false, "defaultValue": "happy", "options": ["happy", "calm"]});
    let token = json!({"name": "token", "type": "secret", "required": false, "description": "Masked everywhere"});
    let greeting = json!({"name": "greeting", "type": "string", "required": true});
    json!({
        "name": "greet_visitor", "startSegmentName": "open_shop",
        "inputParameters": [who, mood, token], "outputParameters": [greeting],
        "segments": [
            {"name": "open_shop", "type": "ui", "prompt": "Open the shop.", "inputParameters": [], "outputParameters": [],
             "deterministic": format!("async (page) => {{ await page.goto('{demo}/shop/'); return {{}}; }}"),
             "next": "wait_and_greet", "router": null},
            {"name": "wait_and_greet", "type": "ui", "prompt": "Greet them.", "inputParameters": [who, mood],
             "outputParameters": [greeting],
             "deterministic": "async (page, parameters) => { await new Promise((r) => setTimeout(r, 2000)); console.log(`greeting for ${parameters.who}`); return { greeting: `${parameters.mood} hello, ${parameters.who}` }; }",
             "next": null, "router": null}
        ]
    })
}

/// Fails in a page that shows something, so the end screenshot is worth a look.
fn fails_on_missing_element(demo: &str) -> serde_json::Value {
    json!({
        "name": "click_missing", "startSegmentName": "click_missing", "inputParameters": [], "outputParameters": [],
        "segments": [{"name": "click_missing", "type": "ui", "prompt": "Click the missing button.", "inputParameters": [],
            "outputParameters": [], "next": null, "router": null,
            "deterministic": format!("async (page) => {{ await page.goto('{demo}/shop/'); await page.locator('#gone').click({{ timeout: 500 }}); return {{}}; }}")}]
    })
}
