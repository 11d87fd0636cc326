//! One run's session with its agent, from the workspace to the last turn: the handshake
//! (initialize, session/new, session/prompt), follow-up prompts from
//! `state.pending_user_message`, `session/cancel` when the run ends elsewhere, and the
//! reasons a run fails (a clone, an early exit, garbage, a timeout, missing credentials).

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, FileSystemCapabilities, Implementation,
    InitializeRequest, NewSessionRequest, PromptRequest, StopReason, TextContent,
};
use agent_client_protocol::{Agent, ErrorCode};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::watch;

use super::handlers::{self, Handlers};
use super::jail::{Group, Jail};
use super::log::Log;
use super::terminals::Terminals;
use super::{Agents, Outcome, wire};
use crate::background::api_client::{Api, RunRef};
use crate::background::workspace::Workspace;
use crate::duration::humane;
use crate::runs::is_terminal;

/// How many of the agent's last stderr lines a failed run's log shows.
const STDERR_LINES: usize = 40;

type Watched = watch::Receiver<Option<Value>>;

/// Why the conversation failed: for a reason of Burrow's (a timeout, missing credentials),
/// or because a request to the agent failed, which an agent that exited explains better.
enum Fail {
    Ours(String),
    Lost(String),
}

/// How the conversation ended.
enum Turned {
    Ended(StopReason),
    /// The run ended elsewhere (cancelled, failed by the sweeper) and the agent was told.
    RunEnded,
}

fn ended(run: &Option<Value>) -> bool {
    run.as_ref()
        .is_some_and(|r| is_terminal(r["status"].as_str().unwrap_or_default()))
}

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

/// The last lines the agent wrote on stderr.
type Tail = Arc<Mutex<VecDeque<String>>>;

fn read_stderr(child: &mut Child) -> Tail {
    let tail: Tail = Arc::default();
    if let Some(stderr) = child.stderr.take() {
        let tail = tail.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut t = tail.lock().unwrap();
                if t.len() == STDERR_LINES {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
    }
    tail
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

/// A failed request in words: an agent that exited by itself is named by its exit.
fn explain(why: String, exit: Exit) -> String {
    match exit {
        Exit {
            by_itself: false, ..
        } => why,
        Exit {
            code: Some(code), ..
        } => {
            format!("The agent exited with code {code} before its turn ended.")
        }
        Exit {
            signal: Some(signal),
            ..
        } => {
            format!("The agent was killed by signal {signal} before its turn ended.")
        }
        _ => why,
    }
}

/// How the agent's process ended.
#[derive(Debug, Clone, Copy)]
struct Exit {
    code: Option<i32>,
    signal: Option<i32>,
    /// It had exited before Burrow stopped it.
    by_itself: bool,
}

/// Stops the agent: a real agent does not exit when its stdin closes, so its process group
/// gets SIGTERM, then SIGKILL after the grace period. Its exit code or signal.
async fn stop(child: &mut Child, group: &Group, grace: Duration, log: &Log) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    let mut by_itself = false;
    let status = match tokio::time::timeout(Duration::from_millis(200), child.wait()).await {
        Ok(status) => {
            by_itself = true;
            status.ok()
        }
        Err(_) => {
            group.signal(Signal::SIGTERM);
            let deadline = tokio::time::Instant::now() + grace;
            let status = tokio::time::timeout_at(deadline, child.wait()).await;
            // The agent's own children share its grace period.
            while group.alive() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if group.alive() || status.is_err() {
                log.burrow(
                    "agent_killed",
                    json!({"reason": format!("The agent did not stop within {} of SIGTERM (--runner-grace).", humane(grace))}),
                );
                group.signal(Signal::SIGKILL);
            }
            match status {
                Ok(status) => status.ok(),
                Err(_) => child.wait().await.ok(),
            }
        }
    };
    group.signal(Signal::SIGKILL);
    Exit {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        by_itself,
    }
}

/// The task's title and description, as the first message.
fn first_prompt(task: &Value) -> String {
    let title = task["title"].as_str().unwrap_or_default();
    let description = task["description"].as_str().unwrap_or_default();
    if title.is_empty() || description.starts_with(title) {
        description.to_string()
    } else {
        format!("{title}\n\n{description}")
    }
}

#[allow(clippy::too_many_arguments)]
async fn converse(
    cx: agent_client_protocol::v1::ConnectionTo<Agent>,
    agents: &Agents,
    api: &Api,
    run: &RunRef,
    log: &Log,
    watched: Watched,
    root: &std::path::Path,
    first: String,
) -> Result<Turned, Fail> {
    let limit = agents.start_timeout;
    let late = |what: &str| {
        Fail::Ours(format!(
            "The agent did not answer {what} within {} (--agent-start-timeout).",
            humane(limit)
        ))
    };
    let capabilities = ClientCapabilities::new()
        .fs(FileSystemCapabilities::new()
            .read_text_file(true)
            .write_text_file(true))
        .terminal(true);
    let init = InitializeRequest::new(ProtocolVersion::V1)
        .client_capabilities(capabilities)
        .client_info(Implementation::new("burrow", env!("CARGO_PKG_VERSION")));
    let ready = tokio::time::timeout(limit, cx.send_request(init).block_task())
        .await
        .map_err(|_| late("initialize"))?
        .map_err(|e| Fail::Lost(format!("The agent failed initialize: {}", e.message)))?;
    log.burrow(
        "agent_ready",
        json!({
            "protocolVersion": ready.protocol_version,
            "agentInfo": ready.agent_info,
            "authMethods": ready.auth_methods,
        }),
    );
    let created = tokio::time::timeout(
        limit,
        cx.send_request(NewSessionRequest::new(root)).block_task(),
    )
    .await
    .map_err(|_| late("session/new"))?;
    let session = match created {
        Ok(s) => s.session_id,
        Err(e) if e.code == ErrorCode::from(-32000) => {
            let methods: Vec<String> = ready
                .auth_methods
                .iter()
                .map(|m| {
                    serde_json::to_value(m)
                        .ok()
                        .and_then(|v| v["name"].as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect();
            return Err(Fail::Ours(format!(
                "The agent needs authentication ({}) and Burrow cannot sign it in: give it \
                 credentials through --agent-env (for example ANTHROPIC_API_KEY).",
                if methods.is_empty() {
                    e.message
                } else {
                    methods.join(", ")
                }
            )));
        }
        Err(e) => {
            return Err(Fail::Lost(format!(
                "The agent failed session/new: {}",
                e.message
            )));
        }
    };
    log.burrow("session_started", json!({"sessionId": session}));
    let mut text = first;
    loop {
        log.update(json!({
            "sessionId": session,
            "update": {"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": text}},
        }));
        let prompt = PromptRequest::new(
            session.clone(),
            vec![ContentBlock::Text(TextContent::new(text))],
        );
        let reply = cx.send_request(prompt).block_task();
        tokio::pin!(reply);
        let mut watching = watched.clone();
        let run_ended = async {
            if watching.wait_for(ended).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let answered = tokio::select! {
            answered = &mut reply => answered,
            () = run_ended => {
                let _ = cx.send_notification(CancelNotification::new(session.clone()));
                log.burrow("cancel_sent", json!({"sessionId": session}));
                let _ = tokio::time::timeout(agents.grace, &mut reply).await;
                return Ok(Turned::RunEnded);
            }
        };
        let stop = answered
            .map_err(|e| Fail::Lost(format!("The agent failed its turn: {}", e.message)))?
            .stop_reason;
        log.burrow("turn_ended", json!({"stopReason": stop}));
        if stop != StopReason::EndTurn
            && stop != StopReason::MaxTokens
            && stop != StopReason::MaxTurnRequests
        {
            return Ok(Turned::Ended(stop));
        }
        match next_message(api, run).await {
            Some(next) => text = next,
            None => return Ok(Turned::Ended(stop)),
        }
    }
}

/// A follow-up message waiting on the run (`state.pending_user_message`), taken off it.
async fn next_message(api: &Api, run: &RunRef) -> Option<String> {
    let now = api.run(run).await.ok()?;
    if is_terminal(now["status"].as_str().unwrap_or_default()) {
        return None;
    }
    let text = now["state"]["pending_user_message"].as_str()?.to_string();
    api.patch(run, &json!({"state_remove_keys": ["pending_user_message"]}))
        .await
        .ok()?;
    Some(text)
}
