//! How a run's status moves beyond a plain field update: a cancelled run stays cancelled
//! (only an admin may still force it to failed), every API write counts as activity, and the
//! endings Burrow itself decides (runners, the stuck-run sweeper) leave a log entry, and which
//! events a change announces. Each function runs inside a `Db::write` and announces what
//! changed.

use rusqlite::Connection;
use serde_json::json;

use super::{Environment, RunChanges, Status, is_terminal};
use crate::clock;
use crate::db::logs as db_logs;
use crate::db::run_status as db_run_status;
use crate::db::runs::{self as db_runs, Run};
use crate::error::Result;
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
    if let Some(status) = changes.status {
        let forced = admin && status == Status::Failed;
        if Status::of(&run.status) == Status::Cancelled && status != Status::Cancelled && !forced {
            changes.status = None;
        }
    }
    let after = changes.apply(c, run.pk)?;
    db_run_status::touch(c, run.pk)?;
    changed(c, &run.status, &after, announce)?;
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
        Status::Cancelled,
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
    status: Status,
    error: Option<&str>,
    why: &str,
    announce: &Announcer,
) -> Result<Option<Run>> {
    let before = db_runs::by_pk(c, run_pk)?;
    if is_terminal(&before.status) {
        return Ok(None);
    }
    db_run_status::finish(c, run_pk, status, error)?;
    let level = if status == Status::Completed {
        "info"
    } else {
        "error"
    };
    note(c, run_pk, level, why)?;
    let after = db_runs::by_pk(c, run_pk)?;
    changed(c, &before.status, &after, announce)?;
    Ok(Some(after))
}

/// Announces a new run; a queued cloud run also goes to Burrow's runner.
pub fn created(c: &Connection, run: &Run, announce: &Announcer) -> Result<()> {
    announce.run_created(c, run)?;
    queued(c, run, announce)
}

/// Announces a run that was `before` and now is as given: a status change, a finish, and
/// hands a run that became queued to the runner.
pub fn changed(c: &Connection, before: &str, run: &Run, announce: &Announcer) -> Result<()> {
    if before == run.status {
        return Ok(());
    }
    announce.run_status_changed(c, before, run)?;
    if is_terminal(&run.status) && !is_terminal(before) {
        announce.run_completed(c, run)?;
    }
    queued(c, run, announce)
}

/// Only queued cloud runs go to Burrow's runners: a local run is the caller's own.
fn queued(c: &Connection, run: &Run, announce: &Announcer) -> Result<()> {
    if Status::of(&run.status) == Status::Queued
        && Environment::parse(&run.environment) == Some(Environment::Cloud)
    {
        announce.run_queued(c, run)?;
    }
    Ok(())
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
