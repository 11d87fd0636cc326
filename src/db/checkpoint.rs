//! WAL checkpoints off the writer's path: the writer never checkpoints itself (a checkpoint
//! inside a commit stalls every write queued behind it); this thread copies the WAL back
//! into the database every second, without blocking readers or the writer.

use std::path::Path;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Result;

const EVERY: Duration = Duration::from_secs(1);

pub fn start(path: &Path) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    thread::Builder::new()
        .name("burrow-checkpoint".into())
        .spawn(move || {
            loop {
                thread::sleep(EVERY);
                // PASSIVE: copies what it can without waiting for readers or the writer.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("WAL checkpoint: {e}");
                }
            }
        })?;
    Ok(())
}
