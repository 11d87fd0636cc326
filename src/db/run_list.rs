//! Listing a task's runs: the count and a page's rows, read in one go or, for a page too
//! large for one buffer, part by part.

use std::sync::LazyLock;

use rusqlite::{Connection, params};

use super::runs::{LogLinks, RUN_COLUMNS, RunView, run_view};
use crate::error::Result;

/// How many runs the task with rowid `task_pk` has.
pub fn count(conn: &Connection, task_pk: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM task_runs WHERE task_pk = ?1")?
        .query_row([task_pk], |r| r.get(0))?)
}

/// Calls `each` with the runs of one page of the task's runs, newest first, for as long as
/// it answers `true`; returns how many it was called with.
pub fn each_on_page(
    conn: &Connection,
    task_pk: i64,
    (limit, offset): (i64, i64),
    links: &dyn LogLinks,
    mut each: impl FnMut(&RunView) -> Result<bool>,
) -> Result<i64> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
             WHERE r.task_pk = ?1 ORDER BY r.pk DESC LIMIT +?2 OFFSET +?3"
        )
    });
    let mut stmt = conn.prepare_cached(&SQL)?;
    let mut rows = stmt.query(params![task_pk, limit, offset])?;
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        if let Some(run) = run_view(row, 0, Some(links))?
            && !each(&run)?
        {
            break;
        }
    }
    Ok(seen)
}

/// The rowids of the runs of a page from its `skip`th on, newest first.
pub fn page_rest(
    conn: &Connection,
    task_pk: i64,
    (limit, offset): (i64, i64),
    skip: i64,
) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT pk FROM task_runs WHERE task_pk = ?1 ORDER BY pk DESC LIMIT +?2 OFFSET +?3",
    )?;
    let pks = stmt.query_map(
        params![
            task_pk,
            limit.saturating_sub(skip).max(0),
            offset.saturating_add(skip)
        ],
        |r| r.get(0),
    )?;
    Ok(pks.collect::<rusqlite::Result<_>>()?)
}

/// Calls `f` with the task's run `pk` as its row holds it; `None` when it is gone.
pub fn with_run<T>(
    conn: &Connection,
    task_pk: i64,
    pk: i64,
    links: &dyn LogLinks,
    f: impl FnOnce(&RunView) -> T,
) -> Result<Option<T>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
             WHERE r.pk = ?1 AND r.task_pk = ?2"
        )
    });
    let mut stmt = conn.prepare_cached(&SQL)?;
    let mut rows = stmt.query(params![pk, task_pk])?;
    match rows.next()? {
        Some(row) => Ok(run_view(row, 0, Some(links))?.map(|run| f(&run))),
        None => Ok(None),
    }
}
