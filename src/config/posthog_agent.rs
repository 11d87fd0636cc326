//! The settings of `--runner posthog-agent`: the command that starts PostHog's
//! `agent-server` for each run, and the Claude Code it runs.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct PosthogAgentSettings {
    /// Command that starts PostHog's agent-server (Node >= 22.19), split like a shell's words, e.g. "npx -y -p @posthog/agent agent-server" or "/opt/node22/bin/node /srv/agent/node_modules/@posthog/agent/dist/server/bin.js" (default: none)
    #[arg(long, env = "BURROW_POSTHOG_AGENT_COMMAND")]
    pub posthog_agent_command: Option<String>,

    /// Claude Code executable agent-server runs (CLAUDE_CODE_EXECUTABLE) (default: the package's dist/claude-cli/claude when the command names bin.js, copied into the data folder to make it executable)
    #[arg(long, env = "BURROW_POSTHOG_AGENT_CLAUDE")]
    pub posthog_agent_claude: Option<PathBuf>,
}
