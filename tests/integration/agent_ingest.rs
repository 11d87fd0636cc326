//! What PostHog's agent-server sends besides PATCHes and `append_log/`: `relay_message/`
//! (its answer after a turn) and `event_stream/` (its events as NDJSON, once per `seq`
//! across reconnects, stored as they arrive).

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

fn stream(s: &Server, key: &str, run: &RunRef, body: String) -> reqwest::blocking::Response {
    s.req(key, reqwest::Method::POST, &run.path("event_stream/"))
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
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    // The sender's handshake: an empty body answers where to resume.
    let hello = expect_json(stream(&s, &key, &run, String::new()), 200);
    assert_eq!(
        hello,
        json!({"accepted": 0, "duplicate": 0, "last_accepted_seq": 0})
    );

    let first = expect_json(stream(&s, &key, &run, lines(1..=3)), 200);
    assert_eq!(
        first,
        json!({"accepted": 3, "duplicate": 0, "last_accepted_seq": 3})
    );
    // A reconnect resends what it could not confirm, then goes on, and completes.
    let complete = json!({"type": "_posthog/stream_complete", "final_seq": 5});
    let again = expect_json(
        stream(&s, &key, &run, format!("{}{complete}\n", lines(2..=5))),
        200,
    );
    assert_eq!(
        again,
        json!({"accepted": 2, "duplicate": 2, "last_accepted_seq": 5})
    );
    // A gap keeps what came before it and answers 409.
    let gap = stream(&s, &key, &run, format!("{}{}", lines(6..=6), lines(8..=8)));
    assert_error(gap, 409, "invalid_request", "sequence_gap", None);
    let hello = expect_json(stream(&s, &key, &run, String::new()), 200);
    assert_eq!(hello["last_accepted_seq"], 6);
    assert_eq!(
        progress(&run_log(&s, &key, &run.task, &run.id)),
        [1, 2, 3, 4, 5, 6]
    );

    // Bad lines, read-only keys and oversized lines are refused.
    let r = stream(&s, &key, &run, "{\"seq\": 0, \"event\": {}}\n".into());
    assert_error(r, 400, "validation_error", "invalid", Some("event"));
    let reader = s.key("task:read");
    let r = stream(&s, &reader, &run, lines(7..=7));
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let huge = format!(
        "{{\"seq\": 7, \"event\": {{\"x\": \"{}\"}}}}\n",
        "a".repeat(1_100_000)
    );
    let r = stream(&s, &key, &run, huge);
    assert_error(r, 413, "invalid_request", "too_large", None);
    assert_eq!(
        expect_json(stream(&s, &key, &run, String::new()), 200)["last_accepted_seq"],
        6
    );
}

/// Events are stored as their lines arrive, not when the request ends: the UI shows them
/// live while the sender keeps its stream open.
#[test]
fn the_event_stream_stores_events_while_the_request_is_open() {
    let s = Server::start();
    let key = s.key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    let url = reqwest::Url::parse(&s.url("/")).unwrap();
    let mut conn = TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
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
