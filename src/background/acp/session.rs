//! One run's work, from the workspace to the outcome: prepare the worktree, start the
//! agent and talk to it (`turns`), stop it (`process`), and on a good ending commit, upload
//! the diff and push. Every failure becomes the run's reason (a clone, an early exit,
//! garbage, a timeout, missing credentials), with the agent's last stderr lines in the log.

use std::process::Stdio;
use std::sync::Arc;

use agent_client_protocol::v1::schema::StopReason;
use serde_json::{Value, json};

use super::handlers::{self, Handlers};
use super::jail::{Group, Jail};
use super::log::Log;
use super::process::{explain, read_stderr, stop};
use super::terminals::Terminals;
use super::turns::{Fail, Turned, Watched, converse, first_prompt};
use super::{Agents, Outcome, wire};
use crate::background::api_client::{Api, RunRef};
use crate::background::workspace::Workspace;

/// Prepares the workspace, runs the agent, and says how the run should end.
pub(super) async fn attempt(
    agents: &Agents,
    api: &Api,
    run: &RunRef,
    log: &Log,
    watched: Watched,
) -> Outcome {
    let (task, current) = match tokio::try_join!(api.task(run), api.run(run)) {
        Ok(both) => both,
        Err(e) => return Outcome::Failed(format!("The agent runner cannot read the run: {e}")),
    };
    let slug = task["slug"].as_str().unwrap_or("task");
    let places = &agents.places;
    let ws = match places
        .prepare(
            &run.run,
            slug,
            task["repository"].as_str(),
            current["branch"].as_str(),
        )
        .await
    {
        Ok(ws) => ws,
        Err(why) => {
            return Outcome::Failed(format!("Could not prepare the workspace: {why}"));
        }
    };
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
    let outcome = run_agent(agents, api, run, log, watched, &ws, &task).await;
    let outcome = match outcome {
        Ok(Turned::Ended(StopReason::Refusal)) => {
            Outcome::Failed("The agent refused to work on the task.".into())
        }
        Ok(Turned::Ended(StopReason::Cancelled)) | Ok(Turned::RunEnded) => Outcome::Ended,
        Ok(Turned::Ended(_)) => finish(agents, api, run, log, &ws).await,
        Err(why) => Outcome::Failed(why),
    };
    places.ended(&ws).await;
    outcome
}

/// Commits what is left, uploads the diff, pushes if asked: the completed run's output.
async fn finish(agents: &Agents, api: &Api, run: &RunRef, log: &Log, ws: &Workspace) -> Outcome {
    let places = &agents.places;
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
        if agents.push {
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

async fn run_agent(
    agents: &Agents,
    api: &Api,
    run: &RunRef,
    log: &Log,
    watched: Watched,
    ws: &Workspace,
    task: &Value,
) -> Result<Turned, String> {
    let root = ws
        .work
        .canonicalize()
        .map_err(|e| format!("The workspace is gone: {e}"))?;
    let mut writable = vec![ws.dir.as_path()];
    if let Some(mirror) = &ws.mirror {
        writable.push(mirror.as_path());
    }
    let jail = Jail::new(
        &ws.home,
        &agents.env,
        agents.sandbox,
        &writable,
        &agents.data_dir,
    );
    let mut cmd = jail.command("sh", &["-c".into(), agents.command.clone()], &root, &[]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("Could not start the agent ({}): {e}", agents.command))?;
    let group = Group::of(child.id());
    log.burrow(
        "agent_started",
        json!({"command": agents.command, "pid": child.id(), "sandbox": agents.sandbox}),
    );
    let tail = read_stderr(&mut child);
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("The agent's stdin and stdout were not piped.".into());
    };
    let (transport, broken) = wire::transport(stdin, stdout, log.clone());
    let h = Arc::new(Handlers {
        root: root.clone(),
        log: log.clone(),
        terminals: Terminals::new(jail, &root),
        permissions: agents.permissions,
        api: api.clone(),
        run: run.clone(),
        watched: watched.clone(),
    });
    let prompt = first_prompt(task);
    let talked = handlers::connect(transport, h.clone(), async |cx| {
        Ok(converse(cx, agents, api, run, log, watched, &root, prompt).await)
    })
    .await;
    h.terminals.close_all();
    let exit = stop(&mut child, &group, agents.grace, log).await;
    log.burrow(
        "agent_exited",
        json!({"code": exit.code, "signal": exit.signal, "byItself": exit.by_itself}),
    );
    let result = match talked {
        Ok(result) => result,
        Err(e) => Err(Fail::Lost(e.message)),
    };
    match result {
        Ok(turned) => Ok(turned),
        Err(fail) => {
            let lines: Vec<String> = tail.lock().unwrap().iter().cloned().collect();
            if !lines.is_empty() {
                log.burrow("agent_stderr", json!({"lines": lines}));
            }
            let reason = broken.lock().unwrap().clone();
            Err(reason.unwrap_or_else(|| match fail {
                Fail::Ours(why) => why,
                Fail::Lost(why) => explain(why, exit),
            }))
        }
    }
}
