//! The command runner's temporary keys: one issued per run, revoked when the run's command
//! is over, and those a stop left live.

use rusqlite::{Connection, OptionalExtension, params};

use super::keys;
use crate::clock;
use crate::error::{Error, Result};

/// Makes a key for the command runner's process: `task:write`, limited to the run's project,
/// for the task's creator (or the first admin). Returns the key's value.
pub fn issue(conn: &Connection, run_pk: i64) -> Result<String> {
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
pub fn revoke(conn: &Connection, run_pk: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE personal_api_keys SET revoked_at = ?2
         WHERE revoked_at IS NULL AND id = (SELECT runner_key_id FROM task_runs WHERE pk = ?1)",
    )?
    .execute(params![run_pk, clock::now()])?;
    Ok(())
}

/// Runs whose command was running when Burrow last stopped: those with a temporary key that
/// is still live.
pub fn orphans(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT r.pk FROM task_runs r JOIN personal_api_keys k ON k.id = r.runner_key_id
         WHERE k.revoked_at IS NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
