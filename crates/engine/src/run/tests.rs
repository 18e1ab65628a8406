use serde_json::{Value, json};

use super::*;
use crate::inputs;

fn run_of(doc: Value, given: Value, config: Config) -> Run {
    let checked = workflow::check_value(&doc);
    let w = checked.workflow.unwrap_or_else(|| panic!("invalid test document: {:?}", checked.diagnostics));
    let state = inputs::prepare(&w, given.as_object().unwrap()).expect("valid inputs");
    Run::new(Arc::new(w), state, config)
}

fn seg(name: &str, ty: &str, inputs: Value, outputs: Value, next: Value) -> Value {
    let (prompt, code) = match ty {
        "logic" => (Value::Null, json!("async (page, parameters) => ({})")),
        "agent" => (json!("do it"), Value::Null),
        _ => (json!("do it"), json!("async (page, parameters) => ({})")),
    };
    json!({"name": name, "type": ty, "prompt": prompt, "inputParameters": inputs, "outputParameters": outputs,
           "deterministic": code, "next": next, "router": null})
}

fn expect_code(step: &Step) -> &CodeCall {
    match &step.action {
        Action::Code(c) => c,
        other => panic!("expected code, got {other:?}"),
    }
}

fn expect_failure(step: &Step) -> &Failure {
    match &step.action {
        Action::Failed(f) => f,
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn segments_see_only_declared_inputs_and_outputs_merge_by_name() {
    let doc = json!({
        "name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "q", "type": "string"}, {"name": "n", "type": "number", "required": false}],
        "outputParameters": [{"name": "x", "type": "string"}],
        "segments": [
            seg("a", "ui", json!([{"name": "q", "type": "string"}]), json!([{"name": "x", "type": "string"}]), json!("b")),
            seg("b", "ui", json!([]), json!([{"name": "x", "type": "string"}]), Value::Null),
        ]
    });
    let mut run = run_of(doc, json!({"q": "laptop", "n": null}), Config::default());
    let step = run.start();
    assert_eq!(Value::Object(expect_code(&step).parameters.clone()), json!({"q": "laptop"}));
    let step = run.code_returned(Ok(json!({"x": "first", "extra": 1})));
    assert_eq!(step.warnings, ["segment 'a' returned 'extra', which is not a declared output; it was dropped"]);
    assert!(expect_code(&step).parameters.is_empty());
    let step = run.code_returned(Ok(json!({"x": "second"})));
    assert_eq!(step.action, Action::Finished(json!({"x": "second"}).as_object().unwrap().clone()));
    assert!(!run.state().contains_key("extra"));
}

#[test]
fn a_missing_required_input_fails_the_segment_before_its_code() {
    let doc = json!({
        "name": "w", "startSegmentName": "a",
        "segments": [seg("a", "logic", json!([{"name": "token_id", "type": "string"}]), json!([]), Value::Null)]
    });
    let mut run = run_of(doc, json!({}), Config::default());
    let failure = expect_failure(&run.start()).clone();
    assert_eq!((failure.code, failure.segment.as_deref()), (ErrorCode::MissingInput, Some("a")));
    assert_eq!(failure.message, "input 'token_id' is required but missing");
}

#[test]
fn output_rules() {
    let outputs = json!([{"name": "price", "type": "number"}, {"name": "tag", "type": "string", "required": false}]);
    let doc =
        json!({"name": "w", "startSegmentName": "a", "segments": [seg("a", "logic", json!([]), outputs, Value::Null)]});
    let cases = [
        (
            json!([]),
            ErrorCode::InvalidResult,
            "returned [], but a segment must return an object (use {} for no outputs)",
        ),
        (json!({"price": null}), ErrorCode::MissingOutput, "required output 'price' is missing or null"),
        (json!({"price": "12"}), ErrorCode::InvalidOutput, "output 'price' must be a number, got \"12\""),
        (json!({"price": 1, "tag": 5}), ErrorCode::InvalidOutput, "output 'tag' must be a string, got 5"),
    ];
    for (returned, code, message) in cases {
        let mut run = run_of(doc.clone(), json!({}), Config::default());
        run.start();
        let failure = expect_failure(&run.code_returned(Ok(returned))).clone();
        assert_eq!((failure.code, failure.message.as_str()), (code, message));
    }
}

#[test]
fn thrown_errors_mention_missing_fallback_only_where_fallback_exists() {
    for (ty, message) in [("ui", "boom (AI fallback is not configured)"), ("logic", "boom")] {
        let doc = json!({"name": "w", "startSegmentName": "a", "segments": [seg("a", ty, json!([]), json!([]), Value::Null)]});
        let mut run = run_of(doc, json!({}), Config::default());
        run.start();
        let failure = expect_failure(&run.code_returned(Err("boom".into()))).clone();
        assert_eq!((failure.code, failure.message.as_str()), (ErrorCode::SegmentThrew, message));
    }
}

#[test]
fn with_ai_available_ui_falls_back_and_logic_does_not() {
    let config = Config { ai_available: true, ..Config::default() };
    let doc =
        json!({"name": "w", "startSegmentName": "a", "segments": [seg("a", "ui", json!([]), json!([]), Value::Null)]});
    let mut run = run_of(doc, json!({}), config.clone());
    run.start();
    match run.code_returned(Err("selector changed".into())).action {
        Action::Agent(call) => {
            assert_eq!(call.mode(), Mode::AiFallback);
            assert_eq!(call.fallback_from.unwrap().message, "selector changed");
        }
        other => panic!("expected fallback, got {other:?}"),
    }
    let doc = json!({"name": "w", "startSegmentName": "a", "segments": [seg("a", "logic", json!([]), json!([]), Value::Null)]});
    let mut run = run_of(doc, json!({}), config);
    run.start();
    assert_eq!(expect_failure(&run.code_returned(Err("no results".into()))).message, "no results");
}

#[test]
fn agent_segments_need_a_model() {
    let doc = json!({"name": "w", "startSegmentName": "a", "segments": [seg("a", "agent", json!([]), json!([]), Value::Null)]});
    let failure = expect_failure(&run_of(doc, json!({}), Config::default()).start()).clone();
    assert_eq!(failure.code, ErrorCode::AgentRequired);
    assert!(failure.message.contains("needs an AI model"), "{}", failure.message);
}

fn looping_doc() -> Value {
    let mut page = seg("page", "ui", json!([]), json!([{"name": "more", "type": "boolean"}]), json!(["page", "done"]));
    page["router"] = json!("(p) => p.more ? 'page' : 'done'");
    json!({"name": "w", "startSegmentName": "page", "segments": [page, seg("done", "logic", json!([]), json!([]), Value::Null)]})
}

#[test]
fn routers_loop_back_and_see_only_their_own_outputs() {
    let mut run = run_of(looping_doc(), json!({}), Config::default());
    run.start();
    match run.code_returned(Ok(json!({"more": true}))).action {
        Action::Route(call) => assert_eq!(Value::Object(call.outputs), json!({"more": true})),
        other => panic!("expected route, got {other:?}"),
    }
    assert_eq!(expect_code(&run.route_returned(Ok(json!("page")))).name, "page");
    run.code_returned(Ok(json!({"more": false})));
    assert_eq!(expect_code(&run.route_returned(Ok(json!("done")))).name, "done");
    assert_eq!(run.executions(), 3);
}

#[test]
fn a_router_must_return_one_of_next() {
    let mut run = run_of(looping_doc(), json!({}), Config::default());
    run.start();
    run.code_returned(Ok(json!({"more": true})));
    let failure = expect_failure(&run.route_returned(Ok(json!("elsewhere")))).clone();
    assert_eq!(failure.code, ErrorCode::RouterFailed);
    assert_eq!(failure.message, "router returned \"elsewhere\"; expected one of 'page', 'done'");
}

#[test]
fn the_execution_limit_stops_endless_loops_naming_the_segment() {
    let mut run = run_of(looping_doc(), json!({}), Config { max_segment_executions: 5, ..Config::default() });
    let mut step = run.start();
    for _ in 0..10 {
        step = match step.action {
            Action::Code(_) => run.code_returned(Ok(json!({"more": true}))),
            Action::Route(_) => run.route_returned(Ok(json!("page"))),
            _ => break,
        };
    }
    let failure = expect_failure(&step);
    assert_eq!((failure.code, failure.segment.as_deref()), (ErrorCode::ExecutionLimit, Some("page")));
    assert_eq!(run.executions(), 5);
}

#[test]
fn required_workflow_outputs_must_be_in_the_state() {
    let doc = json!({"name": "w", "startSegmentName": "a", "outputParameters": [{"name": "total", "type": "number"}],
                     "segments": [seg("a", "logic", json!([]), json!([]), Value::Null)]});
    let mut run = run_of(doc, json!({}), Config::default());
    run.start();
    let failure = expect_failure(&run.code_returned(Ok(json!({})))).clone();
    assert_eq!(failure.code, ErrorCode::MissingWorkflowOutput);
    assert_eq!(failure.message, "workflow output 'total' is required but missing when the run ended after segment 'a'");
}

#[test]
fn secrets_from_inputs_and_secret_outputs_are_redacted() {
    let doc = json!({"name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "password", "type": "secret"}],
        "segments": [seg("a", "logic", json!([]), json!([{"name": "session", "type": "secret"}]), Value::Null)]});
    let mut run = run_of(doc, json!({"password": "hunter2"}), Config::default());
    run.start();
    run.code_returned(Ok(json!({"session": "tok-123"})));
    assert_eq!(run.redactor().mask("hunter2 / tok-123").as_str(), "******** / ********");
}

#[test]
fn agent_prompts_substitute_inputs_but_not_secrets() {
    let config = Config { ai_available: true, ..Config::default() };
    let mut agent = seg(
        "a",
        "agent",
        json!([{"name": "q", "type": "string"}, {"name": "pw", "type": "secret"}]),
        json!([]),
        Value::Null,
    );
    agent["prompt"] = json!("Find {{q}} using {{pw}}");
    let doc = json!({"name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "q", "type": "string"}, {"name": "pw", "type": "secret"}], "segments": [agent]});
    let mut run = run_of(doc, json!({"q": "mugs", "pw": "s3cret"}), config);
    match run.start().action {
        Action::Agent(call) => assert_eq!(call.prompt, "Find mugs using {{pw}}"),
        other => panic!("expected agent, got {other:?}"),
    }
}

#[test]
fn inputs_are_converted_checked_and_every_problem_named() {
    let doc = json!({"name": "w", "startSegmentName": "a",
        "inputParameters": [{"name": "n", "type": "number"}, {"name": "color", "type": "string", "options": ["red", "blue"]},
                            {"name": "flag", "type": "boolean", "required": false, "defaultValue": false}],
        "segments": [seg("a", "logic", json!([]), json!([]), Value::Null)]});
    let w = workflow::check_value(&doc).workflow.unwrap();
    let ok = inputs::prepare(&w, json!({"n": "4", "color": "red"}).as_object().unwrap()).unwrap();
    assert_eq!(Value::Object(ok), json!({"n": 4, "color": "red", "flag": false}));
    let errors = inputs::prepare(&w, json!({"color": "green", "typo": 1}).as_object().unwrap()).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "input 'typo' is not declared by the workflow (declared: n, color, flag)",
            "input 'n' (number) is required but missing",
            "input 'color' (string) is \"green\", which is not one of the options [\"red\", \"blue\"]",
        ]
    );
}
