//! Hostile definitions (issue 8): nesting that once overflowed the stack and
//! aborted the whole server, NUL characters PostgreSQL cannot store, names
//! without end. Each is a 422 with the validator's diagnostic, and the server
//! keeps answering.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Database, Response, TestServer, logic};

/// The issue's code: 1500 `[` and as many `]` after the arrow.
fn issue_code() -> String {
    format!("async (page, parameters) => {}{}", "[".repeat(1500), "]".repeat(1500))
}

fn first_diagnostic(r: &Response) -> (Option<&str>, Option<&str>) {
    let d = &r.body["error"]["details"]["diagnostics"][0];
    (d["code"].as_str(), d["location"].as_str())
}

/// POST and PUT draft of `definition` are both refused with `diagnostic`.
async fn refused_everywhere(server: &TestServer, definition: Value, diagnostic: (&str, &str)) {
    let created = server.post("/v1/workflows", json!({"name": "deep", "definition": definition})).await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", created.body);
    assert_eq!(created.body["error"]["code"], "INVALID_WORKFLOW");
    assert_eq!(first_diagnostic(&created), (Some(diagnostic.0), Some(diagnostic.1)));

    let id = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
    let path = format!("/v1/workflows/{id}/draft");
    let draft = server.call(Method::PUT, &path, Some(json!({"definition": definition}))).await;
    assert_eq!(draft.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", draft.body);
    assert_eq!(first_diagnostic(&draft), (Some(diagnostic.0), Some(diagnostic.1)));
    assert_eq!(server.get(&path).await.status, StatusCode::NOT_FOUND, "no draft was stored");
}

async fn still_answers(server: &TestServer) {
    assert_eq!(server.get("/v1/workflows").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_issue_body_is_422_and_the_server_survives() {
    let server = TestServer::start(0).await;
    let body = json!({"name": "deep", "definition": logic(&issue_code(), json!([]), json!([]))});
    assert!(body.to_string().len() < 6_000, "the issue's request is a few kilobytes");
    refused_everywhere(
        &server,
        logic(&issue_code(), json!([]), json!([])),
        ("too-deeply-nested", "segments[0].deterministic"),
    )
    .await;
    still_answers(&server).await;
}

#[tokio::test]
async fn every_shape_of_deep_code_is_422() {
    let server = TestServer::start(0).await;
    let shapes = [
        format!("async (p) => {}x", "!".repeat(60_000)),
        format!("async (p) => {}a", "a?a:".repeat(5_000)),
        format!("async (p) => {}a", "a=".repeat(20_000)),
        format!("async (p) => {}a", "a+".repeat(20_000)),
        format!("async (p) => a{}", "()".repeat(20_000)),
        format!("async (p) => {}{}", "`${".repeat(5_000), "}`".repeat(5_000)),
        format!("async (p) => {}a", "a=>".repeat(10_000)),
        format!("async (p) => {}X", "new ".repeat(10_000)),
        format!("async (p) => {}", "(".repeat(60_000)),
    ];
    for code in shapes {
        refused_everywhere(
            &server,
            logic(&code, json!([]), json!([])),
            ("too-deeply-nested", "segments[0].deterministic"),
        )
        .await;
    }
    let mut routed = logic("async () => ({ ok: true })", json!([]), json!([{"name": "ok", "type": "boolean"}]));
    routed["segments"][0]["next"] = json!(["only"]);
    routed["segments"][0]["router"] = json!(format!("(o) => {}o.ok", "!".repeat(5_000)));
    refused_everywhere(&server, routed, ("too-deeply-nested", "segments[0].router")).await;
    still_answers(&server).await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_at_any_depth() {
    let server = TestServer::start(0).await;
    // Within what the JSON reader takes (128 levels): the validator's diagnostic.
    let mut document = logic("async () => ({})", json!([]), json!([]));
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    document["extra"] = deep;
    let location = format!("extra{}", "[0]".repeat(workflow::limits::MAX_JSON_DEPTH - 1));
    refused_everywhere(&server, document, ("too-deeply-nested", location.as_str())).await;

    // Far beyond what the JSON reader takes: refused before parsing, with the same diagnostic.
    for depth in [129, 10_000, 100_000, 1_000_000] {
        let text = format!(r#"{{"name": "x", "definition": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let response = reqwest::Client::new()
            .post(format!("{}/v1/workflows", server.base))
            .bearer_auth(&server.admin_key)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "depth {depth}");
        let body: Value = response.json().await.expect("JSON error");
        let first = &body["error"]["details"]["diagnostics"][0];
        let location = "[0]".repeat(workflow::limits::MAX_JSON_DEPTH);
        assert_eq!(
            (first["code"].as_str(), first["location"].as_str()),
            (Some("too-deeply-nested"), Some(location.as_str())),
            "{body}"
        );
    }
    still_answers(&server).await;
}

/// NUL characters and over-long names, on the server's store.
async fn nul_and_length_are_422(server: &TestServer) {
    let mut named = logic("async () => ({})", json!([]), json!([]));
    named["segments"][0]["name"] = json!("on\u{0}ly");
    named["startSegmentName"] = json!("on\u{0}ly");
    refused_everywhere(server, named, ("nul-character", "startSegmentName")).await;

    let mut described = logic("async () => ({})", json!([{"name": "q", "type": "string"}]), json!([]));
    described["inputParameters"][0]["description"] = json!("a\u{0}b");
    refused_everywhere(server, described, ("nul-character", "inputParameters[0].description")).await;

    let mut long = logic("async () => ({})", json!([]), json!([]));
    long["name"] = json!("n".repeat(100_000));
    refused_everywhere(server, long, ("too-long", "name")).await;

    let mut long_segment = logic("async () => ({})", json!([]), json!([]));
    let name = "s".repeat(workflow::limits::MAX_NAME_LENGTH + 1);
    long_segment["segments"][0]["name"] = json!(name);
    long_segment["startSegmentName"] = json!(name);
    refused_everywhere(server, long_segment, ("too-long", "startSegmentName")).await;
    still_answers(server).await;
}

#[tokio::test]
async fn nul_characters_and_long_names_are_422_on_sqlite() {
    nul_and_length_are_422(&TestServer::start(0).await).await;
}

#[tokio::test]
async fn nul_characters_and_long_names_are_422_on_postgres() {
    let Some(admin) = testkit::test_database_url() else {
        eprintln!("SEGUE_TEST_DATABASE_URL is not set: PostgreSQL case skipped");
        return;
    };
    let server = TestServer::start_with(0, server::ServeOptions::default(), Database::Postgres(admin)).await;
    nul_and_length_are_422(&server).await;
}
