use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::failure::ErrorCode;
use crate::inputs;

const SECRET: &str = "hunter2-s3cret";

fn execution(doc: Value, given: Value, config: Config) -> Execution {
    let checked = workflow::check_value(&doc);
    let w = checked.workflow.unwrap_or_else(|| panic!("invalid test document: {:?}", checked.diagnostics));
    let state = inputs::prepare(&w, given.as_object().unwrap()).expect("valid inputs");
    Execution::new(Arc::new(w), state, config)
}

/// Two `ui` segments, `a` then `b`; `a` takes the secret `password`.
fn two_segments() -> Value {
    let seg = |name: &str, inputs: Value, next: Value| {
        json!({"name": name, "type": "ui", "prompt": "do it", "inputParameters": inputs,
               "outputParameters": [{"name": name, "type": "string"}],
               "deterministic": "async (page, parameters) => ({})", "next": next, "router": null})
    };
    json!({
        "name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "password", "type": "secret"}],
        "outputParameters": [{"name": "b", "type": "string"}],
        "segments": [seg("a", json!([{"name": "password", "type": "secret"}]), json!("b")), seg("b", json!([]), Value::Null)]
    })
}

fn ai() -> Config {
    Config { ai_available: true, ..Config::default() }
}

fn finished(records: &[Record]) -> Vec<&SegmentRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::SegmentFinished(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn records_are_timed_masked_and_reported_in_order() {
    let mut run = execution(two_segments(), json!({"password": SECRET}), Config::default());
    let t0 = Instant::now();
    let reply = run.apply(Event::Start, t0);
    assert_eq!(reply.records, [Record::SegmentStarted { name: "a".into(), sequence: 1, mode: Mode::Code }]);
    let Some(Command::Code(call)) = reply.command else { panic!("code first: {reply:?}") };
    assert_eq!(call.parameters["password"], SECRET, "the browser gets the real value");

    let logged = run.apply(Event::Logged(format!("typing {SECRET} and {}", SECRET.to_uppercase())), t0);
    assert_eq!(logged.command, None, "a log line does not end the segment");
    let [Record::Log { segment, text }] = logged.records.as_slice() else { panic!("{logged:?}") };
    assert_eq!((segment.as_str(), text.as_str()), ("a", "typing ******** and ********"));

    let t1 = t0 + Duration::from_millis(250);
    let returned = Event::CodeReturned {
        result: Ok(json!({"a": format!("saw {SECRET}"), "extra": 1})),
        in_code: Duration::from_millis(200),
    };
    let reply = run.apply(returned, t1);
    let kinds: Vec<&str> = reply
        .records
        .iter()
        .map(|r| match r {
            Record::SegmentStarted { .. } => "started",
            Record::Log { .. } => "log",
            Record::Warning(_) => "warning",
            Record::SegmentFinished(_) => "finished",
        })
        .collect();
    assert_eq!(kinds, ["finished", "warning", "started"], "a's record, its warning, then b begins");
    let a = finished(&reply.records)[0];
    assert_eq!((a.status, a.duration, a.sequence), (SegmentStatus::Completed, Duration::from_millis(250), 1));
    assert_eq!(a.logs.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["typing ******** and ********"]);
    assert!(matches!(&reply.command, Some(Command::Code(c)) if c.name == "b"));

    let reply = run.apply(Event::CodeReturned { result: Ok(json!({"b": SECRET})), in_code: Duration::ZERO }, t1);
    let Some(Command::Finish(outputs)) = reply.command else { panic!("{reply:?}") };
    assert_eq!(Value::Object(outputs.into_inner()), json!({"b": "********"}));
    let report = run.into_report();
    assert_eq!(report.segments.len(), 2);
    assert_eq!(report.in_code, Duration::from_millis(200));
}

#[test]
fn a_fallback_is_one_execution_timed_from_the_code_with_its_heal() {
    let mut run = execution(two_segments(), json!({"password": SECRET}), ai());
    let t0 = Instant::now();
    run.apply(Event::Start, t0);
    run.apply(Event::Logged("looking for the button".into()), t0);
    let reply = run.apply(
        Event::CodeReturned { result: Err(format!("no button; password was {SECRET}")), in_code: Duration::ZERO },
        t0 + Duration::from_millis(100),
    );
    assert_eq!(reply.records, [Record::SegmentStarted { name: "a".into(), sequence: 1, mode: Mode::AiFallback }]);
    let Some(Command::Agent(call)) = &reply.command else { panic!("the agent takes over: {reply:?}") };
    assert_eq!(call.fallback_from.as_ref().map(|f| f.code), Some(ErrorCode::SegmentThrew));

    let report = AgentReport {
        result: Ok(json!({"a": "done"}).as_object().unwrap().clone()),
        log_lines: vec![format!("fill #password with {SECRET}")],
        tokens: (120, 30),
        heal: Some(Ok(format!("await page.fill('#password', '{SECRET}')"))),
    };
    let reply = run.apply(Event::AgentReturned(report), t0 + Duration::from_millis(900));
    let [record] = finished(&reply.records)[..] else { panic!("one record for code and agent: {reply:?}") };
    assert_eq!((record.mode, record.sequence, record.status), (Mode::AiFallback, 1, SegmentStatus::Completed));
    assert_eq!(record.duration, Duration::from_millis(900), "timed from the code's start");
    assert_eq!(record.tokens, Some((120, 30)));
    let logs: Vec<&str> = record.logs.iter().map(|l| l.as_str()).collect();
    assert_eq!(logs, ["looking for the button", "fill #password with ********"]);
    let why = record.fallback_from.as_ref().expect("why the code failed");
    assert_eq!(why.message, "no button; password was ********");

    let heals = run.into_report().heals;
    assert_eq!(heals.len(), 1);
    assert_eq!((heals[0].segment, heals[0].name.as_str()), (0, "a"));
    assert_eq!(heals[0].code.as_ref().map(|c| c.as_str()), Ok("await page.fill('#password', '********')"));
}

#[test]
fn a_failure_outside_the_engine_fails_the_open_execution_and_the_run() {
    let mut run = execution(two_segments(), json!({"password": SECRET}), ai());
    let t0 = Instant::now();
    run.apply(Event::Start, t0);
    let timeout = Failure::new(ErrorCode::SegmentTimeout, Some("a"), format!("stuck typing {SECRET}"));
    let reply = run.apply(Event::Failed(timeout), t0 + Duration::from_secs(2));
    let [record] = finished(&reply.records)[..] else { panic!("{reply:?}") };
    assert_eq!(record.status, SegmentStatus::Failed);
    let error = record.error.as_ref().expect("the record names the failure");
    assert_eq!((error.code, error.message.as_str()), (ErrorCode::SegmentTimeout, "stuck typing ********"));
    let Some(Command::Fail(failure)) = reply.command else { panic!("no fallback after a timeout: {reply:?}") };
    assert_eq!(failure.code, ErrorCode::SegmentTimeout);
    assert!(!failure.message.contains(SECRET));
}

#[test]
fn outputs_over_the_limit_fail_without_falling_back() {
    let limits = Limits { output_bytes: 64, ..Limits::default() };
    let mut run = execution(two_segments(), json!({"password": SECRET}), Config { limits, ..ai() });
    let t0 = Instant::now();
    run.apply(Event::Start, t0);
    let big = Event::CodeReturned { result: Ok(json!({"a": "x".repeat(100)})), in_code: Duration::ZERO };
    let reply = run.apply(big, t0);
    let Some(Command::Fail(failure)) = &reply.command else { panic!("{reply:?}") };
    assert_eq!((failure.code, failure.segment.as_deref()), (ErrorCode::OutputTooLarge, Some("a")));
    assert_eq!(finished(&reply.records)[0].status, SegmentStatus::Failed);
}

#[test]
fn logs_stop_at_the_limit_and_the_record_says_how_many_were_cut() {
    let limits = Limits { log_lines: 2, ..Limits::default() };
    let mut run = execution(two_segments(), json!({"password": SECRET}), Config { limits, ..Config::default() });
    let t0 = Instant::now();
    run.apply(Event::Start, t0);
    let streamed: usize = (0..5).map(|i| run.apply(Event::Logged(format!("line {i}")), t0).records.len()).sum();
    assert_eq!(streamed, 2, "only the lines kept are streamed");
    let reply = run.apply(Event::CodeReturned { result: Ok(json!({"a": "x"})), in_code: Duration::ZERO }, t0);
    let logs: Vec<&str> = finished(&reply.records)[0].logs.iter().map(|l| l.as_str()).collect();
    assert_eq!(logs, ["line 0", "line 1", "… 3 more lines truncated (segment log limit)"]);
    assert!(
        reply.records.iter().any(|r| matches!(r, Record::Log { text, .. } if text.starts_with("… 3 more"))),
        "the marker is streamed too"
    );
}

#[test]
fn a_secret_added_for_the_session_is_masked_from_then_on() {
    let mut run = execution(two_segments(), json!({"password": SECRET}), Config::default());
    let cookie = "session-cookie-value-42";
    run.add_secrets([cookie]);
    let t0 = Instant::now();
    run.apply(Event::Start, t0);
    let reply = run.apply(Event::Logged(format!("cookie={cookie}")), t0);
    assert!(matches!(&reply.records[..], [Record::Log { text, .. }] if text.as_str() == "cookie=********"));
}

/// A deferred input nobody gave: the run waits for it before the segment that
/// reads it, then runs that segment with it, masked when secret.
#[test]
fn a_deferred_input_is_awaited_before_the_segment_that_reads_it() {
    let checked = workflow::check_value(&two_segments());
    let w = checked.workflow.expect("valid");
    let deferred = vec!["password".to_owned()];
    let state = inputs::prepare_deferring(&w, &Map::new(), &deferred).expect("a deferred input may be missing");
    assert!(inputs::prepare(&w, &Map::new()).is_err(), "not deferred, it is required");
    assert!(inputs::prepare_deferring(&w, &Map::new(), &["nope".to_owned()]).is_err(), "only declared inputs");
    let mut run = Execution::new(Arc::new(w), state, Config::default());
    run.defer(&deferred);
    let t0 = Instant::now();
    let waiting = run.apply(Event::Start, t0);
    assert!(waiting.records.is_empty(), "no segment started: {waiting:?}");
    let Some(Command::AwaitInput(wanted)) = waiting.command else { panic!("waits: {waiting:?}") };
    assert_eq!((wanted.segment.as_str(), wanted.name.as_str()), ("a", "password"));
    let supplied = run.apply(Event::InputSupplied { name: "password".into(), value: json!(SECRET) }, t0);
    let Some(Command::Code(call)) = supplied.command else { panic!("then runs: {supplied:?}") };
    assert_eq!(call.parameters["password"], SECRET);
    assert_eq!(run.redactor().mask(SECRET).as_str(), "********", "a secret supplied late is masked");
    assert_eq!(run.run.executions(), 1, "waiting is not an execution");
}
