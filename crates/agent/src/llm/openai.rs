//! OpenAI-compatible chat completions with function tools.

use serde_json::{Value, json};

use super::http::Http;
use super::{Config, Error, Message, Reply, Request, ToolCall, Usage};

const PROVIDER: &str = "openai";

pub async fn complete(http: &Http, config: &Config, request: &Request) -> Result<Reply, Error> {
    let url = format!("{}/chat/completions", config.base_url);
    let mut messages = vec![json!({"role": "system", "content": request.system.as_str()})];
    messages.extend(request.messages.iter().map(message));
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let body = json!({"model": config.model, "messages": messages, "tools": tools, "tool_choice": "auto"});
    let headers: Vec<(&str, String)> =
        config.api_key.iter().map(|k| ("authorization", format!("Bearer {k}"))).collect();
    let answer = http.post(PROVIDER, &url, &headers, &body).await?;
    parse(&answer).map_err(|detail| Error::Garbage { provider: PROVIDER, url, expected: "chat completion", detail })
}

fn message(m: &Message) -> Value {
    match m {
        Message::User { text, image_png_base64: None } => json!({"role": "user", "content": text.as_str()}),
        Message::User { text, image_png_base64: Some(png) } => json!({"role": "user", "content": [
            {"type": "text", "text": text.as_str()},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}},
        ]}),
        Message::Assistant { text, tool_calls } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments.to_string()}}))
                .collect();
            let mut m = json!({"role": "assistant", "content": text.as_ref().map(|t| t.as_str())});
            if !calls.is_empty() {
                m["tool_calls"] = Value::Array(calls);
            }
            m
        }
        Message::ToolResult { call_id, content } => {
            json!({"role": "tool", "tool_call_id": call_id, "content": content.as_str()})
        }
    }
}

fn parse(answer: &Value) -> Result<Reply, String> {
    let message = answer.pointer("/choices/0/message").ok_or("no choices[0].message")?;
    let mut tool_calls = Vec::new();
    for (i, call) in message["tool_calls"].as_array().into_iter().flatten().enumerate() {
        let name =
            call.pointer("/function/name").and_then(Value::as_str).ok_or("a tool call without a function name")?;
        let arguments = match call.pointer("/function/arguments") {
            // Arguments arrive as a JSON string; a few servers send the object itself.
            Some(Value::String(s)) if s.trim().is_empty() => json!({}),
            Some(Value::String(s)) => {
                serde_json::from_str(s).map_err(|e| format!("tool call arguments are not JSON: {e}"))?
            }
            Some(v @ Value::Object(_)) => v.clone(),
            _ => json!({}),
        };
        let id = call["id"].as_str().map_or_else(|| format!("call_{i}"), str::to_owned);
        tool_calls.push(ToolCall { id, name: name.to_owned(), arguments });
    }
    let usage = Usage {
        input_tokens: answer.pointer("/usage/prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        output_tokens: answer.pointer("/usage/completion_tokens").and_then(Value::as_u64).unwrap_or(0),
    };
    Ok(Reply { text: message["content"].as_str().map(str::to_owned), tool_calls, usage })
}
