//! `segue runs artifacts`, `segue artifacts link` and `segue runs start
//! --screenshots/--trace` against a real `segue serve`, on every artifact store
//! the environment offers (the data folder, and S3 when `SEGUE_TEST_S3_ENDPOINT` is set).

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::{Server, example, segue_client_as};
use crate::support::{runtime, text};

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("artifacts::listed_downloaded_and_linked_from_the_cli", || {
        for store in testkit::ArtifactStore::available() {
            eprintln!("artifact store: {store:?}");
            listed_downloaded_and_linked(&store)?;
        }
        Ok(())
    })]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// What the download example leaves with a screenshot after every segment.
const REPORT_RUN_FILES: [&str; 5] = [
    "end.png",
    "outputs.json",
    "sales-2026-11.csv",
    "segment-001-nav_to_reports.png",
    "segment-002-download_sales_report.png",
];

fn listed_downloaded_and_linked(store: &testkit::ArtifactStore) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let spelled = store.spelled(dir.path());
    let settings = store.s3_settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_logged(
        &data,
        &["--workers", "1", "--artifact-store", &spelled],
        &env,
        &dir.path().join("serve.log"),
    )?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);

    let doc = dir.path().join("download_report.json");
    std::fs::write(&doc, example("download_report.json")?.to_string())?;
    let created = cli(&["workflows", "create", doc.to_str().unwrap(), "--json"]);
    check(created.status.success(), text(&created.stderr))?;
    let wf = serde_json::from_slice::<Value>(&created.stdout)?["id"].as_str().ok_or("workflow id")?.to_owned();
    let watched = cli(&["runs", "start", &wf, "--screenshots", "every-segment", "--watch", "--json"]);
    check(watched.status.success(), format!("the run: {}", text(&watched.stderr)))?;
    let run = serde_json::from_slice::<Value>(&watched.stdout)?["id"].as_str().ok_or("run id")?.to_owned();

    // Listed: a header, then one row per artifact, the segment's screenshots naming their segment.
    let listed = cli(&["runs", "artifacts", &run]);
    check(listed.status.success(), text(&listed.stderr))?;
    let lines = text(&listed.stdout);
    check(lines.lines().count() == 6, format!("a header and five artifacts: {lines}"))?;
    for (kind, name) in [
        ("download", "sales-2026-11.csv"),
        ("output", "outputs.json"),
        ("screenshot", "end.png"),
        ("screenshot", "segment-001-nav_to_reports.png"),
        ("screenshot", "segment-002-download_sales_report.png"),
    ] {
        check(
            lines.lines().any(|l| l.starts_with("art") && l.contains(&format!("{kind}  ")) && l.contains(name)),
            format!("{kind} {name} listed: {lines}"),
        )?;
    }
    check(
        lines.lines().any(|l| l.contains("segment-001-nav_to_reports.png") && l.ends_with("  nav_to_reports")),
        format!("the segment of a screenshot: {lines}"),
    )?;
    let as_json: Value = serde_json::from_slice(&cli(&["runs", "artifacts", &run, "--json"]).stdout)?;
    let items = as_json["data"].as_array().ok_or("data")?.clone();
    let report = items.iter().find(|a| a["type"] == "download").ok_or("the report")?;
    let report_id = report["id"].as_str().ok_or("report id")?;

    // Downloaded: the bytes the API serves, every file where the command says.
    let into = dir.path().join("downloads/run");
    let downloaded = cli(&["runs", "artifacts", &run, "--download", into.to_str().unwrap()]);
    check(downloaded.status.success(), format!("download: {}", text(&downloaded.stderr)))?;
    check(names_in(&into)? == REPORT_RUN_FILES, format!("the files: {:?}", names_in(&into)?))?;
    for name in REPORT_RUN_FILES {
        let said = format!("-> {}", into.join(name).display());
        check(text(&downloaded.stdout).contains(&said), format!("{said} printed: {}", text(&downloaded.stdout)))?;
    }
    let csv = std::fs::read(into.join("sales-2026-11.csv"))?;
    check(csv == content(&server, report_id)?, "the report's bytes are the API's")?;
    check(text(&csv).lines().count() == 11, format!("a header and 10 rows: {}", text(&csv)))?;
    let outputs: Value = serde_json::from_slice(&std::fs::read(into.join("outputs.json"))?)?;
    check(outputs["report_rows"] == 10, format!("outputs.json: {outputs}"))?;
    check(std::fs::read(into.join("end.png"))?.starts_with(b"\x89PNG"), "end.png is a PNG")?;

    // Again into the same folder: refused before anything is written, even the file
    // that is missing now.
    std::fs::remove_file(into.join("end.png"))?;
    std::fs::write(into.join("outputs.json"), "mine")?;
    let again = cli(&["runs", "artifacts", &run, "--download", into.to_str().unwrap()]);
    check(
        again.status.code() == Some(1) && text(&again.stderr).contains("already exists"),
        format!("a second download: {:?} {}", again.status, text(&again.stderr)),
    )?;
    check(std::fs::read(into.join("outputs.json"))? == b"mine", "an existing file is left as it is")?;
    check(!into.join("end.png").exists(), "nothing is written when some file is there")?;

    // A link opens the bytes without a key.
    let link = cli(&["artifacts", "link", report_id, "--expires-in", "60", "--json"]);
    check(link.status.success(), text(&link.stderr))?;
    let link: Value = serde_json::from_slice(&link.stdout)?;
    check(link["expiresAt"].is_string(), format!("expiresAt with --json: {link}"))?;
    let url = link["url"].as_str().ok_or("url")?.to_owned();
    let opened = runtime().block_on(async { reqwest::get(&url).await?.bytes().await })?;
    check(opened.as_ref() == csv.as_slice(), "the link serves the report")?;
    let plain = cli(&["artifacts", "link", report_id]);
    check(text(&plain.stdout).trim().starts_with("http://"), format!("the url alone: {}", text(&plain.stdout)))?;

    // A missing run, or another organization's: the caller's mistake (exit 2), nothing written.
    let missing = cli(&["runs", "artifacts", "run_missing", "--download", dir.path().join("none").to_str().unwrap()]);
    check(missing.status.code() == Some(2), format!("a missing run: {}", text(&missing.stderr)))?;
    check(!dir.path().join("none").exists(), "no folder for a missing run")?;
    let other_key = other_organization_key(&data)?;
    let theirs = segue_client_as(&server, &other_key, &["runs", "artifacts", &run]);
    check(
        theirs.status.code() == Some(2) && text(&theirs.stderr).contains("404"),
        format!("another organization's run: {}", text(&theirs.stderr)),
    )?;
    let their_link = segue_client_as(&server, &other_key, &["artifacts", "link", report_id]);
    check(their_link.status.code() == Some(2), format!("another organization's artifact: {:?}", their_link.status))?;

    if matches!(store, testkit::ArtifactStore::Local) {
        corrupt_bytes_are_not_kept(&server, &run, dir.path())?;
    }
    more_than_a_page(&server, dir.path())
}

/// The report's stored bytes altered (same size): its download fails on the SHA-256
/// and leaves no file behind.
fn corrupt_bytes_are_not_kept(server: &Server, run: &str, dir: &Path) -> Result<(), Failed> {
    let stored = find_file(&dir.join("artifacts"), "sales-2026-11.csv")?.ok_or("the report's stored bytes")?;
    let mut bytes = std::fs::read(&stored)?;
    bytes[0] ^= 0x20;
    std::fs::write(&stored, bytes)?;
    let into = dir.join("corrupt");
    let failed =
        segue_client_as(server, &server.key, &["runs", "artifacts", run, "--download", into.to_str().unwrap()]);
    check(
        failed.status.code() == Some(1) && text(&failed.stderr).contains("SHA-256"),
        format!("a corrupt download: {:?} {}", failed.status, text(&failed.stderr)),
    )?;
    check(!into.join("sales-2026-11.csv").exists(), "the corrupt file is removed")
}

fn find_file(dir: &Path, name: &str) -> Result<Option<std::path::PathBuf>, Failed> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name)? {
                return Ok(Some(found));
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// A run leaving more artifacts than the API's page (20) lists and downloads them all;
/// `--trace on` reaches the run.
fn more_than_a_page(server: &Server, dir: &Path) -> Result<(), Failed> {
    let steps = 21;
    let segments: Vec<Value> = (1..=steps)
        .map(|i| {
            json!({"name": format!("step{i}"), "type": "logic", "prompt": null, "inputParameters": [],
                "outputParameters": [], "deterministic": "async () => ({})",
                "next": if i < steps { json!(format!("step{}", i + 1)) } else { Value::Null }, "router": null})
        })
        .collect();
    let wf = server.create_workflow(json!({"name": "steps", "startSegmentName": "step1", "segments": segments}))?;
    let cli = |args: &[&str]| segue_client_as(server, &server.key, args);
    let watched = cli(&["runs", "start", &wf, "--screenshots", "every-segment", "--trace", "on", "--watch", "--json"]);
    check(watched.status.success(), format!("the run: {}", text(&watched.stderr)))?;
    let run = serde_json::from_slice::<Value>(&watched.stdout)?["id"].as_str().ok_or("run id")?.to_owned();
    // 21 segment screenshots, end.png, outputs.json, trace.zip.
    let expected = steps + 3;
    let listed = text(&cli(&["runs", "artifacts", &run]).stdout);
    check(listed.lines().count() == expected + 1, format!("a header and {expected} artifacts: {listed}"))?;
    check(listed.lines().any(|l| l.contains("trace.zip")), format!("the trace: {listed}"))?;
    let into = dir.join("steps");
    let downloaded = cli(&["runs", "artifacts", &run, "--download", into.to_str().unwrap()]);
    check(downloaded.status.success(), format!("download: {}", text(&downloaded.stderr)))?;
    check(names_in(&into)?.len() == expected, format!("every page downloaded: {:?}", names_in(&into)?))
}

fn names_in(dir: &Path) -> Result<Vec<String>, Failed> {
    let mut names = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, std::io::Error>>()?;
    names.sort();
    Ok(names)
}

/// The artifact's bytes as `GET /v1/artifacts/{id}/content` serves them.
fn content(server: &Server, id: &str) -> Result<Vec<u8>, Failed> {
    let url = format!("{}/v1/artifacts/{id}/content", server.base);
    let bytes = runtime().block_on(async {
        reqwest::Client::new().get(&url).bearer_auth(&server.key).send().await?.error_for_status()?.bytes().await
    })?;
    Ok(bytes.to_vec())
}

/// An admin key of a second organization, made in the server's SQLite database.
fn other_organization_key(data: &Path) -> Result<String, Failed> {
    runtime().block_on(async {
        let store = store::Store::open_sqlite(&data.join("segue.db")).await?;
        let org = store.create_org("other").await?;
        let (_, key) = store.create_api_key(&org.id, "other", store::Role::Admin).await?;
        Ok(key)
    })
}
