//! The database: one SQLite file, a pool of read-only connections and one writer thread.
//! `Db::read` and `Db::write` are the only doors from async code to SQLite.
//!
//! Paging queries write `LIMIT +?n OFFSET +?m`, never `LIMIT ?n`: SQLite plans with the value
//! bound to a bare `LIMIT ?`, so a cached statement would be parsed again on every run.

mod checkpoint;
mod schema;

pub use schema::VERSION as SCHEMA_VERSION;
mod writer;

pub mod artifacts;
pub mod hooks;
pub mod identity;
pub mod keys;
pub mod logs;
pub mod outbox;
pub mod run_keys;
pub mod run_list;
pub mod run_status;
pub mod run_usage;
pub mod runs;
pub mod sessions;
pub mod stats;
pub mod tasks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::private;

use checkpoint::WalPolicy;
pub use writer::Writer;

type Pool = r2d2::Pool<SqliteConnectionManager>;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    readers: Pool,
    writer: Writer,
    path: PathBuf,
}

impl Db {
    /// Opens (creating when needed) `burrow.db` in `data_dir`, applies the schema and seeds a
    /// fresh database, then starts the writer thread.
    pub fn open(data_dir: &Path) -> Result<Db> {
        Db::open_with(data_dir, WalPolicy::DEFAULT)
    }

    /// `open` with the WAL kept to `policy`.
    fn open_with(data_dir: &Path, policy: WalPolicy) -> Result<Db> {
        let path = prepare(data_dir)?;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| configure(c, false));
        let readers = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            // A pooled connection is checked when it is made; testing it again on every
            // checkout would run an empty statement on each read.
            .test_on_check_out(false)
            .build(manager)?;
        let conn = open_writer(&path)?;
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            policy.size_limit()
        ))?;
        let restart = Arc::new(AtomicBool::new(false));
        checkpoint::start(&path, policy, restart.clone())?;
        let writer = Writer::start(conn, restart);
        Ok(Db {
            readers,
            writer,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled read-only connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        actix_web::web::block(move || {
            let conn = pool.get()?;
            snapshot(&conn, f)
        })
        .await?
    }

    /// Runs a light read (a few rows found by key: a credential, a task by id, a page over an
    /// index) on the calling thread when a pooled connection is free, else like `read`.
    /// Handing a read of a few microseconds to a blocking thread costs more than the read:
    /// two thread wake-ups and a context switch each way.
    pub async fn read_light<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match self.readers.try_get() {
            Some(conn) => snapshot(&conn, f),
            None => self.read(f).await,
        }
    }

    /// Runs `f` inside the writer thread's current transaction. The result is returned only
    /// once that transaction has committed, so an acknowledged write is on disk.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.submit(f).await
    }
}

/// Runs a read's statements in one transaction: they see one snapshot of the database (a
/// credential, its project and the rows read agree), and the WAL's read lock is taken
/// once instead of once per statement.
fn snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    exec(conn, "BEGIN")?;
    let _end = EndRead(conn);
    f(conn)
}

/// Ends a read transaction however its read ends, a panic included, so the connection
/// goes back to the pool without one open.
struct EndRead<'c>(&'c Connection);

impl Drop for EndRead<'_> {
    fn drop(&mut self) {
        // A read-only transaction has nothing to keep: rolling it back releases it.
        if !self.0.is_autocommit()
            && let Err(e) = exec(self.0, "ROLLBACK")
        {
            tracing::error!("database: ending a read: {e}");
        }
    }
}

/// Runs one statement of transaction control through the statement cache: reads and the
/// writer run them around every request, and parsing each anew cost more than running it.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Creates the data folder, applies the schema and seeds a fresh database; returns the file.
fn prepare(data_dir: &Path) -> Result<PathBuf> {
    private::folder(data_dir).map_err(|e| {
        Error::unexpected(format!(
            "cannot create data folder {}: {e}",
            data_dir.display()
        ))
    })?;
    let path = data_dir.join("burrow.db");
    private_files(&path)
        .map_err(|e| Error::unexpected(format!("cannot protect {}: {e}", path.display())))?;
    let mut conn = open_writer(&path)?;
    schema::migrate(&mut conn)?;
    identity::seed(&conn)?;
    Ok(path)
}

/// Makes the database file 0600 before SQLite opens it (creating it empty, which SQLite
/// takes as a new database), and narrows an older installation's files. SQLite gives the
/// WAL and shared-memory files it creates the database file's mode.
fn private_files(path: &Path) -> std::io::Result<()> {
    match private::new_file(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        private::narrow(Path::new(&name), private::FILE_MODE)?;
    }
    Ok(())
}

/// Opens a read-write connection, as the server's writer and the command line use.
pub fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| Error::unexpected(format!("cannot open {}: {e}", path.display())))?;
    configure(&conn, true)?;
    Ok(conn)
}

/// Opens the database of a data folder for the command line, preparing it like the server.
pub fn open_for_admin(data_dir: &Path) -> Result<Connection> {
    let path = prepare(data_dir)?;
    open_writer(&path)
}

fn configure(conn: &Connection, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    if writer {
        // WAL survives a killed process with synchronous=NORMAL: committed transactions are
        // in the WAL file before COMMIT returns; only a power loss can drop the newest ones.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -16000;",
        )
    } else {
        // 2 MiB of page cache per reader: eight readers streaming large logs at once would
        // otherwise hold 64 MiB of pages between them; the OS page cache still holds the file.
        conn.execute_batch("PRAGMA cache_size = -2000; PRAGMA query_only = ON;")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use futures_util::stream::FuturesUnordered;
    use rusqlite::{Connection, StatementStatus};

    use super::{Db, WalPolicy};

    /// A writer that never rests never finds the WAL fully copied back, so without a restart
    /// the WAL grows by everything written (here 96 MiB). With one, it stays within a few
    /// checkpoint periods of the policy (15–20 MiB seen here).
    #[tokio::test]
    async fn the_wal_stays_small_while_the_writer_never_rests() {
        let dir = tempfile::tempdir().unwrap();
        let policy = WalPolicy {
            every: Duration::from_millis(20),
            restart_frames: 256,
        };
        let db = Db::open_with(dir.path(), policy).unwrap();
        db.write(|c| Ok(c.execute_batch("CREATE TABLE filler (b BLOB)")?))
            .await
            .unwrap();
        let write = || {
            db.write(|c| {
                c.execute("INSERT INTO filler VALUES (zeroblob(65536))", [])?;
                Ok(())
            })
        };
        // 1,536 writes of 64 KiB, 16 in flight at any time, and readers beside them.
        let wal = dir.path().join("burrow.db-wal");
        let mut in_flight: FuturesUnordered<_> = (0..16).map(|_| write()).collect();
        let (mut done, mut peak) = (0_i64, 0);
        while let Some(outcome) = in_flight.next().await {
            outcome.unwrap();
            done += 1;
            if done + (in_flight.len() as i64) < 1536 {
                in_flight.push(write());
            }
            if done % 8 == 0 {
                let rows = db
                    .read(|c| {
                        Ok(c.query_row("SELECT count(*) FROM filler", [], |r| r.get::<_, i64>(0))?)
                    })
                    .await
                    .unwrap();
                assert!(rows >= done);
            }
            peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        assert!(
            peak < 48 << 20,
            "the WAL reached {peak} bytes with a restart asked for at {}",
            policy.size_limit()
        );
    }

    /// Why paging queries write `LIMIT +?`: SQLite re-prepares a statement with a bare
    /// `LIMIT ?` each time it runs. If this test starts failing, a newer SQLite no longer
    /// does, and the `+` can go.
    #[test]
    fn a_bare_limit_parameter_reprepares_and_a_unary_plus_does_not() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, 1);",
        )
        .unwrap();
        let reprepares = |sql: &str| {
            let mut stmt = conn.prepare(sql).unwrap();
            for _ in 0..3 {
                stmt.query_map([1, 0], |r| r.get::<_, i64>(0))
                    .unwrap()
                    .for_each(drop);
            }
            stmt.get_status(StatementStatus::RePrepare)
        };
        assert!(reprepares("SELECT a FROM t ORDER BY a DESC LIMIT ?1 OFFSET ?2") > 0);
        assert_eq!(
            reprepares("SELECT a FROM t ORDER BY a DESC LIMIT +?1 OFFSET +?2"),
            0
        );
    }
}
