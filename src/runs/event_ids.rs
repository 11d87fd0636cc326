//! One event, one log entry. PostHog's agent names each event of a run `<boot>-<n>` and,
//! when it holds an event ingest token, sends it on two paths: to `event_stream/` one entry
//! per event, and to `append_log/`, where the chunks of a message are merged into one entry
//! that covers `first_event_id` to `event_id`. Both land in the one run log, so an entry
//! whose events the log already holds, from either path, is dropped.

use std::borrow::Cow;

use rusqlite::Connection;

use crate::db::logs as db_logs;
use crate::error::Result;

/// The most events one merged entry may claim; a longer claimed range counts as its last id.
const MAX_SPAN: i64 = 10_000;

/// The events an entry carries: `boot`-`first` to `boot`-`last`.
#[derive(Debug, PartialEq, Eq)]
pub struct Events<'a> {
    boot: Cow<'a, str>,
    first: i64,
    last: i64,
}

/// `event_id` (and `first_event_id`) at the top of an entry, if it has one.
fn events(entry: &str) -> Option<Events<'_>> {
    // Most entries have none: skip parsing them.
    memchr::memmem::find(entry.as_bytes(), b"\"event_id\"")?;
    #[derive(serde::Deserialize)]
    struct Ids<'a> {
        #[serde(borrow)]
        event_id: Option<Cow<'a, str>>,
        #[serde(borrow)]
        first_event_id: Option<Cow<'a, str>>,
    }
    let ids: Ids = serde_json::from_str(entry).ok()?;
    let (boot, last) = split(ids.event_id?);
    let first = match ids.first_event_id.map(split) {
        Some((b, n)) if b == boot && n <= last && last - n <= MAX_SPAN => n,
        _ => last,
    };
    Some(Events { boot, first, last })
}

/// `<boot>-<n>` as (boot, n); an id of another shape is a boot of its own, numbered 0.
fn split(id: Cow<'_, str>) -> (Cow<'_, str>, i64) {
    let parsed = id
        .rsplit_once('-')
        .and_then(|(boot, n)| Some((boot.len(), n.parse::<i64>().ok()?)));
    match (parsed, id) {
        (Some((len, n)), Cow::Borrowed(s)) => (Cow::Borrowed(&s[..len]), n),
        (Some((len, n)), Cow::Owned(mut s)) => {
            s.truncate(len);
            (Cow::Owned(s), n)
        }
        (None, id) => (id, 0),
    }
}

/// Entries, each with the events it carries: read before the write that stores them, so
/// that the one writer thread does not parse them.
pub struct Tagged(Vec<(String, Option<Events<'static>>)>);

/// Reads the events of each entry.
pub fn tag(entries: Vec<String>) -> Tagged {
    Tagged(
        entries
            .into_iter()
            .map(|entry| {
                let events = events(&entry).map(|e| Events {
                    boot: Cow::Owned(e.boot.into_owned()),
                    first: e.first,
                    last: e.last,
                });
                (entry, events)
            })
            .collect(),
    )
}

/// The entries whose events run `run_pk`'s log does not hold yet, in order; their events
/// are recorded as held. Runs inside the write that stores them.
pub fn keep_new(c: &Connection, run_pk: i64, tagged: Tagged) -> Result<Vec<String>> {
    let mut kept = Vec::with_capacity(tagged.0.len());
    for (entry, events) in tagged.0 {
        if let Some(e) = events {
            // One event (most entries): its insert says whether it was new.
            let new = if e.first == e.last {
                db_logs::hold_event(c, run_pk, &e.boot, e.last)?
            } else if db_logs::holds_events(c, run_pk, &e.boot, e.first, e.last)? {
                false
            } else {
                db_logs::hold_events(c, run_pk, &e.boot, e.first..=e.last)?;
                true
            };
            if !new {
                continue;
            }
        }
        kept.push(entry);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(entry: &str) -> Option<(String, i64, i64)> {
        events(entry).map(|e| (e.boot.into_owned(), e.first, e.last))
    }

    #[test]
    fn ids_are_read_from_the_top_of_an_entry() {
        type Expected = Option<(&'static str, i64, i64)>;
        let cases: &[(&str, Expected)] = &[
            (
                r#"{"type":"notification","event_id":"ab12cd34-7"}"#,
                Some(("ab12cd34", 7, 7)),
            ),
            (
                r#"{"event_id":"ab-9","first_event_id":"ab-5"}"#,
                Some(("ab", 5, 9)),
            ),
            // A range across boots, backwards or too long counts as its last event.
            (
                r#"{"event_id":"ab-9","first_event_id":"cd-5"}"#,
                Some(("ab", 9, 9)),
            ),
            (
                r#"{"event_id":"ab-9","first_event_id":"ab-12"}"#,
                Some(("ab", 9, 9)),
            ),
            (
                r#"{"event_id":"ab-99999","first_event_id":"ab-1"}"#,
                Some(("ab", 99999, 99999)),
            ),
            (
                r#"{"event_id":"not numbered"}"#,
                Some(("not numbered", 0, 0)),
            ),
            (r#"{"event_id":"a\"b-3"}"#, Some(("a\"b", 3, 3))),
            // Nested, missing or not a string: none.
            (r#"{"params":{"event_id":"ab-1"}}"#, None),
            (r#"{"type":"notification"}"#, None),
            (r#"{"event_id":5}"#, None),
        ];
        for (entry, expected) in cases {
            let expected = expected.map(|(boot, first, last)| (boot.to_string(), first, last));
            assert_eq!(ids(entry), expected, "{entry}");
        }
    }
}
