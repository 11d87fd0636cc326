//! The outbox of outgoing deliveries, of project webhooks and of the webhook runner: plain
//! SQL. Inserted in the transaction of the change they announce, then leased, tried and
//! recorded. An event's payload is stored once and shared by its deliveries.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::clock;
use crate::error::Result;

/// Stores an event's payload (its time and its `data` as JSON text) for its deliveries.
pub fn store_payload(conn: &Connection, created_at: &str, data: &str) -> Result<i64> {
    conn.prepare_cached("INSERT INTO webhook_payloads (created_at, data) VALUES (?1, ?2)")?
        .execute(params![created_at, data])?;
    Ok(conn.last_insert_rowid())
}

/// The exact body a delivery sends and signs: `{"id", "event", "created_at", "project_id",
/// "data"}`, compact, in that order; `data` is already JSON text.
pub fn body(id: &str, event: &str, created_at: &str, project_id: i64, data: &str) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"id":{},"event":{},"created_at":{},"project_id":{project_id},"data":{data}}}"#,
        text(id),
        text(event),
        text(created_at),
    )
}

/// A delivery to make.
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub project_id: i64,
    pub webhook_id: Option<i64>,
    pub run_pk: Option<i64>,
    pub event: &'a str,
    pub url: &'a str,
    pub payload_id: i64,
}

pub fn enqueue(conn: &Connection, d: &NewDelivery) -> Result<()> {
    let now = clock::now();
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries
           (id, project_id, webhook_id, run_pk, event, url, payload_id, status,
            next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
    )?
    .execute(params![
        d.id,
        d.project_id,
        d.webhook_id,
        d.run_pk,
        d.event,
        d.url,
        d.payload_id,
        now
    ])?;
    Ok(())
}

/// A delivery taken for an attempt, with the secret that signs it (`None`: the runner's).
#[derive(Debug, Clone)]
pub struct Due {
    pub pk: i64,
    pub id: String,
    pub project_id: i64,
    pub webhook_id: Option<i64>,
    pub run_pk: Option<i64>,
    pub event: String,
    pub url: String,
    pub payload_id: i64,
    /// The payload's time and `data`, shared by the deliveries of one event in a batch.
    pub payload: Arc<(String, String)>,
    pub attempt_count: i64,
    pub secret: Option<String>,
}

impl Due {
    /// The body to send and sign.
    pub fn body(&self) -> String {
        let (created_at, data) = &*self.payload;
        body(&self.id, &self.event, created_at, self.project_id, data)
    }
}

/// Takes up to `limit` deliveries due at `now`, leasing them until `lease_until` so that
/// no other loop (or a restart mid-attempt) sends them twice before they are recorded.
pub fn lease(conn: &Connection, now: &str, lease_until: &str, limit: i64) -> Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.pk, d.id, d.project_id, d.webhook_id, d.run_pk, d.event, d.url, d.payload_id,
                d.attempt_count, w.secret
         FROM webhook_deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
           AND (d.webhook_id IS NULL OR w.deleted_at IS NULL)
         ORDER BY d.next_attempt_at LIMIT +?2",
    )?;
    let unread = Arc::new((String::new(), String::new()));
    let mut due: Vec<Due> = stmt
        .query_map(params![now, limit], |r| {
            Ok(Due {
                pk: r.get(0)?,
                id: r.get(1)?,
                project_id: r.get(2)?,
                webhook_id: r.get(3)?,
                run_pk: r.get(4)?,
                event: r.get(5)?,
                url: r.get(6)?,
                payload_id: r.get(7)?,
                payload: unread.clone(),
                attempt_count: r.get(8)?,
                secret: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Each payload is read once however many of the batch's deliveries carry it.
    let mut read =
        conn.prepare_cached("SELECT created_at, data FROM webhook_payloads WHERE id = ?1")?;
    let mut payloads: HashMap<i64, Arc<(String, String)>> = HashMap::new();
    for d in &mut due {
        if let Some(p) = payloads.get(&d.payload_id) {
            d.payload = p.clone();
            continue;
        }
        let p = Arc::new(read.query_row([d.payload_id], |r| Ok((r.get(0)?, r.get(1)?)))?);
        payloads.insert(d.payload_id, p.clone());
        d.payload = p;
    }
    let mut lease =
        conn.prepare_cached("UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE pk = ?1")?;
    for d in &due {
        lease.execute(params![d.pk, lease_until])?;
    }
    Ok(due)
}

/// When the next pending delivery is due, if any.
pub fn next_due(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Records one attempt (a JSON object) and what follows it: `retry_at` for another try,
/// else the delivery is settled as `delivered` or `failed`. A delivery given up meanwhile
/// (its webhook was deleted) stays given up.
pub fn record(
    conn: &Connection,
    pk: i64,
    attempt: &str,
    delivered: bool,
    retry_at: Option<&str>,
) -> Result<()> {
    let status = match (delivered, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    conn.prepare_cached(
        "UPDATE webhook_deliveries
         SET attempt_count = attempt_count + 1, attempts = json_insert(attempts, '$[#]', json(?2)),
             status = ?3, next_attempt_at = ?4,
             finished_at = CASE WHEN ?3 = 'pending' THEN NULL ELSE ?5 END
         WHERE pk = ?1 AND status = 'pending'",
    )?
    .execute(params![pk, attempt, status, retry_at, clock::now()])?;
    Ok(())
}

/// Forgets settled deliveries finished before `before`, and the payloads no delivery
/// carries any more. Returns how many deliveries went.
pub fn prune(conn: &Connection, before: &str) -> Result<usize> {
    let gone = conn.execute(
        "DELETE FROM webhook_deliveries WHERE status != 'pending' AND finished_at < ?1",
        [before],
    )?;
    conn.execute(
        "DELETE FROM webhook_payloads WHERE NOT EXISTS
           (SELECT 1 FROM webhook_deliveries d WHERE d.payload_id = webhook_payloads.id)",
        [],
    )?;
    Ok(gone)
}

/// A delivery as the API shows it.
#[derive(Debug, Serialize)]
pub struct Delivery {
    pub id: String,
    pub webhook: Option<i64>,
    pub run: Option<String>,
    pub event: String,
    pub url: String,
    pub status: String,
    pub attempts: Box<RawValue>,
    pub payload: Box<RawValue>,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub finished_at: Option<String>,
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap())
}

/// One page of a project's deliveries (of one webhook, when given), newest first, and
/// their total.
pub fn deliveries(
    conn: &Connection,
    project_id: i64,
    webhook_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<Delivery>)> {
    let filter = "d.project_id = ?1 AND (?2 IS NULL OR d.webhook_id = ?2)";
    let count: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries d WHERE {filter}"
        ))?
        .query_row(params![project_id, webhook_id], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.id, d.webhook_id, r.id, d.event, d.url, d.status, d.attempts, p.created_at,
                p.data, d.created_at, d.next_attempt_at, d.finished_at
         FROM webhook_deliveries d LEFT JOIN task_runs r ON r.pk = d.run_pk
           JOIN webhook_payloads p ON p.id = d.payload_id
         WHERE {filter} ORDER BY d.pk DESC LIMIT +?3 OFFSET +?4"
    ))?;
    let rows = stmt.query_map(params![project_id, webhook_id, limit, offset], |r| {
        let status: String = r.get(5)?;
        let id: String = r.get(0)?;
        let event: String = r.get(3)?;
        let sent_at: String = r.get(7)?;
        let data: String = r.get(8)?;
        Ok(Delivery {
            payload: raw(body(&id, &event, &sent_at, project_id, &data)),
            id,
            webhook: r.get(1)?,
            run: r.get(2)?,
            event,
            url: r.get(4)?,
            attempts: raw(r.get(6)?),
            created_at: r.get(9)?,
            next_attempt_at: if status == "pending" {
                r.get(10)?
            } else {
                None
            },
            finished_at: r.get(11)?,
            status,
        })
    })?;
    Ok((count, rows.collect::<rusqlite::Result<_>>()?))
}
