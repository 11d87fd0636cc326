//! Starting runs and watching them: the runner chosen by `--runner` (none, command or
//! webhook), the outbox of outgoing webhooks, and the stuck-run sweeper, all background
//! tasks started with the server. Handlers reach them through `Runner` in the app state.

pub mod command;
mod group;
mod output;
pub mod sweeper;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::web::Data;
use tokio::sync::{Notify, Semaphore};

use crate::api::Links;
use crate::app::AppState;
use crate::config::{Config, RunnerKind};
use crate::crypto::Signer;
use crate::db::runner as db_runner;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::webhooks::{self, Announcer};

/// The runner's handle: how handlers wake the runners, and the server's own address for
/// work done outside a request.
pub struct Runner {
    kind: RunnerKind,
    base_url: String,
    runner_url: Option<String>,
    wake_runner: Arc<Notify>,
    wake_outbox: Arc<Notify>,
    /// One permit per command that may run at once; held while a command runs.
    slots: Arc<Semaphore>,
}

impl Runner {
    /// Checks the runner settings. `addr` is where the server listens: the runner's
    /// processes and links reach Burrow there unless `--public-url` says otherwise.
    pub fn new(config: &Config, addr: SocketAddr) -> Result<Runner> {
        let setting = |what: &str| Error::Internal(format!("--runner {what}"));
        let runner_url = match config.runner {
            RunnerKind::None => None,
            RunnerKind::Command => {
                if config
                    .runner_command
                    .as_deref()
                    .is_none_or(|c| c.trim().is_empty())
                {
                    return Err(setting(
                        "command needs --runner-command (BURROW_RUNNER_COMMAND)",
                    ));
                }
                None
            }
            RunnerKind::Webhook => {
                let url = config.runner_webhook_url.as_deref().ok_or_else(|| {
                    setting("webhook needs --runner-webhook-url (BURROW_RUNNER_WEBHOOK_URL)")
                })?;
                let url = webhooks::check_url("--runner-webhook-url", url)?;
                if config
                    .runner_webhook_secret
                    .as_ref()
                    .is_none_or(|s| s.0.is_empty())
                {
                    return Err(setting(
                        "webhook needs --runner-webhook-secret (BURROW_RUNNER_WEBHOOK_SECRET)",
                    ));
                }
                Some(url)
            }
        };
        let base_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => {
                let mut local = addr;
                if local.ip().is_unspecified() {
                    local.set_ip(match addr {
                        SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                        SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                    });
                }
                format!("http://{local}")
            }
        };
        Ok(Runner {
            kind: config.runner,
            base_url,
            runner_url,
            wake_runner: Arc::new(Notify::new()),
            wake_outbox: Arc::new(Notify::new()),
            slots: Arc::new(Semaphore::new(config.runner_concurrency as usize)),
        })
    }

    /// Burrow's base URL as the runner's processes should use it.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What a write, in a handler or in background work, needs to announce its changes.
    /// Payload links always use `base_url`, never a request's Host: a client could
    /// otherwise send the signed links of every webhook delivery to a host of its choosing.
    pub fn background(&self, signer: &Signer) -> Announcer {
        Announcer {
            links: Links::fixed(&self.base_url, signer),
            outbox: self.wake_outbox.clone(),
            runner: self.wake_runner.clone(),
            runner_url: self.runner_url.clone(),
        }
    }
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
    let announce = state.runner.background(&state.signer);
    let orphans = state
        .db
        .write(move |c| {
            let mut ended = Vec::new();
            for pk in db_runner::orphans(c)? {
                let why = "Burrow stopped while this run's command was running.";
                if lifecycle::end(c, pk, "failed", Some(why), why, &announce)?.is_some() {
                    ended.push(pk);
                }
                db_runner::revoke_key(c, pk)?;
            }
            Ok(ended)
        })
        .await?;
    if !orphans.is_empty() {
        tracing::warn!(
            runs = orphans.len(),
            "failed the runs whose command was running when Burrow stopped"
        );
    }
    let outbox = state.runner.wake_outbox.clone();
    actix_web::rt::spawn(webhooks::deliver::run(state.clone(), outbox));
    actix_web::rt::spawn(sweeper::run(state.clone()));
    if state.runner.kind == RunnerKind::Command {
        let wake = state.runner.wake_runner.clone();
        let slots = state.runner.slots.clone();
        actix_web::rt::spawn(command::run(state.clone(), wake, slots));
    }
    Ok(())
}

/// On shutdown, once `Events::stop` has been called: waits until every command has been
/// stopped (SIGTERM, grace, SIGKILL) and its run settled, and starts no new ones.
pub async fn stop(state: &AppState) {
    if state.runner.kind != RunnerKind::Command {
        return;
    }
    let all = state.config.runner_concurrency;
    if let Ok(permits) = state.runner.slots.acquire_many(all).await {
        permits.forget();
    }
    state.runner.slots.close();
}
