//! `webhooks/`: a project's outgoing webhooks (list, create with the secret shown once,
//! retrieve, delete) and the delivery log, of one webhook or of the whole project (which
//! includes the webhook runner's deliveries).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{JsonObject, Query};
use crate::auth::{ReadAccess, WriteAccess};
use crate::db::hooks as db_hooks;
use crate::db::outbox;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::webhooks;

type State = web::Data<AppState>;
type HookPath = web::Path<(String, String)>;

fn hook_id(path: HookPath) -> Result<i64> {
    path.into_inner().1.parse().map_err(|_| Error::NotFound)
}

pub async fn list(state: State, access: ReadAccess) -> Result<HttpResponse> {
    let project_id = access.project.id;
    let list = state
        .db
        .read(move |c| db_hooks::list(c, project_id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "count": list.len(), "next": null, "previous": null, "results": list
    })))
}

/// 201 with the webhook and its `secret`, which no later answer shows; 400 past the
/// project's limit.
pub async fn create(state: State, access: WriteAccess, body: JsonObject) -> Result<HttpResponse> {
    let new = webhooks::parse_new(&body.object()?, &state.config.webhook_allowed_hosts)?;
    let project_id = access.project.id;
    let user_id = access.caller.user.id;
    let hook = state
        .db
        .write(move |c| webhooks::create(c, project_id, user_id, &new))
        .await?;
    Ok(HttpResponse::Created().json(hook))
}

pub async fn retrieve(state: State, access: ReadAccess, path: HookPath) -> Result<HttpResponse> {
    let (project_id, id) = (access.project.id, hook_id(path)?);
    let hook = state
        .db
        .read(move |c| db_hooks::get(c, project_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(hook))
}

/// 204; the webhook's pending deliveries are given up, its delivery log stays readable.
pub async fn delete(state: State, access: WriteAccess, path: HookPath) -> Result<HttpResponse> {
    let (project_id, id) = (access.project.id, hook_id(path)?);
    state
        .db
        .write(move |c| db_hooks::delete(c, project_id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `webhook_deliveries/`: the project's deliveries, newest first; `?webhook=ID` for one
/// webhook's.
pub async fn deliveries(
    state: State,
    access: ReadAccess,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let webhook = Query::parse(&req)?.count("webhook")?;
    page(state, access, req, webhook).await
}

/// `webhooks/:id/deliveries/`: one webhook's deliveries, deleted webhooks included.
pub async fn deliveries_of(
    state: State,
    access: ReadAccess,
    path: HookPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (project_id, id) = (access.project.id, hook_id(path)?);
    if !state
        .db
        .read(move |c| db_hooks::exists(c, project_id, id))
        .await?
    {
        return Err(Error::NotFound);
    }
    page(state, access, req, Some(id)).await
}

async fn page(
    state: State,
    access: ReadAccess,
    req: HttpRequest,
    webhook: Option<i64>,
) -> Result<HttpResponse> {
    let page = Query::parse(&req)?.page()?;
    let project_id = access.project.id;
    let (count, list) = state
        .db
        .read(move |c| outbox::deliveries(c, project_id, webhook, page.limit, page.offset))
        .await?;
    Ok(page.respond(&req, &state.links(&req), count, list))
}
