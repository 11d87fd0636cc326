//! The single writer: one thread owns the read-write connection and commits queued writes in
//! groups. Each write runs in its own savepoint, so one failing write does not undo the
//! others, and its caller hears back only after the group's COMMIT.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::exec;
use crate::error::{Error, Result};

/// The most writes committed together; bounds the latency one group adds.
const MAX_GROUP: usize = 512;

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it restarts the WAL when `restart` is set.
    pub fn start(conn: Connection, restart: Arc<AtomicBool>) -> Writer {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("burrow-writer".into())
            .spawn(move || run(conn, queue, &restart))
            .expect("spawn the database writer thread");
        Writer { jobs }
    }

    pub async fn submit<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn| {
            let outcome = f(conn);
            let ok = outcome.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let _ = tx.send(committed.and(outcome));
            });
            (ok, reply)
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::internal("the database writer has stopped"))?;
        rx.await
            .map_err(|_| Error::internal("the database writer dropped a write"))?
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>, restart: &AtomicBool) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = queue.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = exec(&conn, "BEGIN IMMEDIATE") {
            tracing::error!("database: cannot begin a write: {e}");
            // Dropping a job that never ran answers its caller with an error.
            group.clear();
            continue;
        }
        for job in group.drain(..) {
            replies.extend(run_in_savepoint(&conn, job));
        }
        let committed = exec(&conn, "COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            Error::unexpected(format!("database: commit failed: {e}"))
        });
        for reply in replies.drain(..) {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::unexpected(e.to_string())),
            });
        }
        if restart.swap(false, Ordering::Relaxed) {
            restart_wal(&conn);
        }
    }
}

/// How the writer waits for readers to leave the WAL before a restart: it looks again every
/// 100 µs, up to 100 ms, then gives up (a backup's long read, say) and tries again on a later
/// request. SQLite's own busy timeout sleeps 1, 2, 5, 10 ms… between looks, far longer than
/// a read lasts.
fn restart_busy(attempt: i32) -> bool {
    thread::sleep(Duration::from_micros(100));
    attempt < 1000
}

/// Copies the rest of the WAL back and waits for readers to leave it, so that the next
/// commit writes the WAL from its start; `journal_size_limit` then trims the file. Runs
/// between groups, outside any transaction: the writes queued meanwhile wait for it, the
/// callers already answered do not.
fn restart_wal(conn: &Connection) {
    let restarted = conn.busy_handler(Some(restart_busy)).and_then(|()| {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0))
    });
    match restarted {
        Ok(0) => {}
        Ok(_) => tracing::debug!("WAL restart: the WAL was still in use; trying again later"),
        Err(e) => tracing::warn!("WAL restart: {e}"),
    }
    if let Err(e) = conn.busy_timeout(super::BUSY_TIMEOUT) {
        tracing::error!("database: cannot restore the writer's busy timeout: {e}");
    }
}

/// Runs one job in a savepoint; `None` when it could not run or panicked (its caller then
/// hears of an error through the dropped reply channel).
fn run_in_savepoint(conn: &Connection, job: Job) -> Option<Reply> {
    if let Err(e) = exec(conn, "SAVEPOINT job") {
        tracing::error!("database: savepoint: {e}");
        return None;
    }
    let ran = panic::catch_unwind(AssertUnwindSafe(|| job(conn)));
    let (ok, reply) = match ran {
        Ok((ok, reply)) => (ok, Some(reply)),
        Err(_) => {
            tracing::error!("database: a write panicked; its changes are rolled back");
            (false, None)
        }
    };
    let end = if ok {
        exec(conn, "RELEASE job")
    } else {
        exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
    };
    match end {
        Ok(()) => reply,
        Err(e) => {
            tracing::error!("database: ending a savepoint: {e}");
            None
        }
    }
}
