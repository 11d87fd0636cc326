//! What every agent runner (ACP, PostHog's agent-server) does around its agent: prepare the
//! run's workspace from its task, and end the run: what the agent left in the workspace
//! becomes a commit, a `changes.diff` artifact and the run's output and branch (pushed when
//! asked), and the outcome is PATCHed onto the run.

use serde_json::{Value, json};

use super::api_client::{Api, RunRef};
use super::run_log::Log;
use super::workspace::{Places, Workspace};
use crate::runs::Status;

/// How a run's work ended, as the runner settles it.
pub enum Outcome {
    Completed {
        output: Value,
        branch: Option<String>,
    },
    Failed(String),
    /// Someone else ended the run (cancel, the sweeper, the agent itself): leave it as it is.
    Ended,
}

/// Reads the task and the run and prepares the run's workspace (logged as
/// `_burrow/workspace_ready`); the task, or why the run fails.
pub async fn prepare(
    places: &Places,
    api: &Api,
    run: &RunRef,
    log: &Log,
) -> Result<(Workspace, Value), String> {
    let (task, current) = tokio::try_join!(api.task(run), api.run(run))
        .map_err(|e| format!("The agent runner cannot read the run: {e}"))?;
    let slug = task["slug"].as_str().unwrap_or("task");
    let ws = places
        .prepare(
            &run.run,
            slug,
            task["repository"].as_str(),
            current["branch"].as_str(),
        )
        .await
        .map_err(|why| format!("Could not prepare the workspace: {why}"))?;
    log.burrow(
        "workspace_ready",
        json!({
            "path": ws.work,
            "repository": task["repository"],
            "branch": ws.branch,
            "baseBranch": ws.base_branch,
            "baseCommit": ws.base_commit,
        }),
    );
    Ok((ws, task))
}

/// Commits what is left, uploads the diff, pushes if asked: the completed run's output.
pub async fn finish(
    places: &Places,
    push: bool,
    api: &Api,
    run: &RunRef,
    log: &Log,
    ws: &Workspace,
) -> Outcome {
    let message = format!("Burrow run {}", run.run);
    if let Err(why) = places.commit(ws, &message).await {
        return Outcome::Failed(format!("Could not commit the agent's changes: {why}"));
    }
    let changes = match places.changes(ws).await {
        Ok(c) => c,
        Err(why) => return Outcome::Failed(format!("Could not read the agent's changes: {why}")),
    };
    let changed = changes.files_changed > 0;
    let commit = changes.commit.filter(|_| changed);
    if changed {
        if let Err(e) = api
            .upload(run, "changes.diff", "output", &changes.diff)
            .await
        {
            return Outcome::Failed(format!("Could not upload changes.diff: {e}"));
        }
        if push {
            if let Err(why) = places.push(ws).await {
                return Outcome::Failed(format!("Could not push the run's branch: {why}"));
            }
            log.burrow("pushed", json!({"branch": ws.branch}));
        }
    }
    log.burrow(
        "committed",
        json!({"branch": ws.branch, "commit": commit, "filesChanged": changes.files_changed}),
    );
    Outcome::Completed {
        output: json!({
            "head_branch": ws.branch,
            "base_branch": ws.base_branch,
            "commit": commit,
            "files_changed": changes.files_changed,
            "insertions": changes.insertions,
            "deletions": changes.deletions,
        }),
        branch: ws.branch.clone().filter(|_| changed),
    }
}

/// PATCHes the outcome onto the run, once everything logged before it has been sent.
pub async fn settle(api: &Api, run: &RunRef, log: &Log, outcome: Outcome) {
    let patch = match outcome {
        Outcome::Completed { output, branch } => {
            let mut body = json!({"status": Status::Completed.as_str(), "output": output});
            if let Some(branch) = branch {
                body["branch"] = json!(branch);
            }
            Some(body)
        }
        Outcome::Failed(why) => {
            log.burrow("run_failed", json!({"reason": why}));
            Some(json!({"status": Status::Failed.as_str(), "error_message": why}))
        }
        Outcome::Ended => None,
    };
    log.flush().await;
    if let Some(body) = patch
        && let Err(e) = api.patch(run, &body).await
    {
        tracing::warn!(run = %run.run, "cannot settle the run: {e}");
    }
}
