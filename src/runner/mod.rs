//! Starting runs and watching them: the runner chosen by `--runner` (none or webhook), the
//! outbox of outgoing webhooks, and the stuck-run sweeper, all background tasks started
//! with the server. Handlers reach them through `Runner` in the app state.

pub mod sweeper;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::web::Data;
use tokio::sync::Notify;

use crate::api::Links;
use crate::app::AppState;
use crate::config::{Config, RunnerKind};
use crate::crypto::Signer;
use crate::error::{Error, Result};
use crate::webhooks::{self, Announcer};

/// The runner's handle: how handlers wake the runners, and the server's own address for
/// work done outside a request.
pub struct Runner {
    base_url: String,
    runner_url: Option<String>,
    wake_runner: Arc<Notify>,
    wake_outbox: Arc<Notify>,
}

impl Runner {
    /// Checks the runner settings. `addr` is where the server listens: links made outside a
    /// request point there unless `--public-url` says otherwise.
    pub fn new(config: &Config, addr: SocketAddr) -> Result<Runner> {
        let setting = |what: &str| Error::Internal(format!("--runner {what}"));
        let runner_url = match config.runner {
            RunnerKind::None => None,
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
            base_url,
            runner_url,
            wake_runner: Arc::new(Notify::new()),
            wake_outbox: Arc::new(Notify::new()),
        })
    }

    /// What a handler's write needs to announce its changes, with the request's links.
    pub fn announcer(&self, links: Links) -> Announcer {
        Announcer {
            links,
            outbox: self.wake_outbox.clone(),
            runner: self.wake_runner.clone(),
            runner_url: self.runner_url.clone(),
        }
    }

    /// An announcer for background work, linking to `base_url`.
    pub fn background(&self, signer: &Signer) -> Announcer {
        self.announcer(Links::fixed(&self.base_url, signer))
    }
}

/// Starts the background tasks on the current runtime: the outbox and the sweeper.
pub async fn start(state: Data<AppState>) -> Result<()> {
    let outbox = state.runner.wake_outbox.clone();
    actix_web::rt::spawn(webhooks::deliver::run(state.clone(), outbox));
    actix_web::rt::spawn(sweeper::run(state.clone()));
    Ok(())
}
