//! Listing a project's tasks: the filters of `GET tasks/`, the count, and a page's rows,
//! read in one go or, for a page too large for one buffer, part by part.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

use super::slug_prefix;
use super::view::task_view;
use super::{TASK_FROM, TASK_SELECT, TaskView};
use crate::db::identity::Project;
use crate::db::runs::{LogLinks, RUN_COLUMNS};
use crate::error::Result;

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

/// Calls `each` with the tasks of one page of the project's live tasks, newest first, for as
/// long as it answers `true`; returns how many it was called with.
pub fn each_on_page(
    conn: &Connection,
    project: &Project,
    filter: &TaskFilter,
    (limit, offset): (i64, i64),
    links: &dyn LogLinks,
    mut each: impl FnMut(&TaskView) -> Result<bool>,
) -> Result<i64> {
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
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        if !each(&task_view(row, &prefix, Some(links))?)? {
            break;
        }
    }
    Ok(seen)
}

/// The rowids of the tasks of a page from its `skip`th on, newest first: the part of a page
/// still to be written when the first part filled a buffer.
pub fn page_rest(
    conn: &Connection,
    project: &Project,
    filter: &TaskFilter,
    (limit, offset): (i64, i64),
    skip: i64,
) -> Result<Vec<i64>> {
    let (clause, mut args) = filter.clause(project.id);
    args.push(SqlValue::Integer(limit.saturating_sub(skip).max(0)));
    args.push(SqlValue::Integer(offset.saturating_add(skip)));
    let n = args.len();
    let sql = format!(
        "SELECT t.pk FROM tasks t {clause} ORDER BY t.pk DESC LIMIT +?{} OFFSET +?{n}",
        n - 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let pks = stmt.query_map(params_from_iter(args.iter()), |r| r.get(0))?;
    Ok(pks.collect::<rusqlite::Result<_>>()?)
}

/// Calls `f` with the project's live task `pk` as its row holds it; `None` when it is gone
/// (deleted since its page was counted).
pub fn with_live_task<T>(
    conn: &Connection,
    project: &Project,
    pk: i64,
    links: &dyn LogLinks,
    f: impl FnOnce(&TaskView) -> T,
) -> Result<Option<T>> {
    static SQL: LazyLock<String> = LazyLock::new(|| super::live_task_where("t.pk = ?1"));
    super::view_one(conn, project, &SQL, &pk, Some(links), f)
}
