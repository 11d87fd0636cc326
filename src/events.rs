//! Change notices for live streams: after a write to a run commits, its watchers are woken.
//! A notice carries the newest appended batch, so a thousand streams that are caught up take
//! it from memory; any stream that is behind, or sees the run itself change, reads the
//! database, which stays the one source of truth. Also what live streams share: the stop,
//! revocations, and how many streams each credential holds open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// What a run's watchers are told.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    /// Bumped whenever anything but the log changes (status, stage, output, artifacts…), and
    /// by writers that do not say what they appended.
    pub run_version: u64,
    /// The newest batch appended through the API.
    pub batch: Option<Arc<Batch>>,
}

/// Log entries just committed: `entries[i]` has sequence number `first + i`.
#[derive(Debug)]
pub struct Batch {
    pub first: i64,
    pub entries: Vec<String>,
}

/// Most live streams one credential (a key, a session, a run's log token) may hold open.
pub const STREAMS_PER_HOLDER: usize = 100;

pub struct Events {
    runs: Mutex<HashMap<i64, watch::Sender<Notice>>>,
    /// Becomes true when the server is stopping: live streams end.
    stopping: watch::Sender<bool>,
    /// Bumped when a credential is revoked: streams check theirs again.
    revoked: watch::Sender<u64>,
    /// Live streams open per credential.
    streams: Mutex<HashMap<String, usize>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            runs: Mutex::default(),
            stopping: watch::channel(false).0,
            revoked: watch::channel(0).0,
            streams: Mutex::default(),
        }
    }
}

impl Events {
    /// A receiver that changes whenever a credential is revoked.
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.revoked.subscribe()
    }

    /// Tells live streams a credential was revoked here (a revocation by the command line,
    /// in another process, is found by their periodic check).
    pub fn revoked(&self) {
        self.revoked.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Takes one of `holder`'s stream slots; false when all are taken.
    pub fn open_stream(&self, holder: &str) -> bool {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let open = streams.entry(holder.to_string()).or_default();
        if *open >= STREAMS_PER_HOLDER {
            return false;
        }
        *open += 1;
        true
    }

    /// Gives back a slot `open_stream` took.
    pub fn close_stream(&self, holder: &str) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = streams.get_mut(holder) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(holder);
            }
        }
    }

    /// A receiver that changes once, when the server begins to stop.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Ends every live stream (graceful shutdown).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// A receiver that changes whenever the run (by rowid) does.
    pub fn subscribe(&self, run_pk: i64) -> watch::Receiver<Notice> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.entry(run_pk)
            .or_insert_with(|| watch::channel(Notice::default()).0)
            .subscribe()
    }

    /// Wakes the run's watchers after a change; forgets runs nobody watches any more.
    pub fn notify(&self, run_pk: i64) {
        self.send(run_pk, |n| n.run_version = n.run_version.wrapping_add(1));
    }

    /// Wakes the run's watchers with a batch of entries just committed.
    pub fn appended(&self, run_pk: i64, first: i64, entries: Vec<String>) {
        // Two appends may announce themselves out of order: keep the newest batch, so a
        // stream that takes a batch from memory never skips one it did not see.
        self.send(run_pk, move |n| {
            if n.batch.as_ref().is_none_or(|b| b.first < first) {
                n.batch = Some(Arc::new(Batch { first, entries }));
            }
        });
    }

    fn send(&self, run_pk: i64, change: impl FnOnce(&mut Notice)) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = runs.get(&run_pk) {
            if tx.receiver_count() == 0 {
                runs.remove(&run_pk);
            } else {
                tx.send_modify(change);
            }
        }
    }
}
