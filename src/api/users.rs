//! `users/@me/`: the caller, their organization and current project.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;
use crate::auth::Caller;
use crate::db::identity;
use crate::error::Result;

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
