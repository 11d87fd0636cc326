//! `projects/`: the projects the caller reaches, and their GitHub integrations.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{JsonObject, Query};
use crate::auth::{Caller, ReadAccess};
use crate::db::identity;
use crate::error::Result;
use crate::fields::Fields;
use crate::state::AppState;
use crate::users;

/// The longest project name, in characters.
pub const NAME_MAX_CHARS: usize = 200;

type State = web::Data<AppState>;

pub async fn list(state: State, caller: Caller, req: HttpRequest) -> Result<HttpResponse> {
    let page = Query::parse(&req)?.page()?;
    let user_id = caller.user.id;
    let mut projects = state
        .db
        .read(move |c| identity::projects_for_user(c, user_id))
        .await?;
    projects.retain(|p| caller.reaches(p.id));
    let count = projects.len() as i64;
    let results = projects
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    Ok(page.respond(&req, &state.links(&req), count, results))
}

/// Any valid key may see the projects it reaches.
pub async fn retrieve(access: ReadAccess) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(&access.project))
}

pub async fn integrations(state: State, access: ReadAccess) -> Result<HttpResponse> {
    let project_id = access.project.id;
    let list = state
        .db
        .read(move |c| identity::integrations_for_project(c, project_id))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "count": list.len(), "next": null, "previous": null, "results": list
    })))
}

/// `POST /api/projects/`: a new project in the organization (admins only).
pub async fn create(state: State, caller: Caller, body: JsonObject) -> Result<HttpResponse> {
    caller.require_admin()?;
    let body = body.object()?;
    let name = Fields::new(&body)
        .text("name", Some(NAME_MAX_CHARS), false)?
        .required()?;
    let user_id = caller.user.id;
    let project = state
        .db
        .write(move |c| {
            let id = users::create_project(c, &name)?;
            identity::project_for_user(c, user_id, id)?.ok_or(crate::error::Error::NotFound)
        })
        .await?;
    Ok(HttpResponse::Created().json(project))
}
