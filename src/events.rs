//! Change notices for live streams: after a write to a run commits, its watchers are woken
//! and read what is new from the database, which stays the one source of truth.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

pub struct Events {
    runs: Mutex<HashMap<i64, watch::Sender<u64>>>,
    /// Becomes true when the server is stopping: live streams end.
    stopping: watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            runs: Mutex::default(),
            stopping: watch::channel(false).0,
        }
    }
}

impl Events {
    /// A receiver that changes once, when the server begins to stop.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Ends every live stream (graceful shutdown).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// A receiver that changes whenever the run (by rowid) does.
    pub fn subscribe(&self, run_pk: i64) -> watch::Receiver<u64> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.entry(run_pk)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Wakes the run's watchers; forgets runs nobody watches any more.
    pub fn notify(&self, run_pk: i64) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = runs.get(&run_pk) {
            if tx.receiver_count() == 0 {
                runs.remove(&run_pk);
            } else {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }
}
