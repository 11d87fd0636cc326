//! Events out: the events Burrow announces, their payloads, and the `Announcer` that puts
//! deliveries in the outbox inside the transaction of the change they announce (so a
//! committed change is always announced, and nothing is announced that did not commit).
//! `background::deliver` sends them. Which run events happen is the run's to decide
//! (`runs`); this file knows how each is put in the outbox.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::artifacts::Entry;
use crate::clock;
use crate::crypto;
use crate::db::hooks::{self as db_hooks, Webhook};
use crate::db::identity;
use crate::db::outbox::{self, NewDelivery};
use crate::db::runs::Run;
use crate::db::tasks::{self as db_tasks, Task};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::links::Links;
use crate::net::hosts::AllowedHosts;

/// The events a project's webhook may take.
pub const EVENTS: &[&str] = &[
    "task.created",
    "run.created",
    "run.status_changed",
    "run.completed",
    "artifact.uploaded",
];

/// The event the webhook runner receives for each queued cloud run.
pub const RUN_QUEUED: &str = "run.queued";

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "X-Burrow-Signature";

/// What a write needs to announce its changes: links for payloads, the outbox, and the
/// runners to wake. Cheap to clone; moved into `Db::write` closures.
#[derive(Clone)]
pub struct Announcer {
    pub(crate) links: Links,
    pub(crate) outbox: Arc<Notify>,
    pub(crate) runner: Arc<Notify>,
    /// Set when the webhook runner is on.
    pub(crate) runner_url: Option<String>,
}

impl Announcer {
    pub fn task_created(&self, c: &Connection, project_id: i64, task: &Task) -> Result<()> {
        self.emit(c, project_id, "task.created", || {
            let mut task = task.clone();
            self.links.task(&mut task);
            json!({ "task": task })
        })
    }

    pub fn run_created(&self, c: &Connection, run: &Run) -> Result<()> {
        self.emit(
            c,
            run.project_id,
            "run.created",
            || json!({ "run": self.linked(run) }),
        )
    }

    /// A run whose status was `before`.
    pub fn run_status_changed(&self, c: &Connection, before: &str, run: &Run) -> Result<()> {
        self.emit(
            c,
            run.project_id,
            "run.status_changed",
            || json!({ "run": self.linked(run), "previous_status": before }),
        )
    }

    /// A run that has just finished.
    pub fn run_completed(&self, c: &Connection, run: &Run) -> Result<()> {
        self.emit(
            c,
            run.project_id,
            "run.completed",
            || json!({ "run": self.linked(run) }),
        )
    }

    pub fn artifacts_uploaded(&self, c: &Connection, run: &Run, entries: &[Entry]) -> Result<()> {
        self.emit(
            c,
            run.project_id,
            "artifact.uploaded",
            || json!({ "run": self.linked(run), "artifacts": entries }),
        )
    }

    fn linked(&self, run: &Run) -> Run {
        let mut run = run.clone();
        self.links.run(&mut run);
        run
    }

    /// A run waiting for Burrow's runner: wakes the command runner and, when the webhook
    /// runner is on, hands it the run.
    pub fn run_queued(&self, c: &Connection, run: &Run) -> Result<()> {
        // Notified before the commit is safe: the runner claims through the writer, which
        // runs its claim after this transaction.
        self.runner.notify_one();
        let Some(url) = &self.runner_url else {
            return Ok(());
        };
        let project = identity::project_by_id(c, run.project_id)?;
        let mut task = db_tasks::get(c, &project, &run.task).ok();
        if let Some(task) = task.as_mut() {
            self.links.task(task);
        }
        let data = json!({ "run": self.linked(run), "task": task });
        let payload = outbox::store_payload(c, &clock::now(), &data.to_string())?;
        self.deliver(
            c,
            run.project_id,
            None,
            Some(run.pk),
            RUN_QUEUED,
            url,
            payload,
        )
    }

    /// One delivery per webhook of the project that takes `event`, all carrying one stored
    /// payload; its `data` is made only when some webhook takes it.
    fn emit(
        &self,
        c: &Connection,
        project_id: i64,
        event: &str,
        data: impl FnOnce() -> Value,
    ) -> Result<()> {
        let subscribed = db_hooks::subscribed(c, project_id, event)?;
        if subscribed.is_empty() {
            return Ok(());
        }
        let payload = outbox::store_payload(c, &clock::now(), &data().to_string())?;
        for (id, url) in subscribed {
            self.deliver(c, project_id, Some(id), None, event, &url, payload)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &self,
        c: &Connection,
        project_id: i64,
        webhook_id: Option<i64>,
        run_pk: Option<i64>,
        event: &str,
        url: &str,
        payload_id: i64,
    ) -> Result<()> {
        let id = uuid::Uuid::new_v4().to_string();
        outbox::enqueue(
            c,
            &NewDelivery {
                id: &id,
                project_id,
                webhook_id,
                run_pk,
                event,
                url,
                payload_id,
            },
        )?;
        self.outbox.notify_one();
        Ok(())
    }
}

/// `sha256=<hex>`: the signature of a body under a secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        crypto::hmac_sha256_hex(secret.as_bytes(), body)
    )
}

/// Checks an outgoing URL: absolute http or https with a host.
pub fn check_url(attr: &str, text: &str) -> Result<String> {
    let bad = || Error::invalid(attr, "invalid_input", "Enter a valid http or https URL.");
    let url = reqwest::Url::parse(text.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url.to_string())
}

/// The most live webhooks a project may have, as on GitHub: each one multiplies every
/// event's deliveries.
/// The longest signing secret, in characters.
pub const SECRET_MAX_CHARS: usize = 200;

pub const MAX_PER_PROJECT: i64 = 20;

/// Adds a webhook to a project that has room for it.
pub fn create(c: &Connection, project_id: i64, user_id: i64, new: &NewWebhook) -> Result<Webhook> {
    if db_hooks::count(c, project_id)? >= MAX_PER_PROJECT {
        return Err(Error::body(
            "too_many",
            format!(
                "A project may have at most {MAX_PER_PROJECT} webhooks; delete one before \
                 adding another."
            ),
        ));
    }
    db_hooks::create(c, project_id, user_id, &new.url, &new.events, &new.secret)
}

/// A new webhook: `{url, events: [...], secret?}`; a missing secret is generated.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
}

/// Parses a new webhook; its URL must be one `allowed` may reach.
pub fn parse_new(body: &Map<String, Value>, allowed: &AllowedHosts) -> Result<NewWebhook> {
    let f = Fields::new(body);
    let url = check_url("url", &f.text("url", Some(2000), false)?.required()?)?;
    let parsed = reqwest::Url::parse(&url).map_err(Error::internal)?;
    if !allowed.allows_url(&parsed) {
        return Err(Error::invalid(
            "url",
            "not_allowed",
            "Webhooks may not be sent to this host (the server's --webhook-allowed-hosts).",
        ));
    }
    let items = f.list("events")?.required()?;
    if items.is_empty() {
        return Err(Error::invalid(
            "events",
            "blank",
            "This list may not be empty.",
        ));
    }
    let mut events = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(e) if EVENTS.contains(&e) => {
                if !events.iter().any(|have| have == e) {
                    events.push(e.to_string());
                }
            }
            _ => {
                let shown = item
                    .as_str()
                    .map_or_else(|| item.to_string(), str::to_string);
                return Err(Error::invalid(
                    format!("events__{i}"),
                    "invalid_choice",
                    format!("\"{shown}\" is not a valid choice."),
                ));
            }
        }
    }
    let secret = match f
        .text("secret", Some(SECRET_MAX_CHARS), false)?
        .nullable()
        .flatten()
    {
        Some(s) => s,
        None => format!("whsec_{}", crypto::random_alphanumeric(32)),
    };
    Ok(NewWebhook {
        url,
        events,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(check_url("url", "http://127.0.0.1:9/x").is_ok());
        assert!(check_url("url", "https://example.com").is_ok());
        assert!(check_url("url", "ftp://example.com").is_err());
        assert!(check_url("url", "example.com/hook").is_err());
    }

    #[test]
    fn signatures_are_hex_hmacs() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
