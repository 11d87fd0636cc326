//! Workers and cancellation: `runs/claim/` hands the oldest queued cloud run of the project
//! to one caller (204 when none waits); `runs/:id/cancel/` cancels an unfinished run.

use actix_web::{HttpRequest, HttpResponse, web};

use super::Links;
use crate::app::AppState;
use crate::auth::WriteAccess;
use crate::db::runner as db_runner;
use crate::db::runs as db_runs;
use crate::error::Result;
use crate::lifecycle;

type State = web::Data<AppState>;
type RunPath = web::Path<(String, String, String)>;

/// `POST runs/claim/`: 200 with the run, now `in_progress`, or 204 when nothing is queued.
pub async fn claim(state: State, access: WriteAccess, req: HttpRequest) -> Result<HttpResponse> {
    let project_id = access.project.id;
    let links = Links::new(&state, &req);
    let announce = state.runner.background(&state.signer);
    let claimed = state
        .db
        .write(move |c| {
            let Some(pk) = db_runner::claim(c, Some(project_id))? else {
                return Ok(None);
            };
            let run = db_runs::by_pk(c, pk)?;
            announce.run_changed(c, "queued", &run)?;
            Ok(Some(run))
        })
        .await?;
    let Some(mut run) = claimed else {
        return Ok(HttpResponse::NoContent().finish());
    };
    state.events.notify(run.pk);
    links.run(&mut run);
    Ok(HttpResponse::Ok().json(run))
}

/// `POST runs/:id/cancel/`: the run, cancelled unless it had already finished.
pub async fn cancel(
    state: State,
    access: WriteAccess,
    path: RunPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let project_id = access.project.id;
    let (_, task_id, run_id) = path.into_inner();
    let links = Links::new(&state, &req);
    let announce = state.runner.background(&state.signer);
    let mut run = state
        .db
        .write(move |c| {
            let run = db_runs::find(c, project_id, &task_id, &run_id)?;
            lifecycle::cancel(c, &run, &announce)
        })
        .await?;
    state.events.notify(run.pk);
    links.run(&mut run);
    Ok(HttpResponse::Ok().json(run))
}
