use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenAI-compatible chat-completions endpoint with tool calling.
    OpenAi,
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub provider: ProviderKind,
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// Send a screenshot with each observation (vision models only).
    pub vision: bool,
    /// Per request, retries included.
    pub timeout: Duration,
    /// Retries on 429, 5xx and connection failures, with exponential backoff.
    pub max_retries: u32,
}

impl std::fmt::Debug for Config {
    // The API key never appears in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "********"))
            .field("vision", &self.vision)
            .finish()
    }
}

impl Config {
    /// A model's settings from the values the caller read (flags, `SEGUE_LLM_*`):
    /// `provider` `openai` (the default) or `anthropic`. `Ok(None)` without a
    /// model: segue then runs without AI.
    pub fn from_values(
        provider: Option<&str>,
        model: Option<String>,
        base_url: Option<String>,
        api_key: Option<String>,
        vision: bool,
    ) -> Result<Option<Config>, String> {
        let provider = match provider.map(str::to_ascii_lowercase).as_deref() {
            None | Some("openai") => ProviderKind::OpenAi,
            Some("anthropic") => ProviderKind::Anthropic,
            Some(other) => return Err(format!("SEGUE_LLM_PROVIDER must be openai or anthropic, got '{other}'")),
        };
        let Some(model) = model else { return Ok(None) };
        let base_url = base_url.unwrap_or_else(|| match provider {
            ProviderKind::OpenAi => "https://api.openai.com/v1".into(),
            ProviderKind::Anthropic => "https://api.anthropic.com".into(),
        });
        Ok(Some(Config {
            provider,
            base_url: base_url.trim_end_matches('/').to_owned(),
            model,
            api_key,
            vision,
            timeout: Duration::from_secs(120),
            max_retries: 3,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_model_means_no_ai_and_bad_providers_are_named() {
        assert!(Config::from_values(None, None, None, None, false).unwrap().is_none());
        let c =
            Config::from_values(Some("Anthropic"), Some("m".into()), None, Some("k".into()), false).unwrap().unwrap();
        assert_eq!((c.provider, c.base_url.as_str()), (ProviderKind::Anthropic, "https://api.anthropic.com"));
        assert!(!format!("{c:?}").contains("\"k\""), "the key is not printed");
        let err = Config::from_values(Some("gemini"), Some("m".into()), None, None, false).unwrap_err();
        assert!(err.contains("gemini"));
    }
}
