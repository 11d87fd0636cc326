//! Watching agent-server work a run: its log is read as it grows (turns it completed, errors
//! it reported), the run is read back (cancelled elsewhere, failed by the agent, a follow-up
//! waiting in `state.pending_user_message`), and follow-ups go to its `/command` endpoint
//! with a token signed by Burrow's key. In background mode it never ends the run itself:
//! this says when it is done.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::signing::Keys;
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::clock;
use crate::runs::is_terminal;

/// How often the log and the run are read back.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// Longest a follow-up's turn may take before its `/command` request is given up.
const TURN_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// How agent-server's work ended.
pub enum Ended {
    /// Its turns are complete and no follow-up waits.
    Done,
    /// It reported an error: the message.
    Error(String),
    /// It exited by itself before it was done.
    Exited(std::process::ExitStatus),
    /// The run ended elsewhere (cancelled, failed by the sweeper or by the agent).
    Elsewhere,
}

/// The agent's error message in a `_posthog/error` entry.
fn error_message(params: &Value) -> String {
    ["message", "error"]
        .iter()
        .find_map(|k| params[*k].as_str())
        .map_or_else(
            || "The agent reported an error.".to_string(),
            str::to_string,
        )
}

/// Where agent-server listens, and what signs for it.
pub struct Line<'a> {
    pub port: u16,
    pub keys: &'a Keys,
}

/// Follows the run until agent-server is done, fails, exits or the run ends elsewhere.
pub async fn follow(
    api: &Api,
    run: &RunRef,
    log: &Log,
    child: &mut Child,
    line: Line<'_>,
) -> Ended {
    let mut read = 0usize;
    let mut turns_done = 0u64;
    let mut turns_asked = 1u64;
    let mut delivery: Option<JoinHandle<Result<Value, String>>> = None;
    loop {
        tokio::select! {
            exit = child.wait() => {
                if let Ok(now) = api.run(run).await
                    && is_terminal(now["status"].as_str().unwrap_or_default())
                {
                    return Ended::Elsewhere;
                }
                return match exit {
                    Ok(status) => Ended::Exited(status),
                    Err(e) => Ended::Error(format!("Burrow lost agent-server: {e}")),
                };
            }
            done = async { delivery.as_mut().expect("guarded").await }, if delivery.is_some() => {
                delivery = None;
                match done {
                    Ok(Ok(answer)) if answer.get("error").is_none() => {}
                    Ok(Ok(answer)) => {
                        // The message did not start a turn: nothing will complete for it.
                        turns_asked -= 1;
                        log.burrow("follow_up_refused", json!({"answer": answer}));
                    }
                    Ok(Err(why)) => {
                        turns_asked -= 1;
                        log.burrow("follow_up_failed", json!({"reason": why}));
                    }
                    Err(_) => turns_asked -= 1,
                }
            }
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
        if let Ok(entries) = api.log_after(run, read).await {
            read += entries.len();
            for entry in &entries {
                let method = entry["notification"]["method"].as_str().unwrap_or_default();
                match method {
                    "_posthog/turn_complete" => turns_done += 1,
                    "_posthog/error" => {
                        return Ended::Error(error_message(&entry["notification"]["params"]));
                    }
                    _ => {}
                }
            }
        }
        let Ok(now) = api.run(run).await else {
            continue;
        };
        if is_terminal(now["status"].as_str().unwrap_or_default()) {
            return Ended::Elsewhere;
        }
        let idle = turns_done >= turns_asked && delivery.is_none();
        if !idle {
            continue;
        }
        let Some(text) = now["state"]["pending_user_message"]
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
        else {
            return Ended::Done;
        };
        if api
            .patch(run, &json!({"state_remove_keys": ["pending_user_message"]}))
            .await
            .is_err()
        {
            continue;
        }
        log.burrow("follow_up_sent", json!({"text": text}));
        turns_asked += 1;
        let token = line
            .keys
            .token(&run.run, &run.task, run.project, clock::unix_now());
        delivery = Some(tokio::spawn(send(line.port, token, text)));
    }
}

/// POSTs a follow-up to agent-server's `/command` as PostHog's desktop does: a JSON-RPC
/// `user_message`. Its answer comes when the turn it starts has ended.
async fn send(port: u16, token: String, text: String) -> Result<Value, String> {
    let http = reqwest::Client::builder()
        .timeout(TURN_LIMIT)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "user_message",
        "params": {"content": text, "messageId": id},
    });
    let resp = http
        .post(format!("http://127.0.0.1:{port}/command"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("agent-server's /command: {e}"))?;
    let status = resp.status();
    let answer: Value =
        serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!(
            "agent-server's /command answered {status}: {answer}"
        ));
    }
    Ok(answer)
}
