//! The ACP runner: works one claimed run with a coding agent that speaks the Agent Client
//! Protocol. It prepares the run's workspace, starts `--agent-command` there, hands it the
//! task as its first prompt, logs its session, answers its requests, passes on follow-up
//! messages and cancellation, and ends the run with a commit, a diff and output. It talks
//! to Burrow only through the HTTP API with the run's key (`api_client`), so the same code
//! runs inside the server (`--runner acp`) and on worker machines (`burrow worker`).

mod files;
mod handlers;
mod jail;
mod log;
mod process;
mod session;
mod terminals;
mod turns;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::background::api_client::{Api, RunRef};
use crate::background::workspace::{self, Places};
use crate::config::{Config, Permissions, Sandbox};
use crate::error::{Error, Result};
use log::Log;

/// How often a run is read back for cancellation, answers and follow-up messages.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// The runner's settings, shared by every run it works.
pub struct Agents {
    pub command: String,
    pub env: Vec<String>,
    pub permissions: Permissions,
    pub sandbox: bool,
    pub push: bool,
    pub grace: Duration,
    pub start_timeout: Duration,
    pub keep: Duration,
    /// The data folder, hidden from sandboxed agents.
    pub data_dir: PathBuf,
    pub places: Places,
}

impl Agents {
    /// Checks the settings: an agent command, a usable author, bubblewrap when asked for.
    pub fn new(config: &Config) -> Result<Agents> {
        let setting = |what: String| Error::unexpected(what);
        let command = config
            .agent_command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                setting(
                    "--runner acp and burrow worker need --agent-command (BURROW_AGENT_COMMAND)"
                        .into(),
                )
            })?;
        let author = workspace::author(&config.git_author).map_err(setting)?;
        let sandbox = config.agent_sandbox == Sandbox::Bwrap;
        if sandbox {
            let found = std::process::Command::new(jail::BWRAP)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                return Err(setting(
                    "--agent-sandbox bwrap needs bubblewrap (apt-get install bubblewrap)".into(),
                ));
            }
        }
        std::fs::create_dir_all(&config.data_dir).map_err(Error::internal)?;
        let data_dir = config.data_dir.canonicalize().map_err(Error::internal)?;
        let workspaces = config
            .workspaces
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("burrow-workspaces"));
        std::fs::create_dir_all(&workspaces)
            .map_err(|e| setting(format!("--workspaces {}: {e}", workspaces.display())))?;
        let workspaces = workspaces.canonicalize().map_err(Error::internal)?;
        Ok(Agents {
            command,
            env: config.agent_env.clone(),
            permissions: config.agent_permissions,
            sandbox,
            push: config.agent_push,
            grace: config.runner_grace,
            start_timeout: config.agent_start_timeout,
            keep: config.workspace_keep,
            places: Places::new(
                workspaces,
                data_dir.join("mirrors"),
                config.repos.clone(),
                config.git_timeout,
                author,
            ),
            data_dir,
        })
    }
}

/// How a run's work ended, as the runner settles it.
enum Outcome {
    Completed {
        output: Value,
        branch: Option<String>,
    },
    Failed(String),
    /// Someone else ended the run (cancel, the sweeper): leave it as it is.
    Ended,
}

/// Works one claimed run to its end and settles it through the API.
pub async fn work(agents: Arc<Agents>, api: Api, run: RunRef) {
    let log = Log::start(api.clone(), run.clone());
    let (tx, watched) = tokio::sync::watch::channel(None);
    let watcher = tokio::spawn({
        let (api, run) = (api.clone(), run.clone());
        async move {
            loop {
                if let Ok(now) = api.run(&run).await {
                    tx.send_replace(Some(now));
                }
                tokio::time::sleep(WATCH_EVERY).await;
            }
        }
    });
    let outcome = session::attempt(&agents, &api, &run, &log, watched).await;
    watcher.abort();
    let patch = match outcome {
        Outcome::Completed { output, branch } => {
            let mut body = json!({"status": "completed", "output": output});
            if let Some(branch) = branch {
                body["branch"] = json!(branch);
            }
            Some(body)
        }
        Outcome::Failed(why) => {
            log.burrow("run_failed", json!({"reason": why}));
            Some(json!({"status": "failed", "error_message": why}))
        }
        Outcome::Ended => None,
    };
    log.flush().await;
    if let Some(body) = patch
        && let Err(e) = api.patch(&run, &body).await
    {
        tracing::warn!(run = %run.run, "cannot settle the run: {e}");
    }
}

/// Removes old workspaces every so often, for as long as the runner runs.
pub async fn sweep_workspaces(agents: Arc<Agents>) {
    let every = Duration::from_secs(600).min(agents.keep.max(Duration::from_secs(1)));
    loop {
        agents.places.sweep(agents.keep).await;
        tokio::time::sleep(every).await;
    }
}
