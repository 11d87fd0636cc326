//! `--runner acp` and `--runner posthog-agent` inside the server: claims queued cloud runs
//! while fewer than `--agent-concurrency` agents run, and hands each, with its temporary
//! key, to its runner (`background::acp` or `background::posthog`), which works it through
//! the HTTP API like any worker. When that ends, the key is revoked, and a run the runner
//! could not settle is failed.

use std::sync::Arc;

use actix_web::web::Data;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::acp::{self, Agents};
use super::api_client::{Api, RunRef};
use super::command::claim_loop;
use super::posthog::{self, Credentials, PosthogAgent};
use crate::auth::ingest_token;
use crate::config::RunnerKind;
use crate::db::runs::Run;
use crate::error::Result;
use crate::state::AppState;

/// How long the in-server runner retries its own server before giving up on a request.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// The agent runner a server runs.
#[derive(Clone)]
enum Runner {
    Acp(Arc<Agents>),
    Posthog(Arc<PosthogAgent>),
}

impl Runner {
    fn new(state: &AppState) -> Result<Runner> {
        Ok(match state.runner.kind() {
            RunnerKind::PosthogAgent => {
                let pa = Arc::new(PosthogAgent::new(&state.config)?);
                actix_web::rt::spawn(posthog::sweep_workspaces(pa.clone()));
                Runner::Posthog(pa)
            }
            _ => {
                let agents = Arc::new(Agents::new(&state.config)?);
                actix_web::rt::spawn(acp::sweep_workspaces(agents.clone()));
                Runner::Acp(agents)
            }
        })
    }
}

pub async fn run(state: Data<AppState>, wake: Arc<Notify>) {
    let runner = match Runner::new(&state) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("the agent runner cannot start: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(state.config.agent_concurrency as usize));
    claim_loop(state, wake, slots, move |state, run, key, slot| {
        Box::pin(work(state, runner.clone(), run, key, slot))
    })
    .await
}

async fn work(
    state: Data<AppState>,
    runner: Runner,
    run: Run,
    key: String,
    _slot: OwnedSemaphorePermit,
) {
    let pk = run.pk;
    let target = RunRef {
        project: run.project_id,
        task: run.task.clone(),
        run: run.id.clone(),
    };
    let base = state.runner.base_url();
    match (Api::new(base, &key, PATIENCE), runner) {
        (Ok(api), Runner::Acp(agents)) => acp::work(agents, api, target).await,
        (Ok(api), Runner::Posthog(pa)) => {
            let creds = Credentials {
                key: key.clone(),
                ingest: Some(ingest_token(&state.signer, &run.id)),
            };
            posthog::work(pa, api, target, base.to_string(), creds).await
        }
        (Err(e), _) => tracing::warn!(run = %run.id, "agent runner: {e}"),
    }
    drop(key);
    let why = "The agent runner stopped without settling the run.";
    if let Err(e) = state.runs().abandon(pk, why).await {
        tracing::warn!(run = %run.id, "agent runner: cannot settle a run: {e}");
    }
}
