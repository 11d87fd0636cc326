//! Run logs on the wire: checking an append's entries, the NDJSON log read in pages (never
//! whole in memory), and the live Server-Sent Events stream that resumes by sequence number.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web::{Bytes, Data};
use futures_util::Stream;
use futures_util::stream;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::auth::Recheck;
use crate::clock;
use crate::db;
use crate::error::{Error, Result};
use crate::events::Notice;
use crate::fields::{Fields, not_a_dict};
use crate::links::Links;
use crate::runs::is_terminal;
use crate::state::AppState;

/// Longest client-chosen `append_log` batch id, in characters.
pub const BATCH_ID_MAX_CHARS: usize = 100;

/// The header of the NDJSON log that says how many entries the log held when the answer
/// began (its last sequence number), so a reader can fetch the tail first.
pub const LOG_COUNT: &str = "Burrow-Log-Count";

/// Entries read from the database at a time, for both the NDJSON log and the stream.
const PAGE: i64 = 1000;
/// How often an idle stream sends a comment so proxies keep the connection open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The entries of an `append_log` body, each as compact JSON text.
pub fn parse_entries(body: &Map<String, Value>) -> Result<Vec<String>> {
    let items = Fields::new(body).list("entries")?.required()?;
    if items.is_empty() {
        return Err(Error::invalid(
            "entries",
            "blank",
            "This list may not be empty.",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(_) => Ok(item.to_string()),
            other => Err(not_a_dict(format!("entries__{i}"), other)),
        })
        .collect()
}

/// The entries of an `append_log` body read without building a JSON tree: each entry is
/// kept as the client wrote it, less whitespace. `None` when the body is anything but an
/// object whose `entries` is a non-empty list of objects; `parse_entries` then gives the
/// error (or, for a body this view cannot read, such as a repeated key, the entries).
pub fn entries_from_bytes(bytes: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Append<'a> {
        #[serde(borrow)]
        entries: Vec<&'a serde_json::value::RawValue>,
    }
    // A struct also deserializes from an array; the body must be an object.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let append: Append = serde_json::from_slice(bytes).ok()?;
    if append.entries.is_empty() {
        return None;
    }
    append
        .entries
        .iter()
        .map(|raw| {
            let text = raw.get();
            text.starts_with('{').then(|| compact(text))
        })
        .collect()
}

/// Valid JSON text without the whitespace between its tokens: one entry per NDJSON line.
/// Works on bytes: JSON's whitespace, quotes and backslashes are ASCII, which never occurs
/// inside a multi-byte UTF-8 character. Strings, most of an entry, are skipped with memchr,
/// and a copy is made only when whitespace is found between tokens.
fn compact(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out: Option<String> = None;
    let (mut i, mut kept_from) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i + 1),
            b' ' | b'\n' | b'\r' | b'\t' => {
                let out = out.get_or_insert_with(|| String::with_capacity(json.len()));
                // An ASCII byte's index is a character boundary.
                out.push_str(&json[kept_from..i]);
                kept_from = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&json[kept_from..]);
            out
        }
        None => json.to_string(),
    }
}

/// The index just past the quote that closes the string whose text starts at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while let Some(found) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        let at = from + found;
        if bytes[at] == b'"' {
            return at + 1;
        }
        // A backslash escapes the byte after it (`\"`, `\\`, or the start of `\u`).
        from = at + 2;
    }
    bytes.len()
}

/// The log after `after`, at most `limit` entries, as NDJSON chunks of one page each.
pub fn ndjson(
    state: Data<AppState>,
    run_pk: i64,
    after: i64,
    limit: Option<i64>,
) -> impl Stream<Item = Result<Bytes>> {
    let remaining = limit.unwrap_or(i64::MAX);
    stream::try_unfold((after, remaining), move |(after, remaining)| {
        let state = state.clone();
        async move {
            if remaining <= 0 {
                return Ok(None);
            }
            let take = remaining.min(PAGE);
            let rows = state
                .db
                .read(move |c| db::logs::page(c, run_pk, after, take))
                .await?;
            let Some((last, _)) = rows.last() else {
                return Ok(None);
            };
            let last = *last;
            let mut chunk = String::with_capacity(rows.iter().map(|(_, e)| e.len() + 1).sum());
            for (_, entry) in &rows {
                chunk.push_str(entry);
                chunk.push('\n');
            }
            Ok(Some((
                Bytes::from(chunk),
                (last, remaining - rows.len() as i64),
            )))
        }
    })
}

/// Who opened a live stream: that decides what it carries and how long it lasts.
pub enum Opener {
    /// The run's signed log token (`log_url`): the log entries only (no run, whose fields
    /// and fresh `log_url` would outgrow the token), until the token expires.
    Token {
        /// Unix seconds.
        expires: i64,
        run: String,
    },
    /// A key or a session: entries and the run's changes, while the credential holds.
    Credential { recheck: Recheck, links: Links },
}

impl Opener {
    /// What the stream counts against: the credential, or the run's token.
    fn holder(&self) -> String {
        match self {
            Opener::Token { run, .. } => format!("log token of {run}"),
            Opener::Credential { recheck, .. } => recheck.holder().to_string(),
        }
    }
}

/// How often a stream opened with a credential checks it again, besides whenever a
/// credential is revoked through the API.
const RECHECK: Duration = KEEP_ALIVE;

/// The state of one live stream.
struct Live {
    state: Data<AppState>,
    opener: Opener,
    run_pk: i64,
    after: i64,
    changes: watch::Receiver<Notice>,
    /// The notice's run version when the run was last read; `None` before the first read.
    run_seen: Option<u64>,
    stopping: watch::Receiver<bool>,
    revocations: watch::Receiver<u64>,
    /// When the credential was last found good.
    checked: Instant,
    /// A credential was revoked since: check this stream's at once.
    recheck_now: bool,
    last_run: Option<String>,
    done: bool,
    _open: OpenStream,
}

/// Holds one of its holder's stream slots and counts the stream in `/metrics`, for as long
/// as it exists.
struct OpenStream {
    state: Data<AppState>,
    holder: String,
}

impl OpenStream {
    /// A 429 when the holder already has `STREAMS_PER_HOLDER` streams open.
    fn new(state: Data<AppState>, holder: String) -> Result<OpenStream> {
        if !state.events.open_stream(&holder) {
            return Err(Error::Throttled(KEEP_ALIVE.as_secs()));
        }
        state.metrics.streams.fetch_add(1, Ordering::Relaxed);
        Ok(OpenStream { state, holder })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.state.events.close_stream(&self.holder);
        self.state.metrics.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Server-Sent Events for a run: each log entry after `after` as a message whose `id` is its
/// sequence number, run changes as `run` events (not with a token), and an `end` event once
/// the run has finished and every entry was sent.
pub fn live(
    state: Data<AppState>,
    opener: Opener,
    run_pk: i64,
    after: i64,
) -> Result<impl Stream<Item = Result<Bytes>>> {
    let open = OpenStream::new(state.clone(), opener.holder())?;
    let changes = state.events.subscribe(run_pk);
    let stopping = state.events.stopping();
    let revocations = state.events.revocations();
    let live = Live {
        _open: open,
        stopping,
        revocations,
        checked: Instant::now(),
        recheck_now: false,
        state,
        opener,
        run_pk,
        after,
        changes,
        run_seen: None,
        last_run: None,
        done: false,
    };
    Ok(stream::try_unfold(live, |mut live| async move {
        match live.next_chunk().await? {
            Some(chunk) => Ok(Some((chunk, live))),
            None => Ok(None),
        }
    }))
}

impl Live {
    /// The notice's batch, when it is exactly what this stream needs next and the run has not
    /// changed since it was last read: no database read at all.
    fn take_batch(&mut self, notice: &Notice) -> Option<Bytes> {
        let batch = notice.batch.as_ref()?;
        if self.run_seen != Some(notice.run_version) || batch.first != self.after + 1 {
            return None;
        }
        let mut out = String::new();
        for (i, entry) in batch.entries.iter().enumerate() {
            out.push_str(&format!(
                "id: {}\ndata: {entry}\n\n",
                batch.first + i as i64
            ));
        }
        self.after = batch.first + batch.entries.len() as i64 - 1;
        Some(Bytes::from(out))
    }

    /// Whether the stream may go on: its token has not expired, its credential still holds
    /// (checked every `RECHECK`, and at once after a revocation).
    async fn still_allowed(&mut self) -> Result<bool> {
        match &self.opener {
            Opener::Token { expires, .. } => Ok(clock::unix_now() <= *expires),
            Opener::Credential { recheck, .. } => {
                let revoked = self.recheck_now || self.revocations.has_changed().unwrap_or(false);
                if !revoked && self.checked.elapsed() < RECHECK {
                    return Ok(true);
                }
                self.revocations.borrow_and_update();
                self.recheck_now = false;
                let recheck = recheck.clone();
                let holds = self.state.db.read_light(move |c| recheck.holds(c)).await?;
                self.checked = Instant::now();
                Ok(holds)
            }
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        loop {
            if !self.still_allowed().await? {
                self.done = true;
                return Ok(None);
            }
            // Mark the current notice seen before reading, so a change committed after the
            // read wakes the wait below.
            let notice = self.changes.borrow_and_update().clone();
            if let Some(chunk) = self.take_batch(&notice) {
                return Ok(Some(chunk));
            }
            self.run_seen = Some(notice.run_version);
            let (run_pk, after) = (self.run_pk, self.after);
            // The run first, then the entries: when the run reads as finished, every entry
            // committed before it finished is visible to the later read, so `end` never
            // comes before an acknowledged entry.
            // A run the command runner still holds gets more entries (stopping the command,
            // its exit) after its status is final: it ends once the runner lets go.
            let (mut run, attached, rows) = self
                .state
                .db
                .read(move |c| {
                    let run = db::runs::by_pk(c, run_pk)?;
                    let attached = db::run_keys::attached(c, run_pk)?;
                    Ok((run, attached, db::logs::page(c, run_pk, after, PAGE)?))
                })
                .await?;
            let mut out = String::new();
            for (seq, entry) in &rows {
                out.push_str(&format!("id: {seq}\ndata: {entry}\n\n"));
                self.after = *seq;
            }
            let signature = format!("{}|{}", run.updated_at, run.status);
            if let Opener::Credential { links, .. } = &self.opener
                && self.last_run.as_deref() != Some(signature.as_str())
            {
                links.run(&mut run);
                let json = serde_json::to_string(&run).map_err(Error::internal)?;
                out.push_str(&format!("event: run\ndata: {json}\n\n"));
                self.last_run = Some(signature);
            }
            let more = rows.len() as i64 == PAGE;
            if !more && is_terminal(&run.status) && !attached {
                // A token reads the log, not the run: its `end` says only where the log ends.
                let end = match self.opener {
                    Opener::Token { .. } => format!("{{\"last_event_id\":{}}}", self.after),
                    Opener::Credential { .. } => format!(
                        "{{\"status\":\"{}\",\"last_event_id\":{}}}",
                        run.status, self.after
                    ),
                };
                out.push_str(&format!("event: end\ndata: {end}\n\n"));
                self.done = true;
            }
            if !out.is_empty() {
                return Ok(Some(Bytes::from(out)));
            }
            if *self.stopping.borrow() {
                return Ok(None);
            }
            let (token, expires) = match &self.opener {
                Opener::Token { expires, .. } => (true, *expires),
                Opener::Credential { .. } => (false, 0),
            };
            let expiry = Instant::now()
                + Duration::from_secs((expires - clock::unix_now() + 1).max(0) as u64);
            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                }
                // The server is stopping: end the stream; the client resumes elsewhere.
                _ = self.stopping.changed() => return Ok(None),
                // Checked again at the top of the loop.
                _ = self.revocations.changed(), if !token => self.recheck_now = true,
                _ = tokio::time::sleep_until(expiry), if token => {}
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    return Ok(Some(Bytes::from_static(b": keep-alive\n\n")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(body: &str) -> Result<Vec<String>> {
        match serde_json::from_str::<Value>(body).unwrap() {
            Value::Object(map) => parse_entries(&map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn entries_read_from_bytes_match_the_tree_reading() {
        for body in [
            r#"{"entries":[{"type":"notification","notification":{"method":"x","params":{"message":"step done"}}}]}"#,
            "{\n  \"entries\": [\n    {\"a\": 1, \"b\": [true, null, 2.5]},\n    {\"c\": \"x \\\" y \\\\ z\"}\n  ],\n  \"other\": 1\n}",
            r#" {"entries":[{"s":"tab\tand \u00e9"}]}"#,
        ] {
            let (fast, slow) = (
                entries_from_bytes(body.as_bytes()).unwrap(),
                slow(body).unwrap(),
            );
            let value = |s: &String| serde_json::from_str::<Value>(s).unwrap();
            assert_eq!(
                fast.iter().map(value).collect::<Vec<_>>(),
                slow.iter().map(value).collect::<Vec<_>>()
            );
            assert!(
                fast.iter().all(|e| !e.contains(['\n', '\r'])),
                "one line each: {fast:?}"
            );
        }
        // What an agent sends (compact, plainly escaped) is stored exactly as either reads it.
        let compact = r#"{"entries":[{"a":{"b":[1,"x y"]},"c":null}]}"#;
        assert_eq!(
            entries_from_bytes(compact.as_bytes()).unwrap(),
            slow(compact).unwrap()
        );
    }

    #[test]
    fn compacting_drops_whitespace_between_tokens_and_keeps_strings_whole() {
        for (text, expected) in [
            (r#"{"a":"x y"}"#, r#"{"a":"x y"}"#),
            (
                "{ \"a\" :\n\t[ 1 , \"é \\\" \\\\\" ,\r\n {\"b\" : \"\\\\\"} ] }",
                r#"{"a":[1,"é \" \\",{"b":"\\"}]}"#,
            ),
            (
                r#"{"s": "\\", "t": " \" ", "u": "\u00e9 x", "v": {}}"#,
                r#"{"s":"\\","t":" \" ","u":"\u00e9 x","v":{}}"#,
            ),
            ("{\"k\":\"日本 語\"}  ", r#"{"k":"日本 語"}"#),
        ] {
            assert_eq!(compact(text), expected, "{text}");
        }
    }

    #[test]
    fn bodies_the_byte_reading_does_not_take_fall_back() {
        for body in [
            r#"[{"entries":[{}]}]"#,
            r#"{"entries":[]}"#,
            r#"{"entries":[1]}"#,
            r#"{"entries":"x"}"#,
            r#"{"nothing":1}"#,
            r#"{"entries":[{}],"entries":[{}]}"#,
            r#"{"entries":[{}"#,
        ] {
            assert_eq!(entries_from_bytes(body.as_bytes()), None, "{body}");
        }
    }
}
