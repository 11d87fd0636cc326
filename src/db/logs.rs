//! Run logs: appending numbered entries under the size cap, and reading them in pages.

use rusqlite::{Connection, params};

use crate::clock;
use crate::error::Result;

/// What became of an append.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored as sequence numbers `first..=last`.
    Stored { first: i64, last: i64 },
    /// Refused: it would cross the run's size cap. A marker entry was written the first time.
    OverCap,
    /// Not stored again: the run's last stored batch had this batch id.
    Repeated,
}

/// Appends `entries` (compact JSON text) to the run's log as one contiguous batch, unless
/// the log would grow past `cap` bytes. Runs inside the writer's transaction.
pub fn append(conn: &Connection, run_pk: i64, entries: &[String], cap: i64) -> Result<Appended> {
    append_batch(conn, run_pk, entries, cap, None)
}

/// The last `seq` of the run's event stream stored in its log (0: none yet).
pub fn event_seq(conn: &Connection, run_pk: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT event_seq FROM task_runs WHERE pk = ?1")?
        .query_row([run_pk], |r| r.get(0))?)
}

/// `append` for events of the run's event stream, the last of them numbered `last_seq`:
/// the run's `event_seq` moves with the entries, in the same write (also when none is left
/// to store).
pub fn append_events(
    conn: &Connection,
    run_pk: i64,
    entries: &[String],
    last_seq: i64,
    cap: i64,
) -> Result<Appended> {
    let appended = if entries.is_empty() {
        Appended::Repeated
    } else {
        append(conn, run_pk, entries, cap)?
    };
    if appended != Appended::OverCap {
        conn.prepare_cached("UPDATE task_runs SET event_seq = ?2 WHERE pk = ?1")?
            .execute(params![run_pk, last_seq])?;
    }
    Ok(appended)
}

/// `append`, for a batch the client named: a batch named as the last one stored is a
/// retry whose first attempt landed, and is not stored again.
pub fn append_batch(
    conn: &Connection,
    run_pk: i64,
    entries: &[String],
    cap: i64,
    batch: Option<&str>,
) -> Result<Appended> {
    let (count, bytes, truncated, last_batch): (i64, i64, bool, Option<String>) = conn
        .prepare_cached(
            "SELECT log_count, log_bytes, log_truncated, log_batch FROM task_runs WHERE pk = ?1",
        )?
        .query_row([run_pk], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    if batch.is_some() && batch == last_batch.as_deref() {
        return Ok(Appended::Repeated);
    }
    let added: i64 = entries.iter().map(|e| e.len() as i64).sum();
    if truncated || bytes + added > cap {
        if !truncated {
            let marker = serde_json::json!({
                "type": "truncated",
                "level": "warn",
                "message": format!(
                    "Log truncated: this run's log reached its limit of {cap} bytes; later entries were refused."
                ),
                "timestamp": clock::now(),
            })
            .to_string();
            insert(conn, run_pk, count + 1, &marker)?;
            conn.prepare_cached(
                "UPDATE task_runs SET log_count = ?1, log_truncated = 1 WHERE pk = ?2",
            )?
            .execute(params![count + 1, run_pk])?;
        }
        return Ok(Appended::OverCap);
    }
    for (i, entry) in entries.iter().enumerate() {
        insert(conn, run_pk, count + 1 + i as i64, entry)?;
    }
    let last = count + entries.len() as i64;
    // The counters and the run's last activity (as `run_status::touch` records it) at once.
    conn.prepare_cached(
        "UPDATE task_runs SET log_count = ?1, log_bytes = ?2, last_activity_at = ?4,
             log_batch = ?5
         WHERE pk = ?3",
    )?
    .execute(params![last, bytes + added, run_pk, clock::now(), batch])?;
    Ok(Appended::Stored {
        first: count + 1,
        last,
    })
}

fn insert(conn: &Connection, run_pk: i64, seq: i64, entry: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO log_entries (run_pk, seq, entry) VALUES (?1, ?2, ?3)")?
        .execute(params![run_pk, seq, entry])?;
    Ok(())
}

/// How many entries the run's log holds, which is also its last sequence number.
pub fn count(conn: &Connection, run_pk: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT log_count FROM task_runs WHERE pk = ?1")?
        .query_row([run_pk], |r| r.get(0))?)
}

/// Up to `limit` entries after sequence number `after`, in order.
pub fn page(conn: &Connection, run_pk: i64, after: i64, limit: i64) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, entry FROM log_entries WHERE run_pk = ?1 AND seq > ?2 ORDER BY seq LIMIT +?3",
    )?;
    let rows = stmt.query_map(params![run_pk, after, limit], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the run's log holds any of the events `boot`-`first` to `boot`-`last`.
pub fn holds_events(
    conn: &Connection,
    run_pk: i64,
    boot: &str,
    first: i64,
    last: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM log_event_ids
                            WHERE run_pk = ?1 AND boot = ?2 AND n BETWEEN ?3 AND ?4)",
        )?
        .query_row(params![run_pk, boot, first, last], |r| r.get(0))?)
}

/// Records that the run's log holds the event `boot`-`n`; false if it already did.
pub fn hold_event(conn: &Connection, run_pk: i64, boot: &str, n: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO log_event_ids (run_pk, boot, n) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![run_pk, boot, n])?
        == 1)
}

/// Records that the run's log holds the events `boot`-`n` for each `n` of `ns`.
pub fn hold_events(
    conn: &Connection,
    run_pk: i64,
    boot: &str,
    ns: impl Iterator<Item = i64>,
) -> Result<()> {
    for n in ns {
        hold_event(conn, run_pk, boot, n)?;
    }
    Ok(())
}
