//! The run's log as the agent runner writes it: every entry in PostHog's notification shape,
//! `{"type":"notification","timestamp","notification":{"jsonrpc":"2.0","method","params"}}`,
//! sent in order, in batches, by one task, so a slow or absent server never holds the agent.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::background::api_client::{Api, RunRef};
use crate::clock;

/// Most entries in one append.
const BATCH: usize = 200;
/// How long the writer waits for more entries before it sends what it has.
const GATHER: Duration = Duration::from_millis(100);

/// Where the runner's entries go. Cheap to clone; entries keep their order.
#[derive(Clone)]
pub struct Log {
    tx: mpsc::UnboundedSender<Item>,
}

enum Item {
    Entry(Value),
    Flush(oneshot::Sender<()>),
}

/// An entry in PostHog's shape.
pub fn notification(method: &str, params: Value) -> Value {
    json!({
        "type": "notification",
        "timestamp": clock::now(),
        "notification": {"jsonrpc": "2.0", "method": method, "params": params},
    })
}

impl Log {
    /// Starts the writer for one run.
    pub fn start(api: Api, run: RunRef) -> Log {
        let (tx, rx) = mpsc::unbounded_channel();
        actix_web::rt::spawn(write(api, run, rx));
        Log { tx }
    }

    /// Appends an entry made elsewhere (already in its final shape).
    pub fn entry(&self, entry: Value) {
        let _ = self.tx.send(Item::Entry(entry));
    }

    /// A `session/update` exactly as the agent sent its params.
    pub fn update(&self, params: Value) {
        self.entry(notification("session/update", params));
    }

    /// One of Burrow's own entries, `_burrow/<what>`.
    pub fn burrow(&self, what: &str, params: Value) {
        self.entry(notification(&format!("_burrow/{what}"), params));
    }

    /// Waits until everything logged so far has been sent (or given up on).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write(api: Api, run: RunRef, mut rx: mpsc::UnboundedReceiver<Item>) {
    let mut batch: Vec<Value> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut open = true;
    while open {
        // Block for the first item, then gather what comes within GATHER.
        match rx.recv().await {
            None => open = false,
            Some(Item::Entry(e)) => batch.push(e),
            Some(Item::Flush(done)) => waiting.push(done),
        }
        let deadline = tokio::time::Instant::now() + GATHER;
        while open && batch.len() < BATCH && waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => break,
                Ok(None) => open = false,
                Ok(Some(Item::Entry(e))) => batch.push(e),
                Ok(Some(Item::Flush(done))) => waiting.push(done),
            }
        }
        if !batch.is_empty() {
            let id = uuid::Uuid::new_v4().to_string();
            if let Err(e) = api.append(&run, &id, &batch).await {
                tracing::warn!(run = %run.run, "cannot append {} log entries: {e}", batch.len());
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
