//! The route table as clients meet it: every path with and without its trailing slash,
//! JSON 404s and 405s, and checks in the order DRF makes them (who you are, what you may do,
//! which project, and only then what you sent).

use crate::harness::{Server, assert_error, assert_not_found, expect_json, task_body};
use reqwest::Method;
use serde_json::json;

#[test]
fn every_path_answers_with_and_without_a_trailing_slash() {
    let (s, key, id) = Server::with_task("*");
    let task = format!("/api/projects/1/tasks/{id}");
    let gets = [
        "/_health",
        "/api",
        "/api/users/@me",
        "/api/personal_api_keys",
        "/api/projects",
        "/api/projects/1",
        "/api/projects/@current",
        "/api/projects/1/integrations",
        "/api/projects/1/tasks",
        &task,
    ];
    for path in gets {
        for p in [path.to_string(), format!("{path}/")] {
            let r = s.get(&key, &p);
            assert_eq!(r.status(), 200, "GET {p}");
            assert!(
                r.json::<serde_json::Value>().is_ok(),
                "GET {p} answers JSON"
            );
        }
    }
    for p in [format!("{task}/run"), format!("{task}/run/")] {
        assert_eq!(s.post(&key, &p, &json!({})).status(), 200, "POST {p}");
    }
    for p in [task.clone(), format!("{task}/")] {
        assert_eq!(s.patch(&key, &p, &json!({})).status(), 200, "PATCH {p}");
        assert_eq!(
            s.put(&key, &p, &task_body(json!({}))).status(),
            200,
            "PUT {p}"
        );
    }
    for p in ["/api/projects/1/tasks", "/api/projects/1/tasks/"] {
        assert_eq!(
            s.post(&key, p, &task_body(json!({}))).status(),
            201,
            "POST {p}"
        );
    }
    let body = json!({"label": "slash", "scopes": ["task:read"]});
    for slash in ["", "/"] {
        let made = expect_json(
            s.post(&key, &format!("/api/personal_api_keys{slash}"), &body),
            201,
        );
        let one = format!(
            "/api/personal_api_keys/{}{slash}",
            made["id"].as_str().unwrap()
        );
        assert_eq!(s.delete(&key, &one).status(), 204, "DELETE {one}");
    }
    for p in [task.clone(), format!("{task}/")] {
        let expected = if p.ends_with('/') { 404 } else { 204 };
        assert_eq!(s.delete(&key, &p).status(), expected, "DELETE {p}");
    }
}

#[test]
fn unknown_paths_and_methods_answer_json() {
    let (s, key, id) = Server::with_task("*");
    for path in [
        "/api/nope",
        "/api/nope/",
        "/api/projects/1/nope/",
        "/api/projects/1/tasks/x/y/z/",
        &format!("/api/projects/1/tasks/{id}/nope/"),
        "/api/people/",
        "/api/users/@you/",
    ] {
        for k in [key.as_str(), ""] {
            assert_not_found(s.get(k, path));
        }
    }
    let task = format!("/api/projects/1/tasks/{id}/");
    for (method, path) in [
        (Method::DELETE, "/api/projects/1/tasks/"),
        (Method::PATCH, "/api/projects/1/tasks"),
        (Method::POST, task.as_str()),
        (Method::GET, &format!("{task}run/")),
        (Method::DELETE, &format!("{task}run")),
        (Method::PUT, "/api/projects/"),
        (Method::POST, "/api/projects/1/"),
        (Method::DELETE, "/api/users/@me/"),
        (Method::PUT, "/api/personal_api_keys/"),
        (Method::GET, "/api/personal_api_keys/abc/"),
        (Method::POST, "/api/"),
        (Method::POST, "/_health"),
    ] {
        for k in [key.as_str(), ""] {
            let r = s.req(k, method.clone(), path).send().unwrap();
            let body = assert_error(r, 405, "invalid_request", "method_not_allowed", None);
            assert_eq!(body["detail"], format!("Method \"{method}\" not allowed."));
        }
    }
    // Nothing was changed by the refused methods.
    assert_eq!(
        expect_json(s.get(&key, &task), 200)["latest_run"],
        json!(null)
    );
}

#[test]
fn who_you_are_is_checked_before_what_you_sent() {
    let s = Server::build().arg("--json-limit").arg("1024").start();
    let tasks = "/api/projects/1/tasks/";
    let write = s.key("task:write");
    let read = s.key("task:read");
    let p2 = s.project("Elsewhere");
    let elsewhere = s.key_for("admin@localhost", "task:write", &[p2]);
    let id = s.new_task(&write);
    let task = format!("{tasks}{id}/");
    let big = serde_json::to_string(&task_body(json!({"description": "x".repeat(2000)}))).unwrap();

    for body in ["[]", "{broken", big.as_str()] {
        for (method, path) in [
            (Method::POST, tasks),
            (Method::PATCH, &task),
            (Method::PUT, &task),
        ] {
            let send = |key: &str| s.send_raw(key, method.clone(), path, body.to_string());
            let what = format!("{method} {path} with {:.10}", body);
            let r = send("");
            assert_error(r, 403, "authentication_error", "not_authenticated", None);
            let r = send("phx_unknown");
            assert_eq!(r.status(), 401, "{what}: an unknown key");
            assert_error(
                r,
                401,
                "authentication_error",
                "authentication_failed",
                None,
            );
            let r = send(&read);
            assert_eq!(r.status(), 403, "{what}: a read-only key");
            assert_error(r, 403, "authentication_error", "permission_denied", None);
            let r = send(&elsewhere);
            assert_eq!(r.status(), 404, "{what}: a key for another project");
            assert_not_found(r);
        }
    }
    let r = s.send_raw(&write, Method::POST, tasks, "[]");
    assert_error(r, 400, "validation_error", "not_a_dict", None);
    let r = s.send_raw(&write, Method::POST, tasks, big);
    assert_error(r, 413, "invalid_request", "too_large", None);
}

#[test]
fn links_use_the_public_url_when_one_is_set() {
    let (s, key, id) = Server::build()
        .args(["--public-url", "https://burrow.example.com/"])
        .start_with_task("task:write");
    s.task(&key, &task_body(json!({})));
    let list = expect_json(s.get(&key, "/api/projects/1/tasks/?limit=1"), 200);
    let next = list["next"].as_str().unwrap();
    assert!(
        next.starts_with("https://burrow.example.com/api/projects/1/tasks"),
        "{next}"
    );
    let run = s.post(
        &key,
        &format!("/api/projects/1/tasks/{id}/run/"),
        &json!({}),
    );
    let log_url = expect_json(run, 200)["latest_run"]["log_url"].clone();
    let prefix = format!("https://burrow.example.com/api/projects/1/tasks/{id}/runs/");
    assert!(log_url.as_str().unwrap().starts_with(&prefix), "{log_url}");
}
