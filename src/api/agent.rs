//! A person talking to a run's agent: `runs/:id/permission/` answers its waiting permission
//! question, `runs/:id/message/` queues a follow-up message. Both change the run's state,
//! where the agent runner picks them up.

use actix_web::HttpResponse;

use super::JsonObject;
use super::on_run::OnRun;
use crate::answers;
use crate::auth::WriteAccess;
use crate::config::RunnerKind;
use crate::db::runs::Run;
use crate::error::Result;
use crate::runs::RunChanges;

/// Applies `change` (made from the run as it is now) in one write, and answers the run.
async fn change(
    call: OnRun<WriteAccess>,
    change: impl FnOnce(&Run) -> Result<RunChanges> + Send + 'static,
) -> Result<HttpResponse> {
    let run = call.state.runs().tell(call.ids(), change).await?;
    Ok(call.ok(run))
}

/// `POST runs/:id/permission/`: `{"request_id", "option_id"}`.
pub async fn permission(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let (request_id, option_id) = answers::parse_answer(&body.object()?)?;
    change(call, move |run| {
        answers::answer(run, &request_id, &option_id)
    })
    .await
}

/// `POST runs/:id/message/`: `{"text"}`. With `--runner posthog-agent`, a finished run is
/// resumed as PostHog resumes it: the answer is the new run that carries the message.
pub async fn message(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let text = answers::parse_message(&body.object()?)?;
    if call.state.runner.kind() == RunnerKind::PosthogAgent
        && let Some(run) = call.state.runs().resume(call.ids(), text.clone()).await?
    {
        return Ok(call.ok(run));
    }
    change(call, move |run| answers::message(run, &text)).await
}
