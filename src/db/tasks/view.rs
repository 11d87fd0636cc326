//! A task row read without copying: the borrowed views a page of tasks is written from.

use rusqlite::Row;
use serde::Serialize;
use serde_json::value::RawValue;

use super::Task;
use crate::db::identity::User;
use crate::db::runs::{LogLinks, RunView, run_view};

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

impl std::fmt::Display for Slug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.prefix, self.number)
    }
}

impl Serialize for Slug<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads a task from `TASK_SELECT, RUN_COLUMNS`; `prefix` is its project's slug prefix.
pub(super) fn task_view<'r>(
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
            slug: self.slug.to_string(),
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
