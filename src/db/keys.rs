//! Personal API keys: plain SQL. Only a SHA-256 of a key's value is stored; the value is
//! returned once, by `create_key`.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::identity::{USER_COLUMNS, User};
use crate::clock;
use crate::crypto;
use crate::error::{Error, Result};

/// A personal API key as listed; the value itself is never stored.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub label: String,
    pub mask_value: String,
    pub scopes: Vec<String>,
    pub scoped_teams: Option<Vec<i64>>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(skip)]
    pub user_id: i64,
}

const KEY_COLUMNS: &str = "k.id, k.label, k.mask_value, k.scopes, k.scoped_projects, k.created_at, k.last_used_at, k.revoked_at, k.user_id";

fn key_row(r: &Row) -> rusqlite::Result<ApiKey> {
    let scopes: String = r.get(3)?;
    let projects: Option<String> = r.get(4)?;
    Ok(ApiKey {
        id: r.get(0)?,
        label: r.get(1)?,
        mask_value: r.get(2)?,
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        scoped_teams: projects.and_then(|p| serde_json::from_str(&p).ok()),
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
        user_id: r.get(8)?,
    })
}

/// Creates a key; returns it with its value, which is not kept and cannot be shown again.
pub fn create_key(
    conn: &Connection,
    user_id: i64,
    label: &str,
    scopes: &[String],
    projects: Option<&[i64]>,
) -> Result<(ApiKey, String)> {
    let value = format!("phx_{}", crypto::random_alphanumeric(47));
    let mask = format!("phx_...{}", &value[value.len() - 4..]);
    let id = uuid::Uuid::new_v4().simple().to_string();
    conn.execute(
        "INSERT INTO personal_api_keys
           (id, user_id, label, secure_value, mask_value, scopes, scoped_projects, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            user_id,
            label,
            crypto::sha256_hex(&value),
            mask,
            serde_json::to_string(scopes).map_err(Error::internal)?,
            projects
                .map(serde_json::to_string)
                .transpose()
                .map_err(Error::internal)?,
            clock::now()
        ],
    )?;
    let key = key_by_id(conn, &id)?.ok_or(Error::NotFound)?;
    Ok((key, value))
}

pub fn key_by_id(conn: &Connection, id: &str) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM personal_api_keys k WHERE k.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], key_row)
        .optional()?)
}

/// A user's keys, newest first; revoked ones only when `include_revoked`.
pub fn keys_for_user(
    conn: &Connection,
    user_id: i64,
    include_revoked: bool,
) -> Result<Vec<ApiKey>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM personal_api_keys k
         WHERE k.user_id = ?1 AND (?2 OR k.revoked_at IS NULL)
         ORDER BY k.created_at DESC, k.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![user_id, include_revoked], key_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Revokes a key (of `user_id`, when given). `NotFound` when there is no such live key.
pub fn revoke_key(conn: &Connection, id: &str, user_id: Option<i64>) -> Result<()> {
    let changed = conn.execute(
        "UPDATE personal_api_keys SET revoked_at = ?1
         WHERE id = ?2 AND revoked_at IS NULL AND (?3 IS NULL OR user_id = ?3)",
        params![clock::now(), id, user_id],
    )?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// The live key whose value hashes to `secure_value`, with its user.
pub fn key_by_secure_value(
    conn: &Connection,
    secure_value: &str,
) -> Result<Option<(ApiKey, User)>> {
    // Made once: every request with a key asks.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {KEY_COLUMNS}, {USER_COLUMNS} FROM personal_api_keys k
             JOIN users u ON u.id = k.user_id
             WHERE k.secure_value = ?1 AND k.revoked_at IS NULL"
        )
    });
    let found = conn
        .prepare_cached(&SQL)?
        .query_row([secure_value], |r| {
            let key = key_row(r)?;
            let user = User {
                id: r.get(9)?,
                uuid: r.get(10)?,
                distinct_id: r.get(11)?,
                first_name: r.get(12)?,
                last_name: r.get(13)?,
                email: r.get(14)?,
                is_admin: r.get(15)?,
                current_project_id: r.get(16)?,
            };
            Ok((key, user))
        })
        .optional()?;
    Ok(found)
}

pub fn touch_key(conn: &Connection, id: &str, now: &str) -> Result<()> {
    conn.prepare_cached("UPDATE personal_api_keys SET last_used_at = ?1 WHERE id = ?2")?
        .execute(params![now, id])?;
    Ok(())
}
