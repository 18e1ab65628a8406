//! Sharing workers: time limits a run asks for, and organizations taking turns.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use store::Role;

use crate::support::{TestServer, logic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_asks_for_shorter_time_limits() {
    let server = TestServer::start(0).await;
    server.spawn_workers(1, Duration::from_secs(60)).await;
    let hung = server.create_workflow(logic("async () => { while (true) {} }", json!([]), json!([]))).await;
    let started = Instant::now();
    let run = server
        .post(&format!("/v1/workflows/{hung}/runs"), json!({"segmentTimeoutSeconds": 1.5, "waitSeconds": 50}))
        .await
        .body;
    assert_eq!((run["status"].as_str(), run["error"]["code"].as_str()), (Some("TIMED_OUT"), Some("SEGMENT_TIMEOUT")));
    assert_eq!(run["segmentTimeoutSeconds"], 1.5, "{run}");
    assert!(run["error"]["message"].as_str().unwrap_or("").contains("1.5"), "the message names the limit: {run}");
    assert!(started.elapsed() < Duration::from_secs(40), "the run's limit, not the worker's 60 s");

    let never =
        server.create_workflow(logic("async () => { await new Promise(() => {}); }", json!([]), json!([]))).await;
    let run = server
        .post(&format!("/v1/workflows/{never}/runs"), json!({"runTimeoutSeconds": 1, "waitSeconds": 50}))
        .await
        .body;
    assert_eq!((run["status"].as_str(), run["error"]["code"].as_str()), (Some("TIMED_OUT"), Some("RUN_TIMEOUT")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cannot_ask_for_more_time_than_the_server_allows() {
    let server = TestServer::start(0).await;
    let wf = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
    for (body, field) in [
        (json!({"segmentTimeoutSeconds": 100_000}), "segmentTimeoutSeconds"),
        (json!({"segmentTimeoutSeconds": 0}), "segmentTimeoutSeconds"),
        (json!({"segmentTimeoutSeconds": -3}), "segmentTimeoutSeconds"),
        (json!({"runTimeoutSeconds": 1e12}), "runTimeoutSeconds"),
    ] {
        let refused = server.post(&format!("/v1/workflows/{wf}/runs"), body.clone()).await;
        assert!(refused.status.is_client_error(), "{body}: {}", refused.status);
        assert!(refused.body["error"]["message"].as_str().unwrap_or("").contains(field), "{}", refused.body);
    }
    let runs = server.get("/v1/runs").await.body;
    assert_eq!(runs["data"].as_array().map(Vec::len), Some(0), "nothing was queued: {runs}");
}

/// The case: one organization's two stuck runs (a busy loop and a promise
/// that never settles) must not hold both slots while another organization waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organizations_stuck_runs_leave_a_slot_for_another() {
    let server = TestServer::start(0).await;
    server.spawn_workers(2, Duration::from_secs(60)).await;
    let other = server.store.create_org("other").await.expect("org");
    let (_, other_key) = server.store.create_api_key(&other.id, "admin", Role::Admin).await.expect("key");

    let mut stuck = Vec::new();
    for code in ["async () => { while (true) {} }", "async () => { await new Promise(() => {}); }"] {
        let wf = server.create_workflow(logic(code, json!([]), json!([]))).await;
        stuck.push(server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body["id"].clone());
    }
    let created = server
        .call_as(
            Some(&other_key),
            Method::POST,
            "/v1/workflows",
            Some(json!({"name": "quick", "definition": logic("async () => ({ ok: true })", json!([]), json!([{"name": "ok", "type": "boolean"}]))})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let quick = created.body["id"].as_str().expect("id");
    let started = Instant::now();
    let run = server
        .call_as(
            Some(&other_key),
            Method::POST,
            &format!("/v1/workflows/{quick}/runs"),
            Some(json!({"waitSeconds": 30})),
        )
        .await
        .body;
    assert_eq!(run["status"], "COMPLETED", "the other organization's run waited: {run}");
    eprintln!("the other organization's run finished in {} ms", started.elapsed().as_millis());
    for id in stuck {
        let id = id.as_str().expect("id");
        server.call(Method::POST, &format!("/v1/runs/{id}/cancel"), None).await;
    }
}
