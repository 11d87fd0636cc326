//! The conversation with the agent: the handshake (initialize, session/new), the task as
//! the first session/prompt, follow-up prompts from `state.pending_user_message`, and
//! `session/cancel` when the run ends elsewhere.

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, FileSystemCapabilities, Implementation,
    InitializeRequest, NewSessionRequest, PromptRequest, StopReason, TextContent,
};
use agent_client_protocol::{Agent, ErrorCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Agents;
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::duration::humane;
use crate::runs::is_terminal;

/// The run as the runner last read it.
pub(super) type Watched = watch::Receiver<Option<Value>>;

/// Why the conversation failed: for a reason of Burrow's (a timeout, missing credentials),
/// or because a request to the agent failed, which an agent that exited explains better.
pub(super) enum Fail {
    Ours(String),
    Lost(String),
}

/// How the conversation ended.
pub(super) enum Turned {
    Ended(StopReason),
    /// The run ended elsewhere (cancelled, failed by the sweeper) and the agent was told.
    RunEnded,
}

fn ended(run: &Option<Value>) -> bool {
    run.as_ref()
        .is_some_and(|r| is_terminal(r["status"].as_str().unwrap_or_default()))
}

/// The task's title and description, as the first message.
pub(super) fn first_prompt(task: &Value) -> String {
    let title = task["title"].as_str().unwrap_or_default();
    let description = task["description"].as_str().unwrap_or_default();
    if title.is_empty() || description.starts_with(title) {
        description.to_string()
    } else {
        format!("{title}\n\n{description}")
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn converse(
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
