//! `burrow worker` as a separate process against a server on another loopback port: it
//! claims a run, works it with the fake agent, and keeps its log entries through a server
//! restart in the middle of the run, in order and without duplicates. Appends that name a
//! batch already stored are not stored again.

use crate::harness::acp::*;
use crate::harness::runner::{poll, run_path};
use crate::harness::{Server, expect_json, free_port};
use serde_json::json;

#[test]
fn a_worker_works_a_run_through_a_server_restart() {
    let places = Places::new();
    let data = tempfile::tempdir().unwrap();
    let worker_data = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let (mut s, key) = Server::build()
        .data_dir(data.path())
        .args(["--addr", &addr])
        .start_with_key("task:write");

    let _worker = Worker::start(&s.base, &key, worker_data.path(), &places.args(""));

    let (task, run_id) = start(&s, &key, "slow", Some("acme/web"));
    poll("the agent's first ticks", || {
        said(&final_log(&s, &key, &task, &run_id))
            .contains("tick 2;")
            .then_some(())
    });

    // The server goes away mid-run and comes back on the same address.
    s.kill();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let s = Server::build()
        .data_dir(data.path())
        .args(["--addr", &addr])
        .start();

    let run = finished(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"]["files_changed"], 1, "{run}");
    let log = final_log(&s, &key, &task, &run_id);
    let ticks: Vec<String> = said(&log)
        .split(';')
        .filter(|t| t.starts_with("tick "))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = (0..16).map(|i| format!("tick {i}")).collect();
    assert_eq!(ticks, expected, "every entry once, in order");
    assert!(burrow(&log, "committed").is_some());
    // The worker's mirror lives in its own data folder.
    assert!(
        worker_data
            .path()
            .join("mirrors/acme/web.git/HEAD")
            .exists()
    );
}

#[test]
fn a_repeated_batch_is_stored_once() {
    let (s, key, task) = Server::with_task("task:write");
    let run = crate::harness::runner::start_run(&s, &key, &task);
    let path = run_path(&task, &run, "append_log/");
    let batch = |id: &str, n: i64| json!({"batch_id": id, "entries": [{"n": n}]});
    for body in [
        batch("a", 1),
        batch("a", 1),
        batch("b", 2),
        batch("b", 2),
        batch("a", 3),
    ] {
        expect_json(s.post(&key, &path, &body), 200);
    }
    let log = crate::harness::runner::run_log(&s, &key, &task, &run);
    let ns: Vec<i64> = log.iter().map(|e| e["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [1, 2, 3]);
}
