//! `tasks/`: list, create, retrieve, update, soft delete, and start a run.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{JsonObject, Links, Query};
use crate::app::AppState;
use crate::auth::{Reader, WriteAccess};
use crate::db::runs::NewRun;
use crate::db::tasks::TaskFilter;
use crate::db::{runs, tasks as db_tasks};
use crate::error::Result;
use crate::tasks::{Mode, TaskChanges};

type State = web::Data<AppState>;
type TaskPath = web::Path<(String, String)>;

/// A read on the hot path: the caller's credentials, the query and the page are all checked
/// in one database read, in that order.
pub async fn list(state: State, reader: Reader, req: HttpRequest) -> Result<HttpResponse> {
    let raw = req.query_string().to_string();
    let (_, (page, count, mut tasks)) = reader
        .read(&state, move |c, access| {
            let query = Query::from_string(&raw)?;
            let page = query.page()?;
            let filter = TaskFilter {
                origin_product: query.get("origin_product"),
                repository: query.get("repository"),
                organization: query.get("organization"),
                stage: query.get("stage"),
                created_by: query.count("created_by")?,
                search: query.get("search"),
            };
            let (count, tasks) =
                db_tasks::list(c, &access.project, &filter, page.limit, page.offset)?;
            Ok((page, count, tasks))
        })
        .await?;
    let links = Links::new(&state, &req);
    tasks.iter_mut().for_each(|t| links.task(t));
    Ok(page.respond(&req, &links, count, tasks))
}

pub async fn create(
    state: State,
    access: WriteAccess,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let changes = TaskChanges::parse(&body.object()?, Mode::Whole)?;
    let project = access.project.clone();
    let user_id = access.caller.user.id;
    let links = Links::new(&state, &req);
    let announce = state.runner.announcer(links.clone());
    let mut task = state
        .db
        .write(move |c| {
            let task = db_tasks::create(c, &project, user_id, changes)?;
            announce.task_created(c, project.id, &task)?;
            Ok(task)
        })
        .await?;
    links.task(&mut task);
    Ok(HttpResponse::Created().json(task))
}

pub async fn retrieve(
    state: State,
    reader: Reader,
    path: TaskPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = path.into_inner().1;
    let (_, mut task) = reader
        .read(&state, move |c, access| {
            db_tasks::get(c, &access.project, &id)
        })
        .await?;
    Links::new(&state, &req).task(&mut task);
    Ok(super::json(actix_web::http::StatusCode::OK, &task, 4096))
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
    let mut task = state
        .db
        .write(move |c| db_tasks::update(c, &project, &id, changes))
        .await?;
    Links::new(&state, &req).task(&mut task);
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
    let project = access.project.clone();
    let id = path.into_inner().1;
    let links = Links::new(&state, &req);
    let announce = state.runner.announcer(links.clone());
    let mut task = state
        .db
        .write(move |c| {
            let task = db_tasks::get(c, &project, &id)?;
            let new = NewRun {
                status: "queued".into(),
                environment: "cloud".into(),
                ..NewRun::default()
            };
            let pk = runs::insert(c, task.pk, &new)?;
            announce.run_created(c, &runs::by_pk(c, pk)?)?;
            db_tasks::get(c, &project, &id)
        })
        .await?;
    links.task(&mut task);
    Ok(HttpResponse::Ok().json(task))
}
