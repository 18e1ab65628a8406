//! The executor's logic against a fake browser: deadlines, cancel, fallback,
//! records, masking and sessions, without Chromium. (End-to-end runs in real
//! Chromium are in the CLI's and the service's suites.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use engine::{ErrorCode, Mode, Record, SegmentStatus};
use runner::{
    Acted, Browser, Capture, Captured, Download, Error, Log, Observation, ReplyLimits, Screenshot, SegmentResult,
    SessionOptions, StorageState,
};
use serde_json::{Map, Value, json};

use crate::{
    ArtifactKind, ArtifactOptions, CancellationToken, Observer, Outcome, RunRequest, Screenshots, Settings, Trace,
    execute,
};

const SECRET: &str = "correct-horse-battery";

/// What a segment's code does in the fake browser.
#[derive(Clone)]
enum Code {
    Return(Value),
    Throw(String),
    /// Prints these lines, then does the next thing.
    Log(Vec<String>, Box<Code>),
    /// Takes this long, then does the next thing.
    Sleep(Duration, Box<Code>),
    /// Never returns (a `while (true) {}`).
    Hang,
    /// Its connection is refused by the egress policy; the code catches that and returns.
    Refused(Value),
    /// Returns more JSON than the runner will send.
    TooLarge,
}

/// A browser that plays scripted segment code, and remembers what it was asked.
#[derive(Default)]
struct FakeBrowser {
    code: HashMap<String, Code>,
    routes: HashMap<String, Value>,
    session_open: bool,
    opened: Vec<SessionOptions>,
    closes: usize,
    dead: bool,
    denials: std::sync::Mutex<Vec<runner::Denial>>,
    cookies: Option<StorageState>,
    files: Option<tempfile::TempDir>,
    /// Files "downloaded" when the session opens: (name, contents); a `None`
    /// content is a link to a host file instead, as hostile code could leave.
    downloads: Vec<(String, Option<String>)>,
    downloads_dir: Option<PathBuf>,
    /// The page's HTML.
    html: String,
}

impl FakeBrowser {
    fn with_code(code: &[(&str, Code)]) -> FakeBrowser {
        FakeBrowser {
            code: code.iter().map(|(name, c)| ((*name).to_owned(), c.clone())).collect(),
            files: Some(tempfile::tempdir().expect("temp dir")),
            ..FakeBrowser::default()
        }
    }

    fn alive(&self) -> Result<(), Error> {
        if self.dead { Err(Error::Exited { stderr: Vec::new() }) } else { Ok(()) }
    }
}

impl Browser for FakeBrowser {
    fn files_dir(&self) -> PathBuf {
        self.files.as_ref().expect("files").path().to_owned()
    }

    fn take_denials(&self) -> Vec<runner::Denial> {
        std::mem::take(&mut *self.denials.lock().expect("denials"))
    }

    fn limit_replies(&mut self, _limits: ReplyLimits) {}

    async fn open(&mut self, options: &SessionOptions) -> Result<(), Error> {
        self.alive()?;
        if self.session_open {
            // As runner.js does: never close a session silently.
            return Err(Error::Runner("a browser session is already open; close it first".into()));
        }
        self.session_open = true;
        self.cookies = options.storage_state.clone();
        self.opened.push(options.clone());
        self.downloads_dir.clone_from(&options.downloads_dir);
        Ok(())
    }

    async fn run_code(
        &mut self,
        name: &str,
        _code: &str,
        _parameters: &Map<String, Value>,
        _network: bool,
        on_log: &mut (dyn FnMut(Log) + Send),
    ) -> Result<SegmentResult, Error> {
        self.alive()?;
        // Unscripted segments return their one output.
        let mut code = self.code.get(name).cloned().unwrap_or_else(|| Code::Return(json!({ name: "ok" })));
        loop {
            code = match code {
                Code::Return(value) => return Ok(SegmentResult { outcome: Ok(value), elapsed_ms: 5.0 }),
                Code::Throw(message) => return Ok(SegmentResult { outcome: Err(message), elapsed_ms: 5.0 }),
                Code::Log(lines, next) => {
                    for text in lines {
                        on_log(Log { level: "log".into(), text });
                    }
                    *next
                }
                Code::Sleep(duration, next) => {
                    tokio::time::sleep(duration).await;
                    *next
                }
                Code::Hang => std::future::pending().await,
                Code::Refused(value) => {
                    self.denials.lock().expect("denials").push(runner::Denial {
                        host: "10.0.0.1".into(),
                        port: 80,
                        address: [10, 0, 0, 1].into(),
                        reason: egress::Reason::Class(egress::Class::Private),
                    });
                    Code::Return(value)
                }
                Code::TooLarge => return Err(Error::ResultTooLarge { bytes: 5 << 20, limit: 1 << 20 }),
            };
        }
    }

    async fn route(
        &mut self,
        name: &str,
        _router: &str,
        _outputs: &Map<String, Value>,
    ) -> Result<Result<Value, String>, Error> {
        self.alive()?;
        Ok(self.routes.get(name).cloned().ok_or_else(|| "no route".to_owned()))
    }

    async fn observe(
        &mut self,
        _screenshot: Option<Screenshot<'_>>,
        _measure_html: bool,
    ) -> Result<Observation, Error> {
        self.alive()?;
        Ok(Observation {
            url: "http://127.0.0.1/shop".into(),
            title: "Shop".into(),
            snapshot: "- heading \"Laptop\" [ref=e1]\n- text \"999\" [ref=e2]".into(),
            screenshot_png_base64: None,
            html_chars: None,
        })
    }

    async fn act(&mut self, _tool: &str, _args: &Value) -> Result<Result<Acted, String>, Error> {
        self.alive()?;
        Ok(Ok(Acted { url: "http://127.0.0.1/shop".into(), locator: None }))
    }

    async fn locate(&mut self, _values: &Map<String, Value>) -> Result<Value, Error> {
        self.alive()?;
        Ok(json!({}))
    }

    async fn capture(&mut self, capture: Capture<'_>) -> Result<Captured, Error> {
        self.alive()?;
        if let Some(path) = capture.screenshot {
            // What is hidden is named in the "image", so tests can see it was asked for.
            std::fs::write(path, format!("PNG hiding {}", capture.hide.len())).expect("screenshot");
        }
        Ok(Captured {
            screenshot: capture.screenshot.map(PathBuf::from),
            html: capture.html.then(|| self.html.clone()),
        })
    }

    async fn downloads(&mut self, _wait: Duration) -> Result<Vec<Download>, Error> {
        self.alive()?;
        let dir = self.downloads_dir.clone().expect("downloads were asked for");
        let mut saved = Vec::new();
        for (i, (name, contents)) in self.downloads.iter().enumerate() {
            let path = dir.join(format!("{i}-{name}"));
            match contents {
                Some(text) => std::fs::write(&path, text).expect("download"),
                None => std::os::unix::fs::symlink("/etc/hostname", &path).expect("link"),
            }
            saved.push(Download { name: name.clone(), saved: Ok(path) });
        }
        Ok(saved)
    }

    async fn stop_trace(&mut self, path: Option<&std::path::Path>) -> Result<(), Error> {
        self.alive()?;
        assert!(self.opened.last().and_then(|o| o.trace).is_some(), "stopping a trace never started");
        if let Some(path) = path {
            // What Playwright records of a `fill`: the text typed, in clear.
            let mut writer = zip::ZipWriter::new(std::fs::File::create(path).expect("trace"));
            writer.start_file("trace.trace", zip::write::SimpleFileOptions::default()).expect("entry");
            let line = format!(r#"{{"method":"fill","params":{{"value":"{SECRET}"}}}}"#);
            std::io::Write::write_all(&mut writer, line.as_bytes()).expect("write");
            writer.finish().expect("zip");
        }
        Ok(())
    }

    async fn storage_state(&mut self) -> Result<StorageState, Error> {
        self.alive()?;
        let fresh =
            StorageState::from_json(json!({"cookies": [{"name": "sid", "value": "fresh-session-id"}], "origins": []}));
        Ok(self.cookies.clone().unwrap_or(fresh.expect("valid")))
    }

    async fn close(&mut self) -> Result<(), Error> {
        self.alive()?;
        self.session_open = false;
        self.closes += 1;
        Ok(())
    }

    fn kill(&mut self) {
        self.dead = true;
        self.session_open = false;
    }

    fn is_alive(&self) -> bool {
        !self.dead
    }
}

/// Keeps every record it hears.
#[derive(Default)]
struct Kept(Vec<Record>);

impl Observer for Kept {
    fn record(&mut self, record: &Record) {
        self.0.push(record.clone());
    }
}

/// Segments `a` (ui, takes the secret `password`) then `b` (logic), each with one string output.
fn workflow() -> Arc<workflow::Workflow> {
    let seg = |name: &str, ty: &str, inputs: Value, next: Value| {
        let prompt = if ty == "logic" { Value::Null } else { json!("Read the price") };
        json!({"name": name, "type": ty, "prompt": prompt, "inputParameters": inputs,
               "outputParameters": [{"name": name, "type": "string"}],
               "deterministic": "async (page, parameters) => ({})", "next": next, "router": null})
    };
    let doc = json!({
        "name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "password", "type": "secret"}],
        "outputParameters": [{"name": "a", "type": "string"}],
        "segments": [
            seg("a", "ui", json!([{"name": "password", "type": "secret"}]), json!("b")),
            seg("b", "logic", json!([]), Value::Null)
        ]
    });
    let checked = workflow::check_value(&doc);
    Arc::new(checked.workflow.unwrap_or_else(|| panic!("{:?}", checked.diagnostics)))
}

fn request() -> RunRequest {
    let inputs = json!({"password": SECRET}).as_object().unwrap().clone();
    RunRequest::new(workflow(), inputs, CancellationToken::new())
}

fn settings(segment_timeout_ms: u64, run_timeout_ms: u64) -> Settings {
    Settings {
        segment_timeout: Duration::from_millis(segment_timeout_ms),
        run_timeout: Duration::from_millis(run_timeout_ms),
        ..Settings::default()
    }
}

async fn run(browser: &mut FakeBrowser, request: RunRequest, settings: &Settings) -> (Outcome, Vec<Record>) {
    let mut kept = Kept::default();
    let outcome = execute(request, settings, browser, &mut kept).await;
    (outcome, kept.0)
}

fn failure_code(outcome: &Outcome) -> ErrorCode {
    outcome.result.as_ref().expect_err("the run fails").code
}

#[tokio::test]
async fn code_that_never_returns_times_out_and_its_browser_is_killed() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::Log(vec!["started".into()], Box::new(Code::Hang)))]);
    let (outcome, records) = run(&mut browser, request(), &settings(150, 60_000)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::SegmentTimeout);
    let failure = outcome.result.as_ref().unwrap_err();
    assert_eq!(failure.message, "its code did not finish within the segment time limit of 0.15 s");
    assert!(browser.dead, "a segment that never yields can only be stopped by killing its browser");
    assert_eq!(browser.closes, 0, "a killed browser is not asked to close");
    let [a] = &outcome.segments[..] else { panic!("{:?}", outcome.segments) };
    assert_eq!((a.status, a.logs.len()), (SegmentStatus::Failed, 1));
    assert!(a.duration >= Duration::from_millis(150));
    assert!(matches!(records.last(), Some(Record::SegmentFinished(r)) if r.name == "a"));
}

#[tokio::test]
async fn the_run_limit_ends_a_run_of_segments_each_within_theirs() {
    let slow = |v: Value| Code::Sleep(Duration::from_millis(200), Box::new(Code::Return(v)));
    let mut browser = FakeBrowser::with_code(&[("a", slow(json!({"a": "x"}))), ("b", slow(json!({"b": "y"})))]);
    let (outcome, _) = run(&mut browser, request(), &settings(10_000, 300)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::RunTimeout);
    let failure = outcome.result.as_ref().unwrap_err();
    assert_eq!(failure.segment.as_deref(), Some("b"), "a finished in time; b ran out of the run's time");
    assert_eq!(
        outcome.segments.iter().map(|s| s.status).collect::<Vec<_>>(),
        [SegmentStatus::Completed, SegmentStatus::Failed]
    );
}

#[tokio::test]
async fn a_cancel_stops_the_run_at_once() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::Hang)]);
    let request = request();
    let cancel = request.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    let (outcome, _) = run(&mut browser, request, &settings(60_000, 60_000)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(10), "not after a time limit");
    assert!(browser.dead);
}

#[tokio::test]
async fn every_record_the_observer_hears_is_masked() {
    let base64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let lines = vec![format!("typing {SECRET}"), format!("header Basic {base64}")];
    let code = Code::Log(lines, Box::new(Code::Throw(format!("login failed for {}", SECRET.to_uppercase()))));
    let mut browser = FakeBrowser::with_code(&[("a", code)]);
    let (outcome, records) = run(&mut browser, request(), &settings(5_000, 60_000)).await;
    // No agent: a ui segment whose code throws fails the run.
    assert_eq!(failure_code(&outcome), ErrorCode::SegmentThrew);
    let everything = format!("{records:?} {outcome:?}");
    assert!(!everything.contains(SECRET) && !everything.contains(&SECRET.to_uppercase()), "{everything}");
    assert!(!everything.contains(&base64), "{everything}");
    let logs: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Log { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(logs, ["typing ********", "header Basic ********"]);
    assert_eq!(outcome.result.unwrap_err().message, "login failed for ******** (AI fallback is not configured)");
}

#[tokio::test]
async fn a_refused_connection_fails_its_segment_even_when_the_code_caught_it() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::Refused(json!({"a": "fine"})))]);
    let (outcome, _) = run(&mut browser, request(), &settings(5_000, 60_000)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::EgressDenied);
    let failure = outcome.result.unwrap_err();
    assert_eq!(failure.segment.as_deref(), Some("a"));
    assert!(failure.message.contains("10.0.0.1"), "{}", failure.message);
    assert_eq!(browser.closes, 1, "the browser is fine: its session is closed, not killed");
}

#[tokio::test]
async fn a_result_the_runner_refused_as_too_large_fails_without_fallback() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::TooLarge)]);
    let (outcome, _) = run(&mut browser, request(), &settings(5_000, 60_000)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::OutputTooLarge);
    assert_eq!(outcome.segments[0].status, SegmentStatus::Failed);
}

#[tokio::test]
async fn sessions_start_from_a_storage_state_export_it_and_mask_its_values() {
    let cookie = "cookie-value-from-login";
    let state = StorageState::from_json(json!({"cookies": [{"name": "sid", "value": cookie}], "origins": []})).unwrap();
    let code = Code::Log(vec![format!("document.cookie is sid={cookie}")], Box::new(Code::Return(json!({"a": "x"}))));
    let mut browser = FakeBrowser::with_code(&[("a", code)]);
    let mut login = request();
    login.storage_state = Some(state.clone());
    login.export_storage_state = true;
    let (outcome, records) = run(&mut browser, login, &settings(5_000, 60_000)).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(browser.opened[0].storage_state.as_ref(), Some(&state), "the session opened with the state");
    assert_eq!(outcome.storage_state.as_ref(), Some(&state), "and exported it at the end");
    assert!(!format!("{records:?}").contains(cookie), "a cookie value is masked like a secret");

    // The next run on the same browser opens a session of its own: the last one was closed.
    let (again, _) = run(&mut browser, request(), &settings(5_000, 60_000)).await;
    assert!(again.result.is_ok(), "{:?}", again.result);
    assert_eq!((browser.opened.len(), browser.closes), (2, 2));
    assert!(browser.opened[1].storage_state.is_none());
    assert!(again.storage_state.is_none(), "exported only when asked");
}

#[tokio::test]
async fn a_browser_that_cannot_open_a_session_fails_the_run_masked() {
    let mut browser = FakeBrowser::with_code(&[]);
    browser.session_open = true;
    let (outcome, records) = run(&mut browser, request(), &settings(5_000, 60_000)).await;
    assert_eq!(failure_code(&outcome), ErrorCode::BrowserError);
    assert!(outcome.result.unwrap_err().message.contains("already open"));
    assert!(records.is_empty() && outcome.segments.is_empty());
}

#[tokio::test]
async fn failing_code_falls_back_to_the_agent_in_one_record_with_a_heal() {
    let rule = testkit::Rule {
        task: None,
        when: regex::Regex::new("(?s).*").unwrap(),
        calls: vec![("complete".into(), json!({"a": "999"}))],
    };
    let model = testkit::ScriptedModel::start(vec![rule]).await.expect("model");
    let config = agent::llm::Config::from_values(None, Some("scripted".into()), Some(model.openai_base()), None, false)
        .expect("config")
        .expect("a model");
    let agent = agent::Agent::new(config, agent::Settings::default());
    let settings = Settings { agent: Some(Arc::new(agent)), ..settings(5_000, 60_000) };
    let code = Code::Log(vec!["clicking".into()], Box::new(Code::Throw(format!("no #price; typed {SECRET}"))));
    let mut browser = FakeBrowser::with_code(&[("a", code), ("b", Code::Return(json!({"b": "done"})))]);
    let (outcome, records) = run(&mut browser, request(), &settings).await;
    let outputs = outcome.result.as_ref().expect("the agent completed a");
    assert_eq!(Value::Object((**outputs).clone()), json!({"a": "999"}));
    let a = &outcome.segments[0];
    assert_eq!((a.mode, a.sequence, a.status), (Mode::AiFallback, 1, SegmentStatus::Completed));
    assert_eq!(a.fallback_from.as_ref().map(|f| f.message.as_str()), Some("no #price; typed ********"));
    assert_eq!(a.logs[0].as_str(), "clicking", "the code's logs stay in the one record");
    assert!(a.tokens.is_some());
    let starts: Vec<Mode> = records
        .iter()
        .filter_map(|r| match r {
            Record::SegmentStarted { name, mode, .. } if name == "a" => Some(*mode),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [Mode::Code, Mode::AiFallback]);
    assert_eq!(outcome.heals.len(), 1, "the fallback is offered as a heal");
    assert!(!model.received_text().contains(SECRET), "the model never sees the secret");
}

#[tokio::test]
async fn a_run_leaves_masked_artifacts_and_never_follows_a_link() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::Return(json!({"a": format!("saw {SECRET}")})))]);
    browser.downloads = vec![
        ("report.csv".into(), Some(format!("user,password\ndemo,{SECRET}\n"))),
        ("keys.txt".into(), None),
        ("outputs.json".into(), Some("a download named like an artifact".into())),
    ];
    let mut request = request();
    request.artifacts = Some(ArtifactOptions { screenshots: Screenshots::EverySegment, trace: Trace::On });
    let (outcome, _) = run(&mut browser, request, &settings(5_000, 60_000)).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let artifacts = outcome.artifacts.expect("asked for");
    let listed: Vec<(ArtifactKind, &str, Option<&str>)> =
        artifacts.list.iter().map(|a| (a.kind, a.name.as_str(), a.segment.as_deref())).collect();
    assert_eq!(
        listed,
        [
            (ArtifactKind::Screenshot, "segment-001-a.png", Some("a")),
            (ArtifactKind::Screenshot, "segment-002-b.png", Some("b")),
            (ArtifactKind::Screenshot, "end.png", None),
            (ArtifactKind::Trace, "trace.zip", None),
            (ArtifactKind::Download, "report.csv", None),
            (ArtifactKind::Download, "outputs.json", None),
            (ArtifactKind::Output, "outputs (2).json", None),
        ]
    );
    let read = |name: &str| std::fs::read_to_string(artifacts.dir().join(name)).expect(name);
    assert_eq!(read("report.csv"), "user,password\ndemo,********\n", "text downloads are masked");
    assert_eq!(read("outputs (2).json"), "{\n  \"a\": \"saw ********\"\n}\n");
    assert_eq!(read("end.png"), "PNG hiding 1", "screenshots paint over the secret");
    assert_eq!(artifacts.skipped.len(), 1, "the link is skipped: {:?}", artifacts.skipped);
    let trace = std::fs::File::open(artifacts.dir().join("trace.zip")).unwrap();
    let mut typed = String::new();
    let mut archive = zip::ZipArchive::new(trace).unwrap();
    std::io::Read::read_to_string(&mut archive.by_name("trace.trace").unwrap(), &mut typed).unwrap();
    assert_eq!(typed, r#"{"method":"fill","params":{"value":"********"}}"#, "the trace is scrubbed");
    assert_eq!(browser.opened[0].trace.map(|t| t.screenshots), Some(false), "no screencast");
    assert!(artifacts.skipped[0].starts_with("keys.txt"), "{:?}", artifacts.skipped);
    let csv = artifacts.list.iter().find(|a| a.name == "report.csv").unwrap();
    assert_eq!(csv.size, read("report.csv").len() as u64);
    assert_eq!(csv.content_type, "text/csv");
}

#[tokio::test]
async fn a_failed_run_leaves_its_page_masked_and_no_outputs() {
    let mut browser = FakeBrowser::with_code(&[("a", Code::Throw("no such element".into()))]);
    browser.html = format!("<input value=\"{SECRET}\">");
    let mut failing = request();
    failing.artifacts = Some(ArtifactOptions { trace: Trace::OnFailure, ..ArtifactOptions::default() });
    let (outcome, _) = run(&mut browser, failing, &settings(5_000, 60_000)).await;
    assert!(outcome.result.is_err());
    let artifacts = outcome.artifacts.expect("asked for");
    let kinds: Vec<ArtifactKind> = artifacts.list.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ArtifactKind::Screenshot, ArtifactKind::Page, ArtifactKind::Trace], "kept: the run failed");
    let page = std::fs::read_to_string(artifacts.dir().join("page.html")).unwrap();
    assert_eq!(page, "<input value=\"********\">");

    // Without asking, nothing is collected; a killed browser leaves no end screenshot.
    let mut browser = FakeBrowser::with_code(&[("a", Code::Hang)]);
    let mut hanging = request();
    hanging.artifacts = Some(ArtifactOptions::default());
    let (outcome, _) = run(&mut browser, hanging, &settings(100, 60_000)).await;
    assert!(outcome.artifacts.expect("asked for").list.is_empty());
    let (outcome, _) = run(&mut FakeBrowser::with_code(&[]), request(), &settings(5_000, 60_000)).await;
    assert!(outcome.artifacts.is_none());
}

/// Values a request names as secrets (an identity's credentials) are masked like
/// secret inputs, whatever input carries them.
#[tokio::test]
async fn secrets_a_request_names_are_masked_too() {
    let credential = "plain-typed-credential-77";
    let code = Code::Log(vec![format!("typing {credential}")], Box::new(Code::Return(json!({"a": credential}))));
    let mut browser = FakeBrowser::with_code(&[("a", code), ("b", Code::Return(json!({"b": "ok"})))]);
    let mut asked = request();
    asked.secrets = vec![credential.to_owned()];
    let (outcome, records) = run(&mut browser, asked, &settings(5_000, 60_000)).await;
    let outputs = outcome.result.expect("completes");
    assert_eq!(outputs["a"], "********");
    assert!(!format!("{records:?}").contains(credential), "{records:?}");
}

/// Answers a deferred input after a while, or never.
struct Person(Option<Value>);

impl crate::InputSource for Person {
    fn ask<'a>(
        &'a self,
        _wanted: &'a engine::InputWanted,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.0.clone().ok_or_else(|| "nobody supplied input 'password' within 0.05 seconds".to_owned())
        })
    }
}

/// A deferred input is asked for when the segment reading it is reached; an answer
/// lets the run go on, none fails it with INPUT_TIMEOUT.
#[tokio::test]
async fn a_deferred_input_is_asked_for_and_answered_or_timed_out() {
    let code = || Code::Log(vec![format!("typing {SECRET}")], Box::new(Code::Return(json!({"a": "in"}))));
    for (answer, expected) in [(Some(json!(SECRET)), None), (None, Some(ErrorCode::InputTimeout))] {
        let mut browser = FakeBrowser::with_code(&[("a", code()), ("b", Code::Return(json!({"b": "ok"})))]);
        let mut asked = RunRequest::new(workflow(), Map::new(), CancellationToken::new());
        asked.deferred_inputs = vec!["password".into()];
        asked.input_source = Some(Arc::new(Person(answer)));
        let (outcome, records) = run(&mut browser, asked, &settings(5_000, 60_000)).await;
        assert_eq!(outcome.result.as_ref().err().map(|f| f.code), expected, "{outcome:?}");
        assert!(!format!("{records:?}").contains(SECRET), "a secret supplied late is masked: {records:?}");
    }
}
