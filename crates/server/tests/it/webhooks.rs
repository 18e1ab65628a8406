//! Webhooks against a real receiver on 127.0.0.1 that checks every signature
//! with its own HMAC, answers as told, and is down while the server restarts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Database, Setup, TestServer, logic};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signatures: Vec<String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Whether one of the signatures is `secret`'s, computed here from the spec:
    /// base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the secret's bytes.
    fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).expect("base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signatures.contains(&expected)
    }
}

/// A webhook receiver: records every request and answers 500 to the first `failures`.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Receiver::serve(listener, failures)
    }

    /// On a port that is closed now (`open` later starts it there).
    async fn closed() -> (u16, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        (port, format!("http://127.0.0.1:{port}/hooks/segue"))
    }

    async fn open(port: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free again");
        Receiver::serve(listener, 0)
    }

    fn serve(listener: tokio::net::TcpListener, failures: usize) -> Receiver {
        let url = format!("http://{}/hooks/segue", listener.local_addr().expect("addr"));
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hooks/segue",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let mut log = log.lock().unwrap();
                    log.push(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                        signatures: header("webhook-signature").split(' ').map(str::to_owned).collect(),
                        body,
                    });
                    if log.len() <= failures {
                        (StatusCode::INTERNAL_SERVER_ERROR, "busy")
                    } else {
                        (StatusCode::OK, "ok")
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, received }
    }

    fn of_type(&self, event: &str) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|r| r.json()["type"] == event).cloned().collect()
    }

    /// Waits until `count` requests of `event` arrived.
    async fn wait_for(&self, event: &str, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.of_type(event);
            if got.len() >= count {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "{count} × {event} did not arrive, got {got:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Runs the receiver's Python snippet of docs/service.md#webhooks on a delivery.
fn documented_snippet_verifies(received: &Received, secret: &str) -> bool {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/service.md")).expect("docs");
    let webhooks = &docs[docs.find("## Webhooks").expect("a Webhooks section")..];
    let start = webhooks.find("```python\n").expect("a Python snippet") + "```python\n".len();
    let snippet = &webhooks[start..start + webhooks[start..].find("```").expect("its end")];
    let call = "import os, sys\nheaders = {k: os.environ['H_' + k.replace('-', '_')] for k in \
                ('webhook-id', 'webhook-timestamp', 'webhook-signature')}\n\
                sys.exit(0 if verify(os.environ['SECRET'], headers, sys.stdin.buffer.read()) else 1)\n";
    let mut python = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{snippet}\n{call}"))
        .env("SECRET", secret)
        .env("H_webhook_id", &received.id)
        .env("H_webhook_timestamp", received.timestamp.to_string())
        .env("H_webhook_signature", received.signatures.join(" "))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write as _;
    python.stdin.take().expect("stdin").write_all(received.body.as_bytes()).expect("body");
    python.wait().expect("python3 ends").success()
}

async fn deliveries(server: &TestServer, webhook: &str) -> Vec<Value> {
    let page = server.get(&format!("/v1/webhooks/{webhook}/deliveries?limit=100")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body["data"].as_array().expect("data").clone()
}

/// Waits until the delivery of `event` to `webhook` is recorded as delivered.
async fn delivered(server: &TestServer, webhook: &str, event: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let delivery = of_type(&deliveries(server, webhook).await, event);
        if delivery["status"] == "DELIVERED" {
            return delivery;
        }
        assert!(tokio::time::Instant::now() < deadline, "not recorded as delivered: {delivery}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn of_type(deliveries: &[Value], event: &str) -> Value {
    deliveries
        .iter()
        .find(|d| d["eventType"] == event)
        .cloned()
        .unwrap_or_else(|| panic!("no {event} in {deliveries:?}"))
}

#[tokio::test]
async fn a_receiver_hears_runs_signed_retried_and_masked() {
    let server = TestServer::start(1).await;
    let receiver = Receiver::start(1).await;
    let created = server
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "events": ["run.completed", "run.failed"], "description": "ops"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["secret"].as_str().expect("the secret, shown once").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let hook = created.body["id"].as_str().expect("id").to_owned();
    let shown = server.get(&format!("/v1/webhooks/{hook}")).await.body;
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(&secret[6..]), "{shown}");
    assert_eq!(shown["events"], json!(["run.completed", "run.failed"]));

    // A run with a secret input: completed, told twice (the first answer was 500)
    // with one event id, each attempt signed, the secret nowhere.
    let inputs = json!([{"name": "token", "type": "secret", "required": true, "description": "t"},
                        {"name": "n", "type": "number", "required": true, "description": "n"}]);
    let outputs = json!([{"name": "doubled", "type": "number", "required": true, "description": "d"},
                         {"name": "said", "type": "string", "required": true, "description": "s"}]);
    let code = "async (page, parameters) => ({ doubled: parameters.n * 2, said: 'token ' + parameters.token })";
    let workflow = server.create_workflow(logic(code, inputs, outputs)).await;
    let token = "tok-Sup3r-S3cret";
    let run =
        server.post(&format!("/v1/workflows/{workflow}/runs"), json!({"inputs": {"token": token, "n": 21}})).await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let run_id = run.body["id"].as_str().expect("run id").to_owned();
    let told = receiver.wait_for("run.completed", 2, Duration::from_secs(60)).await;
    assert_eq!(told[0].id, told[1].id, "one event id on every attempt");
    assert!(told[0].id.starts_with("msg_"), "{}", told[0].id);
    assert!(told.iter().all(|r| r.signed_by(&secret)), "{told:?}");
    assert_eq!(told[0].body, told[1].body, "the same bytes on every attempt");
    assert!(told[1].timestamp >= told[0].timestamp + 4, "the retry waited about 5 s: {told:?}");
    let body = told[1].json();
    assert_eq!(body["data"]["id"], run_id.as_str());
    assert_eq!(body["data"]["status"], "COMPLETED");
    assert_eq!(body["data"]["outputs"]["doubled"], 42);
    assert_eq!(body["test"], false);
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert!(!told[1].body.contains(token), "a secret input leaked: {}", told[1].body);
    assert!(documented_snippet_verifies(&told[1], &secret), "the docs' Python snippet accepts the delivery");
    let mut tampered = told[1].clone();
    tampered.body = tampered.body.replace("COMPLETED", "FAILED");
    assert!(!documented_snippet_verifies(&tampered, &secret), "and refuses a changed body");

    let completed = delivered(&server, &hook, "run.completed").await;
    assert_eq!(completed["attempts"], 2);
    assert_eq!(completed["lastStatusCode"], 200);
    assert_eq!(completed["responseSnippet"], "ok");
    assert_eq!(completed["eventId"], told[0].id.as_str());
    assert_eq!(completed["resourceId"], run_id.as_str());

    // A failing test run: told as run.failed, marked test; run.started was not asked for.
    let failing =
        server.create_workflow(logic("async () => { throw new Error('no such button') }", json!([]), json!([]))).await;
    let run = server.post(&format!("/v1/workflows/{failing}/runs"), json!({"test": true})).await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    let failed = receiver.wait_for("run.failed", 1, Duration::from_secs(60)).await[0].json();
    assert_eq!(failed["test"], true);
    assert_eq!(failed["data"]["status"], "FAILED");
    assert_eq!(failed["data"]["test"], true);
    assert!(failed["data"]["error"]["message"].as_str().is_some_and(|m| m.contains("no such button")), "{failed}");
    assert!(receiver.of_type("run.started").is_empty(), "not subscribed");

    // Rotation: the next attempt carries the new and the previous secret's signatures.
    let rotated = server.post(&format!("/v1/webhooks/{hook}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated.body["previousSecretExpiresAt"].is_string(), "{}", rotated.body);
    let id = completed["id"].as_str().expect("delivery id");
    let retried = server.post(&format!("/v1/webhooks/{hook}/deliveries/{id}/retry"), json!({})).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    let resent = receiver.wait_for("run.completed", 3, Duration::from_secs(30)).await[2].clone();
    assert_eq!(resent.id, told[0].id, "a retry keeps the event id");
    assert!(resent.signed_by(&new_secret) && resent.signed_by(&secret), "{resent:?}");
    assert_eq!(resent.signatures.len(), 2);
}

#[tokio::test]
async fn bad_webhooks_are_refused_with_the_field_at_fault() {
    let server = TestServer::start(1).await;
    let api_port = server.base.rsplit(':').next().expect("port").to_owned();
    for (body, field) in [
        (json!({"url": "http://169.254.169.254/latest/meta-data", "events": ["*"]}), "url"),
        (json!({"url": format!("http://127.0.0.1:{api_port}/v1/runs"), "events": ["*"]}), "url"),
        (json!({"url": "ftp://hooks.example.com/", "events": ["*"]}), "url"),
        (json!({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}), "url"),
        (json!({"url": "https://hooks.example.com/", "events": ["run.exploded"]}), "events"),
        (json!({"url": "https://hooks.example.com/", "events": []}), "events"),
        (json!({"url": format!("https://hooks.example.com/{}", "x".repeat(3000)), "events": ["*"]}), "url"),
    ] {
        let refused = server.post("/v1/webhooks", body.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", refused.body);
        assert_eq!(refused.body["error"]["details"]["field"], field, "{body}: {}", refused.body);
    }
    let unknown =
        server.post("/v1/webhooks", json!({"url": "https://hooks.example.com/", "events": ["*"], "x": 1})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    assert_eq!(server.get("/v1/webhooks").await.body["data"], json!([]), "nothing was created");

    // Another organization's key sees none of it.
    let hook = server.post("/v1/webhooks", json!({"url": "https://hooks.example.com/", "events": ["*"]})).await;
    let hook = hook.body["id"].as_str().expect("id").to_owned();
    let other = server.store.create_org("other").await.expect("org");
    let (_, key) = server.store.create_api_key(&other.id, "k", store::Role::Admin).await.expect("key");
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{hook}")),
        (Method::DELETE, format!("/v1/webhooks/{hook}")),
        (Method::POST, format!("/v1/webhooks/{hook}/rotate-secret")),
        (Method::GET, format!("/v1/webhooks/{hook}/deliveries")),
    ] {
        let seen = server.call_as(Some(&key), method.clone(), &path, None).await;
        assert_eq!(seen.status, StatusCode::NOT_FOUND, "{method} {path}: {}", seen.body);
    }
    let patched = server.call(Method::PATCH, &format!("/v1/webhooks/{hook}"), Some(json!({"enabled": false}))).await;
    assert_eq!(patched.body["enabled"], false, "{}", patched.body);
    assert_eq!(server.call(Method::DELETE, &format!("/v1/webhooks/{hook}"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("/v1/webhooks/{hook}")).await.status, StatusCode::NOT_FOUND);
}

/// The receiver is down when the run ends and while the server restarts: the
/// outbox keeps the event, and the restarted server delivers it, same event id.
#[tokio::test]
async fn an_event_survives_a_receiver_down_and_a_server_restart() {
    for database in Database::available() {
        let mut server = TestServer::start_setup(Setup { database: database.clone(), ..Setup::new(1) }).await;
        let (port, url) = Receiver::closed().await;
        let created = server.post("/v1/webhooks", json!({"url": url, "events": ["*"]})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{database:?}: {}", created.body);
        let secret = created.body["secret"].as_str().expect("secret").to_owned();
        let hook = created.body["id"].as_str().expect("id").to_owned();
        let workflow = server.create_workflow(logic("async () => ({})", json!([]), json!([]))).await;
        let run = server.post(&format!("/v1/workflows/{workflow}/runs"), json!({})).await;
        let run_id = run.body["id"].as_str().expect("run id").to_owned();
        server.wait_final(&run_id, Duration::from_secs(60)).await;

        // The first attempt found nobody listening.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let failed_once = loop {
            let completed = of_type(&deliveries(&server, &hook).await, "run.completed");
            if completed["attempts"].as_i64() >= Some(1) {
                break completed;
            }
            assert!(tokio::time::Instant::now() < deadline, "{database:?}: no attempt: {completed}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(failed_once["status"], "PENDING", "{failed_once}");
        assert!(failed_once["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{failed_once}");
        assert!(failed_once["nextAttemptAt"].is_string(), "{failed_once}");

        server.restart().await;
        let receiver = Receiver::open(port).await;
        let told = receiver.wait_for("run.completed", 1, Duration::from_secs(30)).await;
        assert_eq!(told[0].id, failed_once["eventId"].as_str().expect("event id"), "{database:?}");
        assert!(told[0].signed_by(&secret));
        assert_eq!(told[0].json()["data"]["id"], run_id.as_str());
        let started = receiver.wait_for("run.started", 1, Duration::from_secs(30)).await;
        assert_eq!(started[0].json()["data"]["id"], run_id.as_str(), "every event of '*' is delivered");
        // The receiver has answered; the attempt is recorded right after.
        let after = delivered(&server, &hook, "run.completed").await;
        assert!(after["attempts"].as_i64() >= Some(2), "{after}");
    }
}
