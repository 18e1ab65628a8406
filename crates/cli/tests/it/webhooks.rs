//! `segue webhooks` against a real `segue serve`: loopback refused unless the
//! server allows the private network, then created, heard by a receiver on
//! 127.0.0.1, its deliveries listed, and deleted.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};

use crate::service::{Server, segue_client_as};
use crate::support::text;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("webhooks::created_heard_listed_and_deleted_from_the_cli", created_heard_listed_and_deleted)]
}

fn check(ok: bool, what: impl Into<String>) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// (webhook-id, body) of each request a receiver got.
type Heard = Arc<Mutex<Vec<(String, Value)>>>;

/// A receiver answering 200 to every POST.
fn receiver() -> Result<(String, Heard), Failed> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/in", listener.local_addr()?);
    let got: Heard = Arc::default();
    let kept = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (mut length, mut id) = (0usize, String::new());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("webhook-id:") {
                    id = line["webhook-id:".len()..].trim().to_owned();
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                kept.lock().unwrap().push((id, serde_json::from_slice(&body).unwrap_or(Value::Null)));
            }
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    Ok((url, got))
}

fn created_heard_listed_and_deleted() -> Result<(), Failed> {
    let (url, got) = receiver()?;

    // By default a server refuses webhooks to its own network.
    let closed_dir = tempfile::tempdir()?;
    let closed = Server::start(closed_dir.path(), &["--workers", "0", "--allow-private-network=false"])?;
    let refused = segue_client_as(&closed, &closed.key, &["webhooks", "create", &url, "--event", "*"]);
    check(
        !refused.status.success(),
        format!("a loopback webhook is refused: {}{}", text(&refused.stdout), text(&refused.stderr)),
    )?;
    check(text(&refused.stderr).contains("--allow-private-network"), text(&refused.stderr))?;
    drop(closed);

    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), &["--workers", "1", "--allow-private-network"])?;
    let cli = |args: &[&str]| segue_client_as(&server, &server.key, args);
    let created = cli(&["webhooks", "create", &url, "--event", "run.completed,run.failed", "--description", "ops"]);
    check(created.status.success(), text(&created.stderr))?;
    let shown = text(&created.stdout);
    check(shown.contains("secret: whsec_"), format!("the secret is shown once: {shown}"))?;
    let id = shown.split_whitespace().next().ok_or("an id")?.to_owned();
    let listed = cli(&["webhooks", "list"]);
    check(text(&listed.stdout).contains(&id) && !text(&listed.stdout).contains("whsec_"), text(&listed.stdout))?;

    let workflow =
        server.create_workflow(json!({"name": "quick", "startSegmentName": "only", "outputParameters": [],
        "segments": [{"name": "only", "type": "logic", "prompt": null, "inputParameters": [], "outputParameters": [],
            "deterministic": "async () => ({})", "next": null, "router": null}]}))?;
    let run = server.start_run(&workflow, json!({}))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (event_id, body) = loop {
        if let Some(first) = got.lock().unwrap().first().cloned() {
            break first;
        }
        check(Instant::now() < deadline, "no delivery arrived")?;
        std::thread::sleep(Duration::from_millis(100));
    };
    check(body["type"] == "run.completed" && body["data"]["id"] == run.as_str(), body.to_string())?;

    // The receiver answered; the attempt is recorded right after.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        let deliveries = cli(&["webhooks", "deliveries", &id, "--json"]);
        check(deliveries.status.success(), text(&deliveries.stderr))?;
        let page: Value = serde_json::from_slice(&deliveries.stdout)?;
        if page["data"][0]["status"] == "DELIVERED" || Instant::now() > deadline {
            break page["data"][0].clone();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    check(first["status"] == "DELIVERED" && first["eventId"] == event_id.as_str(), first.to_string())?;
    let lines = cli(&["webhooks", "deliveries", &id]);
    check(
        text(&lines.stdout).contains("run.completed") && text(&lines.stdout).contains("HTTP 200"),
        text(&lines.stdout),
    )?;

    let deleted = cli(&["webhooks", "delete", &id]);
    check(deleted.status.success(), text(&deleted.stderr))?;
    let after: Value = serde_json::from_slice(&cli(&["webhooks", "list", "--json"]).stdout)?;
    check(after["data"] == json!([]), after.to_string())
}
