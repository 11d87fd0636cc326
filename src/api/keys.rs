//! `personal_api_keys/`: list, create (the value is in this answer only) and revoke the
//! caller's keys. A key needs `personal_api_key:read`/`:write` here, and can only hand out
//! scopes and projects it has itself; it lists and revokes only the keys it could have made.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::JsonObject;
use crate::auth::{Caller, scope_grants, valid_scope};
use crate::db::{identity, keys};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::state::AppState;

/// The longest key label, in characters.
pub const LABEL_MAX_CHARS: usize = 40;

type State = web::Data<AppState>;

pub async fn list(state: State, caller: Caller) -> Result<HttpResponse> {
    caller.require("personal_api_key:read")?;
    let user_id = caller.user.id;
    let mut keys = state
        .db
        .read(move |c| keys::keys_for_user(c, user_id, false))
        .await?;
    keys.retain(|k| caller.covers(k));
    Ok(HttpResponse::Ok().json(keys))
}

pub async fn create(state: State, caller: Caller, body: JsonObject) -> Result<HttpResponse> {
    caller.require("personal_api_key:write")?;
    let body = body.object()?;
    let f = Fields::new(&body);
    let label = f.text("label", Some(LABEL_MAX_CHARS), false)?.required()?;
    let scopes = parse_scopes(f.list("scopes")?.required()?)?;
    if let Some(missing) = scopes.iter().find(|s| !scope_grants(&caller.scopes, s)) {
        return Err(Error::invalid(
            "scopes",
            "invalid_input",
            format!("A key cannot grant the scope '{missing}', which it does not have."),
        ));
    }
    let projects = match f.list("scoped_teams")?.nullable().flatten() {
        None => caller.projects.clone(),
        Some(items) => Some(parse_projects(items)?),
    };
    let user_id = caller.user.id;
    let (key, value) = state
        .db
        .write(move |c| {
            if let Some(ids) = &projects {
                for (i, id) in ids.iter().enumerate() {
                    let reachable = caller.reaches(*id)
                        && identity::project_for_user(c, user_id, *id)?.is_some();
                    if !reachable {
                        return Err(Error::invalid(
                            format!("scoped_teams__{i}"),
                            "does_not_exist",
                            format!("Invalid pk \"{id}\" - object does not exist."),
                        ));
                    }
                }
            }
            keys::create_key(c, user_id, &label, &scopes, projects.as_deref())
        })
        .await?;
    let mut shown = serde_json::to_value(&key).map_err(Error::internal)?;
    shown["value"] = json!(value);
    Ok(HttpResponse::Created().json(shown))
}

pub async fn revoke(state: State, caller: Caller, path: web::Path<String>) -> Result<HttpResponse> {
    caller.require("personal_api_key:write")?;
    let id = path.into_inner();
    let user_id = caller.user.id;
    state
        .db
        .write(move |c| {
            // A key this caller could not have made is as good as absent: the list hides it.
            match keys::key_by_id(c, &id)? {
                Some(key) if key.user_id == user_id && caller.covers(&key) => {}
                _ => return Err(Error::NotFound),
            }
            keys::revoke_key(c, &id, Some(user_id))
        })
        .await?;
    state.events.revoked();
    Ok(HttpResponse::NoContent().finish())
}

fn parse_scopes(items: &[Value]) -> Result<Vec<String>> {
    if items.is_empty() {
        return Err(Error::invalid(
            "scopes",
            "blank",
            "At least one scope is required.",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            Some(s) if valid_scope(s) => Ok(s.to_string()),
            _ => Err(Error::invalid(
                format!("scopes__{i}"),
                "invalid_choice",
                format!("{v} is not a valid scope."),
            )),
        })
        .collect()
}

fn parse_projects(items: &[Value]) -> Result<Vec<i64>> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_i64().ok_or_else(|| {
                Error::invalid(
                    format!("scoped_teams__{i}"),
                    "invalid_input",
                    "A valid integer is required.",
                )
            })
        })
        .collect()
}
