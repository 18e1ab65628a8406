//! `GET /v1/runs/{id}/events` from the run events feed: viewers are woken by
//! appends (in-process, or PostgreSQL's NOTIFY from another process) rather
//! than reading on a timer, and resume with `Last-Event-ID`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store::{Fairness, Finish, RunStatus, SegmentExecution, Store};

use crate::support::{Database, TestServer, logic};

/// One server-sent event: (name, id, data).
type Sse = (String, String, Value);

/// Reads a `text/event-stream` response event by event.
struct Viewer {
    response: reqwest::Response,
    buffer: String,
}

impl Viewer {
    async fn open(server: &TestServer, run: &str, last_event_id: Option<&str>) -> Viewer {
        let mut request =
            reqwest::Client::new().get(format!("{}/v1/runs/{run}/events", server.base)).bearer_auth(&server.admin_key);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("events");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        Viewer { response, buffer: String::new() }
    }

    /// The next event (keep-alive comments skipped); `None` when the stream ended.
    async fn next(&mut self, within: Duration) -> Option<Sse> {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_owned())
                    };
                    if let (Some(name), Some(data)) = (field("event:"), field("data:")) {
                        let data = serde_json::from_str(&data).expect("JSON data");
                        return Some((name, field("id:").unwrap_or_default(), data));
                    }
                    continue;
                }
                match self.response.chunk().await.expect("chunk") {
                    Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    None => return None,
                }
            }
        })
        .await
        .expect("an event in time")
    }
}

fn execution(name: &str) -> SegmentExecution {
    SegmentExecution {
        attempt: 1,
        sequence: 1,
        segment_name: name.into(),
        mode: "code".into(),
        status: "COMPLETED".into(),
        started_at: 1_767_225_600_000,
        duration_ms: 12,
        error: None,
        logs: vec!["fetched".into()],
        fallback_error: None,
        tokens: None,
    }
}

/// A queued run nobody executes: the test plays the worker through `writer`.
async fn queued_run(server: &TestServer) -> String {
    let wf = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
    let run = server.post(&format!("/v1/workflows/{wf}/runs"), json!({})).await.body;
    run["id"].as_str().expect("run id").to_owned()
}

/// Each change the writer makes reaches a viewer well within the fallback read
/// (1 s): the viewer was woken by the append itself.
async fn viewer_is_woken_by_each_change(server: &TestServer, writer: &Store, what: &str) {
    const PROMPT: Duration = Duration::from_millis(500);
    let run = queued_run(server).await;
    let mut viewer = Viewer::open(server, &run, None).await;
    let (name, _, data) = viewer.next(Duration::from_secs(5)).await.expect("the run event");
    assert_eq!((name.as_str(), data["status"].as_str()), ("run", Some("PENDING")), "{what}");

    // Let the viewer settle into waiting before each change, then time its arrival.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lease = writer.claim("w1", 60_000, Fairness { max_runs_per_org: 10 }).await.expect("claim").expect("the run");
    let started = Instant::now();
    let (name, _, data) = viewer.next(Duration::from_secs(5)).await.expect("started");
    assert_eq!((name.as_str(), data["status"].as_str()), ("run", Some("IN_PROGRESS")), "{what}");
    assert!(started.elapsed() < PROMPT, "{what}: run event after {:?}", started.elapsed());

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(writer.record_segment(&lease.lease, &execution("only")).await.expect("record"));
    let started = Instant::now();
    let (name, id, data) = viewer.next(Duration::from_secs(5)).await.expect("the segment");
    assert!(started.elapsed() < PROMPT, "{what}: segment event after {:?}", started.elapsed());
    assert_eq!(name, "segment", "{what}: {data}");
    assert_eq!((data["segmentName"].as_str(), data["logs"][0].as_str()), (Some("only"), Some("fetched")), "{what}");
    assert_eq!(data["startedAt"], "2026-01-01T00:00:00.000Z", "{what}: the API's shape: {data}");
    assert!(id.parse::<i64>().is_ok_and(|seq| seq > 0), "{what}: id {id:?}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let done = Finish { status: RunStatus::Completed, outputs: Some(json!({})), error: None };
    assert!(writer.finish(&lease.lease, done).await.expect("finish"));
    let started = Instant::now();
    let (name, _, data) = viewer.next(Duration::from_secs(5)).await.expect("the end");
    assert!(started.elapsed() < PROMPT, "{what}: end after {:?}", started.elapsed());
    assert_eq!((name.as_str(), data["status"].as_str()), ("end", Some("COMPLETED")), "{what}");
    assert!(viewer.next(Duration::from_secs(5)).await.is_none(), "{what}: the stream closes after the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_woken_by_changes_in_this_process() {
    for database in Database::available() {
        let server = TestServer::start_with(0, server::ServeOptions::default(), database.clone()).await;
        viewer_is_woken_by_each_change(&server, &server.store.clone(), &format!("{database:?}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_on_postgres_are_woken_by_changes_of_other_processes() {
    let Some(admin) = testkit::test_database_url() else {
        return;
    };
    let server = TestServer::start_with(0, server::ServeOptions::default(), Database::Postgres(admin)).await;
    let worker = server.another_process_store().await;
    viewer_is_woken_by_each_change(&server, &worker, "another process").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_viewers_see_other_processes_changes_within_the_fallback_read() {
    let server = TestServer::start(0).await;
    let worker = server.another_process_store().await;
    let run = queued_run(&server).await;
    let mut viewer = Viewer::open(&server, &run, None).await;
    viewer.next(Duration::from_secs(5)).await.expect("the run event");
    worker.claim("w1", 60_000, Fairness { max_runs_per_org: 10 }).await.expect("claim").expect("the run");
    let (name, _, data) = viewer.next(Duration::from_secs(3)).await.expect("started");
    assert_eq!((name.as_str(), data["status"].as_str()), ("run", Some("IN_PROGRESS")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_resumes_after_the_last_event_id() {
    let server = TestServer::start(0).await;
    let run = queued_run(&server).await;
    let store = &server.store;
    let lease = store.claim("w1", 60_000, Fairness { max_runs_per_org: 10 }).await.expect("claim").expect("run").lease;
    for (sequence, name) in [(1, "first"), (2, "second")] {
        let s = SegmentExecution { sequence, ..execution(name) };
        assert!(store.record_segment(&lease, &s).await.expect("record"));
    }
    let done = Finish { status: RunStatus::Completed, outputs: Some(json!({})), error: None };
    assert!(store.finish(&lease, done).await.expect("finish"));

    let mut all = Vec::new();
    let mut viewer = Viewer::open(&server, &run, None).await;
    while let Some(event) = viewer.next(Duration::from_secs(5)).await {
        all.push(event);
    }
    let names: Vec<&str> = all.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["segment", "segment", "end"], "a finished run: its segments and the end");
    let first_id = all[0].1.clone();

    let mut resumed = Viewer::open(&server, &run, Some(&first_id)).await;
    let (name, _, data) = resumed.next(Duration::from_secs(5)).await.expect("the second segment");
    assert_eq!((name.as_str(), data["segmentName"].as_str()), ("segment", Some("second")));
    assert_eq!(resumed.next(Duration::from_secs(5)).await.map(|e| e.0), Some("end".to_owned()));

    let end_id = all[2].1.clone();
    let mut after_end = Viewer::open(&server, &run, Some(&end_id)).await;
    assert!(after_end.next(Duration::from_secs(5)).await.is_none(), "resuming after the end closes at once");
}
