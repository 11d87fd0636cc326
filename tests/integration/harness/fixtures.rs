//! What most tests start from: a valid task body, and a server with a key, a task or a run,
//! each in one line.

use serde_json::{Value, json};

use super::runs::RunRef;
use super::{Builder, Server};

impl Server {
    /// Creates a task in project 1 and returns it.
    pub fn task(&self, key: &str, body: &Value) -> Value {
        let r = self.post(key, "/api/projects/1/tasks/", body);
        assert_eq!(r.status(), 201, "create task");
        r.json().unwrap()
    }

    /// Creates a plain task in project 1 and returns its id.
    pub fn new_task(&self, key: &str) -> String {
        let task = self.task(key, &task_body(json!({})));
        task["id"].as_str().unwrap().to_string()
    }

    /// A server with default settings and a key with `scopes`:
    /// `let (s, key) = Server::with_key("*");`
    pub fn with_key(scopes: &str) -> (Server, String) {
        Server::build().start_with_key(scopes)
    }

    /// As `with_key`, with a plain task in project 1 (its id).
    pub fn with_task(scopes: &str) -> (Server, String, String) {
        Server::build().start_with_task(scopes)
    }

    /// As `with_key`, with a fresh task and one run of it, created with every field defaulted.
    pub fn with_run(scopes: &str) -> (Server, String, RunRef) {
        let (s, key) = Server::with_key(scopes);
        let run = s.new_run(&key, &json!({})).0;
        (s, key, run)
    }
}

impl Builder {
    /// Starts the server and makes a key with `scopes`.
    pub fn start_with_key(self, scopes: &str) -> (Server, String) {
        let s = self.start();
        let key = s.key(scopes);
        (s, key)
    }

    /// As `start_with_key`, with a plain task in project 1 (its id).
    pub fn start_with_task(self, scopes: &str) -> (Server, String, String) {
        let (s, key) = self.start_with_key(scopes);
        let task = s.new_task(&key);
        (s, key, task)
    }
}

/// A valid task body (description and origin_product) with `extra`'s fields set on top.
pub fn task_body(extra: Value) -> Value {
    let mut body = json!({
        "description": "Fix the flaky login test",
        "origin_product": "user_created",
    });
    for (k, v) in extra.as_object().expect("extra fields as an object") {
        body[k] = v.clone();
    }
    body
}
