//! The rules of a task: which fields a request may set and how they are checked, the title
//! derived from the description, and the slug prefix derived from the project's name.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::runs::check_schema;

pub const ORIGIN_PRODUCTS: &[&str] = &[
    "error_tracking",
    "eval_clusters",
    "user_created",
    "slack",
    "support_queue",
    "session_summaries",
];

/// The longest `description`, in characters: generous for a prompt, and a bound on what
/// every task list page and webhook payload carrying the task can weigh.
/// The longest `title`, `repository` and `assignee`, in characters.
pub const TITLE_MAX_CHARS: usize = 255;
pub const REPOSITORY_MAX_CHARS: usize = 255;
pub const ASSIGNEE_MAX_CHARS: usize = 255;
pub const DESCRIPTION_MAX_CHARS: usize = 1 << 20;

/// Validated changes to a task. `None` leaves a field alone; for nullable fields
/// `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub origin_product: Option<String>,
    pub repository: Option<Option<String>>,
    pub github_integration: Option<Option<i64>>,
    /// JSON text.
    pub json_schema: Option<Option<String>>,
    pub assignee: Option<Option<String>>,
}

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

/// The title a task shows: the given one, or else the description's first line (cut to 57
/// characters and `...` when longer than 60), or else "Untitled Task".
pub fn derive_title(title: &str, description: &str) -> String {
    if !title.trim().is_empty() {
        return title.to_string();
    }
    let first = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.is_empty() {
        return "Untitled Task".to_string();
    }
    if first.chars().count() > 60 {
        let cut: String = first.chars().take(57).collect();
        format!("{cut}...")
    } else {
        first.to_string()
    }
}

/// Three letters from the project's name: its first three capitals when it has three or
/// more, else its first three letters or digits upper-cased; `TSK` when nothing is left.
pub fn slug_prefix(name: &str) -> String {
    let kept: Vec<char> = name.chars().filter(|c| c.is_alphanumeric()).collect();
    let capitals: Vec<char> = kept.iter().copied().filter(|c| c.is_uppercase()).collect();
    let prefix: String = if capitals.len() >= 3 {
        capitals[..3].iter().collect()
    } else {
        kept.iter().take(3).flat_map(|c| c.to_uppercase()).collect()
    };
    if prefix.is_empty() {
        "TSK".to_string()
    } else {
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_prefixes_follow_the_contract() {
        assert_eq!(slug_prefix("Test Team"), "TES");
        assert_eq!(slug_prefix("PostHog"), "POS");
        assert_eq!(slug_prefix("my team"), "MYT");
        assert_eq!(slug_prefix("Default project"), "DEF");
        assert_eq!(slug_prefix("Acme Big Corp"), "ABC");
        assert_eq!(slug_prefix("--"), "TSK");
        assert_eq!(slug_prefix(""), "TSK");
    }

    #[test]
    fn titles_fall_back_to_the_description() {
        assert_eq!(derive_title("Mine", "x"), "Mine");
        assert_eq!(derive_title("", "Fix it\nmore"), "Fix it");
        assert_eq!(derive_title("  ", ""), "Untitled Task");
        let long = "a".repeat(61);
        assert_eq!(derive_title("", &long), format!("{}...", "a".repeat(57)));
        let sixty = "b".repeat(60);
        assert_eq!(derive_title("", &sixty), sixty);
    }

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
