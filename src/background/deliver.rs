//! Sending the outbox: lease the deliveries that are due, POST each signed body, record the
//! attempt, and retry with doubling pauses until delivered or out of attempts. A delivery
//! of the webhook runner reports on its run's log, and failing for good fails the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Data;
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use super::guard::{Guard, REFUSED, is_refusal};
use crate::clock;
use crate::db::outbox::{self, Due};
use crate::db::runs as db_runs;
use crate::duration::humane;
use crate::net::hosts::{self, AllowedHosts};
use crate::runs::{Status, lifecycle};
use crate::state::AppState;
use crate::webhooks::{SIGNATURE_HEADER, signature};

/// Deliveries taken per look at the outbox, and sent at once at most.
const BATCH: i64 = 16;
/// How long a taken delivery is held before another look may take it again: longer than
/// one attempt can last.
const LEASE: Duration = Duration::from_secs(120);
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause between two attempts, and between two looks at an idle outbox.
const MAX_PAUSE: Duration = Duration::from_secs(3600);
const IDLE_LOOK: Duration = Duration::from_secs(30);

/// The pause after the `n`th failed attempt: 1s, 2s, 4s, … up to an hour.
pub fn pause(n: i64) -> Duration {
    let exp = n.clamp(1, 13) - 1;
    Duration::from_secs(1 << exp).min(MAX_PAUSE)
}

/// Runs until the server stops: wakes on `wake` (a new delivery) or when one is due.
pub async fn run(state: Data<AppState>, wake: Arc<Notify>) {
    let client = match Clients::new(&state.config.webhook_allowed_hosts) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("webhooks: cannot make an HTTP client, nothing will be sent: {e}");
            return;
        }
    };
    let sending = Arc::new(Semaphore::new(BATCH as usize));
    loop {
        let now = clock::now();
        let lease_until = clock::offset(LEASE, false);
        let leased = state
            .db
            .write(move |c| outbox::lease(c, &now, &lease_until, BATCH))
            .await;
        match leased {
            Ok(due) => {
                let full = due.len() as i64 == BATCH;
                for d in due {
                    let Ok(permit) = sending.clone().acquire_owned().await else {
                        return;
                    };
                    let (state, client, wake) = (state.clone(), client.clone(), wake.clone());
                    actix_web::rt::spawn(async move {
                        attempt(&state, &client, d).await;
                        drop(permit);
                        // The loop may be waiting on this delivery's lease: have it look
                        // again, now that the next try's time is known.
                        wake.notify_one();
                    });
                }
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!("webhooks: cannot read the outbox: {e}"),
        }
        let wait = match state.db.read(outbox::next_due).await {
            Ok(Some(at)) => until(&at).min(IDLE_LOOK),
            _ => IDLE_LOOK,
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long until a stored timestamp (zero when it has passed).
fn until(at: &str) -> Duration {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .and_then(|t| {
            (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .ok()
        })
        .unwrap_or(Duration::ZERO)
}

/// The two ways out. Project webhooks, which any `task:write` key sets, go only where
/// `--webhook-allowed-hosts` allows, through the checking resolver and never through a
/// proxy (which would resolve the host itself). The runner webhook is the operator's own
/// setting and goes out unchecked. Neither follows redirects.
#[derive(Clone)]
struct Clients {
    hooks: reqwest::Client,
    runner: reqwest::Client,
    allowed: Arc<AllowedHosts>,
}

impl Clients {
    fn new(allowed: &AllowedHosts) -> reqwest::Result<Clients> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Burrow-Webhook/", env!("CARGO_PKG_VERSION")))
        };
        let allowed = Arc::new(allowed.clone());
        Ok(Clients {
            hooks: builder()
                .no_proxy()
                .dns_resolver(Arc::new(Guard(allowed.clone())))
                .build()?,
            runner: builder().build()?,
            allowed,
        })
    }
}

/// What one attempt came to.
struct Outcome {
    delivered: bool,
    status_code: Option<u16>,
    error: Option<String>,
    /// Refused by `--webhook-allowed-hosts`: final, not retried.
    refused: bool,
}

impl Outcome {
    fn refused() -> Outcome {
        Outcome {
            delivered: false,
            status_code: None,
            error: Some(REFUSED.into()),
            refused: true,
        }
    }
}

async fn send(clients: &Clients, d: &Due, secret: &str) -> Outcome {
    let client = if d.webhook_id.is_some() {
        // A literal address never reaches the resolver: it is checked here.
        let literal = reqwest::Url::parse(&d.url).ok().map(|u| hosts::literal(&u));
        match literal {
            Some(Some(ip)) if clients.allowed.allows_ip(ip) => {}
            Some(None) => {}
            _ => return Outcome::refused(),
        }
        &clients.hooks
    } else {
        &clients.runner
    };
    let body = d.body();
    let sent = client
        .post(&d.url)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, signature(secret, body.as_bytes()))
        .header("X-Burrow-Event", &d.event)
        .header("X-Burrow-Delivery", &d.id)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Outcome {
            delivered: true,
            status_code: Some(res.status().as_u16()),
            error: None,
            refused: false,
        },
        Ok(res) => Outcome {
            delivered: false,
            status_code: Some(res.status().as_u16()),
            error: Some(format!("HTTP {}", res.status())),
            refused: false,
        },
        Err(e) if is_refusal(&e) => Outcome::refused(),
        Err(e) => Outcome {
            delivered: false,
            status_code: None,
            error: Some(describe(&e)),
            refused: false,
        },
    }
}

/// An error with its causes, which say what actually went wrong ("connection refused").
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

async fn attempt(state: &Data<AppState>, client: &Clients, d: Due) {
    let secret = match (&d.secret, d.webhook_id) {
        (Some(secret), _) => Some(secret.clone()),
        (None, None) => state
            .config
            .runner_webhook_secret
            .as_ref()
            .map(|s| s.0.clone()),
        (None, Some(_)) => None,
    };
    let at = clock::now();
    let started = Instant::now();
    let outcome = match &secret {
        Some(secret) => send(client, &d, secret).await,
        None => Outcome {
            delivered: false,
            status_code: None,
            error: Some("no secret to sign with (--runner-webhook-secret)".into()),
            refused: false,
        },
    };
    let n = d.attempt_count + 1;
    let max = i64::from(state.config.webhook_attempts);
    let retry =
        (!outcome.delivered && !outcome.refused && n < max && secret.is_some()).then(|| pause(n));
    let record = json!({
        "at": at,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "duration_ms": started.elapsed().as_millis() as u64,
    })
    .to_string();
    let pk = d.pk;
    let retry_at = retry.map(|p| clock::offset(p, false));
    let run_pk = if d.webhook_id.is_none() {
        d.run_pk
    } else {
        None
    };
    let written = state
        .runs()
        .write(d.run_pk, move |c, announce| {
            outbox::record(c, pk, &record, outcome.delivered, retry_at.as_deref())?;
            let Some(run_pk) = run_pk else {
                return Ok(());
            };
            let message = match (&outcome.error, retry) {
                (None, _) => {
                    let code = outcome.status_code.unwrap_or(200);
                    return lifecycle::note(
                        c,
                        run_pk,
                        "info",
                        &format!("Handed to the runner webhook (HTTP {code})."),
                    );
                }
                (Some(e), Some(p)) => format!(
                    "The runner webhook failed ({e}); retrying in {} (attempt {n} of {max}).",
                    humane(p)
                ),
                (Some(e), None) => {
                    format!("The runner webhook failed ({e}) after {n} attempt(s); giving up.")
                }
            };
            let queued = Status::of(&db_runs::by_pk(c, run_pk)?.status) == Status::Queued;
            if retry.is_none() && queued {
                lifecycle::end(
                    c,
                    run_pk,
                    Status::Failed,
                    Some(&message),
                    &message,
                    announce,
                )?;
            } else {
                lifecycle::note(c, run_pk, "warn", &message)?;
            }
            Ok::<_, crate::error::Error>(())
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(delivery = %d.id, "webhooks: cannot record an attempt: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour() {
        assert_eq!(pause(1), Duration::from_secs(1));
        assert_eq!(pause(2), Duration::from_secs(2));
        assert_eq!(pause(5), Duration::from_secs(16));
        assert_eq!(pause(40), Duration::from_secs(3600));
    }
}
