//! What most tests start from: a valid task body, and a server with a key, a task or a run,
//! each in one line.

use serde_json::{Value, json};

use super::Server;
use super::runs::RunRef;

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
        let s = Server::start();
        let key = s.key(scopes);
        (s, key)
    }

    /// As `with_key`, with a plain task in project 1 (its id).
    pub fn with_task(scopes: &str) -> (Server, String, String) {
        let (s, key) = Server::with_key(scopes);
        let task = s.new_task(&key);
        (s, key, task)
    }

    /// As `with_key`, with a fresh task and one run of it, created with every field defaulted.
    pub fn with_run(scopes: &str) -> (Server, String, RunRef) {
        let (s, key) = Server::with_key(scopes);
        let run = s.new_run(&key, &json!({})).0;
        (s, key, run)
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
