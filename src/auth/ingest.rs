//! The event ingest token: the credential `event_stream/` takes, as PostHog's does, instead
//! of an API key. Burrow mints one per run and hands it only to the run's runner (the
//! answer of `runs/claim/`, and agent-server's `POSTHOG_TASK_RUN_EVENT_INGEST_TOKEN`). It
//! opens that one run's event stream and nothing else, for a week. It is signed with the
//! installation's signing key, so it is not stored anywhere.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::bearer;
use crate::clock;
use crate::crypto::Signer;
use crate::db::runs::{self as db_runs, Run};
use crate::error::{Error, Result};
use crate::state::AppState;

/// How long an ingest token lasts, in seconds.
pub const INGEST_TOKEN_SECS: i64 = 7 * 24 * 3600;

/// What every ingest token starts with, so that it is never taken for an API key.
const PREFIX: &str = "bit_";

fn purpose(run_id: &str) -> String {
    format!("event_stream:{run_id}")
}

/// A fresh ingest token for run `run_id`.
pub fn ingest_token(signer: &Signer, run_id: &str) -> String {
    let token = signer.token(&purpose(run_id), clock::unix_now() + INGEST_TOKEN_SECS);
    format!("{PREFIX}{token}")
}

/// A request on `…/tasks/{task_id}/runs/{run_id}/…` that carries that run's ingest token.
/// Checked before any body is read. The run itself is looked up by the handler: the token
/// names the run, the path must name it in its project and task.
pub struct RunToken {
    pub state: web::Data<AppState>,
    pub project_id: i64,
    pub task_id: String,
    pub run_id: String,
}

impl RunToken {
    /// The run the path names, in its project and task, else 404.
    pub async fn run(&self) -> Result<Run> {
        let (project_id, task_id, run_id) =
            (self.project_id, self.task_id.clone(), self.run_id.clone());
        self.state
            .db
            .read(move |c| db_runs::find(c, project_id, &task_id, &run_id))
            .await
    }
}

fn check(req: &HttpRequest) -> Result<RunToken> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::internal("application state missing"))?;
    let part = |name| req.match_info().get(name).unwrap_or("").to_string();
    let (task_id, run_id) = (part("task_id"), part("run_id"));
    let token = bearer(req)?.ok_or(Error::NotAuthenticated)?;
    let Some(signed) = token.strip_prefix(PREFIX) else {
        return Err(Error::AuthenticationFailed(
            "event_stream/ takes the run's event ingest token, which Burrow hands to the \
             run's runner, not an API key."
                .into(),
        ));
    };
    state
        .signer
        .verify(&purpose(&run_id), signed, clock::unix_now())
        .map_err(|_| {
            Error::AuthenticationFailed(
                "Invalid or expired event ingest token for this run.".into(),
            )
        })?;
    // The token names the run; a project that is not a number cannot hold it.
    let project_id = part("project_id").parse().map_err(|_| Error::NotFound)?;
    Ok(RunToken {
        state,
        project_id,
        task_id,
        run_id,
    })
}

impl FromRequest for RunToken {
    type Error = Error;
    type Future = Ready<Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check(req))
    }
}
