//! `--runner acp` inside the server: claims queued cloud runs while fewer than
//! `--agent-concurrency` agents run, and hands each, with its temporary key, to the ACP
//! runner (`background::acp`), which works it through the HTTP API like any worker. When
//! that ends, the key is revoked, and a run the runner could not settle is failed.

use std::sync::Arc;

use actix_web::web::Data;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::acp::{self, Agents};
use super::api_client::{Api, RunRef};
use super::command::claim_loop;
use crate::db::runs::Run;
use crate::state::AppState;

/// How long the in-server runner retries its own server before giving up on a request.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn run(state: Data<AppState>, wake: Arc<Notify>) {
    let agents = match Agents::new(&state.config) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            tracing::error!("the acp runner cannot start: {e}");
            return;
        }
    };
    actix_web::rt::spawn(acp::sweep_workspaces(agents.clone()));
    let slots = Arc::new(Semaphore::new(state.config.agent_concurrency as usize));
    claim_loop(state, wake, slots, move |state, run, key, slot| {
        Box::pin(work(state, agents.clone(), run, key, slot))
    })
    .await
}

async fn work(
    state: Data<AppState>,
    agents: Arc<Agents>,
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
    match Api::new(state.runner.base_url(), &key, PATIENCE) {
        Ok(api) => acp::work(agents, api, target).await,
        Err(e) => tracing::warn!(run = %run.id, "acp runner: {e}"),
    }
    drop(key);
    let why = "The agent runner stopped without settling the run.";
    if let Err(e) = state.runs().abandon(pk, why).await {
        tracing::warn!(run = %run.id, "acp runner: cannot settle a run: {e}");
    }
}
