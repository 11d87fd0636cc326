//! Artifact manifests (a JSON list on each run) and pending direct uploads: their entries
//! and plain SQL.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock;
use crate::error::{Error, Result};

/// One entry of a run's manifest, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub size: u64,
    pub content_type: String,
    pub storage_path: String,
    pub uploaded_at: String,
}

/// An artifact described in a request, checked.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: String,
    pub kind: String,
    pub content_type: String,
    pub source: String,
}

impl Described {
    /// The manifest entry for this artifact once stored.
    pub fn entry(&self, id: String, storage_path: String, size: u64) -> Entry {
        Entry {
            id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            source: self.source.clone(),
            size,
            content_type: self.content_type.clone(),
            storage_path,
            uploaded_at: clock::now(),
        }
    }
}

/// The manifest (JSON text) with `entries` appended.
pub fn append_to_manifest(manifest: &str, entries: &[Entry]) -> Result<String> {
    let mut list: Vec<Value> = serde_json::from_str(manifest).unwrap_or_default();
    for e in entries {
        list.push(serde_json::to_value(e).map_err(Error::internal)?);
    }
    serde_json::to_string(&list).map_err(Error::internal)
}

/// Appends entries to the run's manifest; returns the whole manifest (JSON text).
pub fn append(conn: &Connection, run_pk: i64, entries: &[Entry]) -> Result<String> {
    let manifest: String = conn
        .prepare_cached("SELECT artifacts FROM task_runs WHERE pk = ?1")?
        .query_row([run_pk], |r| r.get(0))?;
    let manifest = append_to_manifest(&manifest, entries)?;
    conn.prepare_cached("UPDATE task_runs SET artifacts = ?1, updated_at = ?2 WHERE pk = ?3")?
        .execute(params![manifest, clock::now(), run_pk])?;
    Ok(manifest)
}

/// A direct upload handed out and not yet finalized.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub run_pk: i64,
    pub described: Described,
    pub size: u64,
    pub storage_path: String,
    pub expires_at: i64,
}

pub fn add_pending(conn: &Connection, p: &Pending) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO artifact_uploads
           (id, run_pk, name, type, source, content_type, size, storage_path, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        p.id,
        p.run_pk,
        p.described.name,
        p.described.kind,
        p.described.source,
        p.described.content_type,
        p.size as i64,
        p.storage_path,
        p.expires_at,
        clock::now()
    ])?;
    Ok(())
}

pub fn pending(conn: &Connection, id: &str) -> Result<Option<Pending>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, run_pk, name, type, source, content_type, size, storage_path, expires_at
             FROM artifact_uploads WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Pending {
                id: r.get(0)?,
                run_pk: r.get(1)?,
                described: Described {
                    name: r.get(2)?,
                    kind: r.get(3)?,
                    source: r.get(4)?,
                    content_type: r.get(5)?,
                },
                size: r.get::<_, i64>(6)? as u64,
                storage_path: r.get(7)?,
                expires_at: r.get(8)?,
            })
        })
        .optional()?)
}

/// Forgets a pending upload; false when there was none (already finalized).
pub fn remove_pending(conn: &Connection, id: &str) -> Result<bool> {
    let removed = conn
        .prepare_cached("DELETE FROM artifact_uploads WHERE id = ?1")?
        .execute([id])?;
    Ok(removed == 1)
}

/// Every storage path a manifest or a live pending upload refers to.
pub fn referenced(conn: &Connection, now: i64) -> Result<HashSet<String>> {
    let mut paths = HashSet::new();
    let mut stmt = conn.prepare("SELECT artifacts FROM task_runs WHERE artifacts != '[]'")?;
    let manifests = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for manifest in manifests {
        let list: Vec<Entry> = serde_json::from_str(&manifest?).unwrap_or_default();
        paths.extend(list.into_iter().map(|e| e.storage_path));
    }
    let mut stmt =
        conn.prepare("SELECT storage_path FROM artifact_uploads WHERE expires_at >= ?1")?;
    for path in stmt.query_map([now], |r| r.get::<_, String>(0))? {
        paths.insert(path?);
    }
    Ok(paths)
}

/// Forgets direct uploads that expired without being finalized.
pub fn drop_expired(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM artifact_uploads WHERE expires_at < ?1", [now])?)
}

/// Every storage path a run's manifest refers to, in run order, each once.
pub fn in_manifests(conn: &Connection) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    let mut seen = HashSet::new();
    let mut stmt =
        conn.prepare("SELECT artifacts FROM task_runs WHERE artifacts != '[]' ORDER BY pk")?;
    let manifests = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for manifest in manifests {
        let list: Vec<Entry> = serde_json::from_str(&manifest?).unwrap_or_default();
        for e in list {
            if seen.insert(e.storage_path.clone()) {
                paths.push(e.storage_path);
            }
        }
    }
    Ok(paths)
}
