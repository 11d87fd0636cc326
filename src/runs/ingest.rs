//! What a run's agent reports about itself besides PATCHes and `append_log/`: the answer it
//! relays after a turn (`relay_message/`), its numbered event stream (`event_stream/`), and
//! the model usage the LLM gateway saw for its key.

use serde_json::{Map, Value, json};

use super::{RunChanges, Runs, event_ids, is_terminal, lifecycle};
use crate::clock;
use crate::db::logs::{self as db_logs, Appended};
use crate::db::run_status as db_run_status;
use crate::db::run_usage::{self as db_run_usage, Usage};
use crate::db::runs as db_runs;
use crate::error::{Error, Result};
use crate::fields::Fields;

/// Longest relayed answer, in characters.
pub const RELAY_TEXT_MAX_CHARS: usize = 100_000;
/// Longest `message_id` / `trace_id` of a relayed answer, in characters.
pub const RELAY_ID_MAX_CHARS: usize = 200;
/// The state key that holds the run's latest relayed answer.
pub const LATEST_MESSAGE_KEY: &str = "latest_agent_message";
/// The state key that mirrors the gateway's usage counters for the run.
pub const LLM_USAGE_KEY: &str = "llm_usage";

/// A `relay_message/` body.
pub struct Relay {
    text: String,
    text_parts: Option<Vec<Value>>,
    message_id: Option<String>,
    trace_id: Option<String>,
}

impl Relay {
    /// `{"text", "text_parts"?, "message_id"?, "trace_id"?}`, as `@posthog/agent` sends it.
    pub fn parse(body: &Map<String, Value>) -> Result<Relay> {
        let f = Fields::new(body);
        let text = f
            .text("text", Some(RELAY_TEXT_MAX_CHARS), true)?
            .required()?;
        let text_parts = match f.list("text_parts")?.nullable().flatten() {
            None => None,
            Some(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if !part.is_string() {
                        return Err(Error::invalid(
                            format!("text_parts.{i}"),
                            "invalid",
                            "Each part must be a string.",
                        ));
                    }
                }
                Some(parts.clone())
            }
        };
        let message_id = f
            .text("message_id", Some(RELAY_ID_MAX_CHARS), true)?
            .nullable()
            .flatten();
        let trace_id = f
            .text("trace_id", Some(RELAY_ID_MAX_CHARS), true)?
            .nullable()
            .flatten();
        Ok(Relay {
            text,
            text_parts,
            message_id,
            trace_id,
        })
    }
}

/// One line of an event stream.
pub enum EventLine {
    /// `{"seq", "event"}`: the event as compact JSON.
    Event(i64, String),
    /// `{"type": "_posthog/stream_complete", "final_seq"}`.
    Complete(i64),
}

/// Reads one NDJSON line of `event_stream/`.
pub fn parse_event_line(line: &[u8]) -> Result<EventLine> {
    let bad = |detail: &str| Error::invalid("event", "invalid", detail.to_string());
    let value: Value = serde_json::from_slice(line).map_err(|_| bad("Invalid JSON line."))?;
    let Value::Object(mut object) = value else {
        return Err(bad("Each event line must be a JSON object."));
    };
    if object.get("type").and_then(Value::as_str) == Some("_posthog/stream_complete") {
        return match object.get("final_seq").and_then(Value::as_i64) {
            Some(n) if n >= 0 => Ok(EventLine::Complete(n)),
            _ => Err(bad("final_seq must be a non-negative integer.")),
        };
    }
    let seq = match object.get("seq").and_then(Value::as_i64) {
        Some(n) if n >= 1 => n,
        _ => return Err(bad("seq must be a positive integer.")),
    };
    match object.remove("event") {
        Some(event @ Value::Object(_)) => Ok(EventLine::Event(seq, event.to_string())),
        _ => Err(bad("event must be an object.")),
    }
}

/// What became of a piece of an event stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ingested {
    pub accepted: i64,
    pub duplicate: i64,
    pub last_accepted_seq: i64,
}

impl Runs<'_> {
    /// `relay_message/`: the agent's answer becomes the run's `state.latest_agent_message`
    /// and a `_burrow/relay_message` log entry. A finished run, or an empty text, is
    /// skipped (`None`), as PostHog skips it; otherwise the relay's id.
    pub async fn relay(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
        relay: Relay,
        cap: i64,
    ) -> Result<Option<String>> {
        let relayed = self
            .write(None, move |c, announce| {
                let run = db_runs::find(c, project_id, &task_id, &run_id)?;
                if is_terminal(&run.status) || relay.text.trim().is_empty() {
                    return Ok(None);
                }
                let id = uuid::Uuid::new_v4().to_string();
                let at = clock::now();
                let mut message = json!({
                    "id": id,
                    "text": relay.text,
                    "relayed_at": at,
                });
                for (key, value) in [
                    ("text_parts", relay.text_parts.map(Value::Array)),
                    ("message_id", relay.message_id.map(Value::String)),
                    ("trace_id", relay.trace_id.map(Value::String)),
                ] {
                    if let Some(value) = value {
                        message[key] = value;
                    }
                }
                let entry = json!({
                    "type": "notification",
                    "timestamp": at,
                    "notification": {
                        "jsonrpc": "2.0",
                        "method": "_burrow/relay_message",
                        "params": message,
                    },
                })
                .to_string();
                let changes = RunChanges {
                    state: Some(Map::from_iter([(LATEST_MESSAGE_KEY.into(), message)])),
                    ..RunChanges::default()
                };
                lifecycle::patch(c, &run, changes, false, announce)?;
                if db_logs::append(c, run.pk, &[entry], cap)? == Appended::OverCap {
                    return Err(Error::TooLarge(format!(
                        "This run's log has reached its limit of {cap} bytes."
                    )));
                }
                Ok(Some((run.pk, id)))
            })
            .await?;
        Ok(relayed.map(|(pk, id)| {
            self.notify(pk);
            id
        }))
    }

    /// The last event-stream `seq` stored for run `run_pk`.
    pub async fn event_seq(&self, run_pk: i64) -> Result<i64> {
        self.read(move |c| db_logs::event_seq(c, run_pk)).await
    }

    /// Appends the events of an event stream that follow the run's last stored `seq`, each
    /// once: an event at or below it is a duplicate (a retry after a dropped connection),
    /// and one past the next `seq` is a gap, refused with 409 after the events before it
    /// are stored.
    pub async fn ingest(
        &self,
        run_pk: i64,
        events: Vec<(i64, String)>,
        cap: i64,
    ) -> Result<Ingested> {
        let (ingested, gap, over) = self
            .write(Some(run_pk), move |c, _| {
                let mut last = db_logs::event_seq(c, run_pk)?;
                let mut fresh = Vec::new();
                let mut done = Ingested::default();
                let mut gap = None;
                for (seq, entry) in events {
                    if seq <= last {
                        done.duplicate += 1;
                    } else if seq == last + 1 {
                        fresh.push(entry);
                        last = seq;
                    } else {
                        gap = Some(seq);
                        break;
                    }
                }
                done.accepted = fresh.len() as i64;
                let mut over = false;
                if !fresh.is_empty() {
                    // An event `append_log/` brought already takes its `seq` without a second
                    // entry.
                    let fresh = event_ids::keep_new(c, run_pk, event_ids::tag(fresh))?;
                    over =
                        db_logs::append_events(c, run_pk, &fresh, last, cap)? == Appended::OverCap;
                    db_run_status::touch(c, run_pk)?;
                }
                done.last_accepted_seq = db_logs::event_seq(c, run_pk)?;
                Ok((done, gap, over))
            })
            .await?;
        if over {
            return Err(Error::TooLarge(format!(
                "This run's log has reached its limit of {cap} bytes."
            )));
        }
        if let Some(seq) = gap {
            return Err(Error::Conflict {
                code: "sequence_gap",
                detail: format!(
                    "Event {seq} does not follow the last accepted event, {}.",
                    ingested.last_accepted_seq
                ),
            });
        }
        Ok(ingested)
    }

    /// The run's token totals, as the LLM gateway counted them.
    pub async fn llm_usage(&self, run_pk: i64) -> Result<Usage> {
        self.read(move |c| Ok(db_run_usage::totals(c, run_pk)?.1))
            .await
    }

    /// Adds one model request's usage to run `run_pk`, and mirrors the totals in its
    /// `state.llm_usage` (the counters stay the truth: the agent may rewrite its state).
    pub async fn record_llm_usage(&self, run_pk: i64, usage: Usage) -> Result<()> {
        self.write(Some(run_pk), move |c, announce| {
            db_run_usage::add(c, run_pk, &usage)?;
            let (requests, t) = db_run_usage::totals(c, run_pk)?;
            let run = db_runs::by_pk(c, run_pk)?;
            let usage = Map::from_iter([(
                LLM_USAGE_KEY.into(),
                json!({
                    "requests": requests,
                    "input_tokens": t.input,
                    "output_tokens": t.output,
                    "cache_read_input_tokens": t.cache_read,
                    "cache_creation_input_tokens": t.cache_creation,
                }),
            )]);
            let changes = RunChanges {
                state: Some(usage),
                ..RunChanges::default()
            };
            lifecycle::patch(c, &run, changes, true, announce)?;
            Ok(())
        })
        .await
    }
}
