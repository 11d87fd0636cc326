//! What PostHog's agent-server sends besides PATCHes and `append_log/`: `relay_message/`
//! (its answer after a turn) and `event_stream/` (its events as NDJSON, once per `seq`
//! across reconnects, stored as they arrive, with the run's own ingest token; an event
//! `append_log/` brought too is stored once).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::harness::runner::{poll, run_log};
use crate::harness::runs::RunRef;
use crate::harness::{Server, assert_error, expect_json};
use serde_json::{Value, json};

fn event(n: i64) -> Value {
    json!({"type": "notification", "timestamp": "2026-01-01T00:00:00Z",
           "notification": {"jsonrpc": "2.0", "method": "_posthog/progress", "params": {"n": n}}})
}

fn lines(seqs: std::ops::RangeInclusive<i64>) -> String {
    seqs.map(|n| format!("{}\n", json!({"seq": n, "event": event(n)})))
        .collect()
}

/// POSTs `body` to the run's `event_stream/` with `token` as the bearer.
fn stream(s: &Server, token: &str, run: &RunRef, body: String) -> reqwest::blocking::Response {
    s.req(token, reqwest::Method::POST, &run.path("event_stream/"))
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap()
}

fn progress(log: &[Value]) -> Vec<i64> {
    log.iter()
        .filter(|e| e["notification"]["method"] == "_posthog/progress")
        .map(|e| e["notification"]["params"]["n"].as_i64().unwrap())
        .collect()
}

#[test]
fn relay_message_keeps_the_agents_answer_on_the_run() {
    let s = Server::start();
    let key = s.key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    let body =
        json!({"text": "Fixed it.", "text_parts": ["Looking…", "Fixed it."], "trace_id": "t-1"});
    let answer = expect_json(s.post(&key, &run.path("relay_message/"), &body), 200);
    assert_eq!(answer["status"], "accepted");
    let id = answer["relay_id"].as_str().unwrap();
    let got = expect_json(s.get(&key, &run.path("")), 200);
    let latest = &got["state"]["latest_agent_message"];
    assert_eq!(latest["text"], "Fixed it.");
    assert_eq!(latest["text_parts"], json!(["Looking…", "Fixed it."]));
    assert_eq!(latest["trace_id"], "t-1");
    assert_eq!(latest["id"], id);
    let log = run_log(&s, &key, &run.task, &run.id);
    let entry = log.last().unwrap();
    assert_eq!(entry["notification"]["method"], "_burrow/relay_message");
    assert_eq!(entry["notification"]["params"]["text"], "Fixed it.");

    // Blank text, and a finished run, are skipped as PostHog skips them.
    let blank = s.post(&key, &run.path("relay_message/"), &json!({"text": "  "}));
    assert_eq!(expect_json(blank, 200), json!({"status": "skipped"}));
    s.patch(&key, &run.path(""), &json!({"status": "completed"}));
    let late = s.post(&key, &run.path("relay_message/"), &json!({"text": "more"}));
    assert_eq!(expect_json(late, 200), json!({"status": "skipped"}));

    // A read-only key, and a key for another project, are refused; so is a long text.
    let reader = s.key("task:read");
    let r = s.post(&reader, &run.path("relay_message/"), &json!({"text": "x"}));
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let other = s.project("Other");
    let outsider = s.key_for("admin@localhost", "task:write", &[other]);
    let r = s.post(
        &outsider,
        &run.path("relay_message/"),
        &json!({"text": "x"}),
    );
    assert_error(r, 404, "invalid_request", "not_found", None);
    let long = "x".repeat(burrow::runs::RELAY_TEXT_MAX_CHARS + 1);
    let r = s.post(&key, &run.path("relay_message/"), &json!({"text": long}));
    assert_error(r, 400, "validation_error", "max_length", Some("text"));
}

#[test]
fn the_event_stream_stores_each_seq_once_across_reconnects() {
    let s = Server::start();
    let key = s.key("task:write");
    let (run, token) = s.claimed_run(&key);
    // The sender's handshake: an empty body answers where to resume.
    let hello = expect_json(stream(&s, &token, &run, String::new()), 200);
    assert_eq!(
        hello,
        json!({"accepted": 0, "duplicate": 0, "last_accepted_seq": 0})
    );

    let first = expect_json(stream(&s, &token, &run, lines(1..=3)), 200);
    assert_eq!(
        first,
        json!({"accepted": 3, "duplicate": 0, "last_accepted_seq": 3})
    );
    // A reconnect resends what it could not confirm, then goes on, and completes.
    let complete = json!({"type": "_posthog/stream_complete", "final_seq": 5});
    let again = expect_json(
        stream(&s, &token, &run, format!("{}{complete}\n", lines(2..=5))),
        200,
    );
    assert_eq!(
        again,
        json!({"accepted": 2, "duplicate": 2, "last_accepted_seq": 5})
    );
    // A gap keeps what came before it and answers 409.
    let gap = stream(
        &s,
        &token,
        &run,
        format!("{}{}", lines(6..=6), lines(8..=8)),
    );
    assert_error(gap, 409, "invalid_request", "sequence_gap", None);
    let hello = expect_json(stream(&s, &token, &run, String::new()), 200);
    assert_eq!(hello["last_accepted_seq"], 6);
    assert_eq!(
        progress(&run_log(&s, &key, &run.task, &run.id)),
        [1, 2, 3, 4, 5, 6]
    );

    // Bad and oversized lines are refused.
    let r = stream(&s, &token, &run, "{\"seq\": 0, \"event\": {}}\n".into());
    assert_error(r, 400, "validation_error", "invalid", Some("event"));
    // Just past the limit: the server answers once it has read nearly all of it, so the
    // client is not cut off mid-send.
    let huge = format!(
        "{{\"seq\": 7, \"event\": {{\"x\": \"{}\"}}}}\n",
        "a".repeat(1_000_001)
    );
    let r = stream(&s, &token, &run, huge);
    assert_error(r, 413, "invalid_request", "too_large", None);
    assert_eq!(
        expect_json(stream(&s, &token, &run, String::new()), 200)["last_accepted_seq"],
        6
    );
}

/// The stream takes the run's own ingest token, and nothing else: not an API key (not even
/// one that may write the run), not another run's token, not a token altered by a byte.
/// Each refusal comes before the body is read and changes nothing.
#[test]
fn the_event_stream_takes_only_its_runs_ingest_token() {
    let s = Server::start();
    let key = s.key("*");
    let (run, token) = s.claimed_run(&key);
    let (other_run, other_token) = s.claimed_run(&key);
    let refused = |bearer: &str, run: &RunRef| {
        let r = stream(&s, bearer, run, lines(1..=1));
        assert_error(
            r,
            401,
            "authentication_error",
            "authentication_failed",
            None,
        );
    };
    refused(&key, &run);
    refused(&other_token, &run);
    refused(&token, &other_run);
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    refused(&String::from_utf8(altered).unwrap(), &run);
    // A later expiry, or the signature without its prefix (as if it were a key).
    let (_, sig) = token.split_once('.').unwrap();
    refused(&format!("bit_{}.{sig}", i64::MAX), &run);
    refused(token.strip_prefix("bit_").unwrap(), &run);
    let r = s
        .client
        .post(s.url(&run.path("event_stream/")))
        .body(lines(1..=1))
        .send()
        .unwrap();
    assert_error(r, 403, "authentication_error", "not_authenticated", None);
    // The right token on a path that puts the run in another task or project finds nothing.
    let elsewhere = RunRef {
        task: other_run.task.clone(),
        ..run.clone()
    };
    let r = stream(&s, &token, &elsewhere, lines(1..=1));
    assert_error(r, 404, "invalid_request", "not_found", None);
    let moved = run
        .path("event_stream/")
        .replacen("/projects/1/", "/projects/2/", 1);
    let r = s
        .req(&token, reqwest::Method::POST, &moved)
        .body(lines(1..=1))
        .send()
        .unwrap();
    assert_error(r, 404, "invalid_request", "not_found", None);
    for r in [&run, &other_run] {
        assert!(progress(&run_log(&s, &key, &r.task, &r.id)).is_empty());
    }
    // A worker's claim, and the runner inside the server, are how a token is handed out:
    // the run itself does not show it.
    let shown = expect_json(s.get(&key, &run.path("")), 200);
    assert!(shown.get("event_ingest_token").is_none(), "{shown}");
    assert!(!shown.to_string().contains(&token));
}

/// PostHog's agent sends each event on both paths: one entry per chunk to the stream, and
/// to `append_log/` the chunks of a message merged into one entry that covers
/// `first_event_id`..`event_id`. Whichever path comes first, the log holds each event once.
#[test]
fn an_event_sent_on_both_paths_is_stored_once() {
    let s = Server::start();
    let key = s.key("task:write");
    let chunk = |id: &str, text: &str| {
        json!({"type": "notification", "timestamp": "2026-01-01T00:00:00Z", "event_id": id,
               "notification": {"jsonrpc": "2.0", "method": "session/update",
                   "params": {"update": {"sessionUpdate": "agent_message_chunk",
                                          "content": {"type": "text", "text": text}}}}})
    };
    let merged = |first: &str, last: &str, text: &str| {
        let mut entry = chunk(last, text);
        entry["first_event_id"] = first.into();
        entry["notification"]["params"]["update"]["sessionUpdate"] = "agent_message".into();
        entry
    };
    let numbered = |events: &[Value], from: i64| -> String {
        events
            .iter()
            .zip(from..)
            .map(|(e, seq)| format!("{}\n", json!({"seq": seq, "event": e})))
            .collect()
    };
    let texts = |run: &RunRef| -> Vec<String> {
        run_log(&s, &key, &run.task, &run.id)
            .iter()
            .filter_map(|e| e["notification"]["params"]["update"]["content"]["text"].as_str())
            .map(str::to_string)
            .collect()
    };
    let chunks = [chunk("b00t-1", "Hel"), chunk("b00t-2", "lo")];
    let note = json!({"type": "notification", "notification": {"method": "_posthog/console"}});

    // The stream first, then the log's merged entry (dropped) and an entry without ids.
    let (run, token) = s.claimed_run(&key);
    expect_json(stream(&s, &token, &run, numbered(&chunks, 1)), 200);
    let answer = s.append_ok(
        &key,
        &run,
        &[merged("b00t-1", "b00t-2", "Hello"), note.clone()],
    );
    assert_eq!(answer["id"], run.id);
    assert_eq!(texts(&run), ["Hel", "lo"]);
    assert_eq!(run_log(&s, &key, &run.task, &run.id).len(), 3);
    // A retried append, and a log entry repeated alone, add nothing.
    s.append_ok(&key, &run, &[chunk("b00t-2", "lo")]);
    assert_eq!(run_log(&s, &key, &run.task, &run.id).len(), 3);

    // The log first: the stream's chunks take their seq and add no entry; a new event does.
    let (run, token) = s.claimed_run(&key);
    s.append_ok(&key, &run, &[merged("b00t-1", "b00t-2", "Hello")]);
    let more = [chunks[0].clone(), chunks[1].clone(), chunk("b00t-3", "!")];
    let answer = expect_json(stream(&s, &token, &run, numbered(&more, 1)), 200);
    assert_eq!(answer["last_accepted_seq"], 3);
    assert_eq!(texts(&run), ["Hello", "!"]);
    // The same number under another boot (the agent restarted) is a new event.
    s.append_ok(&key, &run, &[chunk("0ther-1", "again")]);
    assert_eq!(texts(&run), ["Hello", "!", "again"]);
}

/// Events are stored as their lines arrive, not when the request ends: the UI shows them
/// live while the sender keeps its stream open.
#[test]
fn the_event_stream_stores_events_while_the_request_is_open() {
    let s = Server::start();
    let key = s.key("task:write");
    let (run, token) = s.claimed_run(&key);
    let url = reqwest::Url::parse(&s.url("/")).unwrap();
    let mut conn = TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
        run.path("event_stream/")
    );
    conn.write_all(head.as_bytes()).unwrap();
    let chunk = |c: &mut TcpStream, body: &str| {
        c.write_all(format!("{:x}\r\n{body}\r\n", body.len()).as_bytes())
            .unwrap();
    };
    chunk(&mut conn, &lines(1..=2));
    poll("the first events in the log", || {
        (progress(&run_log(&s, &key, &run.task, &run.id)) == [1, 2]).then_some(())
    });
    chunk(&mut conn, &lines(3..=3));
    conn.write_all(b"0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let mut buf = [0u8; 4096];
    while !answer.contains("last_accepted_seq") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed without answering: {answer}");
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"last_accepted_seq\":3"), "{answer}");
}
