//! The run endpoints over HTTP: create, list, retrieve, PATCH, `tasks/:id/run/`, their
//! validation errors, and when `completed_at` is set.

use crate::harness::runs::{RunRef, runs_path};
use crate::harness::{Server, assert_invalid, assert_not_found, is_timestamp, results};
use serde_json::{Value, json};

#[test]
fn runs_are_created_listed_retrieved_and_started() {
    let (s, key, task) = Server::with_task("task:write");
    let runs = runs_path(&task);

    // Every field defaults.
    let first = s.run_of(&key, &task, &json!({}));
    assert_eq!(first["task"], task.as_str());
    assert_eq!(first["status"], "not_started");
    assert_eq!(first["environment"], "cloud");
    assert_eq!(first["state"], json!({}));
    assert_eq!(first["artifacts"], json!([]));
    for field in ["stage", "branch", "output", "error_message", "completed_at"] {
        assert!(first[field].is_null(), "{field} in {first}");
    }
    assert_eq!(first["id"].as_str().unwrap().len(), 36);
    assert!(is_timestamp(&first["created_at"]), "{first}");
    assert_eq!(first["created_at"], first["updated_at"]);
    let log_url = first["log_url"].as_str().unwrap();
    assert!(log_url.starts_with(&format!("{}/api/projects/1/tasks/{task}/runs/", s.base)));
    assert!(log_url.contains("token="), "{log_url}");

    // Every field given.
    let body = json!({"stage": "build", "branch": "fix/login", "status": "in_progress",
        "environment": "local", "error_message": "", "output": {"pr": 12},
        "state": {"step": 1, "nested": {"a": [1, 2]}}, "unknown_field": "ignored"});
    let second = s.run_of(&key, &task, &body);
    for field in [
        "stage",
        "branch",
        "status",
        "environment",
        "error_message",
        "output",
        "state",
    ] {
        assert_eq!(second[field], body[field], "{field}");
    }
    assert!(second["completed_at"].is_null());
    // Limits count characters, not bytes: 100 two-byte characters are fine.
    let long_stage = "é".repeat(100);
    let third = s.run_of(
        &key,
        &task,
        &json!({"stage": long_stage, "status": "failed"}),
    );
    assert_eq!(third["stage"], long_stage.as_str());
    assert!(
        is_timestamp(&third["completed_at"]),
        "created terminal: {third}"
    );

    // Listed newest first; retrieved with and without the trailing slash.
    let list: Value = s.get(&key, &runs).json().unwrap();
    assert_eq!(list["count"], 3);
    let ids: Vec<&Value> = results(&list).iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&third["id"], &second["id"], &first["id"]]);
    let r = RunRef::of(&second);
    for path in [r.path(""), r.path("").trim_end_matches('/').to_string()] {
        let got = s.get(&key, &path);
        assert_eq!(got.status(), 200, "{path}");
        let got: Value = got.json().unwrap();
        assert_eq!(got["state"], second["state"]);
        assert_eq!(got["updated_at"], second["updated_at"]);
    }
    let paged: Value = s
        .get(&key, &format!("{runs}?limit=1&offset=1"))
        .json()
        .unwrap();
    assert_eq!(paged["results"][0]["id"], second["id"]);
    assert!(paged["next"].as_str().unwrap().starts_with("http://"));

    // POST tasks/:id/run/ answers with the task, the new queued cloud run as latest_run.
    let started = s.post(
        &key,
        &format!("/api/projects/1/tasks/{task}/run/"),
        &json!({}),
    );
    assert_eq!(started.status(), 200);
    let started: Value = started.json().unwrap();
    assert_eq!(started["id"], task.as_str());
    let latest = &started["latest_run"];
    assert_eq!(latest["status"], "queued");
    assert_eq!(latest["environment"], "cloud");
    assert_eq!(latest["task"], task.as_str());
    assert!(latest["log_url"].as_str().unwrap().starts_with("http://"));
    let list: Value = s.get(&key, &runs).json().unwrap();
    assert_eq!(list["count"], 4);
    assert_eq!(list["results"][0]["id"], latest["id"]);
    let again: Value = s
        .get(&key, &format!("/api/projects/1/tasks/{task}/"))
        .json()
        .unwrap();
    assert_eq!(again["latest_run"]["id"], latest["id"]);
    assert_not_found(s.post(
        &key,
        "/api/projects/1/tasks/00000000-0000-4000-8000-000000000000/run/",
        &json!({}),
    ));
}

#[test]
fn runs_refuse_bad_fields_with_the_offending_attr() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({"stage": "plan"}));
    let create = format!("/api/projects/1/tasks/{}/runs/", run.task);
    let patch = run.path("");
    let cases = [
        (json!({"status": "done"}), "invalid_choice", "status"),
        (json!({"status": null}), "null", "status"),
        (json!({"stage": ""}), "blank", "stage"),
        (json!({"stage": "   "}), "blank", "stage"),
        (json!({"branch": ""}), "blank", "branch"),
        (json!({"stage": "x".repeat(101)}), "max_length", "stage"),
        (json!({"branch": "b".repeat(256)}), "max_length", "branch"),
        (json!({"stage": 7}), "invalid_input", "stage"),
        (json!({"state": null}), "null", "state"),
        (json!({"state": [1, 2]}), "not_a_dict", "state"),
        (json!({"state": "{}"}), "not_a_dict", "state"),
    ];
    for (body, code, attr) in &cases {
        assert_invalid(s.post(&key, &create, body), code, attr);
        assert_invalid(s.patch(&key, &patch, body), code, attr);
    }
    let only_create = [(
        json!({"environment": "mars"}),
        "invalid_choice",
        "environment",
    )];
    for (body, code, attr) in &only_create {
        assert_invalid(s.post(&key, &create, body), code, attr);
    }
    let only_patch = [
        (
            json!({"state_remove_keys": "a"}),
            "not_a_list",
            "state_remove_keys",
        ),
        (
            json!({"state_remove_keys": ["a", 3]}),
            "invalid_input",
            "state_remove_keys__1",
        ),
    ];
    for (body, code, attr) in &only_patch {
        assert_invalid(s.patch(&key, &patch, body), code, attr);
    }
    for raw in ["not json", "[1, 2]"] {
        let r = s
            .req(&key, reqwest::Method::PATCH, &patch)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{raw}");
    }
    // Refused PATCHes change nothing, and only the tasks' own runs were created.
    let now: Value = s.get(&key, &patch).json().unwrap();
    assert_eq!(now["updated_at"], created["updated_at"]);
    assert_eq!(now["stage"], "plan");
    let list: Value = s.get(&key, &create).json().unwrap();
    assert_eq!(list["count"], 1);
}

#[test]
fn patch_updates_fields_and_sets_completed_at_once() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({"environment": "local", "stage": "plan"}));
    let path = run.path("");
    let patch = |body: Value| -> Value {
        let r = s.patch(&key, &path, &body);
        assert_eq!(r.status(), 200, "PATCH {body}");
        r.json().unwrap()
    };

    let r = patch(
        json!({"status": "in_progress", "stage": "build", "branch": "feat/x",
        "error_message": "warming up"}),
    );
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["stage"], "build");
    assert_eq!(r["branch"], "feat/x");
    assert_eq!(r["error_message"], "warming up");
    assert!(r["completed_at"].is_null());
    assert!(r["updated_at"].as_str() >= created["updated_at"].as_str());
    assert_eq!(r["created_at"], created["created_at"]);

    // environment, task and completed_at are not writable; null clears a text field.
    let r = patch(json!({"environment": "cloud", "task": "someone-else",
        "completed_at": "2001-01-01T00:00:00.000000Z", "branch": null, "error_message": null}));
    assert_eq!(r["environment"], "local");
    assert_eq!(r["task"], run.task.as_str());
    assert!(r["completed_at"].is_null());
    assert!(r["branch"].is_null() && r["error_message"].is_null());
    assert_eq!(r["stage"], "build", "fields not given stay");
    assert_eq!(
        patch(json!({"environment": "mars"}))["environment"],
        "local"
    );

    // The first terminal status sets completed_at; nothing later moves or clears it.
    let done = patch(json!({"status": "completed"}));
    let at = done["completed_at"].clone();
    assert!(is_timestamp(&at), "{done}");
    for body in [
        json!({"status": "failed", "error_message": "late failure"}),
        json!({"status": "in_progress"}),
        json!({"completed_at": null}),
        json!({"status": "cancelled"}),
        json!({"stage": "after"}),
    ] {
        let r = patch(body.clone());
        assert_eq!(r["completed_at"], at, "after {body}");
    }
    let fetched: Value = s.get(&key, &path).json().unwrap();
    assert_eq!(fetched["completed_at"], at);
    assert_eq!(fetched["status"], "cancelled");

    // Each terminal status sets it, on PATCH or at creation.
    for status in ["completed", "failed", "cancelled"] {
        let (other, fresh) = s.new_run(&key, &json!({"status": "queued"}));
        assert!(fresh["completed_at"].is_null());
        let r: Value = s
            .patch(&key, &other.path(""), &json!({"status": status}))
            .json()
            .unwrap();
        assert!(is_timestamp(&r["completed_at"]), "{status}: {r}");
        assert!(r["completed_at"].as_str() >= fresh["created_at"].as_str());
        let (_, born) = s.new_run(&key, &json!({"status": status}));
        assert!(
            is_timestamp(&born["completed_at"]),
            "created {status}: {born}"
        );
    }
    for status in ["not_started", "queued", "in_progress"] {
        let (_, r) = s.new_run(&key, &json!({"status": status}));
        assert!(r["completed_at"].is_null(), "{status}");
    }
}
