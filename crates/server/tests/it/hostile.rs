//! Callers that try to take the API down: half-open connections, slow bodies,
//! huge or `null` or NUL-carrying fields, the last admin key, run lists of huge outputs.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Database, TestServer, logic};

fn quick(header_read_timeout: Duration, request_timeout: Duration, max_connections: usize) -> ServeOptions {
    ServeOptions { header_read_timeout, request_timeout, max_connections, ..ServeOptions::default() }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://")).await.expect("connect")
}

/// Reads until the server closes the connection; `None` if it is still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed_after_the_header_timeout() {
    let server =
        TestServer::start_with(0, quick(Duration::from_secs(1), Duration::from_secs(30), 64), Database::Sqlite).await;
    for opening in [&b"GET /healthz HTTP/1.1\r\nHost: segue\r\n"[..], b"GET /heal", b""] {
        let mut stream = connect(&server).await;
        stream.write_all(opening).await.expect("write");
        let started = Instant::now();
        let closed = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        assert!(closed.is_some(), "{:?}: the connection is still open", String::from_utf8_lossy(opening));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(800) && waited < Duration::from_secs(5), "closed after {waited:?}");
    }
    let keep_alive = server.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!(keep_alive.status, StatusCode::OK, "complete requests are served as before");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_hold_no_descriptor_and_health_still_answers() {
    let cap = 16;
    // Headers may take 30 s: /healthz answering at once shows that silent clients
    // make room for it, rather than their timeouts.
    let server =
        TestServer::start_with(0, quick(Duration::from_secs(30), Duration::from_secs(30), cap), Database::Sqlite).await;
    let before = open_descriptors();
    let mut half_open = Vec::new();
    for _ in 0..64 {
        let mut stream = connect(&server).await;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: segue\r\nX-Slow: ").await.expect("write");
        half_open.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = open_descriptors().saturating_sub(before);
    // 64 client sockets, at most `cap` accepted server sockets (and one waiting), a few of the store's.
    assert!(held <= 64 + cap + 8, "{held} descriptors opened for 64 connections with a cap of {cap}");
    for _ in 0..3 {
        let started = Instant::now();
        let health = reqwest::Client::new()
            .get(format!("{}/healthz", server.base))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("/healthz answers");
        assert_eq!(health.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_ends_gets_408_in_the_error_shape() {
    let server =
        TestServer::start_with(0, quick(Duration::from_secs(5), Duration::from_secs(1), 64), Database::Sqlite).await;
    let mut stream = connect(&server).await;
    let head = format!(
        "POST /v1/workflows HTTP/1.1\r\nHost: segue\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"name\": ",
        server.admin_key
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let response = read_until_closed(&mut stream, Duration::from_secs(10)).await.expect("the connection is closed");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains(r#""code":"REQUEST_TIMEOUT""#), "{response}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_outlive_the_timeouts_and_waits_end_before_them() {
    // The stream stays open longer than both the header and the request timeout.
    let server =
        TestServer::start_with(0, quick(Duration::from_secs(1), Duration::from_secs(2), 64), Database::Sqlite).await;
    let wf = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
    let started = Instant::now();
    let waited = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await;
    assert_eq!((waited.status, waited.body["status"].as_str()), (StatusCode::CREATED, Some("PENDING")));
    assert!(started.elapsed() < Duration::from_secs(2), "the wait ended before the request timeout");
    let run = waited.body["id"].as_str().expect("id").to_owned();

    let mut events = reqwest::Client::new()
        .get(format!("{}/v1/runs/{run}/events", server.base))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), StatusCode::OK);
    let first = events.chunk().await.expect("a chunk").expect("the run event");
    assert!(String::from_utf8_lossy(&first).contains("event: run"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.post(&format!("/v1/runs/{run}/cancel"), json!(null)).await;
    let mut rest = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = events.chunk().await {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok() && rest.contains("event: end") && rest.contains("CANCELLED"), "{rest}");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_big_bodies_answer_in_the_error_shape() {
    let server = TestServer::start(0).await;
    let unknown = server.get("/v1/nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "NOT_FOUND", "{}", unknown.body);
    let http = reqwest::Client::new();
    let wrong = http.put(format!("{}/v1/runs", server.base)).bearer_auth(&server.admin_key).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong.headers().get("allow").is_some_and(|a| a.to_str().unwrap_or("").contains("GET")));
    let body: Value = wrong.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
    let unauthenticated_wrong = server.call_as(None, Method::DELETE, "/healthz", None).await;
    assert_eq!(unauthenticated_wrong.body["error"]["code"], "METHOD_NOT_ALLOWED");
    for size in [server::MAX_BODY_BYTES + 1, 20 * 1024 * 1024] {
        let name = "x".repeat(size);
        let big = server.post("/v1/workflows", json!({"name": name, "definition": {}})).await;
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{size} bytes");
        assert_eq!(big.body["error"]["code"], "PAYLOAD_TOO_LARGE");
    }
    // A run's body may carry files: a 4 MB file input is no more than a few MB of base64.
    let file = [json!({"name": "doc", "type": "file", "required": true, "description": "d"})];
    let workflow = server.create_workflow(crate::support::logic("async () => ({})", json!(file), json!([]))).await;
    let four_mb = workflow::data_uri::encode("application/pdf", Some("big.pdf"), &vec![7u8; 4 << 20]);
    let run = server.post(&format!("/v1/workflows/{workflow}/runs"), json!({"inputs": {"doc": four_mb}})).await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let too_big = "x".repeat(server::MAX_RUN_BODY_BYTES + 1);
    let run = server.post(&format!("/v1/workflows/{workflow}/runs"), json!({"inputs": {"doc": too_big}})).await;
    assert_eq!(run.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", run.body);
    for path in ["/v1/runs/run%00x", "/v1/runs?workflowId=a%00b", "/v1/workflows?sourceProvider=%00"] {
        let r = server.get(path).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("BAD_REQUEST")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn null_is_refused_where_it_cannot_mean_anything() {
    let server = TestServer::start(0).await;
    let doc = logic("async () => ({})", json!([]), json!([]));
    let wf = server.create_workflow(doc.clone()).await;
    let patch = format!("/v1/workflows/{wf}");
    let draft = format!("/v1/workflows/{wf}/draft");
    let runs = format!("/v1/workflows/{wf}/runs");
    for (method, path, body, field) in [
        (Method::PATCH, patch.as_str(), json!({"definition": null}), "definition"),
        (Method::PATCH, &patch, json!({"name": null}), "name"),
        (Method::PATCH, &patch, json!({"type": null}), "type"),
        (Method::PUT, &draft, json!({"definition": null}), "definition"),
        (Method::POST, "/v1/workflows", json!({"name": "w", "definition": null}), "definition"),
        (Method::POST, "/v1/workflows", json!({"name": null, "definition": doc}), "name"),
        (Method::POST, "/v1/workflows", json!({"name": "w", "type": null, "definition": doc}), "type"),
        (Method::POST, &runs, json!({"version": null}), "version"),
        (Method::POST, &runs, json!({"waitSeconds": null}), "waitSeconds"),
        (Method::POST, &runs, json!({"inputs": null}), "inputs"),
        (Method::POST, "/v1/api-keys", json!({"name": "k", "role": null}), "role"),
        (Method::POST, "/v1/api-keys", json!({"name": null}), "name"),
    ] {
        let r = server.call(method.clone(), path, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "INVALID_FIELD", "{body}");
        let message = r.body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(field), "{body}: the message names {field}: {message}");
    }
    let unchanged = server.get(&patch).await.body;
    assert_eq!((unchanged["name"].as_str(), unchanged["latestVersion"].as_i64()), (Some("w"), Some(1)));
    assert_eq!(server.get(&draft).await.status, StatusCode::NOT_FOUND, "no draft was saved");
    assert_eq!(server.get("/v1/runs").await.body["data"], json!([]), "no run was queued");
    let cleared = server.call(Method::PATCH, &patch, Some(json!({"sourceProvider": null, "description": null}))).await;
    assert_eq!(cleared.status, StatusCode::OK, "null still clears the optional fields: {}", cleared.body);
}

#[tokio::test]
async fn nul_characters_and_long_text_are_422_on_every_backend() {
    for database in Database::available() {
        let server = TestServer::start_with(0, ServeOptions::default(), database.clone()).await;
        let doc = logic("async () => ({})", json!([]), json!([]));
        let wf = server.create_workflow(doc.clone()).await;
        let patch = format!("/v1/workflows/{wf}");
        let megabyte = "n".repeat(1024 * 1024);
        let long_key = "k".repeat(100 * 1024);
        let just_too_long = "é".repeat(store::limits::NAME_MAX_CHARS + 1);
        for (method, path, body, field) in [
            (Method::POST, "/v1/workflows", json!({"name": "a\u{0}b", "definition": doc}), "name"),
            (Method::POST, "/v1/workflows", json!({"name": megabyte, "definition": doc}), "name"),
            (Method::POST, "/v1/workflows", json!({"name": just_too_long, "definition": doc}), "name"),
            (Method::POST, "/v1/workflows", json!({"name": " ", "definition": doc}), "name"),
            (
                Method::POST,
                "/v1/workflows",
                json!({"name": "w", "description": "\u{0}", "definition": doc}),
                "description",
            ),
            (
                Method::POST,
                "/v1/workflows",
                json!({"name": "w", "sourceProvider": "p\u{0}", "definition": doc}),
                "sourceProvider",
            ),
            (Method::PATCH, patch.as_str(), json!({"name": "a\u{0}b"}), "name"),
            (Method::PATCH, &patch, json!({"description": "x\u{0}"}), "description"),
            (Method::PATCH, &patch, json!({"sourceProvider": "\u{0}", "definition": doc}), "sourceProvider"),
            (Method::POST, "/v1/api-keys", json!({"name": "k\u{0}"}), "name"),
            (Method::POST, "/v1/api-keys", json!({"name": long_key}), "name"),
        ] {
            let r = server.call(method.clone(), path, Some(body.clone())).await;
            let what = format!("{database:?} {method} {path} {field}");
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {}", r.body);
            assert_eq!(r.body["error"]["code"], "INVALID_FIELD", "{what}");
            assert_eq!(r.body["error"]["details"]["field"], field, "{what}");
        }
        // Run inputs are kept as JSON text, where NUL is escaped: stored and shown back on both backends.
        let with_input = logic("async () => ({})", json!([{"name": "q", "type": "string"}]), json!([]));
        let wf_input = server.create_workflow(with_input).await;
        let run = server.post(&format!("/v1/workflows/{wf_input}/runs"), json!({"inputs": {"q": "a\u{0}b"}})).await;
        assert_eq!(run.status, StatusCode::CREATED, "{database:?}: {}", run.body);
        assert_eq!(run.body["inputs"]["q"], "a\u{0}b", "{database:?}");
        server.call(Method::DELETE, &format!("/v1/workflows/{wf_input}"), None).await;
        let workflows = server.get("/v1/workflows").await.body;
        assert_eq!(workflows["data"].as_array().map(Vec::len), Some(1), "{database:?}: nothing was created");
        assert_eq!(workflows["data"][0]["latestVersion"], 1, "{database:?}: nothing was published");
        assert_eq!(server.get("/v1/api-keys").await.body.as_array().map(Vec::len), Some(1), "{database:?}");
    }
}

#[tokio::test]
async fn the_last_admin_key_cannot_be_revoked() {
    for database in Database::available() {
        let server = TestServer::start_with(0, ServeOptions::default(), database.clone()).await;
        let keys = server.get("/v1/api-keys").await.body;
        let first = keys[0]["id"].as_str().expect("the admin key").to_owned();
        let refused = server.call(Method::DELETE, &format!("/v1/api-keys/{first}"), None).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{database:?}: {}", refused.body);
        assert_eq!(refused.body["error"]["code"], "CONFLICT");
        assert!(refused.body["error"]["message"].as_str().unwrap_or("").contains("last admin key"));
        let second = server.post("/v1/api-keys", json!({"name": "second", "role": "admin"})).await.body;
        let second_key = second["key"].as_str().expect("key").to_owned();
        let revoked = server.call(Method::DELETE, &format!("/v1/api-keys/{first}"), None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{database:?}: another admin key exists now");
        let itself = server
            .call_as(
                Some(&second_key),
                Method::DELETE,
                &format!("/v1/api-keys/{}", second["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(itself.status, StatusCode::CONFLICT, "{database:?}: the second is now the last");
        let still = server.call_as(Some(&second_key), Method::GET, "/v1/api-keys", None).await;
        assert_eq!(still.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_lists_carry_the_outputs_size_not_the_outputs() {
    let server = TestServer::start(1).await;
    let big =
        logic("async () => ({ text: 'x'.repeat(100000) })", json!([]), json!([{"name": "text", "type": "string"}]));
    let wf = server.create_workflow(big).await;
    let done = server.post(&format!("/v1/workflows/{wf}/runs"), json!({"waitSeconds": 60})).await.body;
    assert_eq!(done["status"], "COMPLETED", "{}", done["error"]);
    for path in ["/v1/runs".to_owned(), format!("/v1/runs?workflowId={wf}"), "/v1/runs?status=COMPLETED".to_owned()] {
        let listed = server.get(&path).await.body;
        let item = &listed["data"][0];
        assert!(item.get("outputs").is_none(), "{path}: no outputs in lists");
        let size = item["outputsSize"].as_i64().unwrap_or(0);
        assert!((100_000..100_100).contains(&size), "{path}: outputsSize {size}");
        assert_eq!(item["id"], done["id"], "{path}");
    }
    let one = server.get(&format!("/v1/runs/{}", done["id"].as_str().unwrap())).await.body;
    assert_eq!(one["outputs"]["text"].as_str().map(str::len), Some(100_000), "a single run has its outputs");
}
