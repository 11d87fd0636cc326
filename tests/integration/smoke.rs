//! The quick start of the README works: a key from the command line creates a task.

use crate::harness::Server;
use serde_json::json;

#[test]
fn quick_start_creates_a_task_and_starts_a_run() {
    let (s, key) = Server::with_key("task:write");
    assert!(key.starts_with("phx_"));
    let task = s.task(
        &key,
        &json!({"description": "Fix the flaky login test", "origin_product": "user_created", "repository": "acme/web"}),
    );
    assert_eq!(task["slug"], "DEF-0");
    assert_eq!(task["title"], "Fix the flaky login test");
    assert!(task["latest_run"].is_null());
    let id = task["id"].as_str().unwrap();
    let r = s.post(
        &key,
        &format!("/api/projects/1/tasks/{id}/run/"),
        &json!({}),
    );
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["latest_run"]["status"], "queued");
    assert_eq!(body["latest_run"]["environment"], "cloud");
    let health: serde_json::Value = s.get("", "/_health").json().unwrap();
    assert_eq!(health["status"], "ok");
}
