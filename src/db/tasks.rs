//! Tasks: plain SQL. Every query is scoped to a project and skips soft-deleted tasks.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde::Serialize;
use serde_json::value::RawValue;

use super::identity::{Project, User};
use super::runs::{LogLinks, RUN_COLUMNS, Run, RunView, run_view};
use crate::clock;
use crate::error::{Error, Result};
use crate::tasks::{TaskChanges, derive_title, slug_prefix};

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

/// A task as its row holds it, every string borrowed from SQLite: a page of tasks is
/// written from its rows straight into the response, without copying each field first.
#[derive(Serialize)]
pub struct TaskView<'r> {
    pub id: &'r str,
    pub task_number: i64,
    pub slug: Slug<'r>,
    pub title: &'r str,
    pub description: &'r str,
    pub origin_product: &'r str,
    pub repository: Option<&'r str>,
    pub github_integration: Option<i64>,
    pub json_schema: Option<&'r RawValue>,
    pub assignee: Option<&'r str>,
    pub latest_run: Option<RunView<'r>>,
    pub created_at: &'r str,
    pub updated_at: &'r str,
    pub created_by: Option<UserView<'r>>,
    #[serde(skip)]
    pub pk: i64,
}

/// The creator of a task, as `created_by` shows it.
#[derive(Serialize)]
pub struct UserView<'r> {
    pub id: i64,
    pub uuid: &'r str,
    pub distinct_id: &'r str,
    pub first_name: &'r str,
    pub last_name: &'r str,
    pub email: &'r str,
}

/// A task's slug, `<project prefix>-<task number>`, written as it is serialized.
pub struct Slug<'r> {
    pub prefix: &'r str,
    pub number: i64,
}

impl Serialize for Slug<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}-{}", self.prefix, self.number))
    }
}

/// Reads a task from `TASK_SELECT, RUN_COLUMNS`; `prefix` is its project's slug prefix.
fn task_view<'r>(
    r: &'r Row,
    prefix: &'r str,
    links: Option<&'r dyn LogLinks>,
) -> rusqlite::Result<TaskView<'r>> {
    let text = |i: usize| -> rusqlite::Result<&'r str> { Ok(r.get_ref(i)?.as_str()?) };
    let maybe =
        |i: usize| -> rusqlite::Result<Option<&'r str>> { Ok(r.get_ref(i)?.as_str_or_null()?) };
    let created_by = match r.get::<_, Option<i64>>(12)? {
        Some(id) => Some(UserView {
            id,
            uuid: text(13)?,
            distinct_id: text(14)?,
            first_name: text(15)?,
            last_name: text(16)?,
            email: text(17)?,
        }),
        None => None,
    };
    Ok(TaskView {
        pk: r.get(0)?,
        id: text(1)?,
        task_number: r.get(2)?,
        slug: Slug {
            prefix,
            number: r.get(2)?,
        },
        title: text(3)?,
        description: text(4)?,
        origin_product: text(5)?,
        repository: maybe(6)?,
        github_integration: r.get(7)?,
        // Stored only after it parsed; text that is not JSON shows as no schema.
        json_schema: maybe(8)?.and_then(|s| serde_json::from_str(s).ok()),
        assignee: maybe(9)?,
        created_at: text(10)?,
        updated_at: text(11)?,
        created_by,
        latest_run: run_view(r, 18, links)?,
    })
}

impl TaskView<'_> {
    /// An owned copy; its latest run's `log_url` is empty, for the HTTP layer to fill in.
    pub fn to_owned(&self) -> Task {
        let owned = |s: &str| s.to_string();
        Task {
            pk: self.pk,
            id: owned(self.id),
            task_number: self.task_number,
            slug: format!("{}-{}", self.slug.prefix, self.slug.number),
            title: owned(self.title),
            description: owned(self.description),
            origin_product: owned(self.origin_product),
            repository: self.repository.map(owned),
            github_integration: self.github_integration,
            json_schema: self.json_schema.map(|v| v.to_owned()),
            assignee: self.assignee.map(owned),
            latest_run: self.latest_run.as_ref().map(|r| r.to_owned()),
            created_at: owned(self.created_at),
            updated_at: owned(self.updated_at),
            created_by: self.created_by.as_ref().map(|u| User {
                id: u.id,
                uuid: owned(u.uuid),
                distinct_id: owned(u.distinct_id),
                first_name: owned(u.first_name),
                last_name: owned(u.last_name),
                email: owned(u.email),
                is_admin: false,
                current_project_id: None,
            }),
        }
    }
}

/// The list filters of `GET tasks/`; `None` means no filter.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub origin_product: Option<String>,
    pub repository: Option<String>,
    pub organization: Option<String>,
    pub stage: Option<String>,
    pub created_by: Option<i64>,
    pub search: Option<String>,
}

impl TaskFilter {
    pub fn is_empty(&self) -> bool {
        self.origin_product.is_none()
            && self.repository.is_none()
            && self.organization.is_none()
            && self.stage.is_none()
            && self.created_by.is_none()
            && self.search.is_none()
    }

    /// The WHERE clause and its parameters; `?1` is always the project id.
    fn clause(&self, project_id: i64) -> (String, Vec<SqlValue>) {
        let mut sql = String::from("WHERE t.project_id = ?1 AND t.deleted_at IS NULL");
        let mut args = vec![SqlValue::Integer(project_id)];
        let mut add = |cond: &str, value: SqlValue| {
            args.push(value);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(v) = &self.origin_product {
            add(" AND t.origin_product = ?", SqlValue::Text(v.clone()));
        }
        if let Some(v) = &self.repository {
            let v = v.to_lowercase();
            if v.contains('/') {
                add(" AND t.repository = ?", SqlValue::Text(v));
            } else {
                add(
                    " AND substr(t.repository, instr(t.repository, '/') + 1) = ?",
                    SqlValue::Text(v),
                );
            }
        }
        if let Some(v) = &self.organization {
            add(
                " AND substr(t.repository, 1, instr(t.repository, '/') - 1) = ?",
                SqlValue::Text(v.to_lowercase()),
            );
        }
        if let Some(v) = &self.stage {
            add(
                " AND EXISTS (SELECT 1 FROM task_runs s WHERE s.task_pk = t.pk AND s.stage = ?)",
                SqlValue::Text(v.clone()),
            );
        }
        if let Some(v) = self.created_by {
            add(" AND t.created_by = ?", SqlValue::Integer(v));
        }
        if let Some(v) = &self.search {
            let pattern = format!(
                "%{}%",
                v.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            args.push(SqlValue::Text(pattern));
            let n = args.len();
            sql.push_str(&format!(
                " AND (t.title LIKE ?{n} ESCAPE '\\' OR t.description LIKE ?{n} ESCAPE '\\')"
            ));
        }
        (sql, args)
    }
}

/// How many of the project's live tasks match the filter.
pub fn count(conn: &Connection, project: &Project, filter: &TaskFilter) -> Result<i64> {
    // Counting a million index entries takes tens of milliseconds; the unfiltered count is
    // kept on the project instead, in the same transactions that create and delete tasks.
    if filter.is_empty() {
        return Ok(conn
            .prepare_cached("SELECT live_tasks FROM projects WHERE id = ?1")?
            .query_row([project.id], |r| r.get(0))?);
    }
    let (clause, args) = filter.clause(project.id);
    Ok(conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM tasks t {clause}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// Calls `each` with every task of one page of the project's live tasks, newest first.
pub fn each_on_page(
    conn: &Connection,
    project: &Project,
    filter: &TaskFilter,
    (limit, offset): (i64, i64),
    links: &dyn LogLinks,
    mut each: impl FnMut(&TaskView) -> Result<()>,
) -> Result<()> {
    let (clause, mut args) = filter.clause(project.id);
    args.push(SqlValue::Integer(limit));
    args.push(SqlValue::Integer(offset));
    let n = args.len();
    // Page over the index alone, then join only the rows on the page: skipped rows must not
    // pay for their creator and latest run.
    let sql = format!(
        "{TASK_SELECT}, {RUN_COLUMNS} {TASK_FROM} \
         WHERE t.pk IN (SELECT t.pk FROM tasks t {clause} ORDER BY t.pk DESC LIMIT +?{} OFFSET +?{n}) \
         ORDER BY t.pk DESC",
        n - 1
    );
    let prefix = slug_prefix(&project.name);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(row) = rows.next()? {
        each(&task_view(row, &prefix, Some(links))?)?;
    }
    Ok(())
}

/// Calls `f` with the project's live task `id` as its row holds it.
pub fn with_task<T>(
    conn: &Connection,
    project: &Project,
    id: &str,
    links: Option<&dyn LogLinks>,
    f: impl FnOnce(&TaskView) -> T,
) -> Result<T> {
    // Made once: a GET would otherwise format a kilobyte of SQL to find its cached statement.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{TASK_SELECT}, {RUN_COLUMNS} {TASK_FROM} \
             WHERE t.id = ?1 AND t.project_id = ?2 AND t.deleted_at IS NULL"
        )
    });
    let prefix = slug_prefix(&project.name);
    let mut stmt = conn.prepare_cached(&SQL)?;
    let mut rows = stmt.query(params![id, project.id])?;
    match rows.next()? {
        Some(row) => Ok(f(&task_view(row, &prefix, links)?)),
        None => Err(Error::NotFound),
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

fn check_integration(conn: &Connection, project_id: i64, id: Option<i64>) -> Result<()> {
    if let Some(id) = id
        && !super::identity::integration_in_project(conn, project_id, id)?
    {
        return Err(Error::invalid(
            "github_integration",
            "does_not_exist",
            format!("Invalid pk \"{id}\" - object does not exist."),
        ));
    }
    Ok(())
}

/// Creates a task from validated fields (description and origin are present).
/// Creates a task from validated fields (description and origin are present), made by
/// `user`. The task is answered from what was written, without reading it back: the
/// writer thread is the one place writes queue for.
pub fn create(conn: &Connection, project: &Project, user: &User, c: TaskChanges) -> Result<Task> {
    let github_integration = c.github_integration.flatten();
    check_integration(conn, project.id, github_integration)?;
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
        slug: format!("{}-{task_number}", slug_prefix(&project.name)),
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
    if let Some(integration) = c.github_integration {
        check_integration(conn, project.id, integration)?;
    }
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
