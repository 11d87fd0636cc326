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
use super::process::{explain, read_stderr, stop};
use super::terminals::Terminals;
use super::turns::{Fail, Turned, Watched, converse, first_prompt};
use super::{Agents, wire};
use crate::background::agent_run::{Outcome, finish, prepare};
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::background::workspace::Workspace;

/// Prepares the workspace, runs the agent, and says how the run should end.
pub(super) async fn attempt(
    agents: &Agents,
    api: &Api,
    run: &RunRef,
    log: &Log,
    watched: Watched,
) -> Outcome {
    let places = &agents.places;
    let (ws, task) = match prepare(places, api, run, log).await {
        Ok(both) => both,
        Err(why) => return Outcome::Failed(why),
    };
    let outcome = run_agent(agents, api, run, log, watched, &ws, &task).await;
    let outcome = match outcome {
        Ok(Turned::Ended(StopReason::Refusal)) => {
            Outcome::Failed("The agent refused to work on the task.".into())
        }
        Ok(Turned::Ended(StopReason::Cancelled)) | Ok(Turned::RunEnded) => Outcome::Ended,
        Ok(Turned::Ended(_)) => finish(places, agents.push, api, run, log, &ws).await,
        Err(why) => Outcome::Failed(why),
    };
    places.ended(&ws).await;
    outcome
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
