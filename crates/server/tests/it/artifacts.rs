use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use store::Role;

use crate::support::{Setup, TestServer};

/// The download example through the API: its report, screenshots after every
/// segment and at the end, and the outputs, listed, read whole and by range,
/// and shared by a signed link; on the local store and on S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_leaves_artifacts_read_by_key_by_range_and_by_signed_link() {
    for artifacts in testkit::ArtifactStore::available() {
        eprintln!("artifact store: {artifacts:?}");
        let server = TestServer::start_setup(Setup { artifacts, ..Setup::new(1) }).await;
        artifacts_of_a_run(&server).await;
    }
}

async fn artifacts_of_a_run(server: &TestServer) {
    let wf = server.create_workflow(server.example("download_report.json")).await;
    let bad = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"artifacts": {"trace": "always"}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body["error"]["message"].as_str().unwrap_or_default().contains("artifacts.trace"), "{}", bad.body);
    let asked = json!({"waitSeconds": 60, "artifacts": {"screenshots": "every-segment"}, "test": true});
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), asked).await.body;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    let run_id = run["id"].as_str().unwrap();

    let listed = server.get(&format!("/v1/runs/{run_id}/artifacts")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let items = listed.body["data"].as_array().unwrap().clone();
    let mut kinds: Vec<(String, String)> =
        items.iter().map(|a| (a["type"].as_str().unwrap().into(), a["name"].as_str().unwrap().into())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("download".into(), "sales-2026-11.csv".into()),
            ("output".into(), "outputs.json".into()),
            ("screenshot".into(), "end.png".into()),
            ("screenshot".into(), "segment-001-nav_to_reports.png".into()),
            ("screenshot".into(), "segment-002-download_sales_report.png".into()),
        ]
    );
    let report = items.iter().find(|a| a["type"] == "download").unwrap();
    for field in ["id", "runId", "workflowId", "contentType", "size", "sha256", "createdAt"] {
        assert!(!report[field].is_null(), "{field}: {report}");
    }
    assert_eq!(
        (report["runId"].as_str(), report["workflowId"].as_str(), &report["test"]),
        (Some(run_id), Some(wf.as_str()), &json!(true))
    );
    let id = report["id"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v1/artifacts/{id}")).await.body["name"], "sales-2026-11.csv");
    let by_workflow = server.get(&format!("/v1/workflows/{wf}/artifacts")).await.body;
    assert_eq!(by_workflow["data"].as_array().map(Vec::len), Some(5));

    // The bytes, whole and by range.
    let http = reqwest::Client::new();
    let content = format!("{}/v1/artifacts/{id}/content", server.base);
    let whole = http.get(&content).bearer_auth(&server.admin_key).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["content-type"], "text/csv");
    assert!(whole.headers()["content-disposition"].to_str().unwrap().contains("sales-2026-11.csv"));
    let text = whole.text().await.unwrap();
    assert_eq!(text.len() as i64, report["size"].as_i64().unwrap());
    assert_eq!(text.lines().count(), 11, "a header and 10 rows: {text}");
    let part = http.get(&content).bearer_auth(&server.admin_key).header("range", "bytes=0-3").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], format!("bytes 0-3/{}", text.len()));
    assert_eq!(part.text().await.unwrap(), text[..4]);
    let outside =
        http.get(&content).bearer_auth(&server.admin_key).header("range", "bytes=999999-").send().await.unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(http.get(&content).send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "no key, no link");

    // Another organization sees none of it.
    let other = server.store.create_org("other").await.unwrap();
    let (_, other_key) = server.store.create_api_key(&other.id, "admin", Role::Admin).await.unwrap();
    for path in
        [format!("/v1/runs/{run_id}/artifacts"), format!("/v1/artifacts/{id}"), format!("/v1/artifacts/{id}/content")]
    {
        assert_eq!(
            server.call_as(Some(&other_key), Method::GET, &path, None).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let theirs =
        server.call_as(Some(&other_key), Method::POST, &format!("/v1/artifacts/{id}/link"), Some(json!({}))).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // A signed link works without a key until it expires, and not at all once altered.
    let link = server.post(&format!("/v1/artifacts/{id}/link"), json!({"expiresInSeconds": 2})).await.body;
    let url = link["url"].as_str().expect("a url").to_owned();
    assert!(link["expiresAt"].is_string());
    assert_eq!(http.get(&url).send().await.unwrap().text().await.unwrap(), text);
    let tampered = url.replace(&id[..id.len() - 1], &format!("{}x", &id[..id.len() - 1]));
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let later = url.replace("expires=", "expires=9");
    assert_eq!(http.get(&later).send().await.unwrap().status(), StatusCode::FORBIDDEN, "a longer life is not signed");
    let too_long = server.post(&format!("/v1/artifacts/{id}/link"), json!({"expiresInSeconds": 8 * 24 * 3600})).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(http.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN, "expired");

    // A deleted workflow's artifacts stay readable, like its runs.
    assert_eq!(server.call(Method::DELETE, &format!("/v1/workflows/{wf}"), None).await.status, StatusCode::NO_CONTENT);
    let after = http.get(&content).bearer_auth(&server.admin_key).send().await.unwrap();
    assert_eq!((after.status(), after.text().await.unwrap()), (StatusCode::OK, text));
    assert_eq!(
        server.get(&format!("/v1/runs/{run_id}/artifacts")).await.body["data"].as_array().map(Vec::len),
        Some(5)
    );
}

/// With a retention period, old artifacts lose their bytes and their records, and
/// the metrics count them; bytes gone from under a record answer 404, not 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_older_than_the_retention_period_are_removed() {
    for artifacts in testkit::ArtifactStore::available() {
        eprintln!("artifact store: {artifacts:?}");
        let keep = Duration::from_secs(2);
        let server =
            TestServer::start_setup(Setup { artifacts, artifact_retention: Some(keep), ..Setup::new(1) }).await;
        let wf = server.create_workflow(server.example("download_report.json")).await;
        let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await.body;
        assert_eq!(run["status"], "COMPLETED", "{run}");
        let listing = format!("/v1/runs/{}/artifacts", run["id"].as_str().unwrap());
        let items = server.get(&listing).await.body["data"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3, "the report, the end screenshot and the outputs: {items:?}");

        let mut keys = Vec::new();
        for item in &items {
            keys.push(server.store.artifact_for_link(item["id"].as_str().unwrap()).await.unwrap().object_key);
        }
        // Bytes removed behind the record's back (another store, a hand-cleaned bucket).
        let report = items.iter().find(|a| a["type"] == "download").unwrap()["id"].as_str().unwrap().to_owned();
        let record = server.store.artifact_for_link(&report).await.unwrap();
        server.blobs.delete(&record.object_key).await.unwrap();
        let missing = server.get(&format!("/v1/artifacts/{report}/content")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
        assert!(missing.body["error"]["message"].as_str().unwrap().contains("artifact store"), "{}", missing.body);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !server.get(&listing).await.body["data"].as_array().unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "artifacts outlived their retention");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for item in &items {
            let key = server.store.artifact_for_link(item["id"].as_str().unwrap()).await;
            assert!(key.is_err(), "the record is gone: {item}");
        }
        for key in &keys {
            assert!(matches!(server.blobs.get(key, None).await, Err(blobs::Error::NotFound(_))), "bytes gone: {key}");
        }
        let metrics = server.call_as(None, Method::GET, "/metrics", None).await.body;
        let expired = metrics
            .as_str()
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("segue_artifacts_expired_total "))
            .and_then(|n| n.parse::<f64>().ok());
        assert!(expired.is_some_and(|n| n >= 3.0), "{metrics}");
        // A newer run's artifacts are still there.
        let second = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await.body;
        let listing = format!("/v1/runs/{}/artifacts", second["id"].as_str().unwrap());
        assert_eq!(server.get(&listing).await.body["data"].as_array().map(Vec::len), Some(3));
    }
}
