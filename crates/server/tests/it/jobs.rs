//! Jobs through the API: definitions checked and snapshotted, job runs that run
//! their workflows in order in real Chromium, schedules that fire once per due time.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::Role;

use crate::support::{Database, Setup, TestServer, logic, logins, read_account};

/// A workflow echoing its `tag` input (required) as `echoed`.
fn echo() -> Value {
    let string = json!([{"name": "tag", "type": "string", "required": true}]);
    logic("async (page, p) => ({ echoed: p.tag })", string, json!([{"name": "echoed", "type": "string"}]))
}

/// A workflow whose code throws.
fn broken() -> Value {
    logic("async () => { throw new Error('the report button is gone'); }", json!([]), json!([]))
}

async fn wait_job_run(server: &TestServer, id: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let run = server.get(&format!("/v1/job-runs/{id}")).await.body;
        if matches!(run["status"].as_str(), Some("COMPLETED" | "FAILED" | "CANCELLED")) {
            return run;
        }
        assert!(tokio::time::Instant::now() < deadline, "job run {id} did not end: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn field(response: &crate::support::Response) -> &str {
    response.body["error"]["details"]["field"].as_str().unwrap_or("")
}

/// Definitions are checked (unknown, foreign or deleted workflows, versions and
/// inputs are 422s naming the entry), job runs snapshot them, required inputs no
/// source provides are refused naming the workflow, and other organizations see nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_checked_snapshotted_and_private() {
    let server = TestServer::start(0).await;
    let (a, b) = (server.create_workflow(echo()).await, server.create_workflow(broken()).await);
    let other = server.store.create_org("other").await.unwrap();
    let (_, other_key) = server.store.create_api_key(&other.id, "admin", Role::Admin).await.unwrap();
    let foreign = server
        .call_as(Some(&other_key), Method::POST, "/v1/workflows", Some(json!({"name": "f", "definition": echo()})))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = server.create_workflow(echo()).await;
    server.call(Method::DELETE, &format!("/v1/workflows/{deleted}"), None).await;

    for (order, at) in [
        (json!(["wf_nope"]), "workflowExecutionOrder[0]"),
        (json!([a, foreign]), "workflowExecutionOrder[1]"),
        (json!([deleted]), "workflowExecutionOrder[0]"),
        (json!([{"workflowId": a, "version": 9}]), "workflowExecutionOrder[0]"),
        (json!([{"workflowId": a, "inputs": {"shoe": "9"}}]), "workflowExecutionOrder[0]"),
        (json!([{"workflowId": a, "extra": 1}]), "workflowExecutionOrder[0]"),
        (json!([a, 7]), "workflowExecutionOrder[1]"),
        (json!([]), "workflowExecutionOrder"),
    ] {
        let refused = server.post("/v1/jobs", json!({"name": "j", "workflowExecutionOrder": order.clone()})).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{order}: {}", refused.body);
        assert_eq!(field(&refused), at, "{order}: {}", refused.body);
    }
    // A name that is a secret in one workflow and plain text in another.
    let secret =
        server.create_workflow(logic("async () => ({})", json!([{"name": "tag", "type": "secret"}]), json!([]))).await;
    let clash = server.post("/v1/jobs", json!({"name": "j", "workflowExecutionOrder": [secret, a]})).await;
    assert_eq!(field(&clash), "workflowExecutionOrder[1]", "{}", clash.body);
    let unknown_identity = json!({"name": "j", "workflowExecutionOrder": [a], "identityId": "idn_nope"});
    assert_eq!(field(&server.post("/v1/jobs", unknown_identity).await), "identityId");

    let order =
        json!([a, {"workflowId": b, "version": 1}, {"workflowId": a, "version": "latest", "inputs": {"tag": "fixed"}}]);
    let created = server
        .post(
            "/v1/jobs",
            json!({"name": "nightly", "sourceProvider": "demo", "workflowExecutionOrder": order, "description": "d"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let job = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["workflowExecutionOrder"][0], json!({"workflowId": a, "version": "latest", "inputs": {}}));
    assert_eq!(created.body["workflowExecutionOrder"][2]["inputs"]["tag"], "fixed");
    for key in ["name", "sourceProvider", "identityId", "createdAt", "updatedAt"] {
        assert!(created.body.get(key).is_some(), "{key}: {}", created.body);
    }
    assert_eq!(server.get("/v1/jobs").await.body["data"].as_array().map(Vec::len), Some(1));

    // The first workflow needs `tag`; the third has it fixed.
    let missing = server.post(&format!("/v1/jobs/{job}/runs"), json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);
    let problems = missing.body["error"]["details"]["inputs"].as_array().cloned().unwrap_or_default();
    assert_eq!(problems.len(), 1, "{}", missing.body);
    assert_eq!((&problems[0]["workflowId"], &problems[0]["name"]), (&json!(a), &json!("tag")), "{}", missing.body);
    assert!(missing.body["error"]["message"].as_str().unwrap().contains(&a), "{}", missing.body);
    let typo = server.post(&format!("/v1/jobs/{job}/runs"), json!({"inputs": {"tag": "x", "tga": "y"}})).await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", typo.body);

    let started = server.post(&format!("/v1/jobs/{job}/runs"), json!({"inputs": {"tag": "t1"}, "test": true})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let job_run = started.body.clone();
    let job_run_id = job_run["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&job_run["status"], &job_run["trigger"], &job_run["test"]),
        (&json!("PENDING"), &json!("api"), &json!(true))
    );
    let steps = job_run["workflowRuns"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{job_run}");
    assert_eq!((&steps[0]["workflowId"], &steps[0]["status"]), (&json!(a), &json!("PENDING")));
    assert!(steps[0]["runId"].is_string() && steps[1]["runId"].is_null(), "{job_run}");
    let first = steps[0]["runId"].as_str().unwrap();
    let run = server.get(&format!("/v1/runs/{first}")).await.body;
    assert_eq!(
        (&run["jobRunId"], &run["inputs"]["tag"], &run["test"]),
        (&json!(job_run_id), &json!("t1"), &json!(true))
    );
    let listed = server.get(&format!("/v1/runs?jobRunId={job_run_id}")).await.body;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");

    // Later edits leave the job run as it was created.
    let edited = server
        .call(
            Method::PATCH,
            &format!("/v1/jobs/{job}"),
            Some(json!({"workflowExecutionOrder": [b], "name": "renamed"})),
        )
        .await;
    assert_eq!((edited.status, &edited.body["name"]), (StatusCode::OK, &json!("renamed")), "{}", edited.body);
    assert_eq!(edited.body["workflowExecutionOrder"].as_array().map(Vec::len), Some(1));
    let still = server.get(&format!("/v1/job-runs/{job_run_id}")).await.body;
    assert_eq!(still["workflowRuns"].as_array().map(Vec::len), Some(3), "{still}");
    let bad_edit =
        server.call(Method::PATCH, &format!("/v1/jobs/{job}"), Some(json!({"workflowExecutionOrder": ["wf_x"]}))).await;
    assert_eq!(bad_edit.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_edit.body);

    // Lists by job and status; cancelling skips everything.
    let by_job = server.get(&format!("/v1/job-runs?jobId={job}&status=PENDING")).await.body;
    assert_eq!(by_job["data"][0]["id"], job_run_id.as_str(), "{by_job}");
    assert_eq!(server.get("/v1/job-runs?status=NOPE").await.status, StatusCode::BAD_REQUEST);
    let cancelled = server.post(&format!("/v1/job-runs/{job_run_id}/cancel"), json!({})).await.body;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    let statuses: Vec<&str> =
        cancelled["workflowRuns"].as_array().unwrap().iter().filter_map(|s| s["status"].as_str()).collect();
    assert_eq!(statuses, ["CANCELLED", "SKIPPED", "SKIPPED"], "{cancelled}");

    // Another organization sees none of it.
    let schedule = server.post(&format!("/v1/jobs/{job}/schedules"), json!({"cron": "0 9 * * *"})).await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.body);
    let schedule_id = schedule.body["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::GET, format!("/v1/jobs/{job}"), None),
        (Method::PATCH, format!("/v1/jobs/{job}"), Some(json!({"name": "stolen"}))),
        (Method::POST, format!("/v1/jobs/{job}/runs"), Some(json!({}))),
        (Method::GET, format!("/v1/job-runs/{job_run_id}"), None),
        (Method::POST, format!("/v1/job-runs/{job_run_id}/cancel"), None),
        (Method::GET, format!("/v1/job-runs/{job_run_id}/events"), None),
        (Method::GET, format!("/v1/jobs/{job}/schedules"), None),
        (Method::GET, format!("/v1/schedules/{schedule_id}"), None),
        (Method::PATCH, format!("/v1/schedules/{schedule_id}"), Some(json!({"enabled": false}))),
        (Method::DELETE, format!("/v1/schedules/{schedule_id}"), None),
        (Method::DELETE, format!("/v1/jobs/{job}"), None),
    ] {
        let answer = server.call_as(Some(&other_key), method.clone(), &path, body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}: {}", answer.body);
    }
    let theirs = server.call_as(Some(&other_key), Method::GET, "/v1/job-runs", None).await.body;
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(0), "{theirs}");
    let own_job = json!({"name": "j", "workflowExecutionOrder": [a]});
    let foreign_job = server.call_as(Some(&other_key), Method::POST, "/v1/jobs", Some(own_job)).await;
    assert_eq!(foreign_job.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", foreign_job.body);

    assert_eq!(server.call(Method::DELETE, &format!("/v1/jobs/{job}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("/v1/jobs/{job}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/v1/schedules/{schedule_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/v1/job-runs/{job_run_id}")).await.status, StatusCode::OK, "job runs stay");
}

/// Schedules: bad cron and time zones are 422s naming the field; a due time fires
/// one job run (named `schedule`), however often the scheduler looks and after any
/// downtime; `overlap: skip` passes a due time while the last job run is going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_each_due_time_once() {
    let server = TestServer::start(0).await;
    let a = server.create_workflow(echo()).await;
    let job = server.post("/v1/jobs", json!({"name": "j", "workflowExecutionOrder": [a]})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let schedules = format!("/v1/jobs/{job}/schedules");
    for (body, at) in [
        (json!({"cron": "*/15 * * * * *"}), "cron"),
        (json!({"cron": "every day"}), "cron"),
        (json!({"cron": "0 0 30 2 *"}), "cron"),
        (json!({"cron": "0 9 * * *", "timezone": "Mars/Base"}), "timezone"),
        (json!({"cron": "0 9 * * *", "overlap": "sometimes"}), "overlap"),
    ] {
        let refused = server.post(&schedules, body.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", refused.body);
        assert_eq!(field(&refused), at, "{body}: {}", refused.body);
    }
    let no_inputs = server.post(&schedules, json!({"cron": "0 9 * * *"})).await;
    assert_eq!(no_inputs.status, StatusCode::UNPROCESSABLE_ENTITY, "a required input: {}", no_inputs.body);

    let created = server
        .post(
            &schedules,
            json!({"cron": "*/15 * * * *", "timezone": "Europe/Berlin", "inputs": {"tag": "cron"}, "overlap": "skip"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let schedule = created.body.clone();
    let id = schedule["id"].as_str().unwrap().to_owned();
    assert!(schedule["nextRunAt"].is_string() && schedule["lastRunAt"].is_null(), "{schedule}");
    assert_eq!(
        (&schedule["enabled"], &schedule["overlap"], &schedule["jobId"]),
        (&json!(true), &json!("skip"), &json!(job))
    );
    assert_eq!(server.get(&schedules).await.body["data"][0]["id"], id.as_str());

    // Another server's scheduler, on a clock 40 minutes ahead: two due times were
    // missed, and one job run starts.
    let key = std::path::Path::new(server.data_dir()).join("secret.key");
    let sealer = store::seal::Sealer::from_file(&key, false).unwrap();
    let later = store::Clock::manual(server.store.clock().now_ms() + 40 * 60_000);
    let other = server.another_process_store().await.with_clock(later.clone());
    let fired = server::scheduler::fire_due(&other, &sealer).await.unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(server::scheduler::fire_due(&other, &sealer).await.unwrap().is_empty(), "fired once");
    let job_run = server.get(&format!("/v1/job-runs/{}", fired[0])).await.body;
    assert_eq!((&job_run["trigger"], &job_run["scheduleId"]), (&json!("schedule"), &json!(id)), "{job_run}");
    let first = job_run["workflowRuns"][0]["runId"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v1/runs/{first}")).await.body["inputs"]["tag"], "cron");
    let moved = server.get(&format!("/v1/schedules/{id}")).await.body;
    assert!(moved["lastRunAt"].is_string() && moved["nextRunAt"] != schedule["nextRunAt"], "{moved}");

    // Its job run is still queued (no workers): the next due time is skipped.
    later.advance(15 * 60_000);
    assert!(server::scheduler::fire_due(&other, &sealer).await.unwrap().is_empty(), "overlap skip");
    let listed = server.get(&format!("/v1/job-runs?jobId={job}")).await.body;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    // With `queue` it starts all the same.
    let queue = server.call(Method::PATCH, &format!("/v1/schedules/{id}"), Some(json!({"overlap": "queue"}))).await;
    assert_eq!(queue.body["overlap"], "queue", "{}", queue.body);
    later.advance(15 * 60_000);
    assert_eq!(server::scheduler::fire_due(&other, &sealer).await.unwrap().len(), 1);

    // Disabled: never due; enabled again: due from now on.
    let off =
        server.call(Method::PATCH, &format!("/v1/jobs/{job}/schedules/{id}"), Some(json!({"enabled": false}))).await;
    assert_eq!((&off.body["enabled"], &off.body["nextRunAt"]), (&json!(false), &Value::Null), "{}", off.body);
    later.advance(60 * 60_000);
    assert!(server::scheduler::fire_due(&other, &sealer).await.unwrap().is_empty(), "disabled");
    let on = server.call(Method::PATCH, &format!("/v1/schedules/{id}"), Some(json!({"enabled": true}))).await;
    assert!(on.body["nextRunAt"].is_string(), "{}", on.body);
    assert_eq!(
        server.call(Method::DELETE, &format!("/v1/jobs/{job}/schedules/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.get(&schedules).await.body["data"].as_array().map(Vec::len), Some(0));
}

/// End to end in Chromium against the demo site: a job signs in (its LOGIN
/// workflow first, as the job's identity), reads the account page with that
/// session and downloads a report; a job whose middle workflow fails stops there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_logs_in_reads_and_downloads_and_stops_at_a_failure() {
    for database in Database::available() {
        eprintln!("database: {database:?}");
        let server = TestServer::start_setup(Setup { database, ..Setup::new(1) }).await;
        logs_in_reads_and_downloads(&server).await;
        stops_at_a_failure(&server).await;
    }
}

async fn logs_in_reads_and_downloads(server: &TestServer) {
    let login = json!({"name": "demo login", "type": "LOGIN", "sourceProvider": "demo-shop",
                       "definition": server.example("login_with_otp.json")});
    let login = server.post("/v1/workflows", login).await.body["id"].as_str().unwrap().to_owned();
    let read = server.create_workflow(read_account(&server.demo)).await;
    let download = server.create_workflow(server.example("download_report.json")).await;
    let credentials = json!({"username": demo::USERNAME, "password": demo::PASSWORD, "totp_secret": demo::TOTP_SECRET});
    let identity = server
        .post("/v1/identities", json!({"name": "shop", "sourceProvider": "demo-shop", "credentials": credentials}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = server
        .post(
            "/v1/jobs",
            json!({"name": "month end", "workflowExecutionOrder": [login, read, download], "identityId": identity}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.body);
    let job = job.body["id"].as_str().unwrap().to_owned();
    let before = logins(server).await;
    let started = server.post(&format!("/v1/jobs/{job}/runs"), json!({"waitSeconds": 120})).await;
    let done = if started.body["status"] == "COMPLETED" {
        started.body
    } else {
        wait_job_run(server, started.body["id"].as_str().unwrap(), Duration::from_secs(120)).await
    };
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["identityId"], identity.as_str());
    assert!(done["startedAt"].is_string() && done["finishedAt"].is_string(), "{done}");
    let runs: Vec<Value> = done["workflowRuns"].as_array().unwrap().clone();
    assert_eq!(
        runs.iter().map(|r| r["workflowId"].clone()).collect::<Vec<_>>(),
        [json!(login), json!(read), json!(download)]
    );
    let read_run = server.get(&format!("/v1/runs/{}", runs[1]["runId"].as_str().unwrap())).await.body;
    assert_eq!(read_run["outputs"]["account_number"], "ACC-20931", "{read_run}");
    let download_run = server.get(&format!("/v1/runs/{}", runs[2]["runId"].as_str().unwrap())).await.body;
    assert_eq!(download_run["status"], "COMPLETED", "{download_run}");
    assert_eq!(logins(server).await, before + 1, "one login: the next workflows reuse its session");
    // The runs ran one after the other.
    let (login_done, read_started) = (
        server.get(&format!("/v1/runs/{}", runs[0]["runId"].as_str().unwrap())).await.body["completedAt"].clone(),
        read_run["startedAt"].clone(),
    );
    assert!(login_done.as_str() <= read_started.as_str(), "{login_done} then {read_started}");
    let secrets = format!("{done}{read_run}");
    assert!(!secrets.contains(demo::PASSWORD) && !secrets.contains(demo::TOTP_SECRET));
}

async fn stops_at_a_failure(server: &TestServer) {
    let (first, middle, last) = (
        server.create_workflow(echo()).await,
        server.create_workflow(broken()).await,
        server.create_workflow(echo()).await,
    );
    let job =
        server.post("/v1/jobs", json!({"name": "fragile", "workflowExecutionOrder": [first, middle, last]})).await;
    let job = job.body["id"].as_str().unwrap().to_owned();
    let started = server.post(&format!("/v1/jobs/{job}/runs"), json!({"inputs": {"tag": "t"}})).await.body;
    let id = started["id"].as_str().unwrap().to_owned();
    // Followed as events until the end.
    let events = reqwest::Client::new()
        .get(format!("{}/v1/job-runs/{id}/events", server.base))
        .bearer_auth(&server.admin_key)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(events.contains("event: end"), "{events}");
    let ended = wait_job_run(server, &id, Duration::from_secs(5)).await;
    assert_eq!(ended["status"], "FAILED", "{ended}");
    let statuses: Vec<&str> =
        ended["workflowRuns"].as_array().unwrap().iter().filter_map(|s| s["status"].as_str()).collect();
    assert_eq!(statuses, ["COMPLETED", "FAILED", "SKIPPED"], "{ended}");
    assert!(ended["workflowRuns"][2]["runId"].is_null(), "{ended}");
    assert_eq!(ended["error"]["workflowId"], middle.as_str(), "{ended}");
    assert!(ended["error"]["message"].as_str().unwrap().contains("the report button is gone"), "{ended}");
    let failed = server.get(&format!("/v1/job-runs?jobId={job}&status=FAILED")).await.body;
    assert_eq!(failed["data"].as_array().map(Vec::len), Some(1), "{failed}");
}
