//! Who may reach a run: only through its own task's URL, with a key of the right scope;
//! and runs are never deleted (405).

use crate::harness::runs::RunRef;
use crate::harness::{Server, assert_error, assert_not_found};
use serde_json::json;

#[test]
fn runs_are_reached_only_through_their_task_and_never_deleted() {
    let (s, key) = Server::with_key("task:write");
    let reader = s.key("task:read");
    let (run, _) = s.new_run(&key, &json!({}));
    let other_task = s.new_task(&key);
    let stray = RunRef {
        task: other_task,
        id: run.id.clone(),
    };
    let unknown = RunRef {
        task: run.task.clone(),
        id: "00000000-0000-4000-8000-000000000000".into(),
    };
    for r in [&stray, &unknown] {
        assert_not_found(s.get(&key, &r.path("")));
        assert_not_found(s.patch(&key, &r.path(""), &json!({"stage": "x"})));
        assert_not_found(s.patch(&key, &r.path("set_output/"), &json!({"output": {}})));
        assert_not_found(s.post(
            &key,
            &r.path("append_log/"),
            &json!({"entries": [{"a": 1}]}),
        ));
        assert_not_found(s.get(&key, &r.path("logs")));
        assert_not_found(s.get(&key, &r.path("stream/")));
    }
    assert!(s.log(&key, &run, "").is_empty(), "nothing reached the run");
    assert_not_found(s.get(
        &key,
        "/api/projects/1/tasks/00000000-0000-4000-8000-000000000000/runs/",
    ));

    for path in [run.path(""), run.path("").trim_end_matches('/').to_string()] {
        assert_error(
            s.delete(&key, &path),
            405,
            "invalid_request",
            "method_not_allowed",
            None,
        );
    }
    assert_error(
        s.put(&key, &run.path(""), &json!({})),
        405,
        "invalid_request",
        "method_not_allowed",
        None,
    );
    assert_eq!(s.get(&key, &run.path("")).status(), 200, "still there");

    // Reading needs task:read, writing task:write, and anything needs a key.
    assert_eq!(s.get(&reader, &run.path("")).status(), 200);
    assert_eq!(s.get(&reader, &run.path("logs")).status(), 200);
    for r in [
        s.patch(&reader, &run.path(""), &json!({"stage": "x"})),
        s.patch(&reader, &run.path("set_output/"), &json!({"output": {}})),
        s.post(&reader, &run.path("append_log/"), &json!({"entries": [{}]})),
        s.post(
            &reader,
            &format!("/api/projects/1/tasks/{}/runs/", run.task),
            &json!({}),
        ),
    ] {
        assert_error(r, 403, "authentication_error", "permission_denied", None);
    }
    assert_error(
        s.get("", &run.path("")),
        403,
        "authentication_error",
        "not_authenticated",
        None,
    );
    assert_error(
        s.get("", &run.path("logs")),
        403,
        "authentication_error",
        "not_authenticated",
        None,
    );
    assert_error(
        s.get("phx_nope", &run.path("")),
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
}
