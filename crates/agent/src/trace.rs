//! What the agent did, for logs and for compiling deterministic code from a
//! successful run. Every string in it is masked; arguments are as the model
//! sent them (secrets as placeholders).

use std::time::Duration;

use serde_json::Value;

use crate::llm::Usage;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub turns: Vec<Turn>,
    pub actions: Vec<ActionRecord>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Time waiting for the model; the rest of the segment is browser and segue.
    pub model_time: Duration,
    /// Where each output `complete` returned was found on the page (`{name: {selector, text}}`).
    pub located_outputs: Value,
    /// The screenshots a vision model was shown, in order (base64 PNG, secrets
    /// painted over by the runner), at most `MAX_SCREENSHOTS`.
    pub screenshots: Vec<String>,
}

/// Screenshots a trace keeps: the first ones, where a step usually goes astray.
pub const MAX_SCREENSHOTS: usize = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub text: Option<String>,
    pub tool_calls: Vec<(String, Value)>,
    pub usage: Usage,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub tool: String,
    pub args: Value,
    /// What the tool answered the model.
    pub result: String,
    pub ok: bool,
    /// A locator chosen at action time, for self-healing (`{strategy, code, role}`).
    pub locator: Option<Value>,
}

impl Trace {
    /// One line per model turn and action, for segment logs.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut actions = self.actions.iter();
        for (i, turn) in self.turns.iter().enumerate() {
            let said = turn.text.as_deref().map(|t| format!(": {}", t.replace('\n', " "))).unwrap_or_default();
            lines.push(format!(
                "model turn {} ({} ms, {} in / {} out tokens){said}",
                i + 1,
                turn.duration.as_millis(),
                turn.usage.input_tokens,
                turn.usage.output_tokens
            ));
            for (name, args) in &turn.tool_calls {
                lines.push(format!("  {name} {args}"));
                if !matches!(name.as_str(), crate::tools::COMPLETE | crate::tools::FAIL)
                    && let Some(a) = actions.next()
                {
                    lines.push(format!("    → {}", a.result));
                }
            }
        }
        lines.push(format!(
            "agent used {} input and {} output tokens, {} actions",
            self.input_tokens,
            self.output_tokens,
            self.actions.len()
        ));
        lines
    }
}
