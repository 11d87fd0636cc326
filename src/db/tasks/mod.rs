//! Tasks: plain SQL. Every query is scoped to a project and skips soft-deleted tasks.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::value::RawValue;

use super::identity::{Project, User};
use super::runs::{LogLinks, RUN_COLUMNS, Run};
use crate::clock;
use crate::error::{Error, Result};

mod derived;
mod list;
mod view;

pub use derived::{TaskChanges, derive_title, slug_prefix};
pub use list::{TaskFilter, count, each_on_page, page_rest, with_live_task};
pub use view::TaskView;
use view::{Slug, task_view};

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: String,
    pub task_number: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub origin_product: String,
    pub repository: Option<String>,
    pub github_integration: Option<i64>,
    pub json_schema: Option<Box<RawValue>>,
    pub assignee: Option<String>,
    pub latest_run: Option<Run>,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<User>,
    #[serde(skip)]
    pub pk: i64,
}

const TASK_SELECT: &str = "SELECT t.pk, t.id, t.task_number, t.title, t.description, \
     t.origin_product, t.repository, t.github_integration_id, t.json_schema, t.assignee, \
     t.created_at, t.updated_at, u.id, u.uuid, u.distinct_id, u.first_name, u.last_name, u.email";

const TASK_FROM: &str = "FROM tasks t \
     LEFT JOIN users u ON u.id = t.created_by \
     LEFT JOIN task_runs r ON r.pk = (SELECT MAX(pk) FROM task_runs WHERE task_pk = t.pk)";

/// Calls `f` with the project's live task `id` as its row holds it.
pub fn with_task<T>(
    conn: &Connection,
    project: &Project,
    id: &str,
    links: Option<&dyn LogLinks>,
    f: impl FnOnce(&TaskView) -> T,
) -> Result<T> {
    // Made once: a GET would otherwise format a kilobyte of SQL to find its cached statement.
    static SQL: LazyLock<String> = LazyLock::new(|| live_task_where("t.id = ?1"));
    view_one(conn, project, &SQL, &id, links, f)?.ok_or(Error::NotFound)
}

/// The query of one live task of project `?2`, found by `condition` on `?1`.
fn live_task_where(condition: &str) -> String {
    format!(
        "{TASK_SELECT}, {RUN_COLUMNS} {TASK_FROM} \
         WHERE {condition} AND t.project_id = ?2 AND t.deleted_at IS NULL"
    )
}

/// Calls `f` with the task `sql` finds for `key` in the project, if any.
fn view_one<T>(
    conn: &Connection,
    project: &Project,
    sql: &str,
    key: &dyn rusqlite::ToSql,
    links: Option<&dyn LogLinks>,
    f: impl FnOnce(&TaskView) -> T,
) -> Result<Option<T>> {
    let prefix = slug_prefix(&project.name);
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![key, project.id])?;
    match rows.next()? {
        Some(row) => Ok(Some(f(&task_view(row, &prefix, links)?))),
        None => Ok(None),
    }
}

/// A live task of the project by its UUID.
pub fn get(conn: &Connection, project: &Project, id: &str) -> Result<Task> {
    with_task(conn, project, id, None, |t| t.to_owned())
}

/// The rowid of a task of the project, deleted or not (runs stay readable after a delete).
pub fn pk_including_deleted(conn: &Connection, project_id: i64, id: &str) -> Result<i64> {
    conn.prepare_cached("SELECT pk FROM tasks WHERE id = ?1 AND project_id = ?2")?
        .query_row(params![id, project_id], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound)
}

/// A task's slug (`<project prefix>-<task number>`), deleted or not: names a run's log file.
pub fn slug_including_deleted(conn: &Connection, project_id: i64, id: &str) -> Result<String> {
    let (name, number): (String, i64) = conn
        .prepare_cached(
            "SELECT p.name, t.task_number FROM tasks t JOIN projects p ON p.id = t.project_id
             WHERE t.id = ?1 AND t.project_id = ?2",
        )?
        .query_row(params![id, project_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound)?;
    Ok(format!("{}-{number}", slug_prefix(&name)))
}

/// Creates a task from validated fields (description and origin are present), made by
/// `user`. The task is answered from what was written, without reading it back: the
/// writer thread is the one place writes queue for.
pub fn create(conn: &Connection, project: &Project, user: &User, c: TaskChanges) -> Result<Task> {
    let github_integration = c.github_integration.flatten();
    let description = c.description.unwrap_or_default();
    let title = derive_title(c.title.as_deref().unwrap_or(""), &description);
    let now = clock::now();
    let id = uuid::Uuid::new_v4().to_string();
    let origin_product = c.origin_product.unwrap_or_default();
    let (repository, json_schema, assignee) = (
        c.repository.flatten(),
        c.json_schema.flatten(),
        c.assignee.flatten(),
    );
    let (pk, task_number): (i64, i64) = conn
        .prepare_cached(
            "INSERT INTO tasks (id, project_id, task_number, title, description, origin_product,
                                repository, github_integration_id, json_schema, assignee,
                                created_by, created_at, updated_at)
             VALUES (?1, ?2,
                     (SELECT COALESCE(MAX(task_number) + 1, 0) FROM tasks WHERE project_id = ?2),
                     ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
             RETURNING pk, task_number",
        )?
        .query_row(
            params![
                id,
                project.id,
                title,
                description,
                origin_product,
                repository,
                github_integration,
                json_schema,
                assignee,
                user.id,
                now
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    count_live(conn, project.id, 1)?;
    Ok(Task {
        pk,
        slug: Slug {
            prefix: &slug_prefix(&project.name),
            number: task_number,
        }
        .to_string(),
        id,
        task_number,
        title,
        description,
        origin_product,
        repository,
        github_integration,
        json_schema: json_schema.and_then(|s| RawValue::from_string(s).ok()),
        assignee,
        latest_run: None,
        created_at: now.clone(),
        updated_at: now,
        created_by: Some(User {
            is_admin: false,
            current_project_id: None,
            ..user.clone()
        }),
    })
}

fn count_live(conn: &Connection, project_id: i64, change: i64) -> Result<()> {
    conn.prepare_cached("UPDATE projects SET live_tasks = live_tasks + ?1 WHERE id = ?2")?
        .execute(params![change, project_id])?;
    Ok(())
}

/// Applies the given changes to a live task; fields left as `None` keep their value.
pub fn update(conn: &Connection, project: &Project, id: &str, c: TaskChanges) -> Result<Task> {
    let current = get(conn, project, id)?;
    let description = c.description.unwrap_or(current.description);
    let title = derive_title(c.title.as_deref().unwrap_or(&current.title), &description);
    conn.prepare_cached(
        "UPDATE tasks SET title = ?1, description = ?2,
             origin_product = COALESCE(?3, origin_product),
             repository = CASE WHEN ?4 THEN ?5 ELSE repository END,
             github_integration_id = CASE WHEN ?6 THEN ?7 ELSE github_integration_id END,
             json_schema = CASE WHEN ?8 THEN ?9 ELSE json_schema END,
             assignee = CASE WHEN ?10 THEN ?11 ELSE assignee END,
             updated_at = ?12
         WHERE pk = ?13",
    )?
    .execute(params![
        title,
        description,
        c.origin_product,
        c.repository.is_some(),
        c.repository.flatten(),
        c.github_integration.is_some(),
        c.github_integration.flatten(),
        c.json_schema.is_some(),
        c.json_schema.flatten(),
        c.assignee.is_some(),
        c.assignee.flatten(),
        clock::now(),
        current.pk
    ])?;
    get(conn, project, id)
}

/// Soft-deletes a live task.
pub fn delete(conn: &Connection, project: &Project, id: &str) -> Result<()> {
    let now = clock::now();
    let changed = conn
        .prepare_cached(
            "UPDATE tasks SET deleted_at = ?1, updated_at = ?1
             WHERE id = ?2 AND project_id = ?3 AND deleted_at IS NULL",
        )?
        .execute(params![now, id, project.id])?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    count_live(conn, project.id, -1)
}
