//! Reading a Server-Sent Events response while it is still open: a thread parses events off
//! the connection and hands them over, so the test can keep talking to the server.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::Value;

use super::Server;
use super::runs::RunRef;

/// How long to wait for the next event before calling the stream stuck. Generous, because
/// a loaded machine is slow, never because the test sleeps.
pub const WAIT: Duration = Duration::from_secs(30);

/// One event: `event` is `message` when the server sent no `event:` line.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<i64>,
    pub event: String,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }

    pub fn is_entry(&self) -> bool {
        self.event == "message"
    }
}

pub struct Sse {
    events: Receiver<Event>,
    pub response_headers: reqwest::header::HeaderMap,
}

impl Sse {
    /// Starts reading a 200 `text/event-stream` response.
    pub fn open(r: Response) -> Sse {
        assert_eq!(r.status(), 200, "stream status");
        let headers = r.headers().clone();
        let kind = headers["content-type"].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "content type {kind}");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut id, mut event, mut data) = (None, String::new(), Vec::<String>::new());
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { return };
                if line.is_empty() {
                    if !data.is_empty() || !event.is_empty() {
                        let e = Event {
                            id: id.take(),
                            event: if event.is_empty() {
                                "message".into()
                            } else {
                                std::mem::take(&mut event)
                            },
                            data: data.join("\n"),
                        };
                        data.clear();
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                    continue;
                }
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((&line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => id = Some(value.parse().expect("numeric event id")),
                    "event" => event = value.to_string(),
                    "data" => data.push(value.to_string()),
                    _ => {}
                }
            }
        });
        Sse {
            events,
            response_headers: headers,
        }
    }

    /// The next event; `None` once the server closed the stream. Panics when nothing comes
    /// within `WAIT`.
    pub fn next(&self) -> Option<Event> {
        match self.events.recv_timeout(WAIT) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("no event within {WAIT:?}"),
        }
    }

    /// Events up to and including the first that matches `stop`.
    pub fn until(&self, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            let e = self
                .next()
                .unwrap_or_else(|| panic!("stream closed early after {seen:?}"));
            let done = stop(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    /// Every event until the server closes the stream.
    pub fn to_close(&self) -> Vec<Event> {
        std::iter::from_fn(|| self.next()).collect()
    }
}

impl Server {
    /// Opens `runs/:id/stream/` + `query`, resuming after `last_event_id` when given.
    pub fn stream(&self, key: &str, run: &RunRef, last_event_id: Option<i64>, query: &str) -> Sse {
        self.stream_url(
            key,
            &self.url(&format!("{}{query}", run.path("stream/"))),
            last_event_id,
        )
    }

    /// Opens a stream by absolute URL, on a client without an overall timeout.
    pub fn stream_url(&self, key: &str, url: &str, last_event_id: Option<i64>) -> Sse {
        let mut client = Client::builder()
            .timeout(None)
            .connect_timeout(Duration::from_secs(10));
        if let Some(root) = &self.tls_root {
            client = client.add_root_certificate(root.clone());
        }
        let client = client.build().unwrap();
        let mut r = client.get(url);
        if !key.is_empty() {
            r = r.bearer_auth(key);
        }
        if let Some(id) = last_event_id {
            r = r.header("Last-Event-ID", id.to_string());
        }
        Sse::open(r.send().unwrap())
    }
}

/// The ids of the log entries among `events`.
pub fn entry_ids(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.is_entry())
        .map(|e| e.id.expect("entries carry an id"))
        .collect()
}
