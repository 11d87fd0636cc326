//! Bad query strings over real HTTP: negative, huge and non-numeric paging numbers,
//! percent-escapes that are not UTF-8, raw bytes the HTTP parser refuses, and very long
//! filters. Each is a clean 4xx (or, for valid but odd values, a prompt 200).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::harness::{Server, task_body};
use serde_json::{Value, json};

use crate::harness::bad::{assert_refused, clean_4xx};

const TASKS: &str = "/api/projects/1/tasks/";

/// Sends `line` as a request line over a raw connection; returns whatever came back.
fn raw_request(s: &Server, line: &[u8]) -> String {
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before it has read it all: a failed write is fine.
    let _ = conn.write_all(line);
    let _ = conn.write_all(format!("\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bad_paging_numbers_are_400s_and_huge_ones_are_clamped() {
    let (s, key, task) = Server::with_task("*");
    let lists = [
        TASKS.to_string(),
        format!("{TASKS}{task}/runs/"),
        "/api/projects/".to_string(),
    ];
    for list in &lists {
        for query in [
            "limit=-1",
            "offset=-1",
            "limit=0",
            "limit=ten",
            "offset=1e3",
            "limit=1.5",
            "limit=-99999999999999999999",
            "offset=%2B%2B1",
            "limit=0x10",
        ] {
            let path = format!("{list}?{query}");
            let (status, err) = clean_4xx(s.get(&key, &path), &path);
            assert_eq!(status, 400, "{path}: {err}");
            assert!(
                ["limit", "offset"].contains(&err["attr"].as_str().unwrap()),
                "{path}: {err}"
            );
        }
        let path = format!("{list}?limit=99999999999999999999999&offset=99999999999999999999999");
        let page: Value = s.get(&key, &path).json().unwrap();
        assert_eq!(page["results"], json!([]), "{path}");
        assert!(
            page["previous"].as_str().unwrap().contains("limit=1000"),
            "{path}: {page}"
        );
    }
    let log = format!("{TASKS}{task}/runs/00000000-0000-4000-8000-000000000000/logs?after=-5");
    assert_eq!(clean_4xx(s.get(&key, &log), &log).0, 400);
}

#[test]
fn query_strings_that_are_not_utf8_are_400s() {
    let (s, key) = Server::with_key("*");
    for query in [
        "search=%FF%FE",
        "repository=%C3%28",
        "%FF=1",
        "created_by=%E2%82",
    ] {
        let path = format!("{TASKS}?{query}");
        assert_refused(s.get(&key, &path), 400, "parse_error", &path);
    }
    // Raw bytes that are not even URL characters never reach a route: the HTTP parser
    // answers a bare 400 (no HTML, no hang) and the server goes on serving.
    for line in [
        &b"GET /api/projects/1/tasks/?search=\xff HTTP/1.1"[..],
        b"GET /api/\x00 HTTP/1.1",
    ] {
        let answer = raw_request(&s, line);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(!answer.to_lowercase().contains("<html"), "{answer}");
    }
    assert_eq!(s.get(&key, TASKS).status(), 200);
}

#[test]
fn very_long_filters_answer_promptly() {
    let (s, key) = Server::with_key("*");
    s.task(&key, &task_body(json!({"repository": "acme/web"})));
    let long = "a".repeat(8000);
    for name in [
        "search",
        "repository",
        "organization",
        "stage",
        "origin_product",
    ] {
        let started = std::time::Instant::now();
        let page: Value = s
            .get(&key, &format!("{TASKS}?{name}={long}"))
            .json()
            .unwrap();
        assert_eq!(page["count"], 0, "{name}");
        assert!(started.elapsed() < Duration::from_secs(10), "{name}");
    }
    let slashes = format!("{TASKS}?repository={}", "/".repeat(8000));
    assert_eq!(s.get(&key, &slashes).status(), 200);
    // Past what the HTTP parser takes for a request line: a bare 4xx, not a hang.
    let huge = format!("GET {TASKS}?search={} HTTP/1.1", "a".repeat(200_000));
    let answer = raw_request(&s, huge.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer:.300}");
    assert_eq!(s.get(&key, TASKS).status(), 200);
}
