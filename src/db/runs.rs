//! Task runs: plain SQL. JSON columns travel as raw JSON text, never re-parsed on reads.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::clock;
use crate::error::{Error, Result};

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

/// Writes a run's signed `log_url`; the HTTP layer's `Links` knows the public address and
/// the signing key. A view without one shows an empty `log_url`, to be filled in later.
pub trait LogLinks {
    fn write_log_url(
        &self,
        out: &mut dyn std::fmt::Write,
        project_id: i64,
        task_id: &str,
        run_id: &str,
    ) -> std::fmt::Result;
}

/// A run as its row holds it, every string borrowed from SQLite, so a page of runs is
/// written from its rows into the response without copying each field first.
#[derive(Serialize)]
pub struct RunView<'r> {
    pub id: &'r str,
    pub task: &'r str,
    pub stage: Option<&'r str>,
    pub branch: Option<&'r str>,
    pub status: &'r str,
    pub environment: &'r str,
    pub log_url: LogUrl<'r>,
    pub error_message: Option<&'r str>,
    pub output: Option<&'r RawValue>,
    pub state: &'r RawValue,
    pub artifacts: &'r RawValue,
    pub created_at: &'r str,
    pub updated_at: &'r str,
    pub completed_at: Option<&'r str>,
    #[serde(skip)]
    pub pk: i64,
    #[serde(skip)]
    pub project_id: i64,
}

/// A run's `log_url`, written as it is serialized.
pub struct LogUrl<'r> {
    links: Option<&'r dyn LogLinks>,
    project_id: i64,
    task: &'r str,
    run: &'r str,
}

impl std::fmt::Display for LogUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.links {
            Some(links) => links.write_log_url(f, self.project_id, self.task, self.run),
            None => Ok(()),
        }
    }
}

impl Serialize for LogUrl<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A JSON column as raw JSON; text that is not JSON (never written by Burrow) shows as null.
pub(crate) fn raw_json(text: &str) -> &RawValue {
    serde_json::from_str(text)
        .unwrap_or_else(|_| serde_json::from_str("null").expect("null is JSON"))
}

/// Reads a run from `RUN_COLUMNS` starting at column `at`; `None` when the run is absent
/// (a LEFT JOIN that found nothing).
pub fn run_view<'r>(
    r: &'r Row,
    at: usize,
    links: Option<&'r dyn LogLinks>,
) -> rusqlite::Result<Option<RunView<'r>>> {
    let Some(pk) = r.get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    let text = |i: usize| -> rusqlite::Result<&'r str> { Ok(r.get_ref(at + i)?.as_str()?) };
    let maybe = |i: usize| -> rusqlite::Result<Option<&'r str>> {
        Ok(r.get_ref(at + i)?.as_str_or_null()?)
    };
    let (project_id, task, id) = (r.get(at + 3)?, text(2)?, text(1)?);
    Ok(Some(RunView {
        pk,
        id,
        task,
        project_id,
        stage: maybe(4)?,
        branch: maybe(5)?,
        status: text(6)?,
        environment: text(7)?,
        log_url: LogUrl {
            links,
            project_id,
            task,
            run: id,
        },
        error_message: maybe(8)?,
        output: maybe(9)?.map(raw_json),
        state: raw_json(text(10)?),
        artifacts: raw_json(text(11)?),
        created_at: text(12)?,
        updated_at: text(13)?,
        completed_at: maybe(14)?,
    }))
}

impl RunView<'_> {
    /// An owned copy, with an empty `log_url` for the HTTP layer to fill in.
    pub fn to_owned(&self) -> Run {
        let owned = |s: &str| s.to_string();
        Run {
            pk: self.pk,
            id: owned(self.id),
            task: owned(self.task),
            project_id: self.project_id,
            stage: self.stage.map(owned),
            branch: self.branch.map(owned),
            status: owned(self.status),
            environment: owned(self.environment),
            log_url: String::new(),
            error_message: self.error_message.map(owned),
            output: self.output.map(|v| v.to_owned()),
            state: self.state.to_owned(),
            artifacts: self.artifacts.to_owned(),
            created_at: owned(self.created_at),
            updated_at: owned(self.updated_at),
            completed_at: self.completed_at.map(owned),
        }
    }
}

/// Reads an owned run from `RUN_COLUMNS` starting at column `at` (see `run_view`).
pub fn run_at(r: &Row, at: usize) -> rusqlite::Result<Option<Run>> {
    Ok(run_view(r, at, None)?.map(|v| v.to_owned()))
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
    /// The status is final: `completed_at` is set.
    pub finished: bool,
    /// The status is `in_progress`: `started_at` is set.
    pub started: bool,
}

/// A PATCH with its merges done (see `runs::RunChanges`). `None` leaves a field alone;
/// `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct RunUpdate {
    pub status: Option<&'static str>,
    pub stage: Option<Option<String>>,
    pub branch: Option<Option<String>>,
    pub error_message: Option<Option<String>>,
    /// JSON text.
    pub state: String,
    pub output: Option<String>,
    /// The new status is final: `completed_at` is set unless it already was.
    pub finished: bool,
    /// The new status is `in_progress`: `started_at` is set unless it already was.
    pub started: bool,
}

/// Inserts a run for the task with rowid `task_pk`; returns its rowid.
/// The internal key of run `run_pk`'s task.
pub fn task_pk(conn: &Connection, run_pk: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT task_pk FROM task_runs WHERE pk = ?1")?
        .query_row([run_pk], |r| r.get(0))?)
}

pub fn insert(conn: &Connection, task_pk: i64, new: &NewRun) -> Result<i64> {
    let now = clock::now();
    let completed_at = new.finished.then_some(&now);
    let started_at = new.started.then_some(&now);
    conn.prepare_cached(
        "INSERT INTO task_runs (id, task_pk, stage, branch, status, environment, error_message,
                                output, state, created_at, updated_at, completed_at, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?9, '{}'), ?10, ?10, ?11, ?12)",
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
        started_at,
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
    // Made once: every request on a run (an append among them) asks.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {RUN_COLUMNS} FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
             WHERE r.id = ?1 AND t.id = ?2 AND t.project_id = ?3"
        )
    });
    let run = conn
        .prepare_cached(&SQL)?
        .query_row(params![run_id, task_id, project_id], |r| run_at(r, 0))
        .optional()?
        .flatten();
    run.ok_or(Error::NotFound)
}

/// The run's stored `state` and `output` (JSON text), for a PATCH to merge into.
pub fn stored_json(conn: &Connection, pk: i64) -> Result<(String, Option<String>)> {
    Ok(conn
        .prepare_cached("SELECT state, output FROM task_runs WHERE pk = ?1")?
        .query_row([pk], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The run's status as `S` reads it.
pub fn status_of<S: rusqlite::types::FromSql>(conn: &Connection, pk: i64) -> Result<S> {
    Ok(conn
        .prepare_cached("SELECT status FROM task_runs WHERE pk = ?1")?
        .query_row([pk], |r| r.get(0))?)
}

/// Applies a merged PATCH; run inside the writer's transaction that read `stored_json`, so
/// concurrent merges never lose a key.
pub fn update(conn: &Connection, pk: i64, changes: &RunUpdate) -> Result<Run> {
    let now = clock::now();
    conn.prepare_cached(
        "UPDATE task_runs SET
             status = COALESCE(?1, status),
             stage = CASE WHEN ?2 THEN ?3 ELSE stage END,
             branch = CASE WHEN ?4 THEN ?5 ELSE branch END,
             error_message = CASE WHEN ?6 THEN ?7 ELSE error_message END,
             state = ?8, output = ?9, updated_at = ?10,
             completed_at = COALESCE(completed_at, CASE WHEN ?11 THEN ?10 END),
             started_at = COALESCE(started_at, CASE WHEN ?13 THEN ?10 END)
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
        changes.state,
        changes.output,
        now,
        changes.finished,
        pk,
        changes.started,
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
