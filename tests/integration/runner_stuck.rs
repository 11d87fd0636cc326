//! Stuck runs: a run left queued, one in progress with no activity, and one in progress for
//! too long each end failed, with an error message and a log entry naming the limit.

use std::time::{Duration, Instant};

use crate::harness::runner::*;
use crate::harness::{Server, expect_json};
use serde_json::{Value, json};

/// Waits until the run failed; checks its error message names `limit`, and is logged.
fn failed_for(s: &Server, key: &str, task: &str, run: &str, limit: &str) -> Value {
    let failed = wait_status(s, key, task, run, "failed");
    let error = failed["error_message"].as_str().unwrap();
    assert!(error.contains(limit), "{limit} in {error}");
    let log = run_log(s, key, task, run);
    let entry = log
        .iter()
        .find(|e| e["message"] == error)
        .expect("a log entry");
    assert_eq!(entry["source"], "burrow");
    assert_eq!(entry["level"], "error");
    failed
}

#[test]
fn queued_and_idle_runs_fail_naming_their_limit() {
    let limits = "--queued-timeout 1s --idle-timeout 3s --run-timeout 0 --sweep-interval 200ms";
    let (s, key, task) = Server::build()
        .args(limits.split_whitespace())
        .start_with_task("task:write");

    let queued = start_run(&s, &key, &task);
    let make = |status: &str| {
        let r = s.post(&key, &runs_path(&task), &json!({ "status": status }));
        expect_json(r, 201)["id"].as_str().unwrap().to_string()
    };
    let idle = make("in_progress");
    let busy = make("in_progress");
    let waiting = make("not_started");

    let run = failed_for(&s, &key, &task, &queued, "queued timeout (1s");
    assert!(run["completed_at"].is_string());

    // Appending keeps a run alive past the idle limit; going quiet ends it.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let entries = json!({"entries": [{"type": "info", "message": "working"}]});
        let r = s.post(&key, &run_path(&task, &busy, "append_log/"), &entries);
        assert_eq!(r.status(), 200);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(get_run(&s, &key, &task, &busy)["status"], "in_progress");
    failed_for(&s, &key, &task, &idle, "idle timeout (3s");
    failed_for(&s, &key, &task, &busy, "idle timeout (3s");

    // A run nobody started is left alone.
    assert_eq!(get_run(&s, &key, &task, &waiting)["status"], "not_started");
}

#[test]
fn long_runs_and_stuck_commands_are_stopped() {
    let work = tempfile::tempdir().unwrap();
    script(
        work.path(),
        "quiet.sh",
        r#"echo $$ > "$WORK/pid"; sleep 600"#,
    );
    let limits = "--runner-grace 1s --queued-timeout 0 --idle-timeout 0 --run-timeout 2s \
                  --sweep-interval 200ms";
    let (s, key, task) = Server::build()
        .command_runner(&exec_command(work.path(), "quiet.sh"))
        .args(limits.split_whitespace())
        .start_with_task("task:write");

    // A command that runs on and on: failed at the run timeout, and stopped.
    let run = start_run(&s, &key, &task);
    failed_for(&s, &key, &task, &run, "run timeout (2s");
    let pid = std::fs::read_to_string(work.path().join("pid")).unwrap();
    poll("the command to be stopped", || {
        process_gone(&pid).then_some(())
    });
    let log = wait_log(&s, &key, &task, &run, "SIGTERM");
    assert!(log.iter().any(|e| e["source"] == "burrow"));

    // With the queued timeout off (0), a queued run waits as long as it takes.
    let local = s.post(
        &key,
        &runs_path(&task),
        &json!({"status": "queued", "environment": "local"}),
    );
    let local = expect_json(local, 201)["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(get_run(&s, &key, &task, &local)["status"], "queued");
}
