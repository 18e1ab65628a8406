//! `segue serve` and `segue worker` as processes: restarts, many workers on
//! one PostgreSQL database, workers killed or stopped mid-run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::support::{EXAMPLE_BASE, demo_base, repo_root};

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        Trial::test("service::serve_restarts_with_its_data", serve_restarts_with_its_data),
        Trial::test(
            "service::a_killed_worker_fails_its_run_as_worker_lost",
            a_killed_worker_fails_its_run_as_worker_lost,
        ),
        Trial::test(
            "service::a_killed_worker_is_retried_when_attempts_remain",
            a_killed_worker_is_retried_when_attempts_remain,
        ),
        Trial::test("service::sigterm_drains_in_flight_runs", sigterm_drains_in_flight_runs),
        Trial::test("service::a_drain_deadline_cancels_what_is_left", a_drain_deadline_cancels_what_is_left),
        Trial::test("service::the_cli_client_round_trip", the_cli_client_round_trip),
    ];
    if postgres_url().is_some() {
        trials.push(Trial::test("service::many_workers_share_postgres", many_workers_share_postgres));
    }
    trials
}

fn postgres_url() -> Option<String> {
    testkit::test_database_url()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// A child process killed when dropped, so a failing test leaves nothing behind.
pub(crate) struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.0.id() as i32), signal).expect("signal");
    }

    fn wait_exit(&mut self, within: Duration) -> Result<i32, Failed> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return Err("the process did not exit in time".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub(crate) fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
    spawn_logged(args, env, None)
}

/// `spawn`, with stderr written to `log` when given.
fn spawn_logged(args: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> Proc {
    let show = std::env::var_os("SEGUE_TEST_SHOW_LOGS").is_some();
    let mut command = Command::new(env!("CARGO_BIN_EXE_segue"));
    command.args(args).current_dir(repo_root()).stdin(Stdio::null()).stdout(Stdio::null());
    command.stderr(match log {
        Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
        None if show => Stdio::inherit(),
        None => Stdio::null(),
    });
    // The demo site is on loopback; a case that tests the default passes "0".
    command.env("SEGUE_ALLOW_PRIVATE_NETWORK", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    Proc(command.spawn().expect("spawn segue"))
}

pub(crate) struct Server {
    proc: Proc,
    pub(crate) base: String,
    pub(crate) key: String,
    http: reqwest::Client,
}

impl Server {
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Result<Server, Failed> {
        Server::launch(data_dir, extra, &[], None)
    }

    /// `start`, with this environment and stderr written to `log`.
    pub(crate) fn start_logged(
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Server, Failed> {
        Server::launch(data_dir, extra, env, Some(log))
    }

    fn launch(data_dir: &Path, extra: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> Result<Server, Failed> {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", &listen, "--data-dir", data_dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let proc = spawn_logged(&args, env, log);
        let base = format!("http://{listen}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&listen).is_err() {
            if Instant::now() > deadline {
                return Err("segue serve did not start listening".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let key = std::fs::read_to_string(data_dir.join("admin-key"))?.trim().to_owned();
        Ok(Server { proc, base, key, http: reqwest::Client::new() })
    }

    pub(crate) fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Failed> {
        self.call_as(&self.key, method, path, body)
    }

    pub(crate) fn call_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failed> {
        runtime().block_on(async {
            let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() { Ok(body) } else { Err(format!("{status}: {body}").into()) }
        })
    }

    pub(crate) fn get(&self, path: &str) -> Result<Value, Failed> {
        self.call(reqwest::Method::GET, path, None)
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> Result<Value, Failed> {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    pub(crate) fn create_workflow(&self, definition: Value) -> Result<String, Failed> {
        let created = self.post("/v1/workflows", json!({"name": "w", "definition": definition}))?;
        Ok(created["id"].as_str().ok_or("no id")?.to_owned())
    }

    pub(crate) fn start_run(&self, workflow: &str, body: Value) -> Result<String, Failed> {
        let run = self.post(&format!("/v1/workflows/{workflow}/runs"), body)?;
        Ok(run["id"].as_str().ok_or("no id")?.to_owned())
    }

    pub(crate) fn wait_for(&self, run: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Result<Value, Failed> {
        let deadline = Instant::now() + within;
        loop {
            let current = self.get(&format!("/v1/runs/{run}"))?;
            if done(&current) {
                return Ok(current);
            }
            if Instant::now() > deadline {
                return Err(format!("run {run} did not get there in time: {current}").into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn wait_final(&self, run: &str, within: Duration) -> Result<Value, Failed> {
        self.wait_for(run, within, |r| !matches!(r["status"].as_str(), Some("PENDING" | "IN_PROGRESS")))
    }
}

pub(crate) fn example(name: &str) -> Result<Value, Failed> {
    let text = std::fs::read_to_string(repo_root().join("examples").join(name))?;
    Ok(serde_json::from_str(&text.replace(EXAMPLE_BASE, &demo_base()))?)
}

/// One logic segment: waits `ms` in the page, then returns `{ done: true }`.
fn slow_workflow(ms: u64) -> Value {
    json!({"name": "slow", "startSegmentName": "wait", "outputParameters": [{"name": "done", "type": "boolean"}],
        "segments": [{"name": "wait", "type": "logic", "prompt": null, "inputParameters": [],
            "outputParameters": [{"name": "done", "type": "boolean"}],
            "deterministic": format!("async (page) => {{ await page.waitForTimeout({ms}); return {{ done: true }}; }}"),
            "next": null, "router": null}]})
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

fn serve_restarts_with_its_data() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let first = Server::start(dir.path(), &["--workers", "0"])?;
    let wf = first.create_workflow(example("shop_price_check.json")?)?;
    first.call(
        reqwest::Method::PUT,
        &format!("/v1/workflows/{wf}/draft"),
        Some(json!({"definition": example("shop_price_check.json")?})),
    )?;
    first.post(&format!("/v1/workflows/{wf}/publish"), json!(null))?;
    let run = first.start_run(&wf, json!({"inputs": {"search_query": "bottle"}}))?;
    let Server { mut proc, key, .. } = first;
    proc.signal(Signal::SIGTERM);
    check(proc.wait_exit(Duration::from_secs(20))? == 0, "serve stops cleanly on SIGTERM")?;

    let second = Server::start(dir.path(), &["--workers", "1"])?;
    check(second.key == key, "the admin key is kept, not re-created")?;
    check(second.get(&format!("/v1/workflows/{wf}"))?["latestVersion"] == 2, "workflow and versions survive")?;
    let done = second.wait_final(&run, Duration::from_secs(60))?;
    check(
        done["status"] == "COMPLETED" && done["outputs"]["top_result_title"] == "Insulated Water Bottle 1L",
        format!("the queued run ran after the restart: {done}"),
    )
}

/// A server on SQLite without embedded workers, and one `segue worker` on the same data.
fn server_and_worker(dir: &Path, lease: &str) -> Result<(Server, Proc), Failed> {
    let server = Server::start(dir, &["--workers", "0", "--lease-seconds", lease])?;
    let worker =
        spawn(&["worker", "--data-dir", dir.to_str().unwrap(), "--lease-seconds", lease, "--concurrency", "1"], &[]);
    Ok((server, worker))
}

fn a_killed_worker_fails_its_run_as_worker_lost() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let (server, worker) = server_and_worker(dir.path(), "2")?;
    let wf = server.create_workflow(slow_workflow(60_000))?;
    let run = server.start_run(&wf, json!({}))?;
    server.wait_for(&run, Duration::from_secs(30), |r| r["currentSegmentName"] == "wait")?;
    worker.signal(Signal::SIGKILL);
    let lost = server.wait_final(&run, Duration::from_secs(20))?;
    check(lost["status"] == "FAILED" && lost["error"]["code"] == "WORKER_LOST", format!("{lost}"))
}

fn a_killed_worker_is_retried_when_attempts_remain() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let (server, worker) = server_and_worker(dir.path(), "2")?;
    // A first segment that completes, so the lost attempt has recorded something.
    let mut doc = slow_workflow(4_000);
    doc["startSegmentName"] = json!("first");
    let first = json!({"name": "first", "type": "logic", "prompt": null, "inputParameters": [], "outputParameters": [],
        "deterministic": "async () => ({})", "next": "wait", "router": null});
    doc["segments"].as_array_mut().ok_or("segments")?.insert(0, first);
    let wf = server.create_workflow(doc)?;
    let run = server.start_run(&wf, json!({"maxAttempts": 2}))?;
    server.wait_for(&run, Duration::from_secs(30), |r| r["currentSegmentName"] == "wait")?;
    worker.signal(Signal::SIGKILL);
    drop(worker);
    server.wait_for(&run, Duration::from_secs(20), |r| r["status"] == "PENDING")?;
    let _second = spawn(&["worker", "--data-dir", dir.path().to_str().unwrap(), "--lease-seconds", "2"], &[]);
    let done = server.wait_final(&run, Duration::from_secs(60))?;
    check(done["status"] == "COMPLETED" && done["attempts"] == 2, format!("{done}"))?;
    let segments = server.get(&format!("/v1/runs/{run}/segments"))?;
    let seen: Vec<String> = segments["data"]
        .as_array()
        .ok_or("segments")?
        .iter()
        .map(|s| format!("{}.{} {}", s["attempt"], s["sequence"], s["segmentName"].as_str().unwrap_or("")))
        .collect();
    check(seen == ["1.1 first", "2.1 first", "2.2 wait"], format!("every attempt's segments are recorded: {seen:?}"))
}

fn sigterm_drains_in_flight_runs() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let (server, mut worker) = server_and_worker(dir.path(), "10")?;
    let wf = server.create_workflow(slow_workflow(3_000))?;
    let first = server.start_run(&wf, json!({}))?;
    server.wait_for(&first, Duration::from_secs(30), |r| r["currentSegmentName"] == "wait")?;
    worker.signal(Signal::SIGTERM);
    let second = server.start_run(&wf, json!({}))?;
    check(worker.wait_exit(Duration::from_secs(30))? == 0, "the worker exits cleanly")?;
    let done = server.get(&format!("/v1/runs/{first}"))?;
    check(done["status"] == "COMPLETED", format!("the in-flight run finished: {done}"))?;
    let waiting = server.get(&format!("/v1/runs/{second}"))?;
    check(waiting["status"] == "PENDING", format!("no new claims while draining: {waiting}"))
}

fn a_drain_deadline_cancels_what_is_left() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "0", "--lease-seconds", "10"])?;
    let data = dir.path().to_str().unwrap();
    let mut worker = spawn(&["worker", "--data-dir", data, "--lease-seconds", "10", "--drain-seconds", "2"], &[]);
    let wf = server.create_workflow(slow_workflow(120_000))?;
    let run = server.start_run(&wf, json!({}))?;
    server.wait_for(&run, Duration::from_secs(30), |r| r["currentSegmentName"] == "wait")?;
    worker.signal(Signal::SIGTERM);
    // The run would take two minutes: exiting within 20 s means the deadline cancelled it.
    check(worker.wait_exit(Duration::from_secs(20))? == 0, "the worker exits cleanly after its drain deadline")?;
    let done = server.get(&format!("/v1/runs/{run}"))?;
    check(
        done["status"] == "CANCELLED" && done["error"]["code"] == "CANCELLED",
        format!("the unfinished run is cancelled, not lost: {done}"),
    )
}

fn segue_client(server: &Server, args: &[&str]) -> std::process::Output {
    segue_client_as(server, &server.key, args)
}

/// `segue` as a client of `server` with this API key.
pub(crate) fn segue_client_as(server: &Server, key: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_segue"))
        .args(args)
        .current_dir(repo_root())
        .env("SEGUE_URL", &server.base)
        .env("SEGUE_API_KEY", key)
        .output()
        .expect("segue client")
}

/// What a client command answered, for a failed check's message.
fn answered(out: &std::process::Output) -> String {
    format!(
        "{}; stdout: {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

fn the_cli_client_round_trip() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "1"])?;
    let doc = dir.path().join("shop.json");
    std::fs::write(&doc, example("shop_price_check.json")?.to_string())?;
    let doc = doc.to_str().unwrap();
    let out = segue_client(&server, &["workflows", "create", doc, "--source-provider", "demo", "--json"]);
    check(out.status.success(), format!("create: {}", answered(&out)))?;
    let wf: Value = serde_json::from_slice(&out.stdout)?;
    let id = wf["id"].as_str().ok_or("id")?;
    let draft = segue_client(&server, &["workflows", "draft", id, doc]);
    check(draft.status.success(), format!("draft: {}", answered(&draft)))?;
    let published = segue_client(&server, &["workflows", "publish", id]);
    check(
        String::from_utf8_lossy(&published.stdout).trim() == "published version 2",
        format!("publish: {}", answered(&published)),
    )?;
    let versions = segue_client(&server, &["workflows", "versions", id]);
    check(
        String::from_utf8_lossy(&versions.stdout).lines().count() == 3,
        format!("a header and two versions: {}", answered(&versions)),
    )?;
    let watched = segue_client(&server, &["runs", "start", id, "--input", "search_query=headphones", "--watch"]);
    let stderr = String::from_utf8_lossy(&watched.stderr);
    check(watched.status.success(), format!("watch: {stderr}"))?;
    let outputs: Value = serde_json::from_slice(&watched.stdout)?;
    check(outputs["top_result_title"] == "Noise Cancelling Headphones", format!("outputs on stdout: {outputs}"))?;
    check(stderr.contains("extract_top_result (code)"), format!("progress on stderr: {stderr}"))?;
    let listed = segue_client(&server, &["runs", "list", "--workflow-id", id, "--json"]);
    let page: Value = serde_json::from_slice(&listed.stdout)?;
    let run_id = page["data"][0]["id"].as_str().ok_or("run listed")?;
    let segments = String::from_utf8_lossy(&segue_client(&server, &["runs", "segments", run_id]).stdout).into_owned();
    check(segments.lines().count() == 4, format!("a header and three segments: {segments}"))?;
    let bad = segue_client(&server, &["runs", "start", id, "--input", "max_price=cheap"]);
    check(
        bad.status.code() == Some(2) && String::from_utf8_lossy(&bad.stderr).contains("max_price"),
        format!("invalid inputs exit 2: {}", answered(&bad)),
    )
}

/// Several `segue worker` processes, each with its own data folder and the
/// server's key, claim from one PostgreSQL database: every run executes once.
fn many_workers_share_postgres() -> Result<(), Failed> {
    let admin_url = postgres_url().ok_or("no database")?;
    let name = format!("segue_svc_{}", std::process::id());
    let url = crate::support::postgres_database(&admin_url, &name)?;
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "0", "--database-url", &url])?;
    let key = std::fs::read_to_string(dir.path().join("secret.key"))?;
    let worker_dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let _workers: Vec<Proc> = worker_dirs
        .iter()
        .map(|d| {
            let data: PathBuf = d.path().to_owned();
            spawn(
                &["worker", "--database-url", &url, "--data-dir", data.to_str().unwrap(), "--concurrency", "2"],
                &[("SEGUE_SECRET_KEY", key.trim())],
            )
        })
        .collect();
    let visit = json!({"name": "visit", "startSegmentName": "visit",
        "inputParameters": [{"name": "tag", "type": "string"}], "outputParameters": [{"name": "count", "type": "number"}],
        "segments": [{"name": "visit", "type": "logic", "prompt": null, "inputParameters": [{"name": "tag", "type": "string"}],
            "outputParameters": [{"name": "count", "type": "number"}],
            "deterministic": format!("async (page, parameters) => {{ const r = await page.request.get('{}/api/visit/' + parameters.tag); return {{ count: (await r.json()).count }}; }}", demo_base()),
            "next": null, "router": null}]});
    let wf = server.create_workflow(visit)?;
    let tag = format!("pg{}", std::process::id());
    let runs: Vec<String> = (0..60)
        .map(|i| server.start_run(&wf, json!({"inputs": {"tag": format!("{tag}-{i}")}})))
        .collect::<Result<_, _>>()?;
    for run in &runs {
        let done = server.wait_final(run, Duration::from_secs(300))?;
        check(
            done["status"] == "COMPLETED" && done["attempts"] == 1 && done["outputs"]["count"] == 1,
            format!("{done}"),
        )?;
    }
    let visits: Value =
        runtime().block_on(async { reqwest::get(format!("{}/api/visits", demo_base())).await?.json().await })?;
    for i in 0..60 {
        check(visits[format!("{tag}-{i}")] == 1, format!("run {i} visited {} times", visits[format!("{tag}-{i}")]))?;
    }
    drop(server);
    crate::support::drop_postgres_database(&admin_url, &name)
}
