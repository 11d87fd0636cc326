//! Crash safety: twenty times, 8 clients create tasks, PATCH runs and append logs while the
//! server is killed with SIGKILL. After each restart every acknowledged write is there
//! exactly once, task numbers are unique, and SQLite finds the file sound.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::database::{assert_integrity, assert_unique_task_numbers, count};
use crate::harness::{Server, expect_json, task_body};
use serde_json::{Value, json};

const ROUNDS: usize = 20;
const CLIENTS: usize = 8;

/// What the server acknowledged with a 2xx.
#[derive(Default)]
struct Acked {
    tasks: HashSet<String>,
    /// (run path, state key)
    state_keys: Vec<(String, String)>,
    /// (run path, batch tag)
    batches: Vec<(String, String)>,
}

fn client_loop(
    base: &str,
    key: &str,
    round: usize,
    c: usize,
    run_path: &str,
    acked: &Mutex<Acked>,
) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    // Bounded: a server that never dies cannot hang the test.
    for i in 0..10_000 {
        let tag = format!("r{round}c{c}i{i}");
        let sent = match i % 3 {
            0 => http
                .post(format!("{base}/api/projects/1/tasks/"))
                .bearer_auth(key)
                .json(&task_body(json!({"title": tag})))
                .send(),
            1 => http
                .patch(format!("{base}{run_path}"))
                .bearer_auth(key)
                .json(&json!({"state": {tag.clone(): i}}))
                .send(),
            _ => http
                .post(format!("{base}{run_path}append_log/"))
                .bearer_auth(key)
                .json(&json!({"entries": [{"tag": tag, "part": 0}, {"tag": tag, "part": 1}]}))
                .send(),
        };
        let Ok(r) = sent else { return };
        let status = r.status().as_u16();
        assert!(status < 500, "{status} during round {round}");
        let Ok(body) = r.json::<Value>() else { return };
        let mut a = acked.lock().unwrap();
        match i % 3 {
            0 => {
                a.tasks.insert(body["id"].as_str().unwrap().to_string());
            }
            1 => a.state_keys.push((run_path.to_string(), tag)),
            _ => a.batches.push((run_path.to_string(), tag)),
        }
    }
}

fn verify(s: &Server, key: &str, acked: &Acked) {
    let conn = s.sqlite();
    assert_integrity(&conn);
    assert_unique_task_numbers(&conn);
    for id in &acked.tasks {
        let n = count(&conn, "SELECT COUNT(*) FROM tasks WHERE id = ?1", [id]);
        assert_eq!(n, 1, "task {id}");
    }
    let mut states: HashMap<&str, Value> = HashMap::new();
    for (run, k) in &acked.state_keys {
        let state = states
            .entry(run)
            .or_insert_with(|| expect_json(s.get(key, run), 200)["state"].clone());
        assert!(state.get(k).is_some(), "state key {k} lost");
    }
    let mut logs: HashMap<&str, Vec<Value>> = HashMap::new();
    for (run, tag) in &acked.batches {
        let entries = logs.entry(run).or_insert_with(|| {
            let text = s.get(key, &format!("{run}logs")).text().unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        });
        let parts: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e["tag"] == *tag)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            parts.len(),
            2,
            "batch {tag} should be in the log once, whole"
        );
        assert_eq!(parts[1], parts[0] + 1, "batch {tag} is contiguous");
    }
}

#[test]
fn acknowledged_writes_survive_twenty_kills() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = Server::build().data_dir(dir.path()).start_with_key("*");
    let runs: Vec<String> = (0..CLIENTS)
        .map(|_| s.new_run(&key, &json!({})).0.path(""))
        .collect();
    let acked = Arc::new(Mutex::new(Acked::default()));
    for round in 0..ROUNDS {
        let base = s.base.clone();
        std::thread::scope(|scope| {
            for (c, run) in runs.iter().enumerate() {
                let (base, key, acked) = (&base, &key, &acked);
                scope.spawn(move || client_loop(base, key, round, c, run, acked));
            }
            // Let the clients get some work acknowledged (however loaded the machine), then
            // kill the server mid-flight, at a moment that varies from round to round.
            let counts = || {
                let a = acked.lock().unwrap();
                (a.tasks.len(), a.batches.len())
            };
            let (tasks, batches) = counts();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < deadline {
                let (t, b) = counts();
                if t >= tasks + 2 && b >= batches + 2 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(37 * (round as u64 % 7)));
            s.kill();
        });
        s = Server::build().data_dir(dir.path()).start();
        verify(&s, &key, &acked.lock().unwrap());
    }
    let a = acked.lock().unwrap();
    assert!(
        a.tasks.len() > ROUNDS && a.batches.len() > ROUNDS,
        "the clients got work done"
    );
}
