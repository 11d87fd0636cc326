//! Workers without a runner: `runs/claim/` hands each queued cloud run to exactly one
//! worker, oldest first; cancellation reaches workers on their next call and sticks, except
//! that an admin may still force a run to failed.

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Barrier};

use crate::harness::runner::*;
use crate::harness::{Server, expect_json};
use serde_json::{Value, json};

const CLAIM: &str = "/api/projects/1/runs/claim/";

/// Many workers at once: returns the ids of the runs each got.
fn race(s: &Arc<Server>, key: &str, workers: usize) -> Vec<String> {
    let start = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (s, key, start) = (s.clone(), key.to_string(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut got = Vec::new();
                loop {
                    let r = s.post(&key, CLAIM, &json!({}));
                    if r.status() == 204 {
                        assert!(r.text().unwrap().is_empty());
                        return got;
                    }
                    let run = expect_json(r, 200);
                    assert_eq!(run["status"], "in_progress");
                    got.push(run["id"].as_str().unwrap().to_string());
                }
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

#[test]
fn each_queued_run_goes_to_exactly_one_worker() {
    let s = Arc::new(Server::start());
    let key = s.key("task:write");

    // One run, sixteen workers: exactly one winner.
    let task = s.new_task(&key);
    let run = start_run(&s, &key, &task);
    assert_eq!(race(&s, &key, 16), vec![run.clone()]);
    assert_eq!(get_run(&s, &key, &task, &run)["status"], "in_progress");

    // Twelve runs, eight workers: every run once.
    let mut made: Vec<String> = (0..12).map(|_| start_run(&s, &key, &task)).collect();
    let mut got = race(&s, &key, 8);
    made.sort();
    got.sort();
    assert_eq!(got, made);

    // Oldest first; local runs, other projects' runs and unqueued runs are not handed out.
    let runs = runs_path(&task);
    let local = json!({"status": "queued", "environment": "local"});
    expect_json(s.post(&key, &runs, &local), 201);
    expect_json(s.post(&key, &runs, &json!({})), 201);
    let older = expect_json(s.post(&key, &runs, &json!({"status": "queued"})), 201);
    let newer = start_run(&s, &key, &task);
    let other = s.project("Other");
    let elsewhere = s.post(
        &key,
        &format!("/api/projects/{other}/tasks/"),
        &crate::harness::task_body(json!({})),
    );
    let elsewhere = expect_json(elsewhere, 201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.post(
        &key,
        &format!("/api/projects/{other}/tasks/{elsewhere}/run/"),
        &json!({}),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        expect_json(s.post(&key, CLAIM, &json!({})), 200)["id"],
        older["id"]
    );
    assert_eq!(
        expect_json(s.post(&key, CLAIM, &json!({})), 200)["id"],
        newer.as_str()
    );
    assert_eq!(s.post(&key, CLAIM, &json!({})).status(), 204);

    // Claiming changes runs: it needs task:write.
    let reader = s.key("task:read");
    assert_eq!(s.post(&reader, CLAIM, &json!({})).status(), 403);
}

/// Reads a run's event stream to its end; returns the `end` event's data.
fn stream_end(s: &Server, key: &str, task: &str, run: &str) -> Value {
    let r = s.get(key, &run_path(task, run, "stream/"));
    assert_eq!(r.status(), 200);
    let mut event = String::new();
    for line in BufReader::new(r).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            if event == "end" {
                return serde_json::from_str(data).unwrap();
            }
        } else if line.is_empty() {
            event.clear();
        }
    }
    panic!("the stream closed without an end event");
}

#[test]
fn cancellation_reaches_workers_and_only_admins_force_a_cancelled_run() {
    let s = Arc::new(Server::start());
    let admin = s.key("task:write");
    let worker = s.key_for("worker@localhost", "task:write", &[]);
    let task = s.new_task(&admin);
    let run = start_run(&s, &worker, &task);
    let claimed = expect_json(s.post(&worker, CLAIM, &json!({})), 200);
    assert_eq!(claimed["id"], run.as_str());
    assert_eq!(claimed["task"], task.as_str());

    // A watcher's stream ends when the run is cancelled.
    let watcher = {
        let (s, admin, task, run) = (s.clone(), admin.clone(), task.clone(), run.clone());
        std::thread::spawn(move || stream_end(&s, &admin, &task, &run))
    };
    let r = s.post(&admin, &run_path(&task, &run, "cancel/"), &json!({}));
    assert_eq!(expect_json(r, 200)["status"], "cancelled");
    assert_eq!(watcher.join().unwrap()["status"], "cancelled");

    // The worker's next calls still work, but the run stays cancelled.
    let r = s.patch(
        &worker,
        &run_path(&task, &run, ""),
        &json!({"status": "in_progress", "state": {"step": 2}}),
    );
    let after = expect_json(r, 200);
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["state"]["step"], 2);
    let entries = json!({"entries": [{"type": "info", "message": "still here"}]});
    let r = s.post(&worker, &run_path(&task, &run, "append_log/"), &entries);
    assert_eq!(r.status(), 200);
    let r = s.patch(
        &worker,
        &run_path(&task, &run, ""),
        &json!({"status": "failed"}),
    );
    assert_eq!(
        expect_json(r, 200)["status"],
        "cancelled",
        "only an admin forces"
    );
    assert_eq!(get_run(&s, &worker, &task, &run)["status"], "cancelled");

    // An admin may force it to failed, and back to cancelled.
    let r = s.patch(
        &admin,
        &run_path(&task, &run, ""),
        &json!({"status": "failed"}),
    );
    assert_eq!(expect_json(r, 200)["status"], "failed");
    let r = s.patch(
        &admin,
        &run_path(&task, &run, ""),
        &json!({"status": "cancelled"}),
    );
    assert_eq!(expect_json(r, 200)["status"], "cancelled");

    // The cancel/ of a finished run leaves it as it is.
    let done = start_run(&s, &admin, &task);
    let r = s.patch(
        &admin,
        &run_path(&task, &done, ""),
        &json!({"status": "completed"}),
    );
    assert_eq!(r.status(), 200);
    let r = s.post(&worker, &run_path(&task, &done, "cancel/"), &json!({}));
    assert_eq!(expect_json(r, 200)["status"], "completed");
    let log = run_log(&s, &admin, &task, &run);
    assert!(
        log.iter()
            .any(|e| e["message"] == "Cancelled through the API.")
    );
    assert!(log.iter().any(|e| e["message"] == "still here"));
}
