//! `--runner posthog-agent`: works a claimed run with PostHog's own cloud agent,
//! `agent-server` from `@posthog/agent`. It prepares the run's workspace as the ACP runner
//! does, starts `--posthog-agent-command` there in background mode with the run's key and
//! Burrow's LLM gateway (`launch`), follows its log until its turn is complete and no
//! follow-up waits (`follow`), stops its process group, and ends the run with a commit, a
//! diff and output like the ACP runner. Like that runner it talks to Burrow only over HTTP,
//! so `burrow worker --runner posthog-agent` runs it too.

mod follow;
mod launch;
pub mod signing;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::background::acp::jail::Group;
use crate::background::acp::process::{keep_tail, read_stderr, stop};
use crate::background::agent_run::{Outcome, finish, prepare, settle};
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::background::workspace::{Places, Workspace};
use crate::config::Config;
use crate::error::{Error, Result};
use follow::{Ended, Line, follow};
use launch::Launch;
use signing::Keys;

pub use launch::NODE_MIN;

/// The runner's settings, checked once and shared by every run it works.
pub struct PosthogAgent {
    command: String,
    path: OsString,
    claude: Option<PathBuf>,
    keys: Keys,
    push: bool,
    grace: Duration,
    keep: Duration,
    data_dir: PathBuf,
    places: Places,
}

impl PosthogAgent {
    /// Checks the settings: a command, its Node (>= 22.19), Claude Code, the key pair.
    pub fn new(config: &Config) -> Result<PosthogAgent> {
        let command = config
            .posthog_agent
            .posthog_agent_command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                Error::unexpected(
                    "--runner posthog-agent needs --posthog-agent-command (BURROW_POSTHOG_AGENT_COMMAND)"
                        .into(),
                )
            })?;
        let node = launch::node_of(&command);
        let path = launch::path_for(&node);
        launch::check_node(&node, &path)?;
        let (places, data_dir) = Places::from_config(config)?;
        let claude = launch::claude(
            &command,
            config.posthog_agent.posthog_agent_claude.as_deref(),
            &data_dir,
        )?;
        let keys = Keys::load_or_make(&data_dir)?;
        Ok(PosthogAgent {
            command,
            path,
            claude,
            keys,
            push: config.agent_push,
            grace: config.runner_grace,
            keep: config.workspace_keep,
            data_dir,
            places,
        })
    }
}

/// Removes old workspaces every so often, for as long as the runner runs.
pub async fn sweep_workspaces(pa: Arc<PosthogAgent>) {
    pa.places.sweep_forever(pa.keep).await
}

/// The run's credentials agent-server gets: `key` (the run's own key inside the server, the
/// worker's key on a worker) and the run's event ingest token.
pub struct Credentials {
    pub key: String,
    pub ingest: Option<String>,
}

/// Works one claimed run to its end and settles it. `base_url` is Burrow as agent-server
/// reaches it.
pub async fn work(
    pa: Arc<PosthogAgent>,
    api: Api,
    run: RunRef,
    base_url: String,
    creds: Credentials,
) {
    let log = Log::start(api.clone(), run.clone());
    let outcome = match prepare(&pa.places, &api, &run, &log).await {
        Err(why) => Outcome::Failed(why),
        Ok((ws, _task)) => {
            let outcome = match run_agent(&pa, &api, &run, &log, &ws, &base_url, &creds).await {
                Ok(()) => finish(&pa.places, pa.push, &api, &run, &log, &ws).await,
                Err(outcome) => outcome,
            };
            pa.places.ended(&ws).await;
            outcome
        }
    };
    settle(&api, &run, &log, outcome).await;
}

/// Starts agent-server, follows it and stops it: `Ok` when its work is done.
async fn run_agent(
    pa: &PosthogAgent,
    api: &Api,
    run: &RunRef,
    log: &Log,
    ws: &Workspace,
    base_url: &str,
    creds: &Credentials,
) -> std::result::Result<(), Outcome> {
    let failed = |why: String| Outcome::Failed(why);
    // agent-server writes Claude Code's settings into the repository: not the agent's work.
    pa.places
        .exclude(ws, "/.claude/settings.local.json")
        .await
        .map_err(failed)?;
    let port = launch::free_port().map_err(|e| failed(e.to_string()))?;
    let launch = Launch {
        command: &pa.command,
        path: &pa.path,
        claude: pa.claude.as_deref(),
        public_key: &pa.keys.public_pem,
        base_url,
        key: &creds.key,
        ingest: creds.ingest.as_deref(),
        project: run.project,
        task: &run.task,
        run: &run.run,
        port,
        data_dir: &pa.data_dir,
    };
    let mut cmd = launch.command(ws).map_err(|e| failed(e.to_string()))?;
    let mut child = cmd.spawn().map_err(|e| {
        failed(format!(
            "Could not start agent-server ({}): {e}",
            pa.command
        ))
    })?;
    let group = Group::of(child.id());
    log.burrow(
        "agent_started",
        json!({"command": pa.command, "pid": child.id(), "port": port}),
    );
    // agent-server's own logging goes to both streams: keep their last lines.
    let tail = read_stderr(&mut child);
    if let Some(stdout) = child.stdout.take() {
        keep_tail(stdout, tail.clone());
    }
    let ended = follow(
        api,
        run,
        log,
        &mut child,
        Line {
            port,
            keys: &pa.keys,
        },
    )
    .await;
    let exit = stop(&mut child, &group, pa.grace, log).await;
    log.burrow(
        "agent_exited",
        json!({"code": exit.code, "signal": exit.signal, "byItself": exit.by_itself}),
    );
    if matches!(ended, Ended::Done) {
        return Ok(());
    }
    // Whatever went wrong, its last words say more than Burrow can.
    let lines: Vec<String> = tail.lock().unwrap().iter().cloned().collect();
    if !lines.is_empty() {
        log.burrow("agent_stderr", json!({"lines": lines}));
    }
    Err(match ended {
        Ended::Done | Ended::Elsewhere => Outcome::Ended,
        Ended::Error(why) => Outcome::Failed(why),
        Ended::Exited(status) => Outcome::Failed(format!(
            "agent-server exited ({status}) before its turn was complete."
        )),
    })
}
