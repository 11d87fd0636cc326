//! Run logs on the wire: checking an append's entries, the NDJSON log read in pages (never
//! whole in memory), and the live Server-Sent Events stream that resumes by sequence number.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web::{Bytes, Data};
use futures_util::Stream;
use futures_util::stream;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::api::Links;
use crate::app::AppState;
use crate::db;
use crate::error::{Error, Result};
use crate::events::Notice;
use crate::fields::{Fields, not_a_dict};
use crate::runs::is_terminal;

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

/// The state of one live stream.
struct Live {
    state: Data<AppState>,
    links: Links,
    run_pk: i64,
    after: i64,
    changes: watch::Receiver<Notice>,
    /// The notice's run version when the run was last read; `None` before the first read.
    run_seen: Option<u64>,
    stopping: watch::Receiver<bool>,
    last_run: Option<String>,
    done: bool,
    _open: OpenStream,
}

/// Counts a live stream in `/metrics` for as long as it exists.
struct OpenStream(Data<AppState>);

impl OpenStream {
    fn new(state: Data<AppState>) -> OpenStream {
        state.metrics.streams.fetch_add(1, Ordering::Relaxed);
        OpenStream(state)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.metrics.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Server-Sent Events for a run: each log entry after `after` as a message whose `id` is its
/// sequence number, run changes as `run` events, and an `end` event once the run has
/// finished and every entry was sent.
pub fn live(
    state: Data<AppState>,
    links: Links,
    run_pk: i64,
    after: i64,
) -> impl Stream<Item = Result<Bytes>> {
    let changes = state.events.subscribe(run_pk);
    let stopping = state.events.stopping();
    let live = Live {
        _open: OpenStream::new(state.clone()),
        stopping,
        state,
        links,
        run_pk,
        after,
        changes,
        run_seen: None,
        last_run: None,
        done: false,
    };
    stream::try_unfold(live, |mut live| async move {
        match live.next_chunk().await? {
            Some(chunk) => Ok(Some((chunk, live))),
            None => Ok(None),
        }
    })
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

    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        loop {
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
            let (mut run, rows) = self
                .state
                .db
                .read(move |c| {
                    let run = db::runs::by_pk(c, run_pk)?;
                    Ok((run, db::logs::page(c, run_pk, after, PAGE)?))
                })
                .await?;
            let mut out = String::new();
            for (seq, entry) in &rows {
                out.push_str(&format!("id: {seq}\ndata: {entry}\n\n"));
                self.after = *seq;
            }
            let signature = format!("{}|{}", run.updated_at, run.status);
            if self.last_run.as_deref() != Some(signature.as_str()) {
                self.links.run(&mut run);
                let json = serde_json::to_string(&run).map_err(Error::internal)?;
                out.push_str(&format!("event: run\ndata: {json}\n\n"));
                self.last_run = Some(signature);
            }
            let more = rows.len() as i64 == PAGE;
            if !more && is_terminal(&run.status) {
                out.push_str(&format!(
                    "event: end\ndata: {{\"status\":\"{}\",\"last_event_id\":{}}}\n\n",
                    run.status, self.after
                ));
                self.done = true;
            }
            if !out.is_empty() {
                return Ok(Some(Bytes::from(out)));
            }
            if *self.stopping.borrow() {
                return Ok(None);
            }
            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                }
                // The server is stopping: end the stream; the client resumes elsewhere.
                _ = self.stopping.changed() => return Ok(None),
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
