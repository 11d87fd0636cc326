//! Task runs: plain SQL. JSON columns travel as raw JSON text, never re-parsed on reads.

use rusqlite::{Connection, Row, params};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::clock;
use crate::error::Result;

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

pub const TERMINAL: &[&str] = &["completed", "failed", "cancelled"];

/// Inserts a run for the task with rowid `task_pk`; returns its rowid.
pub fn insert(conn: &Connection, task_pk: i64, new: &NewRun) -> Result<i64> {
    let now = clock::now();
    let completed_at = TERMINAL.contains(&new.status.as_str()).then_some(&now);
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
    run.ok_or(crate::error::Error::NotFound)
}
