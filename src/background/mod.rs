//! Background work: the runner chosen by `--runner` (`command`; `agents`, which hands runs
//! to the ACP agent runner in `acp/` or PostHog's agent-server in `posthog/`, both ending
//! runs through `agent_run`; the webhook runner is a delivery of the outbox), the
//! outbox of outgoing webhooks (`deliver`), and the stuck-run sweeper. Writes wake them
//! through the runner's handle in the state. The ACP runner is a client of Burrow's own HTTP
//! API (`api_client`) in git workspaces (`git`, `workspace`); `worker` is the same runner on
//! another machine.

pub mod acp;
mod agent_run;
mod agents;
pub mod api_client;
pub mod command;
pub mod deliver;
pub mod git;
mod group;
mod guard;
mod output;
pub mod posthog;
mod run_log;
pub mod sweeper;
pub mod worker;
pub mod workspace;

use actix_web::web::Data;

use crate::config::RunnerKind;
use crate::error::Result;
use crate::state::AppState;

/// Checks the settings of the runner `--runner` chose that `Runner::new` cannot: the ACP
/// runner's agent command, author and sandbox; the PostHog agent's command and its Node.
pub fn check(config: &crate::config::Config) -> Result<()> {
    match config.runner {
        RunnerKind::Acp => drop(acp::Agents::new(config)?),
        RunnerKind::PosthogAgent => drop(posthog::PosthogAgent::new(config)?),
        _ => {}
    }
    Ok(())
}

/// Starts the background tasks on the current runtime: the outbox, the sweeper and, with
/// `--runner command`, the command runner. First fails the runs whose command was running
/// when Burrow last stopped, since nothing watches them any more.
pub async fn start(state: Data<AppState>) -> Result<()> {
    let leftovers = group::stop_leftovers(&state.config.data_dir, state.config.runner_grace).await;
    if leftovers > 0 {
        tracing::warn!(
            groups = leftovers,
            "stopped the commands left running when Burrow last stopped"
        );
    }
    let orphans = state.runs().fail_orphans().await?;
    if !orphans.is_empty() {
        tracing::warn!(
            runs = orphans.len(),
            "failed the runs whose command was running when Burrow stopped"
        );
    }
    let outbox = state.runner.wake_outbox();
    actix_web::rt::spawn(deliver::run(state.clone(), outbox));
    actix_web::rt::spawn(sweeper::run(state.clone()));
    if state.runner.kind() == RunnerKind::Command {
        let wake = state.runner.wake_runner();
        actix_web::rt::spawn(command::run(state.clone(), wake, state.runner.slots()));
    }
    if matches!(
        state.runner.kind(),
        RunnerKind::Acp | RunnerKind::PosthogAgent
    ) {
        let wake = state.runner.wake_runner();
        actix_web::rt::spawn(agents::run(state.clone(), wake));
    }
    Ok(())
}

/// On shutdown, once `Events::stop` has been called: waits until every command has been
/// stopped (SIGTERM, grace, SIGKILL) and its run settled, and starts no new ones.
pub async fn stop(state: &AppState) {
    if state.runner.kind() != RunnerKind::Command {
        return;
    }
    let slots = state.runner.slots();
    if let Ok(permits) = slots.acquire_many(state.config.runner_concurrency).await {
        permits.forget();
    }
    slots.close();
}
