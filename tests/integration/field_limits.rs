//! The documented size limits of the fields a task list carries: a task's `description`
//! (1 MiB of characters) and a run's `state` and `output` (1 MiB each as JSON), refused with
//! a 400 naming the field, however the value arrives: whole, or merged patch by patch.

use crate::harness::Server;
use crate::harness::runs::{RunRef, runs_path};
use crate::harness::{assert_invalid, expect_json, task_body};
use serde_json::{Value, json};

const MIB: usize = 1 << 20;

fn too_long(r: reqwest::blocking::Response, attr: &str) {
    assert_invalid(r, "max_length", attr);
}

/// A JSON object whose compact text is exactly `bytes` long: `{"k":"xxx…"}`.
fn object_of(key: &str, bytes: usize) -> Value {
    let overhead = format!("{{\"{key}\":\"\"}}").len();
    json!({ key: "x".repeat(bytes - overhead) })
}

#[test]
fn descriptions_stop_at_one_mebibyte_of_characters() {
    let (s, key) = Server::with_key("task:write");
    let tasks = "/api/projects/1/tasks/";
    let at_limit = "d".repeat(MIB);
    let task = expect_json(
        s.post(&key, tasks, &task_body(json!({"description": at_limit}))),
        201,
    );
    let id = task["id"].as_str().unwrap();
    too_long(
        s.post(
            &key,
            tasks,
            &task_body(json!({"description": "d".repeat(MIB + 1)})),
        ),
        "description",
    );
    // Characters, not bytes: a megabyte of two-byte characters is within the limit.
    expect_json(
        s.post(
            &key,
            tasks,
            &task_body(json!({"description": "é".repeat(MIB)})),
        ),
        201,
    );
    let task_url = format!("{tasks}{id}/");
    too_long(
        s.patch(
            &key,
            &task_url,
            &json!({"description": "d".repeat(MIB + 1)}),
        ),
        "description",
    );
    too_long(
        s.put(
            &key,
            &task_url,
            &task_body(json!({"description": "d".repeat(MIB + 1)})),
        ),
        "description",
    );
    let kept = expect_json(s.get(&key, &task_url), 200);
    assert_eq!(kept["description"].as_str().unwrap().len(), MIB);
}

#[test]
fn state_and_output_stop_at_one_mebibyte_however_they_arrive() {
    let (s, key, task) = Server::with_task("task:write");
    let runs = runs_path(&task);

    // On create.
    for field in ["state", "output"] {
        too_long(
            s.post(&key, &runs, &json!({ field: object_of("a", MIB + 1) })),
            field,
        );
    }
    too_long(
        s.post(&key, &runs, &json!({"output": "o".repeat(MIB)})),
        "output",
    );
    let run = expect_json(
        s.post(
            &key,
            &runs,
            &json!({"state": object_of("a", MIB), "output": object_of("a", MIB)}),
        ),
        201,
    );
    let run = RunRef::of(&run);

    // On update: a patch too large by itself, and patches that add up past the limit.
    let (_, fresh) = s.new_run(&key, &json!({}));
    let fresh = RunRef::of(&fresh);
    for field in ["state", "output"] {
        too_long(
            s.patch(
                &key,
                &fresh.path(""),
                &json!({ field: object_of("a", MIB + 1) }),
            ),
            field,
        );
        let half = object_of("a", MIB / 2 + 16);
        expect_json(s.patch(&key, &fresh.path(""), &json!({ field: half })), 200);
        too_long(
            s.patch(
                &key,
                &fresh.path(""),
                &json!({ field: object_of("b", MIB / 2 + 16) }),
            ),
            field,
        );
        // Replacing a key keeps the size, and is fine.
        expect_json(
            s.patch(
                &key,
                &fresh.path(""),
                &json!({ field: object_of("a", MIB / 2) }),
            ),
            200,
        );
    }
    let kept = expect_json(s.get(&key, &fresh.path("")), 200);
    assert!(
        kept["state"].get("b").is_none(),
        "a refused merge left a key"
    );
    assert!(
        kept["output"].get("b").is_none(),
        "a refused merge left a key"
    );

    // On set_output.
    too_long(
        s.patch(
            &key,
            &run.path("set_output/"),
            &json!({"output": object_of("a", MIB + 1)}),
        ),
        "output",
    );
    expect_json(
        s.patch(
            &key,
            &run.path("set_output/"),
            &json!({"output": object_of("z", MIB)}),
        ),
        200,
    );
}
