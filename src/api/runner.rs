//! Workers and cancellation: `runs/claim/` hands the oldest queued cloud run of the project
//! to one caller, with its event ingest token (204 when none waits); `runs/:id/cancel/`
//! cancels an unfinished run.

use actix_web::{HttpRequest, HttpResponse, web};

use super::on_run::OnRun;
use crate::auth::{WriteAccess, ingest_token};
use crate::error::{Error, Result};
use crate::state::AppState;

type State = web::Data<AppState>;

/// `POST runs/claim/`: 200 with the run, now `in_progress`, and its event ingest token
/// (for this claimer only), or 204 when nothing is queued.
pub async fn claim(state: State, access: WriteAccess, req: HttpRequest) -> Result<HttpResponse> {
    let Some(mut run) = state.runs().claim(Some(access.project.id)).await? else {
        return Ok(HttpResponse::NoContent().finish());
    };
    state.links(&req).run(&mut run);
    let token = ingest_token(&state.signer, &run.id);
    let mut body = serde_json::to_value(run).map_err(Error::internal)?;
    body["event_ingest_token"] = token.into();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST runs/:id/cancel/`: the run, cancelled unless it had already finished.
pub async fn cancel(call: OnRun<WriteAccess>) -> Result<HttpResponse> {
    let run = call.state.runs().cancel(call.ids()).await?;
    Ok(call.ok(run))
}
