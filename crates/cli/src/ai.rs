//! The AI agent, when a model is configured by flags or the environment.

use std::sync::Arc;

/// Model settings shared by `run`, `serve` and `worker`. The API key is read
/// from `SEGUE_LLM_API_KEY` only: a flag would show it in the process list.
#[derive(clap::Args, Debug, Clone)]
pub struct LlmArgs {
    /// `openai` (any OpenAI-compatible endpoint) or `anthropic`.
    #[arg(long, env = "SEGUE_LLM_PROVIDER", value_name = "PROVIDER")]
    llm_provider: Option<String>,
    /// The model name; without one, segue runs without AI.
    #[arg(long, env = "SEGUE_LLM_MODEL", value_name = "MODEL")]
    llm_model: Option<String>,
    /// e.g. http://127.0.0.1:11434/v1 for Ollama; the provider's own API by default.
    #[arg(long, env = "SEGUE_LLM_BASE_URL", value_name = "URL")]
    llm_base_url: Option<String>,
    /// Send a screenshot with each observation (vision models).
    #[arg(long, env = "SEGUE_LLM_VISION", value_parser = clap::builder::BoolishValueParser::new())]
    llm_vision: bool,
}

impl LlmArgs {
    /// `None` without a model: segments that need AI then fail with a clear error.
    pub fn agent(&self) -> Result<Option<Arc<agent::Agent>>, String> {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let key = std::env::var("SEGUE_LLM_API_KEY").ok().filter(|k| !k.is_empty());
        let config = agent::llm::Config::from_values(
            some(&self.llm_provider).as_deref(),
            some(&self.llm_model),
            some(&self.llm_base_url),
            key,
            self.llm_vision,
        )?;
        Ok(config.map(|c| Arc::new(agent::Agent::new(c, agent::Settings::default()))))
    }
}
