//! Browser sessions: plain SQL. The cookie's value is only ever stored as a hash.

use rusqlite::{Connection, OptionalExtension, params};

use super::identity::{self, User};
use crate::clock;
use crate::error::Result;

pub fn create(
    conn: &Connection,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![token_hash, user_id, csrf, clock::now(), expires_at])?;
    Ok(())
}

/// The live session's user and CSRF token.
pub fn find(conn: &Connection, token_hash: &str, now: i64) -> Result<Option<(User, String)>> {
    let found = conn
        .prepare_cached(
            "SELECT user_id, csrf_token FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        )?
        .query_row(params![token_hash, now], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    match found {
        Some((user_id, csrf)) => Ok(identity::user_by_id(conn, user_id)?.map(|u| (u, csrf))),
        None => Ok(None),
    }
}

pub fn delete(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([token_hash])?;
    Ok(())
}

/// Forgets expired sessions.
pub fn purge(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
}
