//! What handlers and background jobs share: the application state, and the runner's handle
//! (how a write wakes the runners, and the server's own address for work done outside a
//! request).

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::HttpRequest;
use tokio::sync::{Notify, Semaphore};

use crate::artifacts::Store;
use crate::config::{Config, RunnerKind};
use crate::crypto::Signer;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::events::Events;
use crate::links::Links;
use crate::metrics::Metrics;
use crate::runs::Runs;
use crate::sso::Oidc;
use crate::tasks::pages::Pages;
use crate::throttle::Throttle;
use crate::webhooks::{self, Announcer};

/// What every handler can reach, shared through `web::Data`.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub signer: Signer,
    pub events: Events,
    pub store: Store,
    pub throttle: Throttle,
    pub metrics: Metrics,
    /// Recently answered task list pages.
    pub pages: Pages,
    pub runner: Runner,
    /// Single sign-on by OpenID Connect, when `--oidc-issuer` is set.
    pub oidc: Option<Oidc>,
}

impl AppState {
    /// The run operations, wired to this server.
    pub fn runs(&self) -> Runs<'_> {
        Runs::new(&self.db, &self.events, self.runner.background(&self.signer))
    }

    /// What a write needs to announce its changes (see `Runner::background`).
    pub fn announcer(&self) -> Announcer {
        self.runner.background(&self.signer)
    }

    /// Links for the answer to this request only (see `Links::for_request`).
    pub fn links(&self, req: &HttpRequest) -> Links {
        Links::for_request(&self.config, &self.signer, req)
    }
}

/// The runner's handle: how writes wake the runners, and the server's own address for work
/// done outside a request.
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
        let setting = |what: &str| Error::unexpected(format!("--runner {what}"));
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
            // Its settings are checked by the server, which starts it (`background::check`).
            RunnerKind::Acp | RunnerKind::PosthogAgent => None,
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

    /// Which runner `--runner` chose.
    pub fn kind(&self) -> RunnerKind {
        self.kind
    }

    /// Burrow's base URL as the runner's processes should use it.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Notified when a run is queued for the command runner.
    pub fn wake_runner(&self) -> Arc<Notify> {
        self.wake_runner.clone()
    }

    /// The command runner's slots: one permit per command that may run at once.
    pub fn slots(&self) -> Arc<Semaphore> {
        self.slots.clone()
    }

    /// Notified when a delivery is put in the outbox.
    pub fn wake_outbox(&self) -> Arc<Notify> {
        self.wake_outbox.clone()
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
