//! The Anthropic Messages API with tools.

use serde_json::{Value, json};

use super::http::Http;
use super::{Config, Error, Message, Reply, Request, ToolCall, Usage};

const PROVIDER: &str = "anthropic";
const API_VERSION: &str = "2023-06-01";
const MAX_TOKENS: u32 = 4096;

pub async fn complete(http: &Http, config: &Config, request: &Request) -> Result<Reply, Error> {
    let url = format!("{}/v1/messages", config.base_url);
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
        .collect();
    let body = json!({
        "model": config.model,
        "max_tokens": MAX_TOKENS,
        "system": request.system.as_str(),
        "messages": messages(&request.messages),
        "tools": tools,
    });
    let mut headers = vec![("anthropic-version", API_VERSION.to_owned())];
    if let Some(k) = &config.api_key {
        headers.push(("x-api-key", k.clone()));
    }
    let answer = http.post(PROVIDER, &url, &headers, &body).await?;
    parse(&answer).map_err(|detail| Error::Garbage { provider: PROVIDER, url, expected: "message", detail })
}

/// Anthropic wants alternating user/assistant turns: tool results and the next
/// observation go into one user message.
fn messages(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for m in messages {
        let (role, blocks) = match m {
            Message::User { text, image_png_base64 } => {
                let mut blocks = vec![json!({"type": "text", "text": text.as_str()})];
                if let Some(png) = image_png_base64 {
                    blocks.push(
                        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}),
                    );
                }
                ("user", blocks)
            }
            Message::ToolResult { call_id, content } => {
                ("user", vec![json!({"type": "tool_result", "tool_use_id": call_id, "content": content.as_str()})])
            }
            Message::Assistant { text, tool_calls } => {
                let mut blocks: Vec<Value> = text.iter().map(|t| json!({"type": "text", "text": t.as_str()})).collect();
                blocks.extend(
                    tool_calls
                        .iter()
                        .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": *c.arguments})),
                );
                ("assistant", blocks)
            }
        };
        match out.last_mut() {
            Some(last) if last["role"] == role => {
                last["content"].as_array_mut().expect("content blocks").extend(blocks);
            }
            _ => out.push(json!({"role": role, "content": blocks})),
        }
    }
    out
}

fn parse(answer: &Value) -> Result<Reply, String> {
    let blocks = answer["content"].as_array().ok_or("no content array")?;
    let mut text = Vec::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block["type"].as_str() {
            Some("text") => text.push(block["text"].as_str().unwrap_or_default().to_owned()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: block["id"].as_str().ok_or("a tool_use without an id")?.to_owned(),
                name: block["name"].as_str().ok_or("a tool_use without a name")?.to_owned(),
                arguments: block["input"].clone(),
            }),
            _ => {}
        }
    }
    let usage = Usage {
        input_tokens: answer.pointer("/usage/input_tokens").and_then(Value::as_u64).unwrap_or(0),
        output_tokens: answer.pointer("/usage/output_tokens").and_then(Value::as_u64).unwrap_or(0),
    };
    Ok(Reply { text: (!text.is_empty()).then(|| text.join("\n")), tool_calls, usage })
}
