//! What Burrow answers when the agent asks: `fs/*` inside the workspace, `terminal/*`, and
//! `session/request_permission` by `--agent-permissions` (allow, deny, or ask a person
//! through the run's `state.pending_permission`). Every decision is logged. Requests that
//! wait (a command's exit, a person) are answered from a spawned task, so the connection
//! keeps reading the agent's messages meanwhile.

use std::path::PathBuf;
use std::sync::Arc;

use agent_client_protocol::v1::schema::{
    CreateTerminalRequest, CreateTerminalResponse, KillTerminalRequest, KillTerminalResponse,
    PermissionOptionKind, ReadTextFileRequest, ReadTextFileResponse, ReleaseTerminalRequest,
    ReleaseTerminalResponse, RequestPermissionOutcome, RequestPermissionRequest,
    RequestPermissionResponse, SelectedPermissionOutcome, SessionNotification, TerminalExitStatus,
    TerminalOutputRequest, TerminalOutputResponse, WaitForTerminalExitRequest,
    WaitForTerminalExitResponse, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::{Agent, Client, ConnectTo, Error, ErrorCode};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::files;
use super::terminals::{Exit, Terminals};
use crate::background::api_client::{Api, RunRef};
use crate::background::run_log::Log;
use crate::config::Permissions;

/// Everything the handlers of one session need.
pub struct Handlers {
    pub root: PathBuf,
    pub log: Log,
    pub terminals: Terminals,
    pub permissions: Permissions,
    pub api: Api,
    pub run: RunRef,
    /// The run as last read from the server, for answers given on it.
    pub watched: watch::Receiver<Option<Value>>,
}

fn refused(why: String) -> Error {
    Error::new(ErrorCode::INVALID_PARAMS, why)
}

fn exit_status(exit: &Exit) -> TerminalExitStatus {
    TerminalExitStatus::new()
        .exit_code(exit.code)
        .signal(exit.signal.clone())
}

impl Handlers {
    /// The answer to a permission request, logged.
    async fn decide(&self, req: &RequestPermissionRequest) -> RequestPermissionOutcome {
        let tool_call = serde_json::to_value(&req.tool_call).unwrap_or(Value::Null);
        let pick = |kinds: &[PermissionOptionKind]| {
            kinds.iter().find_map(|kind| {
                req.options
                    .iter()
                    .find(|o| o.kind == *kind)
                    .map(|o| o.option_id.to_string())
            })
        };
        let (chosen, by) = match self.permissions {
            Permissions::Allow => (
                pick(&[
                    PermissionOptionKind::AllowOnce,
                    PermissionOptionKind::AllowAlways,
                ]),
                "policy",
            ),
            Permissions::Deny => (
                pick(&[
                    PermissionOptionKind::RejectOnce,
                    PermissionOptionKind::RejectAlways,
                ]),
                "policy",
            ),
            Permissions::Ask => (self.ask(req, &tool_call).await, "person"),
        };
        self.log.burrow(
            "permission",
            json!({
                "toolCall": tool_call,
                "optionId": chosen,
                "decidedBy": if chosen.is_some() { by } else { "nobody" },
            }),
        );
        match chosen {
            Some(id) => RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(id)),
            None => RequestPermissionOutcome::Cancelled,
        }
    }

    /// Puts the question on the run and waits for `POST runs/:id/permission/` to answer it
    /// (it lands in `state.permission_answer`); `None` if the run ends first.
    async fn ask(&self, req: &RequestPermissionRequest, tool_call: &Value) -> Option<String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let options = serde_json::to_value(&req.options).unwrap_or(Value::Null);
        let question = json!({
            "request_id": request_id,
            "tool_call": tool_call,
            "options": options,
        });
        self.log.burrow("permission_asked", question.clone());
        let asked = self
            .api
            .patch(
                &self.run,
                &json!({"state": {"pending_permission": question}}),
            )
            .await;
        if let Err(e) = asked {
            tracing::warn!(run = %self.run.run, "cannot put a permission question on the run: {e}");
            return None;
        }
        let mut watched = self.watched.clone();
        let answer = watched
            .wait_for(|run| {
                run.as_ref().is_some_and(|run| {
                    crate::runs::is_terminal(run["status"].as_str().unwrap_or_default())
                        || run["state"]["permission_answer"]["request_id"] == request_id
                })
            })
            .await
            .ok()
            .and_then(|run| {
                let answer = &run.as_ref()?["state"]["permission_answer"];
                (answer["request_id"] == request_id)
                    .then(|| answer["option_id"].as_str().map(str::to_string))
                    .flatten()
            });
        let _ = self
            .api
            .patch(
                &self.run,
                &json!({"state_remove_keys": ["pending_permission", "permission_answer"]}),
            )
            .await;
        answer
    }
}

/// Connects to the agent over `transport` with every handler in place, and runs `main`
/// on the connection until it returns.
pub async fn connect<R>(
    transport: impl ConnectTo<Client> + 'static,
    h: Arc<Handlers>,
    main: impl AsyncFnOnce(agent_client_protocol::v1::ConnectionTo<Agent>) -> Result<R, Error>,
) -> Result<R, Error> {
    let (h1, h2, h3, h4, h5, h6, h7, h8) = (
        h.clone(),
        h.clone(),
        h.clone(),
        h.clone(),
        h.clone(),
        h.clone(),
        h.clone(),
        h.clone(),
    );
    Client
        .v1()
        .name("burrow")
        .on_receive_notification(
            // Logged as it arrived, with its params unchanged, by the wire tap.
            async move |_n: SessionNotification, _cx| Ok(()),
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            async move |req: ReadTextFileRequest, responder, _cx| match files::read(
                &h1.root, &req.path, req.line, req.limit,
            )
            .await
            {
                Ok(text) => responder.respond(ReadTextFileResponse::new(text)),
                Err(why) => {
                    h1.log.burrow(
                        "fs_refused",
                        json!({"method": "fs/read_text_file", "path": req.path, "reason": why}),
                    );
                    responder.respond_with_error(refused(why))
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: WriteTextFileRequest, responder, _cx| match files::write(
                &h2.root,
                &req.path,
                &req.content,
            )
            .await
            {
                Ok(()) => {
                    h2.log.burrow(
                        "fs_write",
                        json!({"path": req.path, "bytes": req.content.len()}),
                    );
                    responder.respond(WriteTextFileResponse::new())
                }
                Err(why) => {
                    h2.log.burrow(
                        "fs_refused",
                        json!({"method": "fs/write_text_file", "path": req.path, "reason": why}),
                    );
                    responder.respond_with_error(refused(why))
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: CreateTerminalRequest, responder, _cx| {
                let env: Vec<(String, String)> = req
                    .env
                    .iter()
                    .map(|v| (v.name.clone(), v.value.clone()))
                    .collect();
                let made = h3.terminals.create(
                    &req.command,
                    &req.args,
                    &env,
                    req.cwd.as_deref(),
                    req.output_byte_limit,
                );
                h3.log.burrow(
                    "terminal",
                    json!({"command": req.command, "args": req.args, "cwd": req.cwd,
                           "terminalId": made.as_ref().ok(), "error": made.as_ref().err()}),
                );
                match made {
                    Ok(id) => responder.respond(CreateTerminalResponse::new(id)),
                    Err(why) => responder.respond_with_error(refused(why)),
                }
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: TerminalOutputRequest, responder, _cx| match h4
                .terminals
                .output(&req.terminal_id.0)
            {
                Ok((text, truncated, exit)) => responder.respond(
                    TerminalOutputResponse::new(text, truncated)
                        .exit_status(exit.as_ref().map(exit_status)),
                ),
                Err(why) => responder.respond_with_error(refused(why)),
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: WaitForTerminalExitRequest, responder, cx| {
                let h = h5.clone();
                cx.spawn(async move {
                    match h.terminals.wait(&req.terminal_id.0).await {
                        Ok(exit) => {
                            responder.respond(WaitForTerminalExitResponse::new(exit_status(&exit)))
                        }
                        Err(why) => responder.respond_with_error(refused(why)),
                    }
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: KillTerminalRequest, responder, _cx| match h6
                .terminals
                .kill(&req.terminal_id.0)
            {
                Ok(()) => responder.respond(KillTerminalResponse::new()),
                Err(why) => responder.respond_with_error(refused(why)),
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: ReleaseTerminalRequest, responder, _cx| match h7
                .terminals
                .release(&req.terminal_id.0)
            {
                Ok(()) => responder.respond(ReleaseTerminalResponse::new()),
                Err(why) => responder.respond_with_error(refused(why)),
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |req: RequestPermissionRequest, responder, cx| {
                let h = h8.clone();
                cx.spawn(async move {
                    let outcome = h.decide(&req).await;
                    responder.respond(RequestPermissionResponse::new(outcome))
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .connect_with(transport, main)
        .await
}
