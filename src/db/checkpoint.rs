//! WAL checkpoints off the writer's path: the writer never checkpoints inside a commit (a
//! checkpoint there stalls every write queued behind it); this thread copies the WAL back
//! into the database ten times a second, without blocking readers or the writer.
//!
//! A passive checkpoint alone cannot keep the WAL small under a writer that never rests:
//! SQLite starts the WAL over only when a write begins with every frame already copied back,
//! and a busy writer always has newer frames. So when the WAL passes `restart_frames`, this
//! thread asks the writer to restart it between two groups (`Writer`'s `restart_wal`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Result;

/// How often the WAL is copied back, and how long it may grow before it is started over.
#[derive(Clone, Copy, Debug)]
pub struct WalPolicy {
    pub every: Duration,
    pub restart_frames: i64,
}

impl WalPolicy {
    /// 16,384 frames of 4 KiB pages: the WAL restarts at about 64 MiB. Copying back often
    /// keeps what a restart still has to copy, while the writer waits, to a tenth of a
    /// second's writes: restarts took 2–23 ms under a sustained 110 MB/s of appends, against
    /// 17–51 ms when copying back once a second.
    pub const DEFAULT: WalPolicy = WalPolicy {
        every: Duration::from_millis(100),
        restart_frames: 16384,
    };

    /// The size the writer's `journal_size_limit` trims a restarted WAL file back to.
    pub fn size_limit(&self) -> i64 {
        self.restart_frames * 4096
    }
}

/// Starts the checkpoint thread; it sets `restart` when the WAL has grown past the policy.
pub fn start(path: &Path, policy: WalPolicy, restart: Arc<AtomicBool>) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    thread::Builder::new()
        .name("burrow-checkpoint".into())
        .spawn(move || {
            let passive = || {
                // PASSIVE: copies what it can without waiting for readers or the writer.
                // Its second column is the number of frames in the WAL.
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            };
            loop {
                thread::sleep(policy.every);
                match passive() {
                    Ok(frames) if frames >= policy.restart_frames => {
                        restart.store(true, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("WAL checkpoint: {e}"),
                }
            }
        })?;
    Ok(())
}
