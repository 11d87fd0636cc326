//! Background work started with the server: the runner chosen by `--runner` (`command`; the
//! webhook runner is a delivery of the outbox), the outbox of outgoing webhooks (`deliver`),
//! and the stuck-run sweeper. Writes wake them through the runner's handle in the state.

pub mod command;
pub mod deliver;
mod guard;
mod output;
pub mod sweeper;

use actix_web::web::Data;

use crate::config::RunnerKind;
use crate::error::Result;
use crate::state::AppState;

/// Starts the background tasks on the current runtime: the outbox, the sweeper and, with
/// `--runner command`, the command runner. First fails the runs whose command was running
/// when Burrow last stopped, since nothing watches them any more.
pub async fn start(state: Data<AppState>) -> Result<()> {
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
        actix_web::rt::spawn(command::run(state.clone(), wake));
    }
    Ok(())
}
