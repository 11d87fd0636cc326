//! The LLM gateway's settings: where model requests go, the provider key they carry, and
//! the optional cap on a run's tokens.

use clap::Args;

use super::Secret;
use crate::setting_values;

/// The variable the provider key falls back to when `--llm-api-key` is not set.
pub const PROVIDER_KEY_VARIABLE: &str = "ANTHROPIC_API_KEY";

#[derive(Debug, Clone, Args)]
pub struct LlmSettings {
    /// Anthropic-compatible API the LLM gateway forwards model requests to
    #[arg(
        long,
        env = "BURROW_LLM_UPSTREAM",
        default_value = "https://api.anthropic.com",
        value_parser = setting_values::llm_upstream
    )]
    pub llm_upstream: String,

    /// Provider key the LLM gateway sends upstream as x-api-key; agents never see it (default: ANTHROPIC_API_KEY from the server's environment)
    #[arg(long, env = "BURROW_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<Secret>,

    /// Most model tokens (input, output and cache) a run may use through the LLM gateway; past it the gateway answers 429 (default: no cap)
    #[arg(long, env = "BURROW_LLM_BUDGET_TOKENS")]
    pub llm_budget_tokens: Option<u64>,
}

impl LlmSettings {
    /// The provider key: `--llm-api-key`, else `ANTHROPIC_API_KEY`; `None` when neither is
    /// set (the gateway then answers 503).
    pub fn provider_key(&self) -> Option<Secret> {
        self.llm_api_key
            .clone()
            .or_else(|| std::env::var(PROVIDER_KEY_VARIABLE).ok().map(Secret))
            .filter(|k| !k.0.trim().is_empty())
    }
}
