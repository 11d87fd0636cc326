//! What a run's agent sends besides PATCHes and `append_log/`: `relay_message/` (its answer
//! after a turn) and `event_stream/` (its events as NDJSON, read as they arrive).

use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;

use super::JsonObject;
use super::on_run::OnRun;
use crate::auth::{RunToken, WriteAccess};
use crate::error::{Error, Result};
use crate::runs::{EventLine, Ingested, Relay, parse_event_line};

/// Longest event line, in bytes, as PostHog bounds it.
pub const EVENT_LINE_MAX_BYTES: usize = 1_000_000;
/// Most bytes one `event_stream/` request may carry.
pub const EVENT_REQUEST_MAX_BYTES: usize = 5_000_000;
/// Most events one `event_stream/` request may carry.
pub const EVENT_REQUEST_MAX_EVENTS: i64 = 1_000;

/// `POST runs/:id/relay_message/`: `{"status": "accepted", "relay_id"}`, or
/// `{"status": "skipped"}` for a finished run or an empty text.
pub async fn relay_message(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let relay = Relay::parse(&body.object()?)?;
    let cap = call.state.config.log_max_bytes;
    Ok(
        match call.state.runs().relay(call.ids(), relay, cap).await? {
            Some(id) => HttpResponse::Ok().json(json!({"status": "accepted", "relay_id": id})),
            None => HttpResponse::Ok().json(json!({"status": "skipped"})),
        },
    )
}

/// `POST runs/:id/event_stream/`: NDJSON lines `{"seq", "event"}`, maybe ending with
/// `{"type": "_posthog/stream_complete", "final_seq"}`. Each chunk's complete lines are
/// stored as they arrive; memory is one line and one chunk. An empty body asks for
/// `last_accepted_seq`, where a reconnecting sender resumes.
/// It takes the run's event ingest token, not an API key (see `auth::ingest`).
pub async fn event_stream(call: RunToken, mut body: web::Payload) -> Result<HttpResponse> {
    let run = call.run().await?;
    let state = &call.state;
    let runs = state.runs();
    let cap = state.config.log_max_bytes;
    let mut total = Ingested {
        last_accepted_seq: runs.event_seq(run.pk).await?,
        ..Ingested::default()
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut received = 0usize;
    let mut events = 0i64;
    let mut completed = false;
    let mut finished = false;
    while !finished {
        let chunk = match body.next().await {
            Some(chunk) => chunk.map_err(|e| Error::invalid("event", "invalid", e.to_string()))?,
            None => {
                finished = true;
                pending.push(b'\n');
                web::Bytes::new()
            }
        };
        received += chunk.len();
        if received > EVENT_REQUEST_MAX_BYTES {
            return Err(Error::TooLarge(format!(
                "An event stream request carries at most {EVENT_REQUEST_MAX_BYTES} bytes."
            )));
        }
        pending.extend_from_slice(&chunk);
        let Some(end) = memchr::memrchr(b'\n', &pending) else {
            if pending.len() > EVENT_LINE_MAX_BYTES {
                return Err(line_too_large());
            }
            continue;
        };
        let mut batch = Vec::new();
        for line in pending[..end].split(|b| *b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if line.len() > EVENT_LINE_MAX_BYTES {
                return Err(line_too_large());
            }
            if completed {
                return Err(Error::invalid(
                    "event",
                    "invalid",
                    "The completion line must be the stream's last line.",
                ));
            }
            match parse_event_line(line)? {
                EventLine::Complete(_) => completed = true,
                EventLine::Event(seq, entry) => {
                    events += 1;
                    if events > EVENT_REQUEST_MAX_EVENTS {
                        return Err(Error::TooLarge(format!(
                            "An event stream request carries at most {EVENT_REQUEST_MAX_EVENTS} events."
                        )));
                    }
                    batch.push((seq, entry));
                }
            }
        }
        pending.drain(..=end);
        if pending.len() > EVENT_LINE_MAX_BYTES {
            return Err(line_too_large());
        }
        if !batch.is_empty() {
            let done = runs.ingest(run.pk, batch, cap).await?;
            total.accepted += done.accepted;
            total.duplicate += done.duplicate;
            total.last_accepted_seq = done.last_accepted_seq;
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "accepted": total.accepted,
        "duplicate": total.duplicate,
        "last_accepted_seq": total.last_accepted_seq,
    })))
}

fn line_too_large() -> Error {
    Error::TooLarge(format!(
        "An event line is at most {EVENT_LINE_MAX_BYTES} bytes."
    ))
}
