//! Workers and cancellation: `runs/claim/` hands the oldest queued cloud run of the project
//! to one caller (204 when none waits); `runs/:id/cancel/` cancels an unfinished run.

use actix_web::{HttpRequest, HttpResponse, web};

use super::on_run::OnRun;
use super::runs::run_ok;
use crate::auth::WriteAccess;
use crate::error::Result;
use crate::state::AppState;

type State = web::Data<AppState>;

/// `POST runs/claim/`: 200 with the run, now `in_progress`, or 204 when nothing is queued.
pub async fn claim(state: State, access: WriteAccess, req: HttpRequest) -> Result<HttpResponse> {
    let Some(run) = state.runs().claim(Some(access.project.id)).await? else {
        return Ok(HttpResponse::NoContent().finish());
    };
    Ok(run_ok(&state, &req, run))
}

/// `POST runs/:id/cancel/`: the run, cancelled unless it had already finished.
pub async fn cancel(call: OnRun<WriteAccess>) -> Result<HttpResponse> {
    let run = call.state.runs().cancel(call.ids()).await?;
    Ok(call.ok(run))
}
