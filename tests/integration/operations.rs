//! Operations: a backup taken under load restores to a consistent database, export/import
//! round-trips, /metrics counts what happened, and SIGTERM stops the server gracefully.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::database::{assert_integrity, count};
use crate::harness::{Server, cli, cli_ok, expect_json, task_body};
use serde_json::{Value, json};

/// Creates tasks, runs and log batches from a few threads until `stop` is set.
fn load(s: &Arc<Server>, key: &str, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<u32>> {
    (0..4)
        .map(|_| {
            let (s, key, stop) = (s.clone(), key.to_string(), stop.clone());
            std::thread::spawn(move || {
                let mut done = 0;
                while !stop.load(Ordering::Relaxed) {
                    let task = s.task(&key, &task_body(json!({})));
                    let id = task["id"].as_str().unwrap();
                    let run = s.run_of(&key, id, &json!({}));
                    let path = format!(
                        "/api/projects/1/tasks/{id}/runs/{}/append_log/",
                        run["id"].as_str().unwrap()
                    );
                    let entries: Vec<Value> = (0..20)
                        .map(|i| json!({"type": "info", "message": i}))
                        .collect();
                    expect_json(s.post(&key, &path, &json!({"entries": entries})), 200);
                    done += 1;
                }
                done
            })
        })
        .collect()
}

/// Every run's entry count matches its log rows, and SQLite finds the file sound.
fn assert_consistent(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    assert_integrity(&conn);
    let mismatched = "SELECT COUNT(*) FROM task_runs r
         WHERE r.log_count != (SELECT COUNT(*) FROM log_entries e WHERE e.run_pk = r.pk)";
    assert_eq!(
        count(&conn, mismatched, []),
        0,
        "runs whose log_count disagrees with their rows"
    );
    count(&conn, "SELECT COUNT(*) FROM tasks", [])
}

#[test]
fn a_backup_taken_under_load_restores_consistently() {
    let s = Arc::new(Server::start());
    let key = s.key("*");
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&s, &key, &stop);
    std::thread::sleep(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let mut backups = Vec::new();
    for i in 0..3 {
        let file = dir.path().join(format!("backup-{i}.db"));
        s.cli_ok(&["backup", file.to_str().unwrap()]);
        backups.push(file);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let written: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > 0);
    // A second backup to an existing file is refused.
    assert!(
        !s.cli(&["backup", backups[0].to_str().unwrap()])
            .status
            .success()
    );
    // Restoring into the running server's folder is refused.
    let refused = s.cli(&["restore", backups[0].to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it"));

    let mut counts = Vec::new();
    for file in &backups {
        counts.push(assert_consistent(file));
        let target = tempfile::tempdir().unwrap();
        cli_ok(target.path(), &["restore", file.to_str().unwrap()]);
        let restored = Server::build().data_dir(target.path()).start();
        let tasks = expect_json(restored.get(&key, "/api/projects/1/tasks/?limit=1"), 200);
        assert_eq!(tasks["count"].as_i64().unwrap(), *counts.last().unwrap());
    }
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "later backups hold more: {counts:?}"
    );
    // Not a database at all: refused, nothing replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let target = tempfile::tempdir().unwrap();
    assert!(
        !cli(target.path(), &["restore", junk.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn export_then_import_gives_back_the_same_tasks_runs_and_logs() {
    let (s, key) = Server::with_key("*");
    let task = s.task(
        &key,
        &task_body(json!({"title": "Exported", "repository": "acme/web"})),
    );
    let id = task["id"].as_str().unwrap();
    let run = expect_json(
        s.post(
            &key,
            &format!("/api/projects/1/tasks/{id}/runs/"),
            &json!({"state": {"k": 1}}),
        ),
        201,
    );
    let run_path = format!(
        "/api/projects/1/tasks/{id}/runs/{}/",
        run["id"].as_str().unwrap()
    );
    let entries =
        json!([{"type": "info", "message": "één"}, {"type": "x", "nested": {"a": [1, 2]}}]);
    expect_json(
        s.post(
            &key,
            &format!("{run_path}append_log/"),
            &json!({"entries": entries}),
        ),
        200,
    );
    let file = s.dir.join("export.jsonl");
    s.cli_ok(&["export", file.to_str().unwrap()]);

    let target = tempfile::tempdir().unwrap();
    cli_ok(target.path(), &["import", file.to_str().unwrap()]);
    // Importing twice is refused: the folder is no longer empty.
    assert!(
        !cli(target.path(), &["import", file.to_str().unwrap()])
            .status
            .success()
    );
    let t = Server::build().data_dir(target.path()).start();
    let key2 = t.key_for("admin@localhost", "*", &[]);
    let again = expect_json(t.get(&key2, &format!("/api/projects/1/tasks/{id}/")), 200);
    for field in [
        "title",
        "repository",
        "slug",
        "task_number",
        "created_at",
        "description",
    ] {
        assert_eq!(again[field], task[field], "{field}");
    }
    assert_eq!(again["latest_run"]["state"], json!({"k": 1}));
    let log = t.get(&key2, &format!("{run_path}logs")).text().unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(lines), entries);
}

#[test]
fn metrics_count_requests_and_can_require_a_token() {
    let (s, key) = Server::with_key("*");
    s.task(&key, &task_body(json!({})));
    expect_json(s.get(&key, "/api/projects/1/tasks/"), 200);
    let text = s.get("", "/metrics").text().unwrap();
    for needle in [
        "burrow_http_requests_total{route=\"/api/projects/{project_id}/tasks\",method=\"POST\",status=\"201\"} 1",
        "burrow_http_request_duration_seconds_bucket{route=\"/api/projects/{project_id}/tasks\",method=\"GET\",le=\"+Inf\"} 1",
        "burrow_tasks 1",
        "burrow_database_bytes ",
        "burrow_sse_streams 0",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    let locked = Server::build().arg("--metrics-token").arg("s3cret").start();
    assert_eq!(locked.get("", "/metrics").status(), 401);
    let ok = locked
        .client
        .get(locked.url("/metrics"))
        .bearer_auth("s3cret")
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn sigterm_ends_live_streams_and_stops_promptly() {
    let mut s = Server::start();
    let key = s.key("*");
    let id = s.new_task(&key);
    let run = s.run_of(&key, &id, &json!({}));
    let stream = s.get(
        &key,
        &format!(
            "/api/projects/1/tasks/{id}/runs/{}/stream/",
            run["id"].as_str().unwrap()
        ),
    );
    assert_eq!(stream.status(), 200);
    let reader = std::thread::spawn(move || stream.text().map(|t| t.len()).unwrap_or(0));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = s.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        reader.join().unwrap() > 0,
        "the stream sent its first events, then ended"
    );
}
