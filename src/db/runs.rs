//! Task runs: plain SQL. JSON columns travel as raw JSON text, never re-parsed on reads.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::clock;
use crate::error::{Error, Result};
use crate::runs::{RunChanges, is_terminal};

/// A run as the API shows it. `log_url` is filled in by the HTTP layer, which knows the
/// public address and the signing key.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: String,
    pub task: String,
    pub stage: Option<String>,
    pub branch: Option<String>,
    pub status: String,
    pub environment: String,
    pub log_url: String,
    pub error_message: Option<String>,
    pub output: Option<Box<RawValue>>,
    pub state: Box<RawValue>,
    pub artifacts: Box<RawValue>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    #[serde(skip)]
    pub pk: i64,
    #[serde(skip)]
    pub project_id: i64,
}

/// The run columns, in the order `run_at` reads them; `r` is task_runs, `t` its task.
pub const RUN_COLUMNS: &str = "r.pk, r.id, t.id, t.project_id, r.stage, r.branch, r.status, \
     r.environment, r.error_message, r.output, r.state, r.artifacts, r.created_at, \
     r.updated_at, r.completed_at";
pub const RUN_WIDTH: usize = 15;

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap())
}

/// Reads a run from `RUN_COLUMNS` starting at column `at`; `None` when the run is absent
/// (a LEFT JOIN that found nothing).
pub fn run_at(r: &Row, at: usize) -> rusqlite::Result<Option<Run>> {
    let Some(pk) = r.get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Run {
        pk,
        id: r.get(at + 1)?,
        task: r.get(at + 2)?,
        project_id: r.get(at + 3)?,
        stage: r.get(at + 4)?,
        branch: r.get(at + 5)?,
        status: r.get(at + 6)?,
        environment: r.get(at + 7)?,
        log_url: String::new(),
        error_message: r.get(at + 8)?,
        output: r.get::<_, Option<String>>(at + 9)?.map(raw),
        state: raw(r.get(at + 10)?),
        artifacts: raw(r.get(at + 11)?),
        created_at: r.get(at + 12)?,
        updated_at: r.get(at + 13)?,
        completed_at: r.get(at + 14)?,
    }))
}

/// The fields a new run may be given.
#[derive(Debug, Default)]
pub struct NewRun {
    pub status: String,
    pub environment: String,
    pub stage: Option<String>,
    pub branch: Option<String>,
    pub error_message: Option<String>,
    pub output: Option<String>,
    pub state: Option<String>,
}

/// Inserts a run for the task with rowid `task_pk`; returns its rowid.
pub fn insert(conn: &Connection, task_pk: i64, new: &NewRun) -> Result<i64> {
    let now = clock::now();
    let completed_at = is_terminal(&new.status).then_some(&now);
    conn.prepare_cached(
        "INSERT INTO task_runs (id, task_pk, stage, branch, status, environment, error_message,
                                output, state, created_at, updated_at, completed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?9, '{}'), ?10, ?10, ?11)",
    )?
    .execute(params![
        uuid::Uuid::new_v4().to_string(),
        task_pk,
        new.stage,
        new.branch,
        new.status,
        new.environment,
        new.error_message,
        new.output,
        new.state,
        now,
        completed_at,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The run with rowid `pk`.
pub fn by_pk(conn: &Connection, pk: i64) -> Result<Run> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk WHERE r.pk = ?1"
    );
    let run = conn
        .prepare_cached(&sql)?
        .query_row([pk], |r| run_at(r, 0))?;
    run.ok_or(Error::NotFound)
}

/// A run reached through its task's URL: 404 unless the run belongs to that task of that
/// project. Runs of soft-deleted tasks stay reachable.
pub fn find(conn: &Connection, project_id: i64, task_id: &str, run_id: &str) -> Result<Run> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
         WHERE r.id = ?1 AND t.id = ?2 AND t.project_id = ?3"
    );
    let run = conn
        .prepare_cached(&sql)?
        .query_row(params![run_id, task_id, project_id], |r| run_at(r, 0))
        .optional()?
        .flatten();
    run.ok_or(Error::NotFound)
}

/// One page of a task's runs, newest first, and their total.
pub fn list(conn: &Connection, task_pk: i64, limit: i64, offset: i64) -> Result<(i64, Vec<Run>)> {
    let count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM task_runs WHERE task_pk = ?1")?
        .query_row([task_pk], |r| r.get(0))?;
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
         WHERE r.task_pk = ?1 ORDER BY r.pk DESC LIMIT +?2 OFFSET +?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![task_pk, limit, offset], |r| run_at(r, 0))?;
    let mut runs = Vec::new();
    for run in rows {
        runs.extend(run?);
    }
    Ok((count, runs))
}

/// Applies a PATCH inside the writer's transaction, so concurrent merges never lose a key.
pub fn update(conn: &Connection, pk: i64, changes: &RunChanges) -> Result<Run> {
    let (state, output): (String, Option<String>) = conn
        .prepare_cached("SELECT state, output FROM task_runs WHERE pk = ?1")?
        .query_row([pk], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let state = changes.merged_state(&state);
    let output = changes.merged_output(output.as_deref());
    let now = clock::now();
    let finished = changes.status.as_deref().is_some_and(is_terminal);
    conn.prepare_cached(
        "UPDATE task_runs SET
             status = COALESCE(?1, status),
             stage = CASE WHEN ?2 THEN ?3 ELSE stage END,
             branch = CASE WHEN ?4 THEN ?5 ELSE branch END,
             error_message = CASE WHEN ?6 THEN ?7 ELSE error_message END,
             state = ?8, output = ?9, updated_at = ?10,
             completed_at = COALESCE(completed_at, CASE WHEN ?11 THEN ?10 END)
         WHERE pk = ?12",
    )?
    .execute(params![
        changes.status,
        changes.stage.is_some(),
        changes.stage.clone().flatten(),
        changes.branch.is_some(),
        changes.branch.clone().flatten(),
        changes.error_message.is_some(),
        changes.error_message.clone().flatten(),
        state,
        output,
        now,
        finished,
        pk
    ])?;
    by_pk(conn, pk)
}

/// Replaces the run's output (JSON text).
pub fn set_output(conn: &Connection, pk: i64, output: &str) -> Result<Run> {
    conn.prepare_cached("UPDATE task_runs SET output = ?1, updated_at = ?2 WHERE pk = ?3")?
        .execute(params![output, clock::now(), pk])?;
    by_pk(conn, pk)
}

/// The JSON Schema of the run's task, if it has one.
pub fn task_schema(conn: &Connection, run_pk: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.json_schema FROM task_runs r JOIN tasks t ON t.pk = r.task_pk WHERE r.pk = ?1",
        )?
        .query_row([run_pk], |r| r.get(0))?)
}

/// A run by its UUID alone, for links that carry their own signature.
pub fn by_id(conn: &Connection, id: &str) -> Result<Run> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk WHERE r.id = ?1"
    );
    let run = conn
        .prepare_cached(&sql)?
        .query_row([id], |r| run_at(r, 0))
        .optional()?
        .flatten();
    run.ok_or(Error::NotFound)
}
