//! A person talking to a run's agent: `runs/:id/permission/` answers its waiting permission
//! question, `runs/:id/message/` queues a follow-up message. Both change the run's state,
//! where the agent runner picks them up.

use actix_web::{HttpRequest, HttpResponse, web};

use super::JsonObject;
use super::runs::{run_ids, run_ok};
use crate::answers;
use crate::auth::WriteAccess;
use crate::db::runs::Run;
use crate::error::Result;
use crate::runs::RunChanges;
use crate::state::AppState;

type State = web::Data<AppState>;
type RunPath = web::Path<(String, String, String)>;

/// Applies `change` (made from the run as it is now) in one write, and answers the run.
async fn change(
    state: State,
    access: WriteAccess,
    path: RunPath,
    req: HttpRequest,
    change: impl FnOnce(&Run) -> Result<RunChanges> + Send + 'static,
) -> Result<HttpResponse> {
    let run = state.runs().tell(run_ids(&access, path), change).await?;
    Ok(run_ok(&state, &req, run))
}

/// `POST runs/:id/permission/`: `{"request_id", "option_id"}`.
pub async fn permission(
    state: State,
    access: WriteAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (request_id, option_id) = answers::parse_answer(&body.object()?)?;
    change(state, access, path, req, move |run| {
        answers::answer(run, &request_id, &option_id)
    })
    .await
}

/// `POST runs/:id/message/`: `{"text"}`.
pub async fn message(
    state: State,
    access: WriteAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let text = answers::parse_message(&body.object()?)?;
    change(state, access, path, req, move |run| {
        answers::message(run, &text)
    })
    .await
}
