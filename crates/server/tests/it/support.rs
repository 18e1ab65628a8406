use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::Store;
use tokio_util::sync::CancellationToken;

/// The address examples are written against; replaced by the test demo site's.
const EXAMPLE_BASE: &str = "http://127.0.0.1:8077";

pub struct TestServer {
    pub base: String,
    pub admin_key: String,
    pub store: Store,
    pub demo: String,
    http: reqwest::Client,
    shutdown: CancellationToken,
    /// A PostgreSQL database made for this server: (admin URL, name), dropped with it.
    postgres: Option<(String, String)>,
    /// Where every worker of this server uploads artifacts.
    pub blobs: blobs::Blobs,
    /// The running service, and how many workers it embeds (for `restart`).
    running: Option<tokio::task::JoinHandle<Result<(), service::Error>>>,
    workers: usize,
    _dir: tempfile::TempDir,
}

/// How a test server is made: `TestServer::start_with` fills in the rest.
pub struct Setup {
    /// Embedded workers (0: runs stay queued until `spawn_workers`).
    pub workers: usize,
    pub serve: server::ServeOptions,
    pub database: Database,
    pub artifacts: testkit::ArtifactStore,
    pub artifact_retention: Option<Duration>,
}

impl Setup {
    pub fn new(workers: usize) -> Setup {
        Setup {
            workers,
            serve: server::ServeOptions::default(),
            database: Database::Sqlite,
            artifacts: testkit::ArtifactStore::Local,
            artifact_retention: None,
        }
    }
}

/// Where a test server keeps its data.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite,
    /// A fresh database on the server this admin URL names.
    Postgres(String),
}

impl Database {
    /// SQLite, and PostgreSQL when `SEGUE_TEST_DATABASE_URL` names a server.
    pub fn available() -> Vec<Database> {
        let mut all = vec![Database::Sqlite];
        all.extend(testkit::test_database_url().map(Database::Postgres));
        all
    }
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
}

impl TestServer {
    /// A server with `workers` embedded workers (0: runs stay queued until `spawn_workers`).
    pub async fn start(workers: usize) -> TestServer {
        TestServer::start_with(workers, server::ServeOptions::default(), Database::Sqlite).await
    }

    pub async fn start_with(workers: usize, serve: server::ServeOptions, database: Database) -> TestServer {
        TestServer::start_setup(Setup { serve, database, ..Setup::new(workers) }).await
    }

    pub async fn start_setup(setup: Setup) -> TestServer {
        let Setup { workers, serve: options, database, artifacts, artifact_retention } = setup;
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, postgres) = match database {
            Database::Sqlite => (service::Database::Sqlite(dir.path().join("segue.db")), None),
            Database::Postgres(admin_url) => {
                let name = format!("segue_srv_{}", store::new_id("db").trim_start_matches("db_"));
                let url = testkit::postgres::create_database(&admin_url, &name).await.expect("database");
                (service::Database::Url(url), Some((admin_url, name)))
            }
        };
        let blobs = artifacts.open(dir.path());
        let (service, api) =
            build_service(database, dir.path(), workers, &blobs, options, artifact_retention, true).await;
        let admin_key = service.bootstrapped().expect("a new database").admin_key.clone();
        let store = service.store().clone();
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(service.run(shutdown.clone()));
        let (demo_addr, _) = demo::spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("demo");
        TestServer {
            base: format!("http://{api}"),
            admin_key,
            store,
            demo: format!("http://{demo_addr}"),
            http: reqwest::Client::new(),
            shutdown,
            postgres,
            blobs,
            running: Some(running),
            workers,
            _dir: dir,
        }
    }

    /// Stops the service (API, workers, scheduler, deliverer) and starts a new one
    /// on the same database and data folder, on a new port, as a restart would.
    pub async fn restart(&mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.await.expect("the service task").expect("the service stopped cleanly");
        }
        let database = match &self.postgres {
            Some((admin, name)) => service::Database::Url(testkit::postgres::database_url(admin, name)),
            None => service::Database::Sqlite(self._dir.path().join("segue.db")),
        };
        let (service, api) = build_service(
            database,
            self._dir.path(),
            self.workers,
            &self.blobs,
            server::ServeOptions::default(),
            None,
            false,
        )
        .await;
        self.store = service.store().clone();
        self.shutdown = CancellationToken::new();
        self.running = Some(tokio::spawn(service.run(self.shutdown.clone())));
        self.base = format!("http://{api}");
    }

    /// A second store on the same database, as another process would open it
    /// (SQLite: the same file; PostgreSQL: the same database).
    pub async fn another_process_store(&self) -> Store {
        match &self.postgres {
            Some((admin, name)) => Store::connect(&testkit::postgres::database_url(admin, name)).await,
            None => Store::open_sqlite(&self._dir.path().join("segue.db")).await,
        }
        .expect("second store")
    }

    /// Starts in-process workers with a segment time limit.
    pub async fn spawn_workers(&self, concurrency: usize, segment_timeout: Duration) {
        self.spawn_workers_with_agent(concurrency, segment_timeout, None).await;
    }

    /// A worker-only service on this server's store, stopped with the server.
    pub async fn spawn_workers_with_agent(
        &self,
        concurrency: usize,
        segment_timeout: Duration,
        agent: Option<agent::Agent>,
    ) {
        let api = self.base.trim_start_matches("http://").parse().expect("the API's address");
        let workers = service::Options {
            database: service::Database::Open(self.store.clone()),
            secret_key: secret_key(self._dir.path()),
            http: None,
            worker: worker::Config {
                blobs: Some(self.blobs.clone()),
                ..worker_config(concurrency, segment_timeout, agent, api)
            },
            bootstrap: false,
            artifact_retention: None,
        }
        .build()
        .await
        .expect("workers");
        tokio::spawn(workers.run(self.shutdown.clone()));
    }

    pub async fn call_as(&self, key: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Response { status, body }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.call_as(Some(&self.admin_key.clone()), method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A workflow document from `examples/`, pointed at the test demo site.
    pub fn example(&self, name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
        let text = std::fs::read_to_string(path).expect("example").replace(EXAMPLE_BASE, &self.demo);
        serde_json::from_str(&text).expect("example JSON")
    }

    pub async fn create_workflow(&self, definition: Value) -> String {
        let created = self.post("/v1/workflows", json!({"name": "w", "definition": definition})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// Polls until the run is in a final state.
    pub async fn wait_final(&self, run_id: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let run = self.get(&format!("/v1/runs/{run_id}")).await.body;
            let status = run["status"].as_str().unwrap_or("");
            if !matches!(status, "PENDING" | "IN_PROGRESS" | "AWAITING_USER_INPUT") {
                return run;
            }
            assert!(tokio::time::Instant::now() < deadline, "run {run_id} did not finish: {run}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A service on `database` with `workers` embedded workers, its API on a new port.
async fn build_service(
    database: service::Database,
    dir: &std::path::Path,
    workers: usize,
    blobs: &blobs::Blobs,
    options: server::ServeOptions,
    artifact_retention: Option<Duration>,
    bootstrap: bool,
) -> (service::Service, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api = listener.local_addr().expect("addr");
    let mut worker = match workers {
        0 => worker::Config::new(0),
        n => worker_config(n, Duration::from_secs(60), None, api),
    };
    worker.blobs = Some(blobs.clone());
    let service = service::Options {
        database,
        secret_key: secret_key(dir),
        http: Some(service::HttpOptions { listen: service::Listen::Listener(listener), serve: options }),
        worker,
        bootstrap,
        artifact_retention,
    }
    .build()
    .await
    .expect("service");
    (service, api)
}

/// The key file in the server's data folder, created by the first service.
fn secret_key(dir: &std::path::Path) -> service::SecretKey {
    service::SecretKey::File { path: dir.join("secret.key"), create: true }
}

/// Quick workers for tests: the demo site is on loopback, the API itself stays out of reach.
fn worker_config(
    concurrency: usize,
    segment_timeout: Duration,
    agent: Option<agent::Agent>,
    api: SocketAddr,
) -> worker::Config {
    let mut config = worker::Config::new(concurrency);
    config.settings.agent = agent.map(std::sync::Arc::new);
    config.heartbeat = Duration::from_millis(300);
    config.poll = Duration::from_millis(50);
    config.settings.segment_timeout = segment_timeout;
    config.runner = runner::Options {
        egress: std::sync::Arc::new(runner::Policy {
            allow_private: true,
            blocked: vec![api],
            ..runner::Policy::default()
        }),
        ..testkit::runner_options()
    };
    config
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async: a thread of its own can block on the drop.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(testkit::postgres::drop_database(&admin_url, &name))
            });
            let _ = dropped.join();
        }
    }
}

/// A one-segment logic workflow running `code`.
pub fn logic(code: &str, inputs: Value, outputs: Value) -> Value {
    json!({
        "name": "logic", "startSegmentName": "only", "inputParameters": inputs.clone(), "outputParameters": outputs.clone(),
        "segments": [{"name": "only", "type": "logic", "prompt": null, "inputParameters": inputs, "outputParameters": outputs,
                      "deterministic": code, "next": null, "router": null}]
    })
}

/// An agent backed by the scripted model of the redesigned-shop fallback fixture.
pub async fn scripted_shop_agent() -> (agent::Agent, testkit::ScriptedModel) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/run/ai_fallback_redesigned_shop_openai.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON");
    let rules = fixture["llm"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| testkit::Rule::from_json(r).expect("rule"))
        .collect();
    let model = testkit::ScriptedModel::start(rules).await.expect("scripted model");
    let config = agent::llm::Config::from_values(None, Some("scripted".into()), Some(model.openai_base()), None, false)
        .expect("config")
        .expect("a model");
    (agent::Agent::new(config, agent::Settings::default()), model)
}

/// A workflow reading the demo site's account page, which only a signed-in session sees.
pub fn read_account(demo: &str) -> Value {
    let code = format!(
        "async (page) => {{ await page.goto('{demo}/account'); if (!page.url().endsWith('/account')) throw new Error('not signed in'); \
         return {{ account_number: (await page.getByTestId('account-number').textContent()).trim() }}; }}"
    );
    json!({
        "name": "read_account", "startSegmentName": "read",
        "outputParameters": [{"name": "account_number", "type": "string", "required": true}],
        "segments": [{"name": "read", "type": "ui", "prompt": "Read the account number.", "inputParameters": [],
                      "outputParameters": [{"name": "account_number", "type": "string", "required": true}],
                      "deterministic": code, "next": null, "router": null}]
    })
}

/// How many sign-ins the demo site has seen.
pub async fn logins(server: &TestServer) -> u64 {
    let count: Value = reqwest::get(format!("{}/login/count", server.demo)).await.unwrap().json().await.unwrap();
    count["logins"].as_u64().unwrap()
}
