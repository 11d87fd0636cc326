//! Backups: `burrow backup FILE` takes a consistent copy while the server writes (SQLite's
//! `VACUUM INTO` reads one snapshot), and `burrow restore FILE` puts one back once the
//! server has stopped. The server holds a lock file so a restore cannot pull the database
//! from under it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::clock;
use crate::db;
use crate::error::{Error, Result};
use crate::private;

const LOCK: &str = "server.lock";

/// Held by a running server: an exclusive lock on `server.lock` in the data folder.
pub struct ServerLock {
    _file: File,
}

impl ServerLock {
    pub fn take(data_dir: &Path) -> Result<ServerLock> {
        private::folder(data_dir)?;
        let file = File::create(data_dir.join(LOCK))?;
        file.try_lock().map_err(|_| {
            Error::unexpected(format!(
                "another Burrow server is already using {}",
                data_dir.display()
            ))
        })?;
        Ok(ServerLock { _file: file })
    }
}

fn server_running(data_dir: &Path) -> Result<bool> {
    let path = data_dir.join(LOCK);
    if !path.exists() {
        return Ok(false);
    }
    let file = File::options().write(true).open(path)?;
    Ok(file.try_lock().is_err())
}

/// Writes a consistent copy of the database to `target`, which must not exist. The copy
/// holds every secret the database does, so it is made 0600 before a byte is written:
/// `VACUUM INTO` fills an empty file.
pub fn backup(data_dir: &Path, target: &Path) -> Result<u64> {
    let target_text = target
        .to_str()
        .ok_or_else(|| Error::unexpected("the backup path is not valid UTF-8".into()))?;
    let conn = db::open_for_admin(data_dir)?;
    private::new_file(target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::unexpected(format!(
            "{} already exists; choose a new file",
            target.display()
        )),
        _ => Error::unexpected(format!("cannot create {}: {e}", target.display())),
    })?;
    if let Err(e) = conn.execute("VACUUM INTO ?1", [target_text]) {
        let _ = fs::remove_file(target);
        return Err(e.into());
    }
    Ok(fs::metadata(target)?.len())
}

/// Checks a backup is a sound Burrow database this binary can run.
fn verify(file: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::unexpected(format!("cannot open {}: {e}", file.display())))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            Error::unexpected(format!("{} is not a SQLite database: {e}", file.display()))
        })?;
    if check != "ok" {
        return Err(Error::unexpected(format!(
            "{} is damaged: {check}",
            file.display()
        )));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_tasks: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks')",
        [],
        |r| r.get(0),
    )?;
    if version == 0 || !has_tasks {
        return Err(Error::unexpected(format!(
            "{} is not a Burrow database",
            file.display()
        )));
    }
    if version > db::SCHEMA_VERSION {
        return Err(Error::unexpected(format!(
            "{} was written by a newer Burrow (schema {version})",
            file.display()
        )));
    }
    Ok(())
}

/// Replaces the data folder's database with `file`. The server must be stopped; the current
/// database is kept beside it. Returns where it was kept.
pub fn restore(data_dir: &Path, file: &Path) -> Result<Option<PathBuf>> {
    if server_running(data_dir)? {
        return Err(Error::unexpected(
            "a Burrow server is running on this data folder; stop it before restoring".into(),
        ));
    }
    verify(file)?;
    private::folder(data_dir)?;
    let live = data_dir.join("burrow.db");
    let staged = data_dir.join("burrow.db.restoring");
    // `fs::copy` would give the copy the backup's own mode.
    let _ = fs::remove_file(&staged);
    std::io::copy(&mut File::open(file)?, &mut private::new_file(&staged)?)?;
    let kept = if live.exists() {
        // Fold the WAL into the file first, so the kept copy is complete on its own.
        Connection::open(&live)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        let stamp = clock::now().replace([':', '.'], "-");
        let kept = data_dir.join(format!("burrow.db.before-restore-{stamp}"));
        fs::rename(&live, &kept)?;
        private::narrow(&kept, private::FILE_MODE)?;
        Some(kept)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(data_dir.join(format!("burrow.db{suffix}")));
    }
    fs::rename(&staged, &live)?;
    Ok(kept)
}
