//! Artifacts: what agents upload to a run. The rules of names, types and storage paths,
//! the manifest entry, and the store they live in (`store`).

pub mod carry;
pub mod check;
pub mod inline;
mod store;

pub use crate::db::artifacts::{Described, Entry, append_to_manifest};
pub use store::{Store, explain};

use serde_json::{Map, Value};

use crate::crypto;
use crate::db::runs::Run;
use crate::error::{Error, Result};
use crate::fields::{Fields, not_a_dict};

pub const TYPES: &[&str] = &[
    "plan",
    "context",
    "reference",
    "output",
    "artifact",
    "user_attachment",
    "skill_bundle",
];

/// The longest `content_type` and `source` an artifact may carry, in characters.
pub const CONTENT_TYPE_MAX_CHARS: usize = 255;
pub const SOURCE_MAX_CHARS: usize = 255;

/// Every storage path starts here.
pub const ROOT: &str = "tasks/artifacts";

/// The base name of whatever name an agent sends: directories dropped, no `.`/`..`, no
/// control characters; empty becomes `artifact`.
pub fn base_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "artifact".to_string()
    } else {
        clean.chars().take(200).collect()
    }
}

/// The run's folder in the store: `tasks/artifacts/team_P/task_T/run_R`.
pub fn run_prefix(run: &Run) -> String {
    format!(
        "{ROOT}/team_{}/task_{}/run_{}",
        run.project_id, run.task, run.id
    )
}

/// A new storage path for `name` in the run's folder.
pub fn storage_path(run: &Run, name: &str) -> String {
    let tag: String = crypto::random_bytes::<4>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}/{tag}_{name}", run_prefix(run))
}

/// The `artifacts` list of a body: present, a list, not empty; each item an object.
pub fn items(body: &Map<String, Value>) -> Result<Vec<Fields<'_>>> {
    let list = Fields::new(body).list("artifacts")?.required()?;
    if list.is_empty() {
        return Err(Error::invalid(
            "artifacts",
            "blank",
            "This list may not be empty.",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(Fields::nested(map, format!("artifacts__{i}"))),
            other => Err(not_a_dict(format!("artifacts__{i}"), other)),
        })
        .collect()
}

/// Name, type, content type and source of one item.
pub fn describe(f: &Fields) -> Result<Described> {
    let name = base_name(&f.text("name", None, true)?.required()?);
    let kind = f.choice("type", TYPES)?.required()?;
    let content_type = f
        .text("content_type", Some(CONTENT_TYPE_MAX_CHARS), true)?
        .nullable()
        .flatten()
        .unwrap_or_default();
    let source = f
        .text("source", Some(SOURCE_MAX_CHARS), true)?
        .nullable()
        .flatten()
        .unwrap_or_default();
    Ok(Described {
        name,
        kind,
        content_type: content_type.trim().to_string(),
        source,
    })
}

pub fn too_large(max: u64) -> Error {
    Error::TooLarge(format!("An artifact may be at most {max} bytes."))
}

/// The manifest entry with this storage path, if the run has one.
pub fn find_in_manifest(manifest: &str, storage_path: &str) -> Option<Entry> {
    let list: Vec<Entry> = serde_json::from_str(manifest).ok()?;
    list.into_iter().find(|e| e.storage_path == storage_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_a_safe_base_name() {
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name("a/b/../c.md"), "c.md");
        assert_eq!(base_name("..\\..\\win.ini"), "win.ini");
        assert_eq!(base_name("dir/"), "artifact");
        assert_eq!(base_name(".."), "artifact");
        assert_eq!(base_name(""), "artifact");
        assert_eq!(base_name("plan.md"), "plan.md");
        assert_eq!(base_name("a\u{0}b"), "ab");
    }
}
