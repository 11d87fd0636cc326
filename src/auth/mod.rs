//! Who is calling and what they may reach: personal API keys (`Authorization: Bearer phx_…`)
//! with their scopes and projects, or a browser session (cookie, with a CSRF token on every
//! change). Handlers under a project take `ReadAccess` or `WriteAccess`, which check the
//! credential, the scope and the project in one database read (`extract`). A run's event
//! stream takes the run's own ingest token instead (`ingest`).

mod extract;
mod ingest;

pub use extract::{Access, ReadAccess, Reader, WriteAccess, access};
pub use ingest::{INGEST_TOKEN_SECS, RunToken, ingest_token};

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use rusqlite::Connection;

use crate::clock;
use crate::crypto;
use crate::db::identity::{self, Project, User};
use crate::db::keys::{self, ApiKey};
use crate::db::sessions;
use crate::error::{Error, Result};
use crate::session;
use crate::state::AppState;

pub const TASK_READ: &str = "task:read";
pub const TASK_WRITE: &str = "task:write";

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Key(ApiKey),
    /// A signed-in browser; carries the user's full rights.
    Session,
}

/// An authenticated caller: a user, what they may do, and which projects they reach.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
    /// A key's scopes; `*` for a session.
    pub scopes: Vec<String>,
    /// The projects a key is limited to; `None` for every project of the user.
    pub projects: Option<Vec<i64>>,
}

impl Caller {
    fn with_key(user: User, key: ApiKey) -> Caller {
        Caller {
            user,
            scopes: key.scopes.clone(),
            projects: key.scoped_teams.clone(),
            credential: Credential::Key(key),
        }
    }

    fn with_session(user: User) -> Caller {
        Caller {
            user,
            scopes: vec!["*".to_string()],
            projects: None,
            credential: Credential::Session,
        }
    }

    /// `*` grants everything; `x:write` implies `x:read`.
    pub fn has_scope(&self, scope: &str) -> bool {
        scope_grants(&self.scopes, scope)
    }

    /// Administration (users, projects) needs an admin, by session or with a `*` key.
    pub fn require_admin(&self) -> Result<()> {
        if self.user.is_admin && self.has_scope("*") {
            Ok(())
        } else {
            Err(Error::PermissionDenied(
                "Only an administrator may do this.".into(),
            ))
        }
    }

    pub fn require(&self, scope: &str) -> Result<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "API key missing required scope '{scope}'"
            )))
        }
    }

    /// Whether the key's project list (if any) includes the project.
    pub fn reaches(&self, project_id: i64) -> bool {
        match &self.projects {
            Some(ids) => ids.contains(&project_id),
            None => true,
        }
    }

    /// Whether this caller could have made `key`: it holds every scope of the key and
    /// reaches every project the key reaches. Listing and revoking keys follow the same
    /// rule as creating them, so a narrow key cannot see or revoke a broader one.
    pub fn covers(&self, key: &ApiKey) -> bool {
        let scopes = key.scopes.iter().all(|s| self.has_scope(s));
        let projects = match (&self.projects, &key.scoped_teams) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(ids)) => ids.iter().all(|id| self.reaches(*id)),
        };
        scopes && projects
    }
}

pub fn scope_grants(scopes: &[String], needed: &str) -> bool {
    scopes.iter().any(|s| {
        s == "*"
            || s == needed
            || needed
                .strip_suffix(":read")
                .is_some_and(|object| s.strip_suffix(":write") == Some(object))
    })
}

/// `*` or `object:read` / `object:write` with a lower-case object name.
pub fn valid_scope(scope: &str) -> bool {
    scope == "*"
        || scope
            .strip_suffix(":read")
            .or_else(|| scope.strip_suffix(":write"))
            .is_some_and(|o| {
                !o.is_empty() && o.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
}

/// The key's value from `Authorization: Bearer …`; `None` when no credentials were sent.
fn bearer(req: &HttpRequest) -> Result<Option<String>> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let failed = || Error::AuthenticationFailed("Invalid personal API key.".into());
    let value = value.to_str().map_err(|_| failed())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(failed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(failed());
    }
    Ok(Some(token.trim().to_string()))
}

/// The caller behind a personal API key sent as `Authorization: Bearer …` or, as Anthropic's
/// SDKs send theirs, `x-api-key`. Keys only: a browser session does not count here.
pub async fn key_caller(req: &HttpRequest) -> Result<Caller> {
    let token = match bearer(req)? {
        Some(token) => token,
        None => match req.headers().get("x-api-key").map(|v| v.to_str()) {
            Some(Ok(v)) if !v.trim().is_empty() => v.trim().to_string(),
            Some(_) => {
                return Err(Error::AuthenticationFailed(
                    "Invalid personal API key.".into(),
                ));
            }
            None => return Err(Error::NotAuthenticated),
        },
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::internal("application state missing"))?;
    let presented = Presented::Key(crypto::sha256_hex(&token));
    let (caller, _, csrf) = state
        .db
        .read_light(move |conn| lookup(conn, presented, None))
        .await?;
    after_lookup(state, req, &caller, csrf)?;
    Ok(caller)
}

/// How long a key's `last_used_at` may lag: at most one write per key per minute.
const TOUCH_EVERY_SECS: i64 = 60;

/// What a request presented: a key, or a session cookie (both as SHA-256 hashes).
#[derive(Clone)]
pub(crate) enum Presented {
    Key(String),
    Session(String),
}

/// Finds the caller and, when asked, the project they name, in one read.
pub(crate) async fn authenticate(
    req: &HttpRequest,
    project_ref: Option<String>,
) -> Result<(Caller, Option<Project>)> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::internal("application state missing"))?
        .clone();
    let presented = presented(req)?;
    let (caller, project, csrf) = state
        .db
        .read_light(move |conn| lookup(conn, presented, project_ref.as_deref()))
        .await?;
    after_lookup(&state, req, &caller, csrf)?;
    Ok((caller, project))
}

/// The credential a request carries, hashed; no database work.
fn presented(req: &HttpRequest) -> Result<Presented> {
    Ok(match bearer(req)? {
        Some(token) => Presented::Key(crypto::sha256_hex(&token)),
        None => match req.cookie(session::COOKIE) {
            Some(cookie) => Presented::Session(crypto::sha256_hex(cookie.value())),
            None => return Err(Error::NotAuthenticated),
        },
    })
}

/// What follows a successful lookup: a key's last use is recorded; a session's change
/// must carry its CSRF token.
fn after_lookup(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    csrf: Option<String>,
) -> Result<()> {
    match (&caller.credential, csrf) {
        (Credential::Key(key), _) => touch(state, key),
        (Credential::Session, Some(csrf)) => session::check_csrf(&state.config, req, &csrf)?,
        (Credential::Session, None) => return Err(Error::NotAuthenticated),
    }
    Ok(())
}

type Found = (Caller, Option<Project>, Option<String>);

pub(crate) fn lookup(
    conn: &Connection,
    presented: Presented,
    project_ref: Option<&str>,
) -> Result<Found> {
    let (caller, csrf) = match presented {
        Presented::Key(secure) => {
            let (key, user) = keys::key_by_secure_value(conn, &secure)?
                .ok_or_else(|| Error::AuthenticationFailed("Invalid personal API key.".into()))?;
            (Caller::with_key(user, key), None)
        }
        Presented::Session(hash) => {
            let (user, csrf) =
                sessions::find(conn, &hash, clock::unix_now())?.ok_or_else(|| {
                    Error::AuthenticationFailed("Your session has ended; sign in again.".into())
                })?;
            (Caller::with_session(user), Some(csrf))
        }
    };
    let project = match project_ref {
        None => None,
        Some(r) => resolve_project(conn, &caller, r)?,
    };
    Ok((caller, project, csrf))
}

/// The project named by `reference` (an id or `@current`) if the caller reaches it.
fn resolve_project(conn: &Connection, caller: &Caller, reference: &str) -> Result<Option<Project>> {
    let id = if reference == "@current" {
        match (&caller.projects, caller.user.current_project_id) {
            (Some(ids), current) => match current.filter(|c| ids.contains(c)) {
                Some(c) => c,
                None => match ids.first() {
                    Some(first) => *first,
                    None => return Ok(None),
                },
            },
            (None, Some(current)) => current,
            (None, None) => match identity::projects_for_user(conn, caller.user.id)?.first() {
                Some(p) => p.id,
                None => return Ok(None),
            },
        }
    } else {
        match reference.parse::<i64>() {
            Ok(id) => id,
            Err(_) => return Ok(None),
        }
    };
    if !caller.reaches(id) {
        return Ok(None);
    }
    identity::project_for_user(conn, caller.user.id, id)
}

/// The credential behind a long-lived answer (a live stream), kept to be checked again: a
/// stream must stop once its key is revoked or its session ends, not run on for days.
#[derive(Clone)]
pub struct Recheck {
    presented: Presented,
    project: String,
}

impl Recheck {
    /// The request's credential (already checked) and the project it reached.
    pub fn of(req: &HttpRequest, project_id: i64) -> Result<Recheck> {
        Ok(Recheck {
            presented: presented(req)?,
            project: project_id.to_string(),
        })
    }

    /// One stable name per credential (its hash), to count what it holds open.
    pub fn holder(&self) -> &str {
        match &self.presented {
            Presented::Key(hash) | Presented::Session(hash) => hash,
        }
    }

    /// Whether the credential still reaches the project with `task:read`.
    pub fn holds(&self, conn: &Connection) -> Result<bool> {
        match lookup(conn, self.presented.clone(), Some(&self.project)) {
            Ok((caller, project, _)) => Ok(project.is_some() && caller.has_scope(TASK_READ)),
            Err(Error::AuthenticationFailed(_) | Error::NotAuthenticated) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn touch(state: &web::Data<AppState>, key: &ApiKey) {
    let now = clock::now();
    let stale = match &key.last_used_at {
        None => true,
        Some(last) => {
            let threshold = chrono::Utc::now() - chrono::Duration::seconds(TOUCH_EVERY_SECS);
            last.as_str()
                < threshold
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    .as_str()
        }
    };
    if stale {
        let db = state.db.clone();
        let id = key.id.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = db.write(move |c| keys::touch_key(c, &id, &now)).await {
                tracing::warn!("could not record a key's last use: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn write_implies_read_and_star_implies_all() {
        assert!(scope_grants(&s(&["task:write"]), "task:read"));
        assert!(scope_grants(&s(&["task:write"]), "task:write"));
        assert!(!scope_grants(&s(&["task:read"]), "task:write"));
        assert!(scope_grants(&s(&["*"]), "task:write"));
        assert!(!scope_grants(&s(&["feature_flag:write"]), "task:read"));
    }

    #[test]
    fn scopes_are_checked_for_shape() {
        assert!(valid_scope("task:read"));
        assert!(valid_scope("*"));
        assert!(valid_scope("feature_flag:write"));
        assert!(!valid_scope("task"));
        assert!(!valid_scope("task:admin"));
        assert!(!valid_scope(":read"));
    }
}
