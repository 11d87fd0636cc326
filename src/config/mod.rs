//! The command line: every setting is a flag and a `BURROW_*` variable with a default, and
//! every administrative command works on the same data folder as the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::error::ErrorKind;
use clap::{Args, Parser, ValueEnum};

use crate::duration;
use crate::net::Cidr;
use crate::net::hosts::AllowedHosts;
use crate::setting_values;

mod commands;
mod llm;
mod oidc;
mod posthog_agent;

pub use commands::*;
pub use llm::LlmSettings;
pub use oidc::Sso;
pub use posthog_agent::PosthogAgentSettings;

/// Burrow: a self-hosted server for AI-agent tasks that speaks PostHog's Tasks API.
#[derive(Debug, Parser)]
#[command(name = "burrow", version, about, long_about = None)]
// Every setting is global, so `burrow --addr X serve` and `burrow serve --addr X` mean the same.
#[command(mut_args(|a| a.global(true)))]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments. `--help` and `--version` print and exit; a mistake
    /// prints one line on stderr and exits 2 (clap's own message adds usage and tips on
    /// further lines, and scripts read the first line only).
    pub fn parse_or_exit() -> Cli {
        match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) if !e.use_stderr() => e.exit(),
            Err(e) => {
                eprintln!("{}", one_line(&e));
                std::process::exit(e.exit_code());
            }
        }
    }
}

/// The error itself from clap's message (its first paragraph), joined onto one line.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let usage = text.lines().find_map(|l| l.strip_prefix("Usage: "));
        return format!(
            "error: a command is missing: {}",
            usage.unwrap_or("see --help")
        );
    }
    let first = text.split("\n\n").next().unwrap_or(&text);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Settings shared by every command. They are global, so `burrow --addr X` and
/// `burrow serve --addr X` mean the same.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the HTTP server listens on (port 0 picks a free port)
    #[arg(long, env = "BURROW_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// Folder holding the database (burrow.db) and local artifacts
    #[arg(long, env = "BURROW_DATA_DIR", default_value = "./burrow-data")]
    pub data_dir: PathBuf,

    /// Base URL for absolute links, e.g. https://burrow.example.com; with it set, browser sign-in is refused under any other Host (default: from the request's Host, and the listen address in webhook and runner payloads)
    #[arg(long, env = "BURROW_PUBLIC_URL", value_parser = setting_values::public_url)]
    pub public_url: Option<String>,

    /// Proxies whose forwarding headers (Forwarded, X-Forwarded-*) are believed, as comma-separated address blocks, e.g. 10.0.0.0/8,::1 (default: none)
    #[arg(long, env = "BURROW_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<Cidr>,

    /// Log filter, e.g. info, debug, burrow=debug,actix_web=warn
    #[arg(long, env = "BURROW_LOG", default_value = "info")]
    pub log: String,

    /// Largest accepted JSON request body, in bytes (at least 1024)
    #[arg(long, env = "BURROW_JSON_LIMIT", default_value_t = 10 * 1024 * 1024, value_parser = setting_values::json_limit)]
    pub json_limit: usize,

    /// Where artifacts are stored: a folder, or s3://bucket/prefix (default: artifacts/ in the data folder)
    #[arg(long, env = "BURROW_ARTIFACTS", value_parser = setting_values::artifacts)]
    pub artifacts: Option<String>,

    /// S3 endpoint URL, for MinIO, Ceph, R2 and other S3-compatible stores (default: AWS)
    #[arg(long, env = "BURROW_S3_ENDPOINT", value_parser = setting_values::s3_endpoint)]
    pub s3_endpoint: Option<String>,

    /// S3 region
    #[arg(long, env = "BURROW_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Address S3 buckets by path (endpoint/bucket/key) instead of by virtual host (default: off)
    #[arg(long, env = "BURROW_S3_PATH_STYLE", value_parser = BoolishValueParser::new())]
    pub s3_path_style: bool,

    /// Allow a plain-HTTP S3 endpoint (default: off)
    #[arg(long, env = "BURROW_S3_ALLOW_HTTP", value_parser = BoolishValueParser::new())]
    pub s3_allow_http: bool,

    /// Largest artifact, in bytes
    #[arg(long, env = "BURROW_ARTIFACT_MAX_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub artifact_max_bytes: u64,

    /// Bearer token that /metrics requires (default: /metrics is open)
    #[arg(long, env = "BURROW_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,

    /// Largest log a run may have, in bytes of entry JSON; the append that would cross it is refused
    #[arg(long, env = "BURROW_LOG_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub log_max_bytes: i64,

    // Runners, stuck runs and outgoing webhooks. Durations take seconds (90) or units
    // (500ms, 30s, 30m, 1h, 2d, 1h30m).
    /// How queued cloud runs are started: none (workers claim them), command, webhook, acp or posthog-agent
    #[arg(long, env = "BURROW_RUNNER", value_enum, default_value = "none")]
    pub runner: RunnerKind,

    /// Shell command (run with sh -c) the command runner starts for each run (default: none)
    #[arg(long, env = "BURROW_RUNNER_COMMAND")]
    pub runner_command: Option<String>,

    /// Names of the server's environment variables the command runner passes on to its command, comma-separated (default: none)
    #[arg(long, env = "BURROW_RUNNER_ENV", value_delimiter = ',')]
    pub runner_env: Vec<String>,

    /// Most commands the command runner runs at once; later runs wait queued
    #[arg(
        long,
        env = "BURROW_RUNNER_CONCURRENCY",
        default_value_t = 4,
        value_parser = setting_values::at_least_one
    )]
    pub runner_concurrency: u32,

    /// How long a stopped command has between SIGTERM and SIGKILL
    #[arg(long, env = "BURROW_RUNNER_GRACE", default_value = "10s", value_parser = duration::parse)]
    pub runner_grace: Duration,

    /// URL the webhook runner POSTs each queued run to (default: none)
    #[arg(long, env = "BURROW_RUNNER_WEBHOOK_URL")]
    pub runner_webhook_url: Option<String>,

    /// Secret that signs the webhook runner's requests (X-Burrow-Signature) (default: none)
    #[arg(long, env = "BURROW_RUNNER_WEBHOOK_SECRET", hide_env_values = true)]
    pub runner_webhook_secret: Option<Secret>,

    /// Shell command (run with sh -c) that starts an ACP agent, e.g. claude-agent-acp (default: none)
    #[arg(long, env = "BURROW_AGENT_COMMAND")]
    pub agent_command: Option<String>,

    /// Most agents the acp runner (or a worker) runs at once; later runs wait queued
    #[arg(
        long,
        env = "BURROW_AGENT_CONCURRENCY",
        default_value_t = 2,
        value_parser = setting_values::at_least_one
    )]
    pub agent_concurrency: u32,

    /// Comma-separated names of server environment variables the agent may see, e.g. ANTHROPIC_API_KEY (default: none)
    #[arg(long, env = "BURROW_AGENT_ENV", value_delimiter = ',')]
    pub agent_env: Vec<String>,

    /// How the agent's permission requests are answered: allow (once), deny, or ask a person on the run
    #[arg(
        long,
        env = "BURROW_AGENT_PERMISSIONS",
        value_enum,
        default_value = "allow"
    )]
    pub agent_permissions: Permissions,

    /// Where agents run: none (as the server's user, in their workspace) or bwrap (a bubblewrap sandbox)
    #[arg(long, env = "BURROW_AGENT_SANDBOX", value_enum, default_value = "none")]
    pub agent_sandbox: Sandbox,

    /// Push each run's branch to the repository's source when the agent's turn ends (default: off)
    #[arg(long, env = "BURROW_AGENT_PUSH")]
    pub agent_push: bool,

    /// How long an agent has to answer initialize and session/new
    #[arg(long, env = "BURROW_AGENT_START_TIMEOUT", default_value = "60s", value_parser = duration::parse)]
    pub agent_start_timeout: Duration,

    /// Where a task's repository (org/repo) comes from, e.g. https://github.com/{repository}.git (default: none)
    #[arg(long, env = "BURROW_REPOS")]
    pub repos: Option<String>,

    /// Folder for the runs' workspaces, outside the data folder (default: burrow-workspaces in the system's temporary folder)
    #[arg(long, env = "BURROW_WORKSPACES")]
    pub workspaces: Option<PathBuf>,

    /// How long a run's workspace is kept after the run ends
    #[arg(long, env = "BURROW_WORKSPACE_KEEP", default_value = "1d", value_parser = duration::parse)]
    pub workspace_keep: Duration,

    /// Author of the commits Burrow makes for agents, as "Name <email>"
    #[arg(
        long,
        env = "BURROW_GIT_AUTHOR",
        default_value = "Burrow <burrow@localhost>"
    )]
    pub git_author: String,

    /// Longest a git command (clone, fetch, commit, push) may take
    #[arg(long, env = "BURROW_GIT_TIMEOUT", default_value = "10m", value_parser = duration::parse)]
    pub git_timeout: Duration,

    /// Fail a run left queued this long (0: never)
    #[arg(long, env = "BURROW_QUEUED_TIMEOUT", default_value = "1h", value_parser = duration::parse)]
    pub queued_timeout: Duration,

    /// Fail an in-progress run with no activity (API writes, command output) for this long (0: never)
    #[arg(long, env = "BURROW_IDLE_TIMEOUT", default_value = "30m", value_parser = duration::parse)]
    pub idle_timeout: Duration,

    /// Fail a run still in progress this long after it started (0: never)
    #[arg(long, env = "BURROW_RUN_TIMEOUT", default_value = "6h", value_parser = duration::parse)]
    pub run_timeout: Duration,

    /// How often stuck runs are looked for
    #[arg(long, env = "BURROW_SWEEP_INTERVAL", default_value = "30s", value_parser = duration::parse)]
    pub sweep_interval: Duration,

    /// Most attempts to deliver an outgoing webhook; pauses between them double from 1s up to 1h
    #[arg(
        long,
        env = "BURROW_WEBHOOK_ATTEMPTS",
        default_value_t = 12,
        value_parser = setting_values::at_least_one
    )]
    pub webhook_attempts: u32,

    /// Where project webhooks may go: loopback, private, external, *, host names, globs (*.example.com) and CIDRs, comma-separated
    #[arg(
        long,
        env = "BURROW_WEBHOOK_ALLOWED_HOSTS",
        default_value = "external",
        value_parser = AllowedHosts::parse
    )]
    pub webhook_allowed_hosts: AllowedHosts,

    #[command(flatten)]
    pub llm: LlmSettings,

    #[command(flatten)]
    pub sso: Sso,

    #[command(flatten)]
    pub posthog_agent: PosthogAgentSettings,
}

/// How queued cloud runs are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerKind {
    // Plain comments, not doc comments: clap would turn those into a long --help layout.
    // Runs wait queued until a worker claims them.
    None,
    // Burrow starts `--runner-command` for each run.
    Command,
    // Burrow POSTs each run to `--runner-webhook-url`.
    Webhook,
    // Burrow runs `--agent-command` as an ACP agent in a workspace for each run.
    Acp,
    // Burrow runs PostHog's agent-server (`--posthog-agent-command`) in a workspace for each run.
    PosthogAgent,
}

/// How an agent's `session/request_permission` is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Permissions {
    Allow,
    Deny,
    Ask,
}

/// Where an agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sandbox {
    None,
    Bwrap,
}

/// A setting that must never reach a log: `Debug` only says it is set.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}
