//! Run logs on the wire: checking an append's entries, the NDJSON log read in pages (never
//! whole in memory), and the live Server-Sent Events stream (`live`).

use std::time::Duration;

use actix_web::web::{Bytes, Data};
use futures_util::Stream;
use futures_util::stream;
use serde_json::{Map, Value};

use crate::db;
use crate::error::{Error, Result};
use crate::fields::{Fields, not_a_dict};
use crate::state::AppState;

mod live;

pub use live::{Opener, live};

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
