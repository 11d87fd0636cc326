//! `tasks/`: list, create, retrieve, update, soft delete, and start a run.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use actix_web::http::StatusCode;

use super::query::Pager;
use super::{JsonObject, Page, Query};
use crate::auth::{Reader, WriteAccess};
use crate::db::tasks as db_tasks;
use crate::db::tasks::TaskFilter;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::tasks::page_stream::{self, CHUNK, Listed, WriteItem};
use crate::tasks::{self, Mode, TaskChanges};

type State = web::Data<AppState>;
type TaskPath = web::Path<(String, String)>;

/// A read on the hot path: the caller's credentials, the query and the page are all checked
/// in one database read, in that order. A page larger than one buffer is streamed.
pub async fn list(state: State, reader: Reader, req: HttpRequest) -> Result<HttpResponse> {
    // Parsed before the read, reported after the credentials are checked.
    let links = state.links(&req);
    let parsed = list_query(req.query_string())
        .map(|(page, filter)| (Pager::new(page, &req, &links), filter));
    // An unfiltered page near the start walks a few hundred index entries; a filter or a
    // deep page may scan many rows, and must not hold up the worker's other connections.
    let light = parsed
        .as_ref()
        .is_ok_and(|(pager, filter)| filter.is_empty() && pager.page.offset <= 10_000);
    // Unfiltered pages near the start are the ones polled: they are kept for reuse.
    let key = light.then(|| links.absolute(&req.uri().to_string()));
    let cache = state.clone();
    let page_links = links.clone();
    // The page is written into the response straight from its rows.
    let read = move |c: &rusqlite::Connection, access: &crate::auth::Access| {
        let (pager, filter) = parsed?;
        let page = pager.page;
        let project = &access.project;
        let (id, version) = (project.id, project.version);
        if let Some(body) = key.as_ref().and_then(|k| cache.pages.get(id, k, version)) {
            return Ok(Listed::Whole(body));
        }
        let count = db_tasks::count(c, project, &filter)?;
        let on_page = page.limit.min(count.saturating_sub(page.offset)).max(0) as usize;
        let mut out = Vec::with_capacity((256 + 1536 * on_page).min(CHUNK));
        pager.write_head(&mut out, count)?;
        let mut first = true;
        let range = (page.limit, page.offset);
        let seen = db_tasks::each_on_page(c, project, &filter, range, &links, |task| {
            page_stream::write_item(&mut out, task, std::mem::take(&mut first))?;
            Ok(out.len() < CHUNK)
        })?;
        let rest = match out.len() >= CHUNK {
            true => db_tasks::page_rest(c, project, &filter, range, seen)?,
            false => Vec::new(),
        };
        let listed = Listed::of(out, rest);
        if let (Some(key), Listed::Whole(body)) = (key, &listed) {
            cache.pages.put(id, key, version, body.clone());
        }
        Ok(listed)
    };
    let (access, listed) = if light {
        reader.read(&state, read).await?
    } else {
        reader.read_heavy(&state, read).await?
    };
    let project = access.project;
    let write: WriteItem = Arc::new(move |c, pk, out| {
        db_tasks::with_live_task(c, &project, pk, &page_links, |t| {
            page_stream::write_item(out, t, false)
        })?
        .transpose()
        .map(drop)
    });
    Ok(listed.respond(state.db.clone(), write))
}

fn list_query(raw: &str) -> Result<(Page, TaskFilter)> {
    let query = Query::from_string(raw)?;
    let page = query.page()?;
    let filter = TaskFilter {
        origin_product: query.get("origin_product"),
        repository: query.get("repository"),
        organization: query.get("organization"),
        stage: query.get("stage"),
        created_by: query.count("created_by")?,
        search: query.get("search"),
    };
    Ok((page, filter))
}

pub async fn create(
    state: State,
    access: WriteAccess,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let changes = TaskChanges::parse(&body.object()?, Mode::Whole)?;
    let (project, user) = (access.project.clone(), access.caller.user.clone());
    let mut task = tasks::create(&state.db, state.announcer(), project, user, changes).await?;
    state.links(&req).task(&mut task);
    Ok(HttpResponse::Created().json(task))
}

pub async fn retrieve(
    state: State,
    reader: Reader,
    path: TaskPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = path.into_inner().1;
    let links = state.links(&req);
    let (_, body) = reader
        .read(&state, move |c, access| {
            db_tasks::with_task(c, &access.project, &id, Some(&links), |t| {
                serde_json::to_vec(t)
            })?
            .map_err(Error::internal)
        })
        .await?;
    Ok(super::json_body(StatusCode::OK, body))
}

/// PATCH changes the fields given; PUT needs the fields a create needs.
pub async fn update(
    state: State,
    access: WriteAccess,
    path: TaskPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let mode = if req.method() == actix_web::http::Method::PUT {
        Mode::Whole
    } else {
        Mode::Partial
    };
    let changes = TaskChanges::parse(&body.object()?, mode)?;
    let project = access.project.clone();
    let id = path.into_inner().1;
    let mut task = tasks::update(&state.db, project, id, changes).await?;
    state.links(&req).task(&mut task);
    Ok(HttpResponse::Ok().json(task))
}

pub async fn delete(state: State, access: WriteAccess, path: TaskPath) -> Result<HttpResponse> {
    let project = access.project.clone();
    let id = path.into_inner().1;
    state
        .db
        .write(move |c| db_tasks::delete(c, &project, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Creates a queued cloud run and answers with the task, the new run as `latest_run`. The
/// run reaches the runner once committed; a runner's failure shows on the run, never here.
pub async fn run(
    state: State,
    access: WriteAccess,
    path: TaskPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = path.into_inner().1;
    let mut task = state.runs().queue(access.project.clone(), id).await?;
    state.links(&req).task(&mut task);
    Ok(HttpResponse::Ok().json(task))
}
