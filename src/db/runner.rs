//! SQL for starting and watching runs: claiming the oldest queued run, activity times, the
//! command runner's temporary keys, and the runs that crossed a stuck-run limit.

use rusqlite::{Connection, OptionalExtension, params};

use super::{identity, keys};
use crate::clock;
use crate::error::{Error, Result};

/// Hands the oldest queued cloud run (of `project_id`, or of any project) to the caller by
/// marking it `in_progress`; its rowid, or `None` when nothing waits. Runs in the writer, so
/// two callers never get the same run.
pub fn claim(conn: &Connection, project_id: Option<i64>) -> Result<Option<i64>> {
    let now = clock::now();
    Ok(conn
        .prepare_cached(
            "UPDATE task_runs
             SET status = 'in_progress', updated_at = ?2, last_activity_at = ?2,
                 started_at = COALESCE(started_at, ?2)
             WHERE pk = (SELECT r.pk FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
                         WHERE r.status = 'queued' AND r.environment = 'cloud'
                           AND t.deleted_at IS NULL AND (?1 IS NULL OR t.project_id = ?1)
                         ORDER BY r.pk LIMIT 1)
             RETURNING pk",
        )?
        .query_row(params![project_id, now], |r| r.get(0))
        .optional()?)
}

/// Records API activity on a run, and when it started if it is now in progress.
pub fn touch(conn: &Connection, run_pk: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE task_runs SET last_activity_at = ?2,
             started_at = COALESCE(started_at, CASE WHEN status = 'in_progress' THEN ?2 END)
         WHERE pk = ?1",
    )?
    .execute(params![run_pk, clock::now()])?;
    Ok(())
}

/// Sets a run's status unless it has already finished; whether it changed. `completed_at`
/// is set as a PATCH would.
pub fn finish(conn: &Connection, run_pk: i64, status: &str, error: Option<&str>) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE task_runs SET status = ?2, error_message = COALESCE(?3, error_message),
                 updated_at = ?4, completed_at = COALESCE(completed_at, ?4)
             WHERE pk = ?1 AND status NOT IN ('completed', 'failed', 'cancelled')",
        )?
        .execute(params![run_pk, status, error, clock::now()])?;
    Ok(changed > 0)
}

/// Makes a key for the command runner's process: `task:write`, limited to the run's project,
/// for the task's creator (or the first admin). Returns the key's value.
pub fn issue_key(conn: &Connection, run_pk: i64) -> Result<String> {
    let (run_id, project_id, creator): (String, i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT r.id, t.project_id, t.created_by FROM task_runs r
             JOIN tasks t ON t.pk = r.task_pk WHERE r.pk = ?1",
        )?
        .query_row([run_pk], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let user = match creator {
        Some(id) => Some(id),
        None => conn
            .query_row(
                "SELECT id FROM users WHERE is_admin = 1 ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?,
    };
    let user = user.ok_or_else(|| Error::internal("no user to issue the run's key for"))?;
    let label = format!("run {}", &run_id[..8.min(run_id.len())]);
    let (key, value) = keys::create_key(
        conn,
        user,
        &label,
        &["task:write".to_string()],
        Some(&[project_id]),
    )?;
    conn.prepare_cached("UPDATE task_runs SET runner_key_id = ?2 WHERE pk = ?1")?
        .execute(params![run_pk, key.id])?;
    Ok(value)
}

/// Revokes the run's temporary key, if it has a live one.
pub fn revoke_key(conn: &Connection, run_pk: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE personal_api_keys SET revoked_at = ?2
         WHERE revoked_at IS NULL AND id = (SELECT runner_key_id FROM task_runs WHERE pk = ?1)",
    )?
    .execute(params![run_pk, clock::now()])?;
    Ok(())
}

/// Whether the command runner still holds the run (its temporary key is live): it has yet
/// to write the entries the run's ending brings (stopping the command, its exit).
pub fn attached(conn: &Connection, run_pk: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM task_runs r JOIN personal_api_keys k ON k.id = r.runner_key_id
             WHERE r.pk = ?1 AND k.revoked_at IS NULL",
        )?
        .query_row([run_pk], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Runs whose command was running when Burrow last stopped: in progress with a temporary
/// key that is still live.
pub fn orphans(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT r.pk FROM task_runs r JOIN personal_api_keys k ON k.id = r.runner_key_id
         WHERE k.revoked_at IS NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which stuck-run limit a run crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Queued,
    Idle,
    Run,
}

/// Runs past a limit: queued with no activity since `queued_before`, in progress with none
/// since `idle_before`, or in progress since before `started_before` (`None`: no limit).
pub fn stuck(
    conn: &Connection,
    queued_before: Option<&str>,
    idle_before: Option<&str>,
    started_before: Option<&str>,
) -> Result<Vec<(i64, Limit)>> {
    let mut found = Vec::new();
    let mut collect = |sql: &str, before: Option<&str>, limit: Limit| -> Result<()> {
        if let Some(before) = before {
            let mut stmt = conn.prepare_cached(sql)?;
            for pk in stmt.query_map([before], |r| r.get::<_, i64>(0))? {
                let pk = pk?;
                if !found.iter().any(|(p, _)| *p == pk) {
                    found.push((pk, limit));
                }
            }
        }
        Ok(())
    };
    collect(
        "SELECT pk FROM task_runs WHERE status = 'queued'
           AND COALESCE(last_activity_at, created_at) < ?1",
        queued_before,
        Limit::Queued,
    )?;
    collect(
        "SELECT pk FROM task_runs WHERE status = 'in_progress'
           AND COALESCE(started_at, created_at) < ?1",
        started_before,
        Limit::Run,
    )?;
    collect(
        "SELECT pk FROM task_runs WHERE status = 'in_progress'
           AND COALESCE(last_activity_at, created_at) < ?1",
        idle_before,
        Limit::Idle,
    )?;
    Ok(found)
}

/// A project by id, for payloads made outside a request.
pub fn project(conn: &Connection, id: i64) -> Result<identity::Project> {
    let sql = format!(
        "SELECT {} FROM projects p JOIN organizations o ON o.id = p.organization_id
         WHERE p.id = ?1",
        identity::PROJECT_COLUMNS
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], identity::project_row)?)
}
