//! `segue-bench service`: on an in-process server (real HTTP on loopback),
//! - create-run latency through the API (p50/p99), with no worker draining the queue;
//! - runs completed per minute at several worker concurrencies, for a short demo workflow;
//! - `GET /v1/runs` page latency with a million runs, first and deep pages,
//!   on SQLite and, when `SEGUE_TEST_DATABASE_URL` names a server, PostgreSQL.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store::Store;
use tokio_util::sync::CancellationToken;

use crate::stats::{ms, percentile};

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
    org: String,
    store: Store,
    /// Where the service keeps its secret key, for the workers added later.
    dir: PathBuf,
    shutdown: CancellationToken,
}

impl Api {
    /// A service on `database` with its API on a free loopback port and no workers.
    async fn start(database: service::Database, dir: &Path) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let service = service::Options {
            database,
            secret_key: secret_key(dir),
            http: Some(service::HttpOptions {
                listen: service::Listen::Listener(listener),
                serve: server::ServeOptions::default(),
            }),
            worker: worker::Config::new(0),
            bootstrap: true,
            artifact_retention: None,
        }
        .build()
        .await
        .expect("service");
        let first = service.bootstrapped().expect("a new database").clone();
        let store = service.store().clone();
        let shutdown = CancellationToken::new();
        tokio::spawn(service.run(shutdown.clone()));
        let http = reqwest::Client::new();
        Api { base, key: first.admin_key, http, org: first.org_id, store, dir: dir.to_owned(), shutdown }
    }

    /// Workers on this service's store, stopped with it.
    async fn add_workers(&self, mut config: worker::Config) {
        // The demo site is on loopback.
        config.runner.egress = std::sync::Arc::new(runner::Policy::private_network());
        let workers = service::Options {
            database: service::Database::Open(self.store.clone()),
            secret_key: secret_key(&self.dir),
            http: None,
            worker: config,
            bootstrap: false,
            artifact_retention: None,
        }
        .build()
        .await
        .expect("workers");
        tokio::spawn(workers.run(self.shutdown.clone()));
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    async fn workflow(&self, definition: Value) -> String {
        let created = self
            .send(reqwest::Method::POST, "/v1/workflows", Some(&json!({"name": "bench", "definition": definition})))
            .await;
        created["id"].as_str().expect("id").to_owned()
    }
}

fn secret_key(dir: &Path) -> service::SecretKey {
    service::SecretKey::File { path: dir.join("secret.key"), create: true }
}

fn tiny_workflow(demo: &str) -> Value {
    json!({"name": "tiny", "startSegmentName": "open", "outputParameters": [{"name": "title", "type": "string"}],
        "segments": [{"name": "open", "type": "ui", "prompt": "Open the demo home page and read its title.",
            "inputParameters": [], "outputParameters": [{"name": "title", "type": "string"}],
            "deterministic": format!("async (page) => {{ await page.goto('{demo}/'); return {{ title: await page.title() }}; }}"),
            "next": null, "router": null}]})
}

pub async fn main(list_size: i64) {
    let (demo_addr, _) = demo::spawn("127.0.0.1:0".parse().unwrap()).await.expect("demo");
    let demo = format!("http://{demo_addr}");
    let dir = tempfile::tempdir().expect("temp dir");
    let api = Api::start(service::Database::Sqlite(dir.path().join("segue.db")), dir.path()).await;
    let wf = api.workflow(tiny_workflow(&demo)).await;

    // 1. Create-run latency: the run is durable in the database before the 201.
    let mut latencies = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        api.send(reqwest::Method::POST, &format!("/v1/workflows/{wf}/runs"), Some(&json!({}))).await;
        latencies.push(ms(started.elapsed()));
    }
    println!("create run through the API (SQLite, 500 sequential requests)");
    println!("  p50 {:7.2} ms   p99 {:7.2} ms", percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    api.shutdown.cancel();
    api.store.close().await;

    // 2. Throughput per worker concurrency, each on a fresh queue.
    println!("runs completed per minute, one-segment demo workflow, a runner process per run on a shared Chromium");
    for concurrency in [1, 2, 4, 6] {
        let dir = tempfile::tempdir().expect("temp dir");
        let api = Api::start(service::Database::Sqlite(dir.path().join("segue.db")), dir.path()).await;
        let wf = api.workflow(tiny_workflow(&demo)).await;
        let runs = 6 * concurrency;
        let mut ids = Vec::new();
        for _ in 0..runs {
            let run = api.send(reqwest::Method::POST, &format!("/v1/workflows/{wf}/runs"), Some(&json!({}))).await;
            ids.push(run["id"].as_str().expect("id").to_owned());
        }
        let mut config = worker::Config::new(concurrency);
        config.poll = Duration::from_millis(20);
        config.runner = testkit::runner_options();
        let started = Instant::now();
        api.add_workers(config).await;
        for id in &ids {
            loop {
                let run = api.send(reqwest::Method::GET, &format!("/v1/runs/{id}"), None).await;
                if run["status"] == "COMPLETED" {
                    break;
                }
                assert!(!matches!(run["status"].as_str(), Some("FAILED" | "TIMED_OUT" | "CANCELLED")), "{run}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let elapsed = started.elapsed();
        println!(
            "  concurrency {concurrency}: {runs:3} runs in {:6.1} s = {:6.1} runs/min",
            elapsed.as_secs_f64(),
            runs as f64 * 60.0 / elapsed.as_secs_f64()
        );
        api.shutdown.cancel();
        api.store.close().await;
    }

    // 3. List pages over a million runs.
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Store::open_sqlite(&dir.path().join("segue.db")).await.expect("sqlite");
    list_pages("SQLite", sqlite, dir.path(), list_size).await;
    if let Some(admin) = testkit::test_database_url() {
        let name = format!("segue_bench_{}", std::process::id());
        let url = testkit::postgres::create_database(&admin, &name).await.expect("a bench database");
        let pg = Store::connect(&url).await.expect("postgres");
        list_pages("PostgreSQL", pg.clone(), dir.path(), list_size).await;
        pg.close().await;
        testkit::postgres::drop_database(&admin, &name).await.expect("drop the bench database");
    }
}

async fn list_pages(backend: &str, store: Store, dir: &std::path::Path, count: i64) {
    let key_dir = dir.join(backend);
    std::fs::create_dir_all(&key_dir).expect("dir");
    let api = Api::start(service::Database::Open(store), &key_dir).await;
    let wf = api.workflow(json!({"name": "x", "startSegmentName": "a", "segments": [{"name": "a", "type": "logic", "prompt": null, "deterministic": "async () => ({})", "next": null}]})).await;
    let seeding = Instant::now();
    api.store.tenant(&api.org).seed_completed_runs(&wf, count).await.expect("seed");
    println!(
        "GET /v1/runs?limit=20 with {count} runs in {backend} (seeded in {:.1} s)",
        seeding.elapsed().as_secs_f64()
    );
    let mut first = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        api.send(reqwest::Method::GET, "/v1/runs?limit=20", None).await;
        first.push(ms(started.elapsed()));
    }
    // Walk 2,000 pages deep (40,000 runs), timing every request.
    let mut deep = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..2000 {
        let path = match &cursor {
            Some(c) => format!("/v1/runs?limit=20&cursor={c}"),
            None => "/v1/runs?limit=20".to_owned(),
        };
        let started = Instant::now();
        let page = api.send(reqwest::Method::GET, &path, None).await;
        deep.push(ms(started.elapsed()));
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    let mut filtered = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        api.send(reqwest::Method::GET, &format!("/v1/runs?limit=20&status=COMPLETED&workflowId={wf}"), None).await;
        filtered.push(ms(started.elapsed()));
    }
    println!("  first page      p50 {:6.2} ms   p99 {:6.2} ms", percentile(&first, 50.0), percentile(&first, 99.0));
    println!("  pages 1..2000   p50 {:6.2} ms   p99 {:6.2} ms", percentile(&deep, 50.0), percentile(&deep, 99.0));
    println!(
        "  filtered page   p50 {:6.2} ms   p99 {:6.2} ms",
        percentile(&filtered, 50.0),
        percentile(&filtered, 99.0)
    );
    api.shutdown.cancel();
}
