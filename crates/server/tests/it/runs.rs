use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, logic, scripted_shop_agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waited_for_completes_with_outputs_and_segments() {
    let server = TestServer::start(1).await;
    let wf = server.create_workflow(server.example("shop_price_check.json")).await;
    let started = server
        .post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"search_query": "mug"}, "waitSeconds": 60}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "finished within waitSeconds: {}", started.body);
    let run = &started.body;
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(
        run["outputs"],
        json!({"top_result_title": "Stainless Steel Travel Mug 16oz", "top_result_price": 18.99})
    );
    assert_eq!((run["workflowVersion"].as_i64(), run["error"].clone()), (Some(1), Value::Null));
    for field in ["createdAt", "startedAt", "completedAt"] {
        assert!(run[field].is_string(), "{field}");
    }
    let id = run["id"].as_str().unwrap();
    let segments = server.get(&format!("/v1/runs/{id}/segments")).await.body;
    let names: Vec<_> = segments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sequence"].clone(), s["segmentName"].clone(), s["mode"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            (json!(1), json!("nav_to_shop"), json!("code")),
            (json!(2), json!("search_product"), json!("code")),
            (json!(3), json!("extract_top_result"), json!("code")),
        ]
    );
    let metrics = server.call_as(None, Method::GET, "/metrics", None).await.body;
    let metrics = metrics.as_str().unwrap_or_default();
    assert!(metrics.contains("segue_runs{status=\"COMPLETED\"} 1"), "{metrics}");
    assert!(metrics.contains("segue_queue_depth 0") && metrics.contains("segue_segment_duration_seconds"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_redacted_in_the_api_and_sealed_at_rest() {
    let server = TestServer::start(1).await;
    let wf = server.create_workflow(server.example("login_with_otp.json")).await;
    let inputs = json!({"username": "demo", "password": "demo-password", "otp_code": "246810"});
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": inputs, "waitSeconds": 60})).await.body;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(run["inputs"], json!({"username": "demo", "password": "********", "otp_code": "********"}));
    assert_eq!(run["outputs"]["account_number"], "ACC-20931");
    let everything = format!("{run}{}", server.get("/v1/runs").await.body);
    assert!(!everything.contains("demo-password") && !everything.contains("246810"));
    server.store.close().await;
    // Every file of the service's data, the run's artifacts included.
    let mut folders = vec![server.data_dir().to_owned()];
    let mut files = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(!text.contains("demo-password") && !text.contains("246810"), "{} holds a secret", path.display());
            files += 1;
        }
    }
    assert!(files > 3, "the database, the key and the run's artifacts were read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_segment_and_mask_secrets() {
    let server = TestServer::start(1).await;
    let doc = logic(
        "async (page, parameters) => { throw new Error('login refused for ' + parameters.token); }",
        json!([{"name": "token", "type": "secret"}]),
        json!([]),
    );
    let wf = server.create_workflow(doc).await;
    let run = server
        .post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"token": "tok-777"}, "waitSeconds": 60}))
        .await
        .body;
    assert_eq!(run["status"], "FAILED");
    assert_eq!(
        run["error"],
        json!({"segmentName": "only", "code": "SEGMENT_THREW", "message": "login refused for ********"})
    );
    let segments = server.get(&format!("/v1/runs/{}/segments", run["id"].as_str().unwrap())).await.body;
    assert_eq!(segments["data"][0]["status"], "FAILED");
    assert!(!segments.to_string().contains("tok-777"));
}

#[tokio::test]
async fn invalid_inputs_are_rejected_before_queueing() {
    let server = TestServer::start(0).await;
    let wf = server.create_workflow(server.example("shop_price_check.json")).await;
    let r = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"max_price": "cheap"}})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("INVALID_INPUTS"))
    );
    let names: Vec<_> =
        r.body["error"]["details"]["inputs"].as_array().unwrap().iter().map(|i| i["name"].clone()).collect();
    assert_eq!(names, [json!("search_query"), json!("max_price")]);
    for body in [
        json!({"version": "v2"}),
        json!({"waitSeconds": -1}),
        json!({"maxAttempts": 0}),
        json!({"inputs": {"search_query": "x"}, "version": 7}),
    ] {
        assert!(
            server.post(&format!("/v1/workflows/{wf}/runs"), body.clone()).await.status.is_client_error(),
            "{body}"
        );
    }
    assert_eq!(server.get("/v1/runs").await.body["data"], json!([]), "no run was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_executes_the_definition_it_was_started_with() {
    let server = TestServer::start(0).await;
    let version =
        |v: &str| logic(&format!("async () => ({{ v: '{v}' }})"), json!([]), json!([{"name": "v", "type": "string"}]));
    let wf = server.create_workflow(version("one")).await;
    let queued = server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body;
    server.call(Method::PATCH, &format!("/v1/workflows/{wf}"), Some(json!({"definition": version("two")}))).await;
    server.call(Method::PUT, &format!("/v1/workflows/{wf}/draft"), Some(json!({"definition": version("draft")}))).await;
    let draft_run =
        server.post(&format!("/v1/workflows/{wf}/runs"), json!({"version": "draft", "test": true})).await.body;
    server.spawn_workers(2, Duration::from_secs(60)).await;
    let first = server.wait_final(queued["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!((first["outputs"]["v"].as_str(), first["workflowVersion"].as_i64()), (Some("one"), Some(1)));
    let draft = server.wait_final(draft_run["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!((draft["outputs"]["v"].as_str(), draft["workflowVersion"].clone()), (Some("draft"), Value::Null));
    let tests = server.get("/v1/runs?test=true").await.body;
    assert_eq!(tests["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        server.get(&format!("/v1/runs?workflowId={wf}&status=COMPLETED")).await.body["data"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_pending_and_running_runs() {
    let server = TestServer::start(0).await;
    let wf = server.create_workflow(logic("async () => { await new Promise(() => {}); }", json!([]), json!([]))).await;
    let pending = server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body;
    let cancelled =
        server.post(&format!("/v1/runs/{}/cancel", pending["id"].as_str().unwrap()), json!(null)).await.body;
    assert_eq!(cancelled["status"], "CANCELLED");
    let running = server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body;
    let id = running["id"].as_str().unwrap();
    server.spawn_workers(1, Duration::from_secs(120)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.get(&format!("/v1/runs/{id}")).await.body["currentSegmentName"] != "only" {
        assert!(tokio::time::Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let asked = std::time::Instant::now();
    server.post(&format!("/v1/runs/{id}/cancel"), json!(null)).await;
    let done = server.wait_final(id, Duration::from_secs(10)).await;
    assert_eq!((done["status"].as_str(), done["error"]["code"].as_str()), (Some("CANCELLED"), Some("CANCELLED")));
    eprintln!("cancelled {} ms after the request", asked.elapsed().as_millis());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_over_its_limit_times_the_run_out() {
    let server = TestServer::start(0).await;
    server.spawn_workers(1, Duration::from_secs(2)).await;
    let wf = server.create_workflow(logic("async () => { while (true) {} }", json!([]), json!([]))).await;
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await.body;
    assert_eq!((run["status"].as_str(), run["error"]["code"].as_str()), (Some("TIMED_OUT"), Some("SEGMENT_TIMEOUT")));
    assert_eq!(run["error"]["segmentName"], "only");
    // The killed run's runner is gone; the worker's shared browser still serves the next run.
    let ok = server.create_workflow(server.example("shop_price_check.json")).await;
    let next = server
        .post(&format!("/v1/workflows/{ok}/runs"), json!({"inputs": {"search_query": "mug"}, "waitSeconds": 60}))
        .await
        .body;
    assert_eq!(next["status"], "COMPLETED", "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_segments_and_the_end() {
    let server = TestServer::start(1).await;
    let wf = server.create_workflow(server.example("shop_price_check.json")).await;
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"search_query": "lamp"}})).await.body;
    let response = reqwest::Client::new()
        .get(format!("{}/v1/runs/{}/events", server.base, run["id"].as_str().unwrap()))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(60), response.text())
        .await
        .expect("the stream ends with the run")
        .unwrap();
    let events: Vec<&str> = body.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events.iter().filter(|e| **e == "segment").count(), 3, "{body}");
    assert_eq!(events.last(), Some(&"end"), "{body}");
    assert!(body.contains("Desk Lamp with USB Port"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_fallback_is_recorded_on_the_run_and_its_segments() {
    let server = TestServer::start(0).await;
    let (agent, _model) = scripted_shop_agent().await;
    server.spawn_workers_with_agent(1, Duration::from_secs(60), Some(agent)).await;
    let wf = server.create_workflow(server.example("shop_price_check_redesigned.json")).await;
    let run = server
        .post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"search_query": "bottle"}, "waitSeconds": 90}))
        .await
        .body;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(run["outputs"]["top_result_title"], "Insulated Water Bottle 1L");
    assert_eq!(run["aiFallback"], true);
    assert!(run["inputTokens"].as_i64().unwrap() > 0 && run["outputTokens"].as_i64().unwrap() > 0, "{run}");
    let segments = server.get(&format!("/v1/runs/{}/segments", run["id"].as_str().unwrap())).await.body;
    let search = &segments["data"][1];
    assert_eq!(
        (search["segmentName"].as_str(), search["mode"].as_str()),
        (Some("search_product"), Some("AI Fallback"))
    );
    assert_eq!(search["fallbackError"]["code"], "SEGMENT_THREW");
    assert!(search["logs"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("fill {")), "{search}");
    assert_eq!(segments["data"][0]["mode"], "code");
    assert_eq!(segments["data"][0]["inputTokens"], Value::Null);
}

/// After a run completed by fallback, the worker saves a healed draft (never
/// published) and checks it without AI; the draft then runs as code alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_run_leaves_a_checked_healed_draft() {
    let server = TestServer::start(0).await;
    let (agent, model) = scripted_shop_agent().await;
    server.spawn_workers_with_agent(1, Duration::from_secs(60), Some(agent)).await;
    let wf = server.create_workflow(server.example("shop_price_check_redesigned.json")).await;
    let run = server
        .post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"search_query": "mug"}, "waitSeconds": 90}))
        .await
        .body;
    assert_eq!((run["status"].as_str(), run["aiFallback"].as_bool()), (Some("COMPLETED"), Some(true)), "{run}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let draft = loop {
        let draft = server.get(&format!("/v1/workflows/{wf}/draft")).await;
        if draft.status == StatusCode::OK && draft.body["healing"]["checkStatus"] != "PENDING" {
            break draft.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no checked healed draft: {}", draft.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let healing = &draft["healing"];
    assert_eq!(
        (healing["checkStatus"].as_str(), healing["fromRunId"].as_str()),
        (Some("PASSED"), run["id"].as_str()),
        "{healing}"
    );
    assert_eq!(healing["notes"].as_array().unwrap().len(), 2, "{healing}");
    assert_eq!(server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await.body["healedDraft"], true);
    assert_eq!(server.get(&format!("/v1/workflows/{wf}")).await.body["latestVersion"], 1, "never published");
    let requests = model.request_count();
    let healed = server
        .post(
            &format!("/v1/workflows/{wf}/runs"),
            json!({"inputs": {"search_query": "keyboard"}, "version": "draft", "waitSeconds": 90}),
        )
        .await
        .body;
    assert_eq!(healed["outputs"]["top_result_title"], "Mechanical Keyboard with Brown Switches", "{healed}");
    assert_eq!(
        (healed["aiFallback"].as_bool(), model.request_count()),
        (Some(false), requests),
        "the draft needs no model"
    );
}

/// Workers here may reach private addresses (the demo site is on loopback),
/// but never the API they serve, whichever way it is spelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_network_access_never_opens_the_service_itself() {
    let server = TestServer::start(1).await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    for url in [format!("{}/healthz", server.base), format!("http://localhost:{port}/metrics")] {
        let code = format!("async (page) => {{ await page.goto('{url}').catch(() => {{}}); return {{}}; }}");
        let wf = server.create_workflow(logic(&code, json!([]), json!([]))).await;
        let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await.body;
        assert_eq!(run["status"], "FAILED", "{url}: {run}");
        assert_eq!(run["error"]["code"], "EGRESS_DENIED", "{url}: {run}");
        let message = run["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("127.0.0.1:{port}")) && message.contains("segue's own services"),
            "{message}"
        );
    }
    let wf = server.create_workflow(server.example("shop_price_check.json")).await;
    let run = server
        .post(&format!("/v1/workflows/{wf}/runs"), json!({"inputs": {"search_query": "mug"}, "waitSeconds": 60}))
        .await
        .body;
    assert_eq!(run["status"], "COMPLETED", "the demo site on loopback stays reachable: {run}");
}
