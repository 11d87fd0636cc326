//! Runs under test: a task with a run, the URLs of a run's endpoints, and appending to and
//! reading back a run's log.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use super::Server;

/// A run as reached through its task's URL in project 1.
#[derive(Debug, Clone)]
pub struct RunRef {
    pub task: String,
    pub id: String,
}

impl RunRef {
    /// The run of a run object (its `task` and `id`).
    pub fn of(run: &Value) -> RunRef {
        RunRef {
            task: run["task"].as_str().expect("run.task").to_string(),
            id: run["id"].as_str().expect("run.id").to_string(),
        }
    }

    /// `/api/projects/1/tasks/TASK/runs/RUN/` followed by `rest` (e.g. `append_log/`).
    pub fn path(&self, rest: &str) -> String {
        run_path(&self.task, &self.id, rest)
    }
}

/// A task's run list: `/api/projects/1/tasks/TASK/runs/`.
pub fn runs_path(task: &str) -> String {
    format!("/api/projects/1/tasks/{task}/runs/")
}

/// The one way to name a run's URL: `/api/projects/1/tasks/TASK/runs/RUN/` plus `rest`.
pub fn run_path(task: &str, run: &str, rest: &str) -> String {
    format!("/api/projects/1/tasks/{task}/runs/{run}/{rest}")
}

impl Server {
    /// Creates a run of the task with `body`, asserting a 201, and returns it.
    pub fn run_of(&self, key: &str, task_id: &str, body: &Value) -> Value {
        let r = self.post(key, &runs_path(task_id), body);
        assert_eq!(r.status(), 201, "create run");
        r.json().unwrap()
    }

    /// A fresh task with one run created with `body`.
    pub fn new_run(&self, key: &str, body: &Value) -> (RunRef, Value) {
        let task = self.new_task(key);
        let run = self.run_of(key, &task, body);
        (RunRef::of(&run), run)
    }

    /// A fresh task with one queued cloud run, claimed as a worker claims it: the run and
    /// its event ingest token.
    pub fn claimed_run(&self, key: &str) -> (RunRef, String) {
        let task = self.new_task(key);
        super::runner::start_run(self, key, &task);
        let r = self.post(key, "/api/projects/1/runs/claim/", &json!({}));
        let run = super::expect_json(r, 200);
        let token = run["event_ingest_token"]
            .as_str()
            .expect("a token")
            .to_string();
        (RunRef::of(&run), token)
    }

    pub fn append(&self, key: &str, run: &RunRef, entries: &[Value]) -> Response {
        self.post(
            key,
            &run.path("append_log/"),
            &json!({ "entries": entries }),
        )
    }

    /// Appends, asserting a 200, and returns the run it answers with.
    pub fn append_ok(&self, key: &str, run: &RunRef, entries: &[Value]) -> Value {
        let r = self.append(key, run, entries);
        assert_eq!(r.status(), 200, "append_log");
        r.json().unwrap()
    }

    /// The run's log from `logs` plus `query` (e.g. `?after=2`), one value per line.
    pub fn log(&self, key: &str, run: &RunRef, query: &str) -> Vec<Value> {
        let r = self.get(key, &format!("{}{query}", run.path("logs")));
        read_ndjson(r)
    }
}

/// Checks an NDJSON log response (200, `application/jsonl`) and parses its lines.
pub fn read_ndjson(r: Response) -> Vec<Value> {
    assert_eq!(r.status(), 200, "log status");
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("application/jsonl"), "content type {kind}");
    ndjson(&r.text().unwrap())
}

/// Parses NDJSON: one JSON object per line, every line ending in `\n`.
pub fn ndjson(body: &str) -> Vec<Value> {
    if body.is_empty() {
        return Vec::new();
    }
    assert!(body.ends_with('\n'), "NDJSON ends with a newline: {body:?}");
    body.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("each line is JSON");
            assert!(v.is_object(), "each line is an object: {line}");
            v
        })
        .collect()
}
