//! How a run's status moves beyond a plain field update: a cancelled run stays cancelled
//! (only an admin may still force it to failed), every API write counts as activity, and the
//! endings Burrow itself decides (runners, the stuck-run sweeper) leave a log entry. Each
//! function runs inside a `Db::write` and announces what changed.

use rusqlite::Connection;
use serde_json::json;

use crate::clock;
use crate::db::logs as db_logs;
use crate::db::runner as db_runner;
use crate::db::runs::{self as db_runs, Run};
use crate::error::Result;
use crate::runs::{RunChanges, is_terminal};
use crate::webhooks::Announcer;

/// Applies a PATCH. Workers that missed a cancellation keep working (their other fields
/// apply) but cannot move the run out of `cancelled`; an admin may force it to `failed`.
pub fn patch(
    c: &Connection,
    run: &Run,
    mut changes: RunChanges,
    admin: bool,
    announce: &Announcer,
) -> Result<Run> {
    if let Some(status) = changes.status.as_deref() {
        let forced = admin && status == "failed";
        if run.status == "cancelled" && status != "cancelled" && !forced {
            changes.status = None;
        }
    }
    let after = db_runs::update(c, run.pk, &changes)?;
    db_runner::touch(c, run.pk)?;
    announce.run_changed(c, &run.status, &after)?;
    Ok(after)
}

/// `POST runs/:id/cancel/`: cancels an unfinished run; a finished one is left as it is.
pub fn cancel(c: &Connection, run: &Run, announce: &Announcer) -> Result<Run> {
    if is_terminal(&run.status) {
        return Ok(run.clone());
    }
    let ended = end(
        c,
        run.pk,
        "cancelled",
        None,
        "Cancelled through the API.",
        announce,
    )?;
    match ended {
        Some(after) => Ok(after),
        None => db_runs::by_pk(c, run.pk),
    }
}

/// Ends an unfinished run with `status` and a log entry saying why; the run afterwards, or
/// `None` when it had already finished (and nothing changed).
pub fn end(
    c: &Connection,
    run_pk: i64,
    status: &str,
    error: Option<&str>,
    why: &str,
    announce: &Announcer,
) -> Result<Option<Run>> {
    let before = db_runs::by_pk(c, run_pk)?;
    if !db_runner::finish(c, run_pk, status, error)? {
        return Ok(None);
    }
    let level = if status == "completed" {
        "info"
    } else {
        "error"
    };
    note(c, run_pk, level, why)?;
    let after = db_runs::by_pk(c, run_pk)?;
    announce.run_changed(c, &before.status, &after)?;
    Ok(Some(after))
}

/// Adds a log entry of Burrow's own to a run. These few entries are not held to the log's
/// size cap, which is for what agents send.
pub fn note(c: &Connection, run_pk: i64, level: &str, message: &str) -> Result<()> {
    let entry = json!({
        "type": "console",
        "level": level,
        "source": "burrow",
        "message": message,
        "timestamp": clock::now(),
    })
    .to_string();
    db_logs::append(c, run_pk, &[entry], i64::MAX)?;
    Ok(())
}
