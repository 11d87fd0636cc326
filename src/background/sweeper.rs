//! The stuck-run sweeper: every `--sweep-interval` it fails the runs past one of the three
//! limits (queued, idle, overall), naming the limit in `error_message` and in the log, and
//! now and then forgets old settled webhook deliveries.

use std::time::{Duration, Instant};

use actix_web::web::Data;

use crate::clock;
use crate::config::Config;
use crate::db::outbox;
use crate::db::run_status::Limit;
use crate::duration::humane;
use crate::error::Result;
use crate::state::AppState;

/// How long settled webhook deliveries are kept, and how often old ones are looked for.
const KEEP_DELIVERIES: Duration = Duration::from_secs(30 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(state: Data<AppState>) {
    let every = state.config.sweep_interval.max(Duration::from_millis(100));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned: Option<Instant> = None;
    loop {
        ticks.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::warn!("stuck-run sweep failed: {e}");
        }
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned = Some(Instant::now());
            let before = clock::offset(KEEP_DELIVERIES, true);
            if let Err(e) = state.db.write(move |c| outbox::prune(c, &before)).await {
                tracing::warn!("forgetting old webhook deliveries failed: {e}");
            }
        }
    }
}

/// What a run that crossed `limit` is told.
pub fn message(limit: Limit, config: &Config) -> String {
    match limit {
        Limit::Queued => format!(
            "Stuck run: nobody picked it up within the queued timeout ({}, --queued-timeout).",
            humane(config.queued_timeout)
        ),
        Limit::Idle => format!(
            "Stuck run: no activity for longer than the idle timeout ({}, --idle-timeout).",
            humane(config.idle_timeout)
        ),
        Limit::Run => format!(
            "Stuck run: still in progress after the run timeout ({}, --run-timeout).",
            humane(config.run_timeout)
        ),
    }
}

async fn sweep(state: &Data<AppState>) -> Result<()> {
    let config = &state.config;
    let before = |limit: Duration| (!limit.is_zero()).then(|| clock::offset(limit, true));
    let queued = before(config.queued_timeout);
    let idle = before(config.idle_timeout);
    let started = before(config.run_timeout);
    if queued.is_none() && idle.is_none() && started.is_none() {
        return Ok(());
    }
    let stuck = state.runs().stuck((queued, idle, started)).await?;
    if stuck.is_empty() {
        return Ok(());
    }
    let failing: Vec<(i64, String)> = stuck
        .into_iter()
        .map(|(pk, limit)| (pk, message(limit, config)))
        .collect();
    let again = (
        before(config.queued_timeout),
        before(config.idle_timeout),
        before(config.run_timeout),
    );
    state.runs().fail_stuck(failing, again).await?;
    Ok(())
}
