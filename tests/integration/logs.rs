//! Run logs over HTTP: `append_log/` validation and round trips, the NDJSON `logs` with
//! `?after`/`limit` and its `Burrow-Log-Count`, and the signed `log_url` that needs no key.

use crate::harness::runs::read_ndjson;
use crate::harness::{Server, assert_error, assert_invalid};
use serde_json::{Value, json};

#[test]
fn append_log_validates_and_logs_round_trip_in_order() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({"status": "in_progress"}));

    // No entries yet: an empty 200, with and without the trailing slash.
    for path in [run.path("logs"), run.path("logs/")] {
        let r = s.get(&key, &path);
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/jsonl")
        );
        assert_eq!(r.text().unwrap(), "");
    }

    let append = run.path("append_log/");
    let cases = [
        (json!({}), "required", "entries"),
        (json!({"entries": null}), "null", "entries"),
        (
            json!({"entries": {"type": "info"}}),
            "not_a_list",
            "entries",
        ),
        (json!({"entries": "text"}), "not_a_list", "entries"),
        (
            json!({"entries": [{}, {}, {}, 5]}),
            "not_a_dict",
            "entries__3",
        ),
        (
            json!({"entries": [{"a": 1}, "line"]}),
            "not_a_dict",
            "entries__1",
        ),
        (json!({"entries": [[{"a": 1}]]}), "not_a_dict", "entries__0"),
        (
            json!({"entries": [{"a": 1}, null]}),
            "not_a_dict",
            "entries__1",
        ),
    ];
    for (body, code, attr) in &cases {
        assert_invalid(s.post(&key, &append, body), code, attr);
    }
    let r = s.post(&key, &append, &json!({"entries": []}));
    assert_eq!(r.status(), 400, "an empty list");
    let body: Value = r.json().unwrap();
    assert_eq!(
        (&body["type"], &body["attr"]),
        (&json!("validation_error"), &json!("entries"))
    );
    let r = s
        .req(&key, reqwest::Method::POST, &append)
        .body("{\"entries\": [")
        .send()
        .unwrap();
    assert_error(r, 400, "validation_error", "parse_error", None);
    assert!(
        s.log(&key, &run, "").is_empty(),
        "refused batches leave nothing behind"
    );

    // Several batches, with unicode, escapes, nesting and every JSON type, come back equal.
    let batches = vec![
        vec![json!({"type": "info", "message": "starting"})],
        vec![
            json!({"type": "info", "message": "héllo wörld ✓ 🦀 日本語 עברית"}),
            json!({"type": "notification", "timestamp": "2026-01-01T00:00:00.000000Z",
                "notification": {"jsonrpc": "2.0", "method": "session/update",
                    "params": {"update": {"content": [{"text": "a\nb\t\"c\"\\"}], "deep": {"er": {"est": [[], {}]}}}}}}),
            json!({"n": -12, "f": 1.5, "big": 9007199254740993u64, "t": true, "nul": null, "e": {}}),
        ],
        vec![
            json!({}),
            json!({"line": "two\r\nlines\u{0000}\u{2028}"}),
            json!({"z": "last"}),
        ],
    ];
    for batch in &batches {
        let r = s.append_ok(&key, &run, batch);
        assert_eq!(r["id"], run.id.as_str());
        assert_eq!(
            r["updated_at"], created["updated_at"],
            "append_log leaves updated_at"
        );
    }
    let all: Vec<Value> = batches.concat();
    for path in [run.path("logs"), run.path("logs/")] {
        let r = s.get(&key, &path);
        let text = r.text().unwrap();
        assert_eq!(
            text.lines().count(),
            all.len(),
            "one line per entry: {text}"
        );
        assert_eq!(crate::harness::runs::ndjson(&text), all);
    }
    let after: Value = s.get(&key, &run.path("")).json().unwrap();
    assert_eq!(
        after["updated_at"], created["updated_at"],
        "appending leaves updated_at"
    );
    let reader = s.key("task:read");
    assert_eq!(s.log(&reader, &run, ""), all, "task:read may read the log");

    // Tailing: ?after=SEQ (1-based sequence numbers) and limit=N.
    let n = all.len();
    assert_eq!(s.log(&key, &run, "?after=0"), all);
    assert_eq!(s.log(&key, &run, "?after=2"), all[2..]);
    assert_eq!(s.log(&key, &run, "?after=2&limit=3"), all[2..5]);
    assert_eq!(s.log(&key, &run, "?limit=1"), all[..1]);
    assert_eq!(
        s.log(&key, &run, &format!("?after={}", n - 1)),
        all[n - 1..]
    );
    assert!(s.log(&key, &run, &format!("?after={n}")).is_empty());
    assert!(s.log(&key, &run, "?after=1000").is_empty());
    // Whatever the page asked for, Burrow-Log-Count is the whole log's length, so a reader
    // can ask for the tail (`?after=COUNT-N`) first.
    for query in ["", "?limit=1", "?after=2&limit=3"] {
        let r = s.get(&key, &format!("{}{query}", run.path("logs")));
        assert_eq!(
            r.headers()["burrow-log-count"],
            n.to_string().as_str(),
            "{query}"
        );
    }
    // `limit` is at least 1 here as on every list.
    let zero = s.get(&key, &format!("{}?limit=0", run.path("logs")));
    assert_invalid(zero, "invalid_input", "limit");
    assert_eq!(s.log(&key, &run, "/?after=5&limit=100"), all[5..]);
    for bad in ["?after=-1", "?after=abc", "?limit=x"] {
        assert_eq!(
            s.get(&key, &format!("{}{bad}", run.path("logs"))).status(),
            400,
            "{bad}"
        );
    }
}

#[test]
fn log_url_needs_no_key_and_refuses_a_tampered_token() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({}));
    let (other, _) = s.new_run(&key, &json!({}));
    let entries = vec![json!({"type": "info", "message": "one"}), json!({"k": "ü"})];
    s.append_ok(&key, &run, &entries);
    s.append_ok(&key, &other, &[json!({"other": true})]);

    let anonymous = reqwest::blocking::Client::new();
    let fetch = |url: &str| anonymous.get(url).send().unwrap();
    let listed: Value = s
        .get(&key, &format!("/api/projects/1/tasks/{}/runs/", run.task))
        .json()
        .unwrap();
    let task: Value = s
        .get(&key, &format!("/api/projects/1/tasks/{}/", run.task))
        .json()
        .unwrap();
    let fetched: Value = s.get(&key, &run.path("")).json().unwrap();
    let urls = [
        created["log_url"].clone(),
        fetched["log_url"].clone(),
        listed["results"][0]["log_url"].clone(),
        task["latest_run"]["log_url"].clone(),
    ];
    for url in &urls {
        let url = url.as_str().expect("log_url is always present");
        assert!(url.starts_with(&s.base), "absolute: {url}");
        assert_eq!(read_ndjson(fetch(url)), entries, "{url}");
    }
    let url = created["log_url"].as_str().unwrap();
    assert_eq!(read_ndjson(fetch(&format!("{url}&after=1"))), entries[1..]);

    // Tampering with any part of the token, or using it for another run, is a 401.
    let (base, token) = url.split_once("token=").unwrap();
    let (expires, sig) = token.split_once('.').unwrap();
    let flipped = |s: &str, i: usize| {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let later = (expires.parse::<i64>().unwrap() + 3600).to_string();
    let forged = [
        format!("{expires}.{}", flipped(sig, 0)),
        format!("{expires}.{}", flipped(sig, sig.len() - 1)),
        format!("{later}.{sig}"),
        format!("{expires}."),
        "garbage".to_string(),
    ];
    for token in &forged {
        assert_error(
            fetch(&format!("{base}token={token}")),
            401,
            "authentication_error",
            "authentication_failed",
            None,
        );
    }
    let other_url = other.path("logs");
    assert_error(
        fetch(&format!("{}{other_url}?token={token}", s.base)),
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
    assert_error(
        fetch(&format!("{}{}", s.base, run.path("logs"))),
        403,
        "authentication_error",
        "not_authenticated",
        None,
    );
}
