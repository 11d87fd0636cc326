//! `burrow worker`: the ACP runner (or, with `--runner posthog-agent`, PostHog's agent-server)
//! on another machine. It polls `runs/claim/` in its projects (backing off while nothing is
//! queued or the server is away) and works each run it gets with the same code the
//! server's runner uses. agent-server gets the worker's key.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::acp::{self, Agents};
use super::api_client::Api;
use super::posthog::{self, Credentials, PosthogAgent};
use crate::config::Config;
use crate::config::RunnerKind;
use crate::error::Result;

/// The shortest and longest pause between polls that found nothing.
const IDLE_FIRST: Duration = Duration::from_millis(500);
const IDLE_MAX: Duration = Duration::from_secs(10);
/// How long a request keeps being retried while the server is away.
const PATIENCE: Duration = Duration::from_secs(3600);

pub async fn run(config: Config, server: String, key: String, projects: Vec<i64>) -> Result<()> {
    let posthog = match config.runner {
        RunnerKind::PosthogAgent => Some(Arc::new(PosthogAgent::new(&config)?)),
        _ => None,
    };
    let agents = match posthog {
        None => Some(Arc::new(Agents::new(&config)?)),
        Some(_) => None,
    };
    let api = Api::new(&server, &key, PATIENCE)?;
    let projects = if projects.is_empty() {
        vec![1]
    } else {
        projects
    };
    let slots = Arc::new(Semaphore::new(config.agent_concurrency as usize));
    if let Some(agents) = &agents {
        actix_web::rt::spawn(acp::sweep_workspaces(agents.clone()));
    }
    if let Some(pa) = &posthog {
        actix_web::rt::spawn(posthog::sweep_workspaces(pa.clone()));
    }
    println!("burrow worker polling {server} for projects {projects:?}");
    let mut pause = IDLE_FIRST;
    loop {
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let mut claimed = None;
        for project in &projects {
            match api.claim(*project).await {
                Ok(Some(run)) => {
                    claimed = Some(run);
                    break;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("worker: cannot claim in project {project}: {e}"),
            }
        }
        match claimed {
            Some((run, ingest)) => {
                pause = IDLE_FIRST;
                tracing::info!(run = %run.run, "worker: claimed a run");
                let (agents, posthog, api) = (agents.clone(), posthog.clone(), api.clone());
                let (server, key) = (server.clone(), key.clone());
                actix_web::rt::spawn(async move {
                    match (agents, posthog) {
                        (_, Some(pa)) => {
                            let creds = Credentials { key, ingest };
                            posthog::work(pa, api, run, server, creds).await
                        }
                        (Some(agents), None) => acp::work(agents, api, run).await,
                        (None, None) => {}
                    }
                    drop(slot);
                });
            }
            None => {
                drop(slot);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(IDLE_MAX);
            }
        }
    }
}
