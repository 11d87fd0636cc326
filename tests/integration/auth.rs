//! Who may do what: the scope matrix of the task endpoints, unknown, revoked and missing
//! keys, and keys limited to some projects (including `@current`).

use crate::harness::{Server, assert_error, assert_not_found, expect_json, results, task_body};
use reqwest::blocking::Response;
use serde_json::json;

const TASKS: &str = "/api/projects/1/tasks/";

/// Tries every task endpoint with `key` on a fresh task made with another key, handing each
/// answer to `check` with the endpoint's name.
fn statuses(s: &Server, key: &str, check: impl Fn(&str, Response)) {
    let admin = s.key("*");
    let id = s.new_task(&admin);
    let task = format!("{TASKS}{id}/");
    check("list", s.get(key, TASKS));
    check("retrieve", s.get(key, &task));
    check("create", s.post(key, TASKS, &task_body(json!({}))));
    check("patch", s.patch(key, &task, &json!({"title": "t"})));
    check("put", s.put(key, &task, &task_body(json!({}))));
    check("run", s.post(key, &format!("{task}run/"), &json!({})));
    check("delete", s.delete(key, &task));
}

const WRITES: [&str; 5] = ["create", "patch", "put", "run", "delete"];

#[test]
fn scopes_decide_what_a_key_may_do() {
    let s = Server::start();
    for scopes in ["task:write", "*", "task:read,task:write"] {
        let key = s.key(scopes);
        statuses(&s, &key, |op, r| {
            let expected = match op {
                "create" => 201,
                "delete" => 204,
                _ => 200,
            };
            assert_eq!(r.status(), expected, "{op} with {scopes}");
        });
    }

    let read = s.key("task:read");
    statuses(&s, &read, |op, r| {
        if WRITES.contains(&op) {
            let body = assert_error(r, 403, "authentication_error", "permission_denied", None);
            assert_eq!(
                body["detail"], "API key missing required scope 'task:write'",
                "{op}"
            );
        } else {
            assert_eq!(r.status(), 200, "{op} with task:read");
        }
    });

    for scopes in ["feature_flag:read", "feature_flag:write,insight:read"] {
        let other = s.key(scopes);
        statuses(&s, &other, |op, r| {
            let needed = if WRITES.contains(&op) {
                "task:write"
            } else {
                "task:read"
            };
            let body = assert_error(r, 403, "authentication_error", "permission_denied", None);
            let detail = format!("API key missing required scope '{needed}'");
            assert_eq!(body["detail"], detail, "{op} with {scopes}");
        });
        let r = s.get(&other, "/api/projects/1/");
        assert_error(r, 403, "authentication_error", "permission_denied", None);
    }
    // Nothing the refused keys tried was done.
    let admin = s.key("*");
    let list = expect_json(s.get(&admin, TASKS), 200);
    assert_eq!(
        list["count"], 6,
        "three creates, three tasks the refused keys left alone"
    );
    for t in list["results"].as_array().unwrap() {
        assert!(t["latest_run"].is_null() && t["title"] != "t", "{t}");
    }
}

#[test]
fn unknown_revoked_and_missing_keys_are_refused() {
    let s = Server::start();
    let (revoked, id) = s.labeled_key("admin@localhost", "soon-gone", "*");
    assert_eq!(s.get(&revoked, TASKS).status(), 200);
    s.cli_ok(&["key", "revoke", "--id", &id]);

    let failed = |r: Response, what: &str| {
        let header = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header.as_deref(), Some("Bearer"), "{what}");
        assert_error(
            r,
            401,
            "authentication_error",
            "authentication_failed",
            None,
        );
    };
    let valid = s.key("*");
    let garbage = format!("{}x", &valid[..valid.len() - 1]);
    for key in [
        revoked.as_str(),
        "phx_garbage",
        garbage.as_str(),
        "not-even-a-key",
    ] {
        statuses(&s, key, |op, r| failed(r, &format!("{op} with {key}")));
        failed(s.get(key, "/api/users/@me/"), "@me");
        failed(s.get(key, "/api/projects/"), "projects");
        failed(s.get(key, "/api/personal_api_keys/"), "keys");
    }
    for header in ["Bearer", "Bearer ", "Token abc", "Basic YTpi"] {
        let r = s
            .client
            .get(s.url(TASKS))
            .header("authorization", header)
            .send()
            .unwrap();
        failed(r, header);
    }

    let no_key = |r: Response| {
        let body = assert_error(r, 403, "authentication_error", "not_authenticated", None);
        assert_eq!(
            body["detail"],
            "Authentication credentials were not provided."
        );
    };
    statuses(&s, "", |_, r| no_key(r));
    for path in [
        "/api/users/@me/",
        "/api/projects/",
        "/api/projects/1/",
        "/api/personal_api_keys/",
    ] {
        no_key(s.get("", path));
    }
    no_key(s.post(
        "",
        "/api/personal_api_keys/",
        &json!({"label": "x", "scopes": ["*"]}),
    ));
    // The valid key still works, and the refused ones changed nothing.
    let list = expect_json(s.get(&valid, TASKS), 200);
    assert_eq!(
        list["count"], 5,
        "only the tasks `statuses` made with its own key"
    );
}

#[test]
fn keys_reach_only_their_projects() {
    let s = Server::start();
    let a = s.project("Alpha");
    let b = s.project("Beta");
    let all = s.key("*");
    let only_a = s.key_for("admin@localhost", "*", &[a]);
    let in_b = expect_json(
        s.post(
            &all,
            &format!("/api/projects/{b}/tasks/"),
            &task_body(json!({})),
        ),
        201,
    );
    let b_task = format!("/api/projects/{b}/tasks/{}/", in_b["id"].as_str().unwrap());
    assert_not_found(s.get(&only_a, &format!("/api/projects/{b}/")));
    assert_not_found(s.get(&only_a, &format!("/api/projects/{b}/integrations/")));
    assert_not_found(s.get(&only_a, &format!("/api/projects/{b}/tasks/")));
    assert_not_found(s.post(
        &only_a,
        &format!("/api/projects/{b}/tasks/"),
        &task_body(json!({})),
    ));
    assert_not_found(s.get(&only_a, &b_task));
    assert_not_found(s.patch(&only_a, &b_task, &json!({"title": "x"})));
    assert_not_found(s.delete(&only_a, &b_task));
    assert_not_found(s.post(&only_a, &format!("{b_task}run/"), &json!({})));
    assert_not_found(s.get(&only_a, TASKS));
    // A task is reached only through its own project.
    assert_not_found(s.get(
        &all,
        &b_task.replace(&format!("/projects/{b}/"), &format!("/projects/{a}/")),
    ));
    for missing in ["999", "0", "-1", "abc", "1.0"] {
        assert_not_found(s.get(&all, &format!("/api/projects/{missing}/")));
        assert_not_found(s.get(&all, &format!("/api/projects/{missing}/tasks/")));
    }

    let in_a = s.post(
        &only_a,
        &format!("/api/projects/{a}/tasks/"),
        &task_body(json!({})),
    );
    assert_eq!(expect_json(in_a, 201)["slug"], "ALP-0");
    let listed = expect_json(s.get(&only_a, "/api/projects/"), 200);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["results"][0]["id"], a);
    assert_eq!(listed["results"][0]["name"], "Alpha");
    let everything = expect_json(s.get(&all, "/api/projects/"), 200);
    let ids: Vec<i64> = results(&everything)
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, a, b]);

    // @current: the user's current project, or the key's first when it cannot reach that.
    assert_eq!(
        expect_json(s.get(&all, "/api/projects/@current/"), 200)["id"],
        1
    );
    assert_eq!(
        expect_json(s.get(&only_a, "/api/projects/@current/"), 200)["id"],
        a
    );
    let t = expect_json(
        s.post(&all, "/api/projects/@current/tasks/", &task_body(json!({}))),
        201,
    );
    assert_eq!(t["slug"], "DEF-0");
    let current = format!(
        "/api/projects/@current/tasks/{}/",
        t["id"].as_str().unwrap()
    );
    assert_eq!(expect_json(s.get(&all, &current), 200)["id"], t["id"]);
    let mine = expect_json(s.get(&only_a, "/api/projects/@current/tasks"), 200);
    assert_eq!(mine["results"][0]["slug"], "ALP-0");
    let me = expect_json(s.get(&only_a, "/api/users/@me/"), 200);
    assert_eq!(me["team"]["id"], a);
    assert_eq!(me["teams"].as_array().unwrap().len(), 1);

    // A key limited to several projects reaches each of them.
    let both = s.key_for("admin@localhost", "task:read", &[a, b]);
    assert_eq!(s.get(&both, &b_task).status(), 200);
    assert_eq!(
        s.get(&both, &format!("/api/projects/{a}/tasks/")).status(),
        200
    );
    assert_not_found(s.get(&both, TASKS));
}
