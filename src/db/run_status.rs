//! SQL that moves a run along: claiming the oldest waiting run, activity times, ending a run,
//! and the runs that crossed a stuck-run limit. Statuses come from the caller (`runs`), the
//! one place that knows which is which.

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};

use crate::clock;
use crate::error::Result;

/// Hands the oldest run that is `waiting` in `environment` (of `project_id`, or of any
/// project) to the caller by marking it `claimed`; its rowid, or `None` when nothing waits.
/// Runs in the writer, so two callers never get the same run.
pub fn claim(
    conn: &Connection,
    project_id: Option<i64>,
    waiting: impl ToSql,
    environment: impl ToSql,
    claimed: impl ToSql,
) -> Result<Option<i64>> {
    let now = clock::now();
    Ok(conn
        .prepare_cached(
            "UPDATE task_runs
             SET status = ?5, updated_at = ?2, last_activity_at = ?2,
                 started_at = COALESCE(started_at, ?2)
             WHERE pk = (SELECT r.pk FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
                         WHERE r.status = ?3 AND r.environment = ?4
                           AND t.deleted_at IS NULL AND (?1 IS NULL OR t.project_id = ?1)
                         ORDER BY r.pk LIMIT 1)
             RETURNING pk",
        )?
        .query_row(
            params![project_id, now, waiting, environment, claimed],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records API activity on a run.
pub fn touch(conn: &Connection, run_pk: i64) -> Result<()> {
    conn.prepare_cached("UPDATE task_runs SET last_activity_at = ?2 WHERE pk = ?1")?
        .execute(params![run_pk, clock::now()])?;
    Ok(())
}

/// Sets a run's final status (the caller checked it had not finished); `completed_at` is
/// set as a PATCH would.
pub fn finish(
    conn: &Connection,
    run_pk: i64,
    status: impl ToSql,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE task_runs SET status = ?2, error_message = COALESCE(?3, error_message),
             updated_at = ?4, completed_at = COALESCE(completed_at, ?4)
         WHERE pk = ?1",
    )?
    .execute(params![run_pk, status, error, clock::now()])?;
    Ok(())
}

/// Which stuck-run limit a run crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Queued,
    Idle,
    Run,
}

/// Runs past a limit: `queued` with no activity since `queued_before`, `running` with none
/// since `idle_before`, or `running` since before `started_before` (`None`: no limit).
pub fn stuck(
    conn: &Connection,
    (queued, running): (&dyn ToSql, &dyn ToSql),
    queued_before: Option<&str>,
    idle_before: Option<&str>,
    started_before: Option<&str>,
) -> Result<Vec<(i64, Limit)>> {
    // Each limit: the status it watches, the time column it measures from, its threshold.
    let limits = [
        (queued, "last_activity_at", queued_before, Limit::Queued),
        (running, "started_at", started_before, Limit::Run),
        (running, "last_activity_at", idle_before, Limit::Idle),
    ];
    let mut found: Vec<(i64, Limit)> = Vec::new();
    for (status, since, before, limit) in limits {
        let Some(before) = before else { continue };
        let sql = format!(
            "SELECT pk FROM task_runs WHERE status = ?1 AND COALESCE({since}, created_at) < ?2"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        for pk in stmt.query_map(params![status, before], |r| r.get::<_, i64>(0))? {
            let pk = pk?;
            if !found.iter().any(|(p, _)| *p == pk) {
                found.push((pk, limit));
            }
        }
    }
    Ok(found)
}
