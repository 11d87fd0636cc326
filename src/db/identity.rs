//! Organizations, projects, users, personal API keys and integrations: plain SQL.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::clock;
use crate::crypto;
use crate::error::{Error, Result};

/// The first organization and project of a fresh database.
pub const DEFAULT_PROJECT_NAME: &str = "Default project";

/// Gives a fresh database its organization, its first project (id 1) and a signing key.
pub fn seed(conn: &Connection) -> Result<()> {
    let now = clock::now();
    // IMMEDIATE: a server and a command seeding a fresh folder at once must not race.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let orgs: i64 = tx.query_row("SELECT COUNT(*) FROM organizations", [], |r| r.get(0))?;
    if orgs == 0 {
        tx.execute(
            "INSERT INTO organizations (id, uuid, name, created_at) VALUES (1, ?1, ?2, ?3)",
            params![
                uuid::Uuid::new_v4().to_string(),
                "Default organization",
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO projects (id, organization_id, uuid, name, created_at)
             VALUES (1, 1, ?1, ?2, ?3)",
            params![uuid::Uuid::new_v4().to_string(), DEFAULT_PROJECT_NAME, now],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO secrets (name, value) VALUES ('signing_key', ?1)",
        params![crypto::random_bytes::<32>().to_vec()],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn signing_key(conn: &Connection) -> Result<Vec<u8>> {
    Ok(conn.query_row(
        "SELECT value FROM secrets WHERE name = 'signing_key'",
        [],
        |r| r.get(0),
    )?)
}

/// The SHA-256 of the first-run setup token (`first_run`), if one is waiting.
pub fn setup_token_hash(conn: &Connection) -> Result<Option<String>> {
    let value: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM secrets WHERE name = 'setup_token'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// Keeps `hash` as the setup token's, replacing any earlier one; `None` removes it.
pub fn set_setup_token_hash(conn: &Connection, hash: Option<&str>) -> Result<()> {
    match hash {
        Some(h) => conn.execute(
            "INSERT OR REPLACE INTO secrets (name, value) VALUES ('setup_token', ?1)",
            params![h.as_bytes()],
        )?,
        None => conn.execute("DELETE FROM secrets WHERE name = 'setup_token'", [])?,
    };
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: i64,
    pub uuid: String,
    pub organization: String,
    pub name: String,
    pub created_at: String,
    /// Moves on every change its task list shows (see `schema.sql`): cached list pages
    /// are good while it stays.
    #[serde(skip)]
    pub version: i64,
}

pub(crate) const PROJECT_COLUMNS: &str = "p.id, p.uuid, o.uuid, p.name, p.created_at, p.version";

pub(crate) fn project_row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: r.get(0)?,
        uuid: r.get(1)?,
        organization: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
        version: r.get(5)?,
    })
}

/// Inserts a project (its name checked by `users::create_project`) in the first
/// organization; returns its id.
pub fn insert_project(conn: &Connection, name: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO projects (organization_id, uuid, name, created_at)
         VALUES ((SELECT MIN(id) FROM organizations), ?1, ?2, ?3)",
        params![uuid::Uuid::new_v4().to_string(), name, clock::now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The project `id` if `user_id` is a member of its organization.
pub fn project_for_user(conn: &Connection, user_id: i64, id: i64) -> Result<Option<Project>> {
    // Made once: every request under a project asks.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p
             JOIN organizations o ON o.id = p.organization_id
             JOIN memberships m ON m.organization_id = p.organization_id AND m.user_id = ?1
             WHERE p.id = ?2"
        )
    });
    Ok(conn
        .prepare_cached(&SQL)?
        .query_row(params![user_id, id], project_row)
        .optional()?)
}

/// Every project the user reaches, by id.
pub fn projects_for_user(conn: &Connection, user_id: i64) -> Result<Vec<Project>> {
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p
         JOIN organizations o ON o.id = p.organization_id
         JOIN memberships m ON m.organization_id = p.organization_id AND m.user_id = ?1
         ORDER BY p.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], project_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A user as the API shows it (`created_by`, `users/@me`).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub uuid: String,
    pub distinct_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(skip)]
    pub is_admin: bool,
    #[serde(skip)]
    pub current_project_id: Option<i64>,
}

pub(super) const USER_COLUMNS: &str = "u.id, u.uuid, u.distinct_id, u.first_name, u.last_name, u.email, u.is_admin, u.current_project_id";

fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        uuid: r.get(1)?,
        distinct_id: r.get(2)?,
        first_name: r.get(3)?,
        last_name: r.get(4)?,
        email: r.get(5)?,
        is_admin: r.get(6)?,
        current_project_id: r.get(7)?,
    })
}

pub struct NewUser<'a> {
    pub email: &'a str,
    /// An argon2 hash (`crypto::hash_password`), made before the write: it is slow.
    pub password_hash: Option<String>,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub admin: bool,
}

/// Inserts a user (checked by `users::create_user`), a member of the first organization.
/// The first user is an admin.
pub fn insert_user(conn: &Connection, new: &NewUser) -> Result<User> {
    let email = new.email.trim();
    let now = clock::now();
    let users: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
    let uuid = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO users (uuid, distinct_id, email, first_name, last_name, password_hash,
                            is_admin, current_project_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT MIN(id) FROM projects), ?8)",
        params![
            uuid,
            crypto::random_alphanumeric(32),
            email,
            new.first_name,
            new.last_name,
            new.password_hash,
            new.admin || users == 0,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO memberships (organization_id, user_id, created_at)
         VALUES ((SELECT MIN(id) FROM organizations), ?1, ?2)",
        params![id, now],
    )?;
    user_by_id(conn, id)?.ok_or(Error::NotFound)
}

pub fn user_by_email(conn: &Connection, email: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([email.trim()], user_row)
        .optional()?)
}

pub fn user_by_id(conn: &Connection, id: i64) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], user_row)
        .optional()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Integration {
    pub id: i64,
    pub kind: String,
    pub account: String,
    pub created_at: String,
}

/// Whether project `id` exists.
pub fn project_exists(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM projects WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

/// Inserts a GitHub integration of an existing project.
pub fn insert_integration(conn: &Connection, project_id: i64, account: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO integrations (project_id, kind, account, created_at) VALUES (?1, 'github', ?2, ?3)",
        params![project_id, account, clock::now()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn integrations_for_project(conn: &Connection, project_id: i64) -> Result<Vec<Integration>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, account, created_at FROM integrations WHERE project_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([project_id], |r| {
        Ok(Integration {
            id: r.get(0)?,
            kind: r.get(1)?,
            account: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn integration_in_project(conn: &Connection, project_id: i64, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM integrations WHERE id = ?1 AND project_id = ?2)",
        )?
        .query_row(params![id, project_id], |r| r.get(0))?)
}

pub fn count_users(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

/// The user with this email and their password hash, for signing in.
pub fn credentials(conn: &Connection, email: &str) -> Result<Option<(User, Option<String>)>> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([email.trim()], |r| Ok((user_row(r)?, r.get(8)?)))
        .optional()?)
}

/// Replaces a user's password hash and ends their sessions: whoever knew the old password
/// is signed out.
pub fn set_password(conn: &Connection, user_id: i64, hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        rusqlite::params![user_id, hash],
    )?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Every user, by id.
pub fn users(conn: &Connection) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], user_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A project by id, for payloads made outside a request.
pub fn project_by_id(conn: &Connection, id: i64) -> Result<Project> {
    let sql = format!(
        "SELECT {} FROM projects p JOIN organizations o ON o.id = p.organization_id
         WHERE p.id = ?1",
        PROJECT_COLUMNS
    );
    Ok(conn.prepare_cached(&sql)?.query_row([id], project_row)?)
}
