//! Who may keep a live stream open, and for how long: a run's log token reads the log and
//! nothing else until it expires, a key's streams end when the key is revoked, and one
//! credential holds at most 100 streams at once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::runs::RunRef;
use crate::harness::sse::{Event, entry_ids};
use crate::harness::{Server, assert_error};

fn entry(n: usize) -> Value {
    json!({"type": "info", "message": format!("entry {n}")})
}

/// The token part of a run's `log_url`.
fn token_of(run: &Value) -> String {
    let url = run["log_url"].as_str().unwrap();
    url.split_once("token=").unwrap().1.to_string()
}

fn token_stream_url(s: &Server, run: &RunRef, token: &str) -> String {
    s.url(&format!("{}?token={token}", run.path("stream/")))
}

/// A log token for `run` expiring at `expires` (Unix seconds), signed as Burrow signs them,
/// with the signing key read from the database.
fn token_expiring(s: &Server, run: &RunRef, expires: i64) -> String {
    let key: Vec<u8> = s
        .sqlite()
        .query_row(
            "SELECT value FROM secrets WHERE name = 'signing_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("log:{}\n{expires}", run.id).as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{expires}.{sig}")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

#[test]
fn a_log_token_stream_carries_the_log_and_no_run_or_new_token() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({"status": "in_progress"}));
    s.append_ok(&key, &run, &[entry(1)]);
    let sse = s.stream_url("", &token_stream_url(&s, &run, &token_of(&created)), None);
    let first = sse.next().unwrap();
    assert_eq!(first.event, "message", "{first:?}");
    assert_eq!(first.id, Some(1));

    // The run changes (state, output, status) and more entries come: only entries reach
    // the token's stream, then an `end` that names nothing but the last entry.
    s.append_ok(&key, &run, &[entry(2)]);
    let r = s.patch(
        &key,
        &run.path(""),
        &json!({"state": {"secret": "of the run"}, "output": {"pr": "#7"}, "status": "completed"}),
    );
    assert_eq!(r.status(), 200);
    let rest = sse.to_close();
    assert_eq!(entry_ids(&rest), [2], "{rest:?}");
    assert_eq!(kinds(&rest), ["message", "end"], "{rest:?}");
    assert_eq!(rest[1].json(), json!({"last_event_id": 2}));
    for e in &rest {
        assert!(!e.data.contains("token="), "a fresh link in {e:?}");
        assert!(!e.data.contains("of the run"), "run fields in {e:?}");
    }

    // A key's stream of the same run still carries the run.
    let keyed = s.stream(&key, &run, None, "").to_close();
    assert!(kinds(&keyed).contains(&"run"), "{keyed:?}");
    assert_eq!(keyed.last().unwrap().json()["status"], "completed");
}

#[test]
fn a_log_token_stream_ends_when_the_token_expires() {
    let (s, key) = Server::with_key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    s.append_ok(&key, &run, &[entry(1)]);
    // Long enough to open the stream on a busy machine; the wait below allows 30 s more.
    let token = token_expiring(&s, &run, unix_now() + 6);
    let sse = s.stream_url("", &token_stream_url(&s, &run, &token), None);
    assert_eq!(sse.next().unwrap().id, Some(1));
    // The run goes on, but the stream ends with the token: closed, with no `end`.
    let rest = sse.to_close();
    assert!(rest.iter().all(|e| e.event != "end"), "{rest:?}");
    // The token is refused from now on.
    let again = Client::new()
        .get(token_stream_url(&s, &run, &token))
        .send()
        .unwrap();
    assert_error(
        again,
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
}

#[test]
fn a_keys_streams_end_when_the_key_is_revoked() {
    let s = Server::start();
    let admin = s.key("*");
    let (run, _) = s.new_run(&admin, &json!({"status": "in_progress"}));

    // Revoked through the API: the stream ends at once.
    let (doomed, id) = s.labeled_key("admin@localhost", "doomed", "task:read");
    let sse = s.stream(&doomed, &run, None, "");
    assert_eq!(sse.next().unwrap().event, "run");
    let r = s.delete(&admin, &format!("/api/personal_api_keys/{id}/"));
    assert_eq!(r.status(), 204);
    let rest = sse.to_close();
    assert!(rest.iter().all(|e| e.event != "end"), "{rest:?}");

    // Revoked by the command line (another process): the stream's periodic check ends it.
    let (doomed, id) = s.labeled_key("admin@localhost", "doomed2", "task:read");
    let sse = s.stream(&doomed, &run, None, "");
    assert_eq!(sse.next().unwrap().event, "run");
    s.cli_ok(&["key", "revoke", "--id", &id]);
    let rest = sse.to_close();
    assert!(rest.iter().all(|e| e.event != "end"), "{rest:?}");

    // The other key's streams go on.
    let sse = s.stream(&admin, &run, None, "");
    assert_eq!(sse.next().unwrap().event, "run");
    s.append_ok(&admin, &run, &[entry(1)]);
    assert_eq!(sse.next().unwrap().id, Some(1));
}

/// Opens a stream and keeps only the response: dropping it closes the connection.
fn open(client: &Client, s: &Server, key: &str, run: &RunRef) -> Response {
    client
        .get(s.url(&run.path("stream/")))
        .bearer_auth(key)
        .send()
        .unwrap()
}

#[test]
fn one_key_holds_at_most_a_hundred_streams() {
    let (s, key) = Server::with_key("task:read");
    let writer = s.key("task:write");
    let (run, _) = s.new_run(&writer, &json!({"status": "in_progress"}));
    let client = Client::builder().timeout(None).build().unwrap();
    let mut held: Vec<Response> = (0..100)
        .map(|i| {
            let r = open(&client, &s, &key, &run);
            assert_eq!(r.status(), 200, "stream {i}");
            r
        })
        .collect();
    let body = assert_error(
        open(&client, &s, &key, &run),
        429,
        "throttled_error",
        "throttled",
        None,
    );
    assert!(body["detail"].is_string());

    // Another key is not held back by this one.
    assert_eq!(open(&client, &s, &writer, &run).status(), 200);

    // Closing one frees its slot (once the server sees the connection gone).
    drop(held.pop());
    let again = crate::harness::runner::poll("a freed stream slot", || {
        let r = open(&client, &s, &key, &run);
        (r.status() == 200).then_some(r)
    });
    held.push(again);
    assert_eq!(open(&client, &s, &key, &run).status(), 429);
}
