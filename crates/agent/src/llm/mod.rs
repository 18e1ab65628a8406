//! Chat models with tool calling: OpenAI-compatible chat completions (OpenAI,
//! vLLM, Ollama, llama.cpp, OpenRouter…) and the Anthropic Messages API.
//! Both speak plain HTTP through one retrying client; the agent sees only
//! `Provider::complete`.

mod anthropic;
mod config;
mod http;
mod openai;

use engine::Masked;
use serde_json::Value;

pub use config::{Config, ProviderKind};

/// What is sent to the model. Every text is `Masked`: only the run's
/// `Redactor` makes one, so nothing reaches a provider unmasked. Screenshots
/// are masked by the runner (the page elements holding secrets are painted over).
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    User {
        text: Masked,
        image_png_base64: Option<String>,
    },
    /// The model's earlier reply, sent back as part of the conversation.
    Assistant {
        text: Option<Masked>,
        tool_calls: Vec<SentToolCall>,
    },
    ToolResult {
        call_id: String,
        content: Masked,
    },
}

/// A tool call of an earlier reply, as sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct SentToolCall {
    /// The provider's own identifiers, echoed.
    pub id: String,
    pub name: String,
    pub arguments: Masked<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub system: Masked,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the {provider} provider at {url} could not be reached: {message}")]
    Unreachable { provider: &'static str, url: String, message: String },
    #[error("the {provider} provider at {url} answered {status}: {body}")]
    Status { provider: &'static str, url: String, status: u16, body: String },
    #[error("the {provider} provider at {url} answered with something that is not a {expected}: {detail}")]
    Garbage { provider: &'static str, url: String, expected: &'static str, detail: String },
}

/// A configured model endpoint.
pub struct Provider {
    config: Config,
    http: http::Http,
}

impl Provider {
    pub fn new(config: Config) -> Provider {
        Provider { http: http::Http::new(&config), config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub async fn complete(&self, request: &Request) -> Result<Reply, Error> {
        match self.config.provider {
            ProviderKind::OpenAi => openai::complete(&self.http, &self.config, request).await,
            ProviderKind::Anthropic => anthropic::complete(&self.http, &self.config, request).await,
        }
    }
}
