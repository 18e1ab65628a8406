//! `tests/attacks/NAME.json` is one attack by workflow code on the machine
//! that runs it, tried twice: through `segue run` (private network refused,
//! as on a server) and through `segue serve` by an ordinary member of a second
//! organization, on a server whose data folder, environment and other
//! organization hold known canary values.
//!
//! ```json
//! { "about": "what it tries",
//!   "code": "async (page, parameters) => { …; return { loot: '…' }; }",
//!   "failsWith": "EGRESS_DENIED" }   // optional: the run must fail with this code
//! ```
//!
//! `{{DATA_DIR}}`, `{{API}}` and `{{API_PORT}}` in the code become the data
//! folder and a service on loopback (the API itself under `segue serve`).
//! Whatever the code does, no canary may appear in anything the run produced
//! (outputs, errors, logs, progress, the server's own log), and the server's
//! worker must still complete a run afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::Server;
use crate::support::{demo_base, fixtures, runtime, segue_with_env, stem, text};

pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    for path in fixtures("tests/attacks") {
        let name = stem(&path);
        let file = path.clone();
        trials.push(Trial::test(format!("attacks::run::{name}"), move || through_run(&file)));
        trials.push(Trial::test(format!("attacks::serve::{name}"), move || through_serve(&path)));
    }
    trials
}

struct Attack {
    code: String,
    fails_with: Option<String>,
}

fn load(path: &Path, data_dir: &Path, api: &str) -> Result<Attack, Failed> {
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let port = api.rsplit(':').next().unwrap_or_default();
    let code = case["code"]
        .as_str()
        .ok_or("an attack needs `code`")?
        .replace("{{DATA_DIR}}", &data_dir.to_string_lossy())
        .replace("{{API_PORT}}", port)
        .replace("{{API}}", api);
    Ok(Attack { code, fails_with: case["failsWith"].as_str().map(str::to_owned) })
}

/// The attack as a one-segment workflow whose output is whatever it found.
fn workflow(code: &str) -> Value {
    let loot = json!([{"name": "loot", "type": "string"}]);
    json!({"name": "attack", "startSegmentName": "attack", "outputParameters": loot,
        "segments": [{"name": "attack", "type": "ui", "prompt": "attack", "inputParameters": [],
            "outputParameters": loot, "deterministic": code, "next": null, "router": null}]})
}

/// Values that must never leave the host, with the forms they could be smuggled in.
struct Canaries(Vec<(String, String)>);

impl Canaries {
    fn new() -> Canaries {
        Canaries(Vec::new())
    }

    fn add(&mut self, what: &str, value: &str) {
        let value = value.trim().to_owned();
        let base64 = base64::engine::general_purpose::STANDARD.encode(&value);
        self.0.push((format!("{what} (base64)"), base64));
        self.0.push((what.to_owned(), value));
    }

    fn check(&self, place: &str, text: &str) -> Result<(), Failed> {
        for (what, value) in &self.0 {
            if text.contains(value.as_str()) {
                return Err(format!("{what} leaked into {place}").into());
            }
        }
        Ok(())
    }
}

/// A value found nowhere else: the label, the time and a counter.
fn random(label: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{label}-{nanos:x}-{}-{n}", std::process::id())
}

fn through_run(path: &Path) -> Result<(), Failed> {
    let home = tempfile::tempdir()?;
    let mut canaries = Canaries::new();
    let (file_secret, file_key, env_secret) = (random("file-secret"), random("admin-key"), random("env-secret"));
    std::fs::write(home.path().join("secret.key"), &file_secret)?;
    std::fs::write(home.path().join("admin-key"), &file_key)?;
    let sealing_key = base64::engine::general_purpose::STANDARD.encode(random("sealing-key-32-bytes-long").as_bytes());
    canaries.add("a file of the data folder", &file_secret);
    canaries.add("the admin key file", &file_key);
    canaries.add("the environment", &env_secret);
    canaries.add("SEGUE_SECRET_KEY", &sealing_key);
    let attack = load(path, home.path(), &demo_base())?;
    let document = tempfile::Builder::new().suffix(".json").tempfile()?;
    std::fs::write(document.path(), workflow(&attack.code).to_string())?;
    let env = [
        ("HOME", home.path().to_string_lossy().into_owned()),
        ("SEGUE_DATA_DIR", home.path().to_string_lossy().into_owned()),
        ("SEGUE_CANARY", env_secret),
        ("SEGUE_SECRET_KEY", sealing_key),
    ];
    let args = ["run", document.path().to_str().unwrap(), "--deny-private-network", "--segment-timeout", "60"];
    let out = segue_with_env(&args, &env);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    canaries.check("stdout", &stdout)?;
    canaries.check("stderr", &stderr)?;
    if let Some(code) = &attack.fails_with
        && (out.status.code() != Some(1) || !stderr.contains(code.as_str()))
    {
        let exit = out.status.code();
        return Err(format!("expected the run to fail with {code}; exit {exit:?}\n{stdout}\n{stderr}").into());
    }
    // Nothing the run planted outlives it: the runner's files are unchanged.
    let runner = std::fs::read_to_string(crate::support::repo_root().join("runner-js/runner.js"))?;
    if runner.contains("planted") {
        return Err("the attack changed runner-js/runner.js".into());
    }
    Ok(())
}

/// One `segue serve` shared by the service attacks: a victim organization
/// with a secret, and an attacker holding a member key of another one.
struct Service {
    server: Server,
    data: tempfile::TempDir,
    log: PathBuf,
    /// Where the log stood once set up: before it, the first start printed the admin key, as it should.
    log_start: usize,
    canaries: Canaries,
}

fn service() -> Result<&'static Mutex<Option<Service>>, Failed> {
    static SERVICE: OnceLock<Mutex<Option<Service>>> = OnceLock::new();
    if let Some(service) = SERVICE.get() {
        return Ok(service);
    }
    let started = start_service()?;
    Ok(SERVICE.get_or_init(|| Mutex::new(Some(started))))
}

/// Stops the shared server (statics are never dropped).
pub fn shutdown() {
    if let Ok(service) = service() {
        service.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

fn start_service() -> Result<Service, Failed> {
    let data = tempfile::tempdir()?;
    let log = data.path().with_extension("log");
    let env_secret = random("worker-env-secret");
    let env = [("SEGUE_CANARY", env_secret.as_str()), ("SEGUE_ALLOW_PRIVATE_NETWORK", "0"), ("SEGUE_LOG", "info")];
    let mut server = Server::start_logged(data.path(), &["--workers", "2"], &env, &log)?;
    let mut canaries = Canaries::new();
    canaries.add("the worker's environment", &env_secret);
    canaries.add("the admin key", &server.key);
    canaries.add("the sealing key", &std::fs::read_to_string(data.path().join("secret.key"))?);

    // The victim: another organization's workflow, run with a secret input.
    let victim_secret = random("victim-secret");
    let victim_name = random("victim-payroll");
    canaries.add("the other organization's secret input", &victim_secret);
    canaries.add("the other organization's workflow name", &victim_name);
    let code = "async (page, parameters) => { await page.setContent('<p>' + parameters.token.length + '</p>'); return { n: 1 }; }";
    let definition = json!({"name": victim_name, "startSegmentName": "s",
        "inputParameters": [{"name": "token", "type": "secret"}], "outputParameters": [{"name": "n", "type": "number"}],
        "segments": [{"name": "s", "type": "ui", "prompt": "p", "inputParameters": [{"name": "token", "type": "secret"}],
            "outputParameters": [{"name": "n", "type": "number"}], "deterministic": code, "next": null, "router": null}]});
    let created = server.post("/v1/workflows", json!({"name": victim_name, "definition": definition}))?;
    let victim_workflow = created["id"].as_str().ok_or("no id")?.to_owned();
    let run = server.start_run(&victim_workflow, json!({"inputs": {"token": victim_secret}}))?;
    let done = server.wait_final(&run, Duration::from_secs(60))?;
    if done["status"] != "COMPLETED" {
        return Err(format!("the victim's run did not complete: {done}").into());
    }

    // The attacker: a member of a second organization, made in the server's database.
    let attacker_key = runtime().block_on(async {
        let store = store::Store::open_sqlite(&data.path().join("segue.db")).await?;
        let org = store.create_org("attacker").await?;
        let (_, key) = store.create_api_key(&org.id, "member", store::Role::Member).await?;
        Ok::<_, store::Error>(key)
    })?;
    server.key = attacker_key;
    let log_start = std::fs::read(&log)?.len();
    Ok(Service { server, data, log, log_start, canaries })
}

fn through_serve(path: &Path) -> Result<(), Failed> {
    let guard = service()?.lock().unwrap_or_else(|e| e.into_inner());
    let service = guard.as_ref().ok_or("the service was stopped")?;
    let server = &service.server;
    let attack = load(path, service.data.path(), &server.base)?;
    let workflow_id = server.create_workflow(workflow(&attack.code))?;
    let run = server.start_run(&workflow_id, json!({}))?;
    let done = server.wait_final(&run, Duration::from_secs(120))?;
    let segments = server.get(&format!("/v1/runs/{run}/segments"))?;
    let runs = server.get("/v1/runs?limit=100")?;
    let workflows = server.get("/v1/workflows?limit=100")?;
    for (place, value) in
        [("the run", &done), ("its segments", &segments), ("the run list", &runs), ("the workflow list", &workflows)]
    {
        service.canaries.check(place, &value.to_string())?;
    }
    let log = std::fs::read(&service.log)?;
    service.canaries.check("the server's log", &String::from_utf8_lossy(&log[service.log_start..]))?;
    if let Some(code) = &attack.fails_with
        && (done["status"] != "FAILED" || done["error"]["code"] != code.as_str())
    {
        return Err(format!("expected the run to fail with {code}: {done}").into());
    }
    // The worker survived and still serves.
    let ping = server.create_workflow(workflow("async (page) => ({ loot: 'pong' })"))?;
    let ping_run = server.start_run(&ping, json!({}))?;
    let pong = server.wait_final(&ping_run, Duration::from_secs(60))?;
    if pong["outputs"]["loot"] != "pong" {
        return Err(format!("the worker no longer serves after the attack: {pong}").into());
    }
    Ok(())
}
