//! Concurrency: 64 clients mix every kind of request for 30 s (BURROW_SOAK_SECS to change):
//! no 5xx, no "database is locked", no lost state key, no duplicate task number.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::harness::database::assert_unique_task_numbers;
use crate::harness::{Server, expect_json, task_body};
use serde_json::{Value, json};

const CLIENTS: usize = 64;

fn soak_secs() -> u64 {
    std::env::var("BURROW_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
}

#[test]
fn sixty_four_clients_mixing_every_endpoint() {
    let (s, key) = Server::with_key("*");
    // A few shared runs that every client PATCHes and appends to.
    let shared: Vec<String> = (0..4)
        .map(|_| s.new_run(&key, &json!({})).0.path(""))
        .collect();
    let keys_written: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let requests = Mutex::new(0u64);
    let deadline = Instant::now() + Duration::from_secs(soak_secs());
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let (s, key, shared, keys_written, requests) =
                (&s, &key, &shared, &keys_written, &requests);
            scope.spawn(move || {
                let mut my_task: Option<String> = None;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let run = &shared[(c + n as usize) % shared.len()];
                    let tag = format!("c{c}n{n}");
                    let r = match n % 10 {
                        0 => s.post(key, "/api/projects/1/tasks/", &task_body(json!({"title": tag, "repository": "acme/web"}))),
                        1 => s.get(key, "/api/projects/1/tasks/?limit=20&repository=web"),
                        2 => match &my_task {
                            Some(t) => s.patch(key, &format!("/api/projects/1/tasks/{t}/"), &json!({"assignee": tag})),
                            None => s.get(key, "/api/projects/1/tasks/?search=flaky"),
                        },
                        3 => match &my_task {
                            Some(t) => s.post(key, &format!("/api/projects/1/tasks/{t}/run/"), &json!({})),
                            None => s.get(key, "/api/projects/@current/"),
                        },
                        4 | 5 => s.patch(key, run, &json!({"state": {tag.clone(): n}, "stage": "build"})),
                        6 => s.post(key, &format!("{run}append_log/"), &json!({"entries": [{"type": "info", "message": tag}]})),
                        7 => s.get(key, &format!("{run}logs?after=0&limit=50")),
                        8 => s.post(key, &format!("{run}artifacts/"), &json!({"artifacts": [{"name": "n.txt", "type": "output", "content": tag}]})),
                        _ => s.get(key, "/api/projects/1/tasks/?stage=build&limit=5"),
                    };
                    let status = r.status().as_u16();
                    let body = r.text().unwrap_or_default();
                    assert!(status < 500, "{status}: {body}");
                    assert!(!body.contains("database is locked"), "{body}");
                    if n.is_multiple_of(10) {
                        let task: Value = serde_json::from_str(&body).unwrap();
                        my_task = task["id"].as_str().map(str::to_string);
                    }
                    if n % 10 == 4 || n % 10 == 5 {
                        keys_written.lock().unwrap().push((run.clone(), tag));
                    }
                    n += 1;
                }
                *requests.lock().unwrap() += n;
            });
        }
    });
    for run in &shared {
        let state = expect_json(s.get(&key, run), 200)["state"].clone();
        for (r, k) in keys_written.lock().unwrap().iter() {
            if r == run {
                assert!(state.get(k).is_some(), "lost state key {k}");
            }
        }
    }
    assert_unique_task_numbers(&s.sqlite());
    eprintln!(
        "{} requests from {CLIENTS} clients",
        requests.lock().unwrap()
    );
}
