//! A project's outgoing webhooks: plain SQL. Their deliveries are in `outbox`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::clock;
use crate::error::{Error, Result};

/// A project's webhook as the API shows it; the secret only in the answer that made it.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_row(r: &Row) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        created_at: r.get(3)?,
        secret: None,
    })
}

pub fn create(
    conn: &Connection,
    project_id: i64,
    user_id: i64,
    url: &str,
    events: &[String],
    secret: &str,
) -> Result<Webhook> {
    conn.prepare_cached(
        "INSERT INTO webhooks (project_id, url, events, secret, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        project_id,
        url,
        serde_json::to_string(events).map_err(Error::internal)?,
        secret,
        user_id,
        clock::now()
    ])?;
    let mut hook = get(conn, project_id, conn.last_insert_rowid())?;
    hook.secret = Some(secret.to_string());
    Ok(hook)
}

pub fn list(conn: &Connection, project_id: i64) -> Result<Vec<Webhook>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, events, created_at FROM webhooks
         WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([project_id], webhook_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, project_id: i64, id: i64) -> Result<Webhook> {
    Ok(conn
        .prepare_cached(
            "SELECT id, url, events, created_at FROM webhooks
             WHERE id = ?1 AND project_id = ?2 AND deleted_at IS NULL",
        )?
        .query_row(params![id, project_id], webhook_row)?)
}

/// How many live webhooks a project has.
pub fn count(conn: &Connection, project_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM webhooks WHERE project_id = ?1 AND deleted_at IS NULL",
        )?
        .query_row([project_id], |r| r.get(0))?)
}

/// Deletes a webhook (its delivery log stays) and gives up its pending deliveries.
pub fn delete(conn: &Connection, project_id: i64, id: i64) -> Result<()> {
    let now = clock::now();
    let changed = conn.execute(
        "UPDATE webhooks SET deleted_at = ?3
         WHERE id = ?1 AND project_id = ?2 AND deleted_at IS NULL",
        params![id, project_id, now],
    )?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = ?2
         WHERE webhook_id = ?1 AND status = 'pending'",
        params![id, now],
    )?;
    Ok(())
}

/// The live webhooks of a project that take `event`: their ids and URLs.
pub fn subscribed(conn: &Connection, project_id: i64, event: &str) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.id, w.url FROM webhooks w
         WHERE w.project_id = ?1 AND w.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = ?2)
         ORDER BY w.id",
    )?;
    let rows = stmt.query_map(params![project_id, event], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the project has a webhook with this id (live or deleted), for its delivery log.
pub fn exists(conn: &Connection, project_id: i64, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM webhooks WHERE id = ?1 AND project_id = ?2")?
        .query_row(params![id, project_id], |_| Ok(()))
        .optional()?
        .is_some())
}
