//! What a person tells a run's agent, as changes to the run's state: the answer to the
//! permission question in `state.pending_permission` (moved to `state.permission_answer`),
//! and a follow-up message in `state.pending_user_message`, the key PostHog's agent reads.
//! The agent runner, wherever it is, watches the run and passes them on.

use serde_json::{Map, Value, json};

use crate::db::runs::Run;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::runs::{RunChanges, is_terminal};

/// Longest follow-up message, in characters.
pub const MESSAGE_MAX_CHARS: usize = 100_000;
/// Longest permission request and option ids, in characters.
pub const REQUEST_ID_MAX_CHARS: usize = 100;
pub const OPTION_ID_MAX_CHARS: usize = 255;

fn state_of(run: &Run) -> Result<Map<String, Value>> {
    match serde_json::from_str(run.state.get()).map_err(Error::internal)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn still_running(run: &Run) -> Result<()> {
    if is_terminal(&run.status) {
        return Err(Error::body(
            "run_finished",
            format!("This run has finished ({}): its agent is gone.", run.status),
        ));
    }
    Ok(())
}

/// The `request_id` and `option_id` of a `POST runs/:id/permission/` body.
pub fn parse_answer(body: &Map<String, Value>) -> Result<(String, String)> {
    let f = Fields::new(body);
    let request = f
        .text("request_id", Some(REQUEST_ID_MAX_CHARS), false)?
        .required()?;
    let option = f
        .text("option_id", Some(OPTION_ID_MAX_CHARS), false)?
        .required()?;
    Ok((request, option))
}

/// The state change that answers the waiting question, checked against it.
pub fn answer(run: &Run, request_id: &str, option_id: &str) -> Result<RunChanges> {
    still_running(run)?;
    let state = state_of(run)?;
    let pending = state
        .get("pending_permission")
        .filter(|p| p["request_id"] == request_id)
        .ok_or_else(|| {
            Error::invalid(
                "request_id",
                "invalid",
                "No permission question with this request_id is waiting on this run.",
            )
        })?;
    let known = pending["options"]
        .as_array()
        .is_some_and(|options| options.iter().any(|o| o["optionId"] == option_id));
    if !known {
        return Err(Error::invalid(
            "option_id",
            "invalid_choice",
            format!("\"{option_id}\" is not one of the question's options."),
        ));
    }
    let mut changes = RunChanges::default();
    let mut set = Map::new();
    set.insert(
        "permission_answer".into(),
        json!({"request_id": request_id, "option_id": option_id}),
    );
    changes.state = Some(set);
    changes.state_remove_keys = vec!["pending_permission".into()];
    Ok(changes)
}

/// The text of a `POST runs/:id/message/` body.
pub fn parse_message(body: &Map<String, Value>) -> Result<String> {
    Fields::new(body)
        .text("text", Some(MESSAGE_MAX_CHARS), false)?
        .required()
}

/// The state change that queues a follow-up message; one already waiting is kept, with
/// this one after it.
pub fn message(run: &Run, text: &str) -> Result<RunChanges> {
    still_running(run)?;
    let state = state_of(run)?;
    let text = match state.get("pending_user_message").and_then(Value::as_str) {
        Some(waiting) if !waiting.is_empty() => format!("{waiting}\n\n{text}"),
        _ => text.to_string(),
    };
    let mut changes = RunChanges::default();
    let mut set = Map::new();
    set.insert("pending_user_message".into(), Value::String(text));
    changes.state = Some(set);
    Ok(changes)
}
