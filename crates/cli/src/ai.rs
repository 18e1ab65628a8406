//! The AI agent, when a model is configured in the environment.

use std::sync::Arc;

/// `None` without `SEGUE_LLM_MODEL`: segue then runs without AI, and segments
/// that need it fail with a clear error.
pub fn agent_from_env() -> Result<Option<Arc<agent::Agent>>, String> {
    let config = agent::llm::Config::from_env()?;
    Ok(config.map(|c| Arc::new(agent::Agent::new(c, agent::Settings::default()))))
}
