//! The ACP runner: works one claimed run with a coding agent that speaks the Agent Client
//! Protocol. It prepares the run's workspace, starts `--agent-command` there, hands it the
//! task as its first prompt, logs its session, answers its requests, passes on follow-up
//! messages and cancellation, and ends the run with a commit, a diff and output. It talks
//! to Burrow only through the HTTP API with the run's key (`api_client`), so the same code
//! runs inside the server (`--runner acp`) and on worker machines (`burrow worker`).

mod files;
mod handlers;
pub(crate) mod jail;
pub(crate) mod process;
mod session;
mod terminals;
mod turns;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::background::agent_run::settle;
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::background::workspace::Places;
use crate::config::{Config, Permissions, Sandbox};
use crate::error::{Error, Result};

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
        let (places, data_dir) = Places::from_config(config)?;
        Ok(Agents {
            command,
            env: config.agent_env.clone(),
            permissions: config.agent_permissions,
            sandbox,
            push: config.agent_push,
            grace: config.runner_grace,
            start_timeout: config.agent_start_timeout,
            keep: config.workspace_keep,
            places,
            data_dir,
        })
    }
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
    settle(&api, &run, &log, outcome).await;
}

/// Removes old workspaces every so often, for as long as the runner runs.
pub async fn sweep_workspaces(agents: Arc<Agents>) {
    agents.places.sweep_forever(agents.keep).await
}
