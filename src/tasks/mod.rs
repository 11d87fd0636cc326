//! The rules of a task: which fields a request may set and how they are checked (its JSON
//! Schema among them), and creating one, announced. Task lists: `pages` keeps recently
//! answered pages, `page_stream` writes a large page a buffer at a time.

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::db::Db;
use crate::db::identity::{self as db_identity, Project, User};
use crate::db::tasks::{self as db_tasks, Task};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::webhooks::Announcer;

pub mod page_stream;
pub mod pages;

pub use crate::db::tasks::{TaskChanges, derive_title, slug_prefix};

pub const ORIGIN_PRODUCTS: &[&str] = &[
    "error_tracking",
    "eval_clusters",
    "user_created",
    "slack",
    "support_queue",
    "session_summaries",
];

/// The longest `title`, `repository` and `assignee`, in characters.
pub const TITLE_MAX_CHARS: usize = 255;
pub const REPOSITORY_MAX_CHARS: usize = 255;
pub const ASSIGNEE_MAX_CHARS: usize = 255;
/// The longest `description`, in characters: generous for a prompt, and a bound on what
/// every task list page and webhook payload carrying the task can weigh.
pub const DESCRIPTION_MAX_CHARS: usize = 1 << 20;

/// How much of a task a request must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST and PUT: `description` and `origin_product` are required.
    Whole,
    /// PATCH: every field is optional.
    Partial,
}

impl TaskChanges {
    pub fn parse(body: &Map<String, Value>, mode: Mode) -> Result<TaskChanges> {
        let f = Fields::new(body);
        let whole = mode == Mode::Whole;
        let title = f.text("title", Some(TITLE_MAX_CHARS), true)?.optional()?;
        let description = f
            .text("description", Some(DESCRIPTION_MAX_CHARS), false)?
            .required_if(whole)?;
        let origin_product = f
            .choice("origin_product", ORIGIN_PRODUCTS)?
            .required_if(whole)?;
        let repository = match f
            .text("repository", Some(REPOSITORY_MAX_CHARS), true)?
            .nullable()
        {
            Some(Some(r)) => Some(normalize_repository(&r)?),
            other => other,
        };
        let github_integration = f.integer("github_integration")?.nullable();
        let json_schema = match f.any("json_schema")?.nullable() {
            Some(Some(schema)) => {
                check_schema(schema)?;
                Some(Some(schema.to_string()))
            }
            other => other.map(|_| None),
        };
        let assignee = f
            .text("assignee", Some(ASSIGNEE_MAX_CHARS), true)?
            .nullable();
        Ok(TaskChanges {
            title,
            description,
            origin_product,
            repository,
            github_integration,
            json_schema,
            assignee,
        })
    }
}

/// Creates a task in the project, made by `user`, and announces it.
pub async fn create(
    db: &Db,
    announce: Announcer,
    project: Project,
    user: User,
    changes: TaskChanges,
) -> Result<Task> {
    db.write(move |c| {
        check_integration(c, project.id, changes.github_integration.flatten())?;
        let task = db_tasks::create(c, &project, &user, changes)?;
        announce.task_created(c, project.id, &task)?;
        Ok(task)
    })
    .await
}

/// Changes the fields given of the project's live task `id`.
pub async fn update(db: &Db, project: Project, id: String, changes: TaskChanges) -> Result<Task> {
    db.write(move |c| {
        if let Some(integration) = changes.github_integration {
            db_tasks::get(c, &project, &id)?; // A missing task is a 404 before any 400, as in DRF.
            check_integration(c, project.id, integration)?;
        }
        db_tasks::update(c, &project, &id, changes)
    })
    .await
}

/// A `github_integration` must name an integration of the task's project.
fn check_integration(conn: &Connection, project_id: i64, id: Option<i64>) -> Result<()> {
    if let Some(id) = id
        && !db_identity::integration_in_project(conn, project_id, id)?
    {
        return Err(Error::invalid(
            "github_integration",
            "does_not_exist",
            format!("Invalid pk \"{id}\" - object does not exist."),
        ));
    }
    Ok(())
}

/// Checks a task's `json_schema` is itself a usable JSON Schema.
pub fn check_schema(schema: &Value) -> Result<()> {
    jsonschema::validator_for(schema).map(|_| ()).map_err(|e| {
        Error::invalid(
            "json_schema",
            "invalid_input",
            format!("Not a valid JSON Schema: {e}"),
        )
    })
}

/// `org/repo`, lower-cased; an empty string means no repository.
fn normalize_repository(value: &str) -> Result<Option<String>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let valid = match value.split_once('/') {
        Some((org, repo)) => {
            !org.is_empty()
                && !repo.is_empty()
                && !repo.contains('/')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        return Err(Error::invalid(
            "repository",
            "invalid_input",
            "Repository must be in the format organization/repo.",
        ));
    }
    Ok(Some(value.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_checked_and_lower_cased() {
        assert_eq!(
            normalize_repository("Acme/Web").unwrap().as_deref(),
            Some("acme/web")
        );
        assert_eq!(normalize_repository("").unwrap(), None);
        for bad in ["acme", "/web", "acme/", "a/b/c", "a b/c"] {
            assert!(normalize_repository(bad).is_err(), "{bad}");
        }
    }
}
