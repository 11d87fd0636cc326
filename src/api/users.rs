//! `users/@me/`: the caller, their organization and current project.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::JsonObject;
use super::session::{EMAIL_MAX_CHARS, MAX_PASSWORD, MIN_PASSWORD, names, user_json};
use crate::auth::Caller;
use crate::crypto;
use crate::db::identity::{self, NewUser};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::state::AppState;
use crate::users;

pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse> {
    let user_id = caller.user.id;
    let projects = state
        .db
        .read(move |c| identity::projects_for_user(c, user_id))
        .await?;
    let reachable: Vec<_> = projects
        .into_iter()
        .filter(|p| caller.reaches(p.id))
        .collect();
    let current = reachable
        .iter()
        .find(|p| Some(p.id) == caller.user.current_project_id)
        .or(reachable.first());
    let user = &caller.user;
    Ok(HttpResponse::Ok().json(json!({
        "id": user.id,
        "uuid": user.uuid,
        "distinct_id": user.distinct_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_staff": user.is_admin,
        "team": current.map(|p| json!({"id": p.id, "uuid": p.uuid, "name": p.name})),
        "organization": current.map(|p| json!({"id": p.organization})),
        "teams": reachable.iter().map(|p| json!({"id": p.id, "uuid": p.uuid, "name": p.name})).collect::<Vec<_>>(),
    })))
}

/// `GET /api/users/`: every user (admins only).
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse> {
    caller.require_admin()?;
    let users = state.db.read(identity::users).await?;
    let results: Vec<_> = users.iter().map(user_json).collect();
    Ok(HttpResponse::Ok().json(json!({
        "count": results.len(), "next": null, "previous": null, "results": results
    })))
}

/// `POST /api/users/`: adds a user (admins only); a generated password is in this answer only.
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<HttpResponse> {
    caller.require_admin()?;
    let body = body.object()?;
    let f = Fields::new(&body);
    let email = f.text("email", Some(EMAIL_MAX_CHARS), false)?.required()?;
    let given = f
        .text("password", Some(MAX_PASSWORD), true)?
        .nullable()
        .flatten()
        .filter(|p| !p.is_empty());
    if given
        .as_ref()
        .is_some_and(|p| p.chars().count() < MIN_PASSWORD)
    {
        return Err(Error::invalid(
            "password",
            "invalid_input",
            format!("The password must have at least {MIN_PASSWORD} characters."),
        ));
    }
    let (first_name, last_name) = names(&f)?;
    let admin = match body.get("is_admin") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(Error::invalid(
                "is_admin",
                "invalid_input",
                "Must be a valid boolean.",
            ));
        }
    };
    let generated = given.is_none().then(|| crypto::random_alphanumeric(20));
    let password = given.or_else(|| generated.clone()).unwrap_or_default();
    let hash = move || crypto::hash_password(&password);
    let password_hash = Some(state.throttle.hashing(hash).await??);
    let user = state
        .db
        .write(move |c| {
            users::create_user(
                c,
                &NewUser {
                    email: &email,
                    password_hash,
                    first_name: &first_name,
                    last_name: &last_name,
                    admin,
                },
            )
        })
        .await?;
    let mut shown = user_json(&user);
    if let Some(p) = generated {
        shown["password"] = json!(p);
    }
    Ok(HttpResponse::Created().json(shown))
}
