//! A scripted chat model for tests: the only stand-in in segue's test suite.
//!
//! It serves the OpenAI chat-completions (`POST /v1/chat/completions`) and
//! Anthropic Messages (`POST /v1/messages`) formats, so the real client code
//! runs end to end. Each reply is chosen by the first `Rule` whose regex
//! matches the text of the request's last message (the latest observation, or
//! the answer to the last tool call); `$1`… in the rule's arguments are
//! replaced by the regex's captures. Every request body is kept for
//! assertions (`GET /received`).
//!
//! Also: throwaway PostgreSQL databases (`postgres`) and what tests read from
//! the environment (`environment`).

pub mod environment;
pub mod postgres;

pub use environment::{ArtifactStore, runner_options, test_database_url};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use regex::Regex;
use serde_json::{Map, Value, json};

/// When the step's task matches `task` (if given) and the last message matches
/// `when`, call these tools.
#[derive(Clone, Debug)]
pub struct Rule {
    pub task: Option<Regex>,
    pub when: Regex,
    pub calls: Vec<(String, Value)>,
}

fn regex(source: &str) -> Result<Regex, String> {
    Regex::new(source).map_err(|e| format!("bad rule regex {source:?}: {e}"))
}

impl Rule {
    /// From `{"task": "regex", "when": "regex", "calls": [{"name": "click", "arguments": {...}}]}`.
    pub fn from_json(v: &Value) -> Result<Rule, String> {
        let when = regex(v["when"].as_str().ok_or("a rule needs `when`")?)?;
        let task = v["task"].as_str().map(regex).transpose()?;
        let calls = v["calls"]
            .as_array()
            .ok_or("a rule needs `calls`")?
            .iter()
            .map(|c| Ok((c["name"].as_str().ok_or("a call needs `name`")?.to_owned(), c["arguments"].clone())))
            .collect::<Result<_, String>>()?;
        Ok(Rule { task, when, calls })
    }
}

#[derive(Clone, Default)]
struct Shared {
    rules: Arc<Vec<Rule>>,
    received: Arc<Mutex<Vec<Value>>>,
}

pub struct ScriptedModel {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Value>>>,
}

impl ScriptedModel {
    /// Serves on a free port of 127.0.0.1 until the runtime stops.
    pub async fn start(rules: Vec<Rule>) -> std::io::Result<ScriptedModel> {
        let shared = Shared { rules: Arc::new(rules), received: Arc::default() };
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/received", get(received))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(ScriptedModel { addr, received: shared.received })
    }

    /// Base URL for `SEGUE_LLM_BASE_URL`: OpenAI clients append `/chat/completions`.
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for Anthropic clients, which append `/v1/messages`.
    pub fn anthropic_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request body received so far, as JSON text.
    pub fn received_text(&self) -> String {
        self.received.lock().expect("received").iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
    }

    pub fn request_count(&self) -> usize {
        self.received.lock().expect("received").len()
    }
}

async fn received(State(shared): State<Shared>) -> Json<Value> {
    Json(Value::Array(shared.received.lock().expect("received").clone()))
}

/// Text of a message's content: a string, or the text of its blocks.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match (&b["text"], &b["content"]) {
                (Value::String(t), _) => t.clone(),
                (_, c @ (Value::String(_) | Value::Array(_))) => content_text(c),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The reply's tool calls: the first matching rule's, or `fail` when none matches.
fn choose(shared: &Shared, body: &Value) -> Vec<(String, Value)> {
    shared.received.lock().expect("received").push(body.clone());
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().map(|m| content_text(&m["content"])).unwrap_or_default();
    let task = messages.iter().find(|m| m["role"] == "user").map(|m| content_text(&m["content"])).unwrap_or_default();
    for rule in shared.rules.iter() {
        if rule.task.as_ref().is_some_and(|t| !t.is_match(&task)) {
            continue;
        }
        if let Some(captures) = rule.when.captures(&last) {
            let groups: Vec<String> =
                captures.iter().map(|c| c.map_or(String::new(), |m| m.as_str().to_owned())).collect();
            return rule.calls.iter().map(|(name, args)| (name.clone(), fill(args, &groups))).collect();
        }
    }
    let preview: String = last.chars().take(200).collect();
    vec![("fail".into(), json!({"reason": format!("no scripted rule matched: {preview}")}))]
}

/// Replaces `$N` with capture N; `{"$number": "…"}` becomes a number.
fn fill(template: &Value, groups: &[String]) -> Value {
    match template {
        Value::String(s) => {
            let mut out = s.clone();
            for (i, g) in groups.iter().enumerate().rev() {
                out = out.replace(&format!("${i}"), g);
            }
            Value::String(out)
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("$number") => {
            let text = fill(&map["$number"], groups);
            text.as_str().and_then(|t| t.replace(',', "").parse::<f64>().ok()).map_or(Value::Null, |n| json!(n))
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, groups))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, groups)).collect()),
        other => other.clone(),
    }
}

fn estimate_tokens(body: &Value) -> u64 {
    (body.to_string().len() / 4) as u64
}

async fn openai(State(shared): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let calls = choose(&shared, &body);
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    Json(json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": null, "tool_calls": tool_calls}}],
        "usage": {"prompt_tokens": estimate_tokens(&body), "completion_tokens": 12, "total_tokens": estimate_tokens(&body) + 12}
    }))
}

async fn anthropic(State(shared): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let calls = choose(&shared, &body);
    let content: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": name, "input": args}))
        .collect();
    Json(json!({
        "id": "msg_scripted", "type": "message", "role": "assistant", "model": body["model"],
        "content": content, "stop_reason": "tool_use",
        "usage": {"input_tokens": estimate_tokens(&body), "output_tokens": 12}
    }))
}
