//! Bad input over real HTTP: malformed, deeply nested, oversized and non-UTF-8 bodies, bad
//! ids in paths, bad paging numbers, foreign content types, null characters and very long
//! filters. Each gets a clean 4xx in the error shape: never a 5xx, never HTML, never a hang.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::harness::bad::{assert_refused, clean_4xx};
use crate::harness::{Server, assert_invalid, task_body};
use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};

const TASKS: &str = "/api/projects/1/tasks/";

fn raw(s: &Server, key: &str, path: &str, body: impl Into<reqwest::blocking::Body>) -> Response {
    s.send_raw(key, Method::POST, path, body)
}

#[test]
fn broken_bodies_are_400s_or_413s() {
    let s = Server::build().arg("--json-limit").arg("65536").start();
    let key = s.key("*");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed",
            b"{\"description\": ".to_vec(),
            400,
            "parse_error",
        ),
        ("trailing garbage", b"{} {}".to_vec(), 400, "parse_error"),
        (
            "10,000 [",
            "[".repeat(10_000).into_bytes(),
            400,
            "parse_error",
        ),
        (
            "10,000 {",
            "{\"a\":".repeat(10_000).into_bytes(),
            400,
            "parse_error",
        ),
        ("not an object", b"[1, 2]".to_vec(), 400, "not_a_dict"),
        (
            "invalid UTF-8",
            b"{\"description\": \"\xff\xfe\", \"origin_product\": \"slack\"}".to_vec(),
            400,
            "parse_error",
        ),
        (
            "bare invalid UTF-8",
            vec![0xc3, 0x28, 0xa0, 0xa1],
            400,
            "parse_error",
        ),
        ("over the limit", vec![b' '; 70_000], 413, "too_large"),
    ];
    for (what, body, status, code) in cases {
        for path in [
            TASKS.to_string(),
            format!("{TASKS}00000000-0000-4000-8000-000000000000/runs/"),
        ] {
            let (got, err) = clean_4xx(raw(&s, &key, &path, body.clone()), what);
            if path == TASKS {
                assert_eq!(
                    (got, err["code"].as_str().unwrap()),
                    (status, code),
                    "{what}: {err}"
                );
            }
        }
    }
    // A nested body within the parser's depth but deep in the fields is still a clean 400.
    let deep = format!(
        "{{\"description\": {}1{}, \"origin_product\": \"slack\"}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_invalid(raw(&s, &key, TASKS, deep), "invalid_input", "description");
    // The server still works afterwards.
    assert_eq!(s.post(&key, TASKS, &task_body(json!({}))).status(), 201);
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_the_body_arrives() {
    let s = Server::build().arg("--json-limit").arg("1024").start();
    let key = s.key("*");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {TASKS} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n{{"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"too_large\""), "{answer}");
}

#[test]
fn foreign_content_types_are_415s() {
    let (s, key) = Server::with_key("*");
    // JSON is read whatever its label: `curl -d` sends a form content type.
    let body = task_body(json!({})).to_string();
    let r = s.post_typed(
        &key,
        TASKS,
        "application/x-www-form-urlencoded",
        body.clone(),
    );
    assert_eq!(r.unwrap().status(), 201);
    // What is not JSON under a foreign label is a 415.
    let form = "description=Fix+it&origin_product=user_created".to_string();
    for ctype in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "\u{1}",
    ] {
        // reqwest refuses to send some header values itself.
        let Ok(r) = s.post_typed(&key, TASKS, ctype, form.clone()) else {
            continue;
        };
        assert_refused(r, 415, "unsupported_media_type", ctype);
    }
    for ctype in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let r = s.post_typed(&key, TASKS, ctype, body.clone()).unwrap();
        assert_eq!(r.status(), 201, "{ctype}");
    }
    // No content type with a JSON body is accepted, and an empty body is `{}` whatever it says.
    let r = s.req(&key, Method::POST, TASKS).body(body).send().unwrap();
    assert_eq!(r.status(), 201);
    let run = format!("{TASKS}{}/runs/", s.new_task(&key));
    let r = s.post_typed(&key, &run, "text/plain", "").unwrap();
    assert_eq!(r.status(), 201);
    // The caller is judged before the body: no key is still a 403.
    let r = s.post_typed("", TASKS, "text/plain", "x").unwrap();
    assert_eq!(clean_4xx(r, "no key").0, 403);
}

#[test]
fn null_characters_in_text_fields_and_filters_are_400s() {
    let (s, key) = Server::with_key("*");
    for field in ["description", "title", "repository", "assignee"] {
        let r = s.post(&key, TASKS, &task_body(json!({ field: "a\u{0}b/c" })));
        assert_invalid(r, "invalid_input", field);
    }
    for query in ["search=a%00b", "repository=%00", "stage=x%00"] {
        let r = s.get(&key, &format!("{TASKS}?{query}"));
        assert_refused(r, 400, "invalid_input", query);
    }
    // Free-form JSON (state, output, log entries) keeps what it is given.
    let runs = format!("{TASKS}{}/runs/", s.new_task(&key));
    let r = s.post(&key, &runs, &json!({"state": {"k": "a\u{0}b"}}));
    assert_eq!(r.json::<Value>().unwrap()["state"]["k"], "a\u{0}b");
}

#[test]
fn bad_ids_in_paths_are_404s() {
    let (s, key, task) = Server::with_task("*");
    let paths = [
        "/api/projects/1/tasks/not-a-uuid/".to_string(),
        "/api/projects/1/tasks/%FF%FE/".to_string(),
        "/api/projects/1/tasks/%00/".to_string(),
        format!("/api/projects/1/tasks/{}/", "9".repeat(5000)),
        format!("/api/projects/1/tasks/{task}/runs/not-a-uuid/"),
        format!("/api/projects/1/tasks/{task}/runs/'%20OR%201=1--/logs"),
        "/api/projects/99999999999999999999999/tasks/".to_string(),
        "/api/projects/-1/tasks/".to_string(),
        "/api/projects/%FF/".to_string(),
        "/api/projects/1.5/integrations/".to_string(),
        "/api/personal_api_keys/%FF/".to_string(),
    ];
    for path in &paths {
        let method = if path.contains("personal_api_keys") {
            Method::DELETE
        } else {
            Method::GET
        };
        let r = s.req(&key, method, path).send().unwrap();
        assert_refused(r, 404, "not_found", path);
    }
}

#[test]
fn every_json_route_refuses_a_broken_body_cleanly() {
    let (s, key, run) = Server::with_run("*");
    let task = &run.task;
    let r = run.path("");
    let r = r.trim_end_matches('/');
    let routes = [
        (Method::POST, TASKS.to_string()),
        (Method::PATCH, format!("{TASKS}{task}/")),
        (Method::PUT, format!("{TASKS}{task}/")),
        (Method::POST, format!("{TASKS}{task}/runs/")),
        (Method::PATCH, format!("{r}/")),
        (Method::PATCH, format!("{r}/set_output/")),
        (Method::POST, format!("{r}/append_log/")),
        (Method::POST, format!("{r}/artifacts/")),
        (Method::POST, format!("{r}/artifacts/presign/")),
        (Method::POST, format!("{r}/artifacts/download/")),
        (Method::POST, format!("{r}/artifacts/prepare_upload/")),
        (Method::POST, format!("{r}/artifacts/finalize_upload/")),
        (Method::POST, format!("{r}/permission/")),
        (Method::POST, format!("{r}/message/")),
        (Method::POST, "/api/personal_api_keys/".to_string()),
        (Method::POST, "/api/projects/".to_string()),
        (Method::POST, "/api/users/".to_string()),
        (Method::POST, "/api/auth/login/".to_string()),
        (Method::POST, "/api/auth/setup/".to_string()),
    ];
    let bodies: [&[u8]; 4] = [b"{", b"\xff", b"null", b"{\"a\": \"\\ud800\"}"];
    for (method, path) in &routes {
        for body in bodies {
            let r = s.send_raw(&key, method.clone(), path, body.to_vec());
            let (status, err) = clean_4xx(r, &format!("{method} {path}"));
            assert_eq!(status, 400, "{method} {path}: {err}");
        }
    }
}

#[test]
fn a_content_type_that_cannot_be_a_header_still_downloads() {
    let (s, key, run) = Server::with_run("*");
    let r = run.path("artifacts/");
    let item = json!({"name": "a.txt", "type": "output", "content": "hi", "content_type": "text/\u{1}plain"});
    let manifest: Value = s
        .post(&key, &r, &json!({"artifacts": [item]}))
        .json()
        .unwrap();
    let named = json!({"storage_path": manifest["artifacts"][0]["storage_path"]});
    let got = s.post(&key, &format!("{r}download/"), &named);
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/octet-stream");
    assert_eq!(got.text().unwrap(), "hi");
}
