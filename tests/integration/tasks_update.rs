//! Request bodies must be JSON objects within the size limit; PUT needs the create's
//! required fields while PATCH changes only what it is given, with the same field checks.

use crate::harness::{
    Server, assert_error, assert_invalid, assert_not_found, expect_json, task_body,
};
use reqwest::Method;
use serde_json::{Value, json};

const TASKS: &str = "/api/projects/1/tasks/";

#[test]
fn bodies_must_be_json_objects() {
    let (s, key) = Server::with_key("task:write");
    let t = s.task(&key, &task_body(json!({})));
    let task = format!("{TASKS}{}/", t["id"].as_str().unwrap());
    let targets = [
        (Method::POST, TASKS),
        (Method::PATCH, task.as_str()),
        (Method::PUT, task.as_str()),
    ];
    for (method, path) in targets {
        let not_objects = [
            r#"[{"description": "d"}]"#,
            r#""text""#,
            "42",
            "null",
            "true",
        ];
        for body in not_objects {
            let r = s.send_raw(&key, method.clone(), path, body);
            assert_error(r, 400, "validation_error", "not_a_dict", None);
        }
        for body in [r#"{"description": "#, "{'a': 1}", r#"{"a": 1} trailing"#] {
            let r = s.send_raw(&key, method.clone(), path, body);
            assert_error(r, 400, "validation_error", "parse_error", None);
        }
        let r = s.send_raw(&key, method.clone(), path, vec![0xffu8, 0xfe, b'{']);
        assert_error(r, 400, "validation_error", "parse_error", None);
    }
    // An empty body reads as {}: a create misses its required fields, a PATCH is a no-op.
    let r = s.send_raw(&key, Method::POST, TASKS, "");
    assert_invalid(r, "required", "description");
    let same = expect_json(s.send_raw(&key, Method::PATCH, &task, ""), 200);
    assert_eq!(same["description"], t["description"]);
    assert_eq!(expect_json(s.get(&key, TASKS), 200)["count"], 1);
}

#[test]
fn bodies_over_the_json_limit_are_refused() {
    let s = Server::build().arg("--json-limit").arg("1024").start();
    let key = s.key("task:write");
    let fits = task_body(json!({"description": "x".repeat(900)}));
    assert!(serde_json::to_vec(&fits).unwrap().len() <= 1000);
    let t = s.task(&key, &fits);
    let task = format!("{TASKS}{}/", t["id"].as_str().unwrap());

    let big = task_body(json!({"description": "x".repeat(2000)}));
    let r = s.post(&key, TASKS, &big);
    assert_error(r, 413, "invalid_request", "too_large", None);
    let r = s.patch(&key, &task, &big);
    assert_error(r, 413, "invalid_request", "too_large", None);
    // Without a Content-Length (chunked), the limit holds while the body streams in.
    let bytes = serde_json::to_vec(&big).unwrap();
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(bytes));
    let r = s.send_raw(&key, Method::POST, TASKS, chunked);
    assert_error(r, 413, "invalid_request", "too_large", None);
    let list = expect_json(s.get(&key, TASKS), 200);
    assert_eq!(list["count"], 1, "nothing over the limit was stored");
    assert_eq!(list["results"][0]["description"], t["description"]);
}

#[test]
fn put_needs_the_create_fields() {
    let (s, key) = Server::with_key("task:write");
    let extra = json!({"title": "Original", "repository": "acme/web", "assignee": "bot"});
    let t = s.task(&key, &task_body(extra));
    let path = format!("{TASKS}{}/", t["id"].as_str().unwrap());
    let put = |b: Value| s.put(&key, &path, &b);

    let r = put(json!({"title": "New"}));
    assert_invalid(r, "required", "description");
    let r = put(json!({"description": "New"}));
    assert_invalid(r, "required", "origin_product");
    let r = put(task_body(json!({"description": ""})));
    assert_invalid(r, "blank", "description");
    let r = put(task_body(json!({"repository": "acme"})));
    assert_invalid(r, "invalid_input", "repository");

    let replaced = expect_json(
        put(json!({"description": "Replaced", "origin_product": "slack"})),
        200,
    );
    assert_eq!(replaced["description"], "Replaced");
    assert_eq!(replaced["origin_product"], "slack");
    // Fields a PUT leaves out keep their values (DRF's update sets only what it was given).
    assert_eq!(replaced["title"], "Original");
    assert_eq!(replaced["repository"], "acme/web");
    assert_eq!(replaced["assignee"], "bot");
    assert_eq!(replaced["id"], t["id"]);
    assert_eq!(replaced["task_number"], t["task_number"]);
    assert_eq!(expect_json(s.get(&key, &path), 200), replaced);
}

#[test]
fn patch_changes_only_what_it_is_given() {
    let (s, key) = Server::with_key("task:write");
    let schema = json!({"type": "object"});
    let extra = json!({"title": "Original", "repository": "acme/web", "assignee": "bot", "json_schema": schema});
    let t = s.task(&key, &task_body(extra));
    let path = format!("{TASKS}{}/", t["id"].as_str().unwrap());
    let patch = |b: Value| s.patch(&key, &path, &b);

    let refused = [
        ("description", json!(""), "blank"),
        ("description", json!(null), "null"),
        ("origin_product", json!("bad"), "invalid_choice"),
        ("origin_product", json!(null), "null"),
        ("title", json!("t".repeat(256)), "max_length"),
        ("title", json!(null), "null"),
        ("repository", json!("a/b/c"), "invalid_input"),
        ("assignee", json!("a".repeat(256)), "max_length"),
        ("github_integration", json!("x"), "invalid_input"),
        ("github_integration", json!(12), "does_not_exist"),
    ];
    for (field, value, code) in refused {
        let r = patch(json!({ field: value }));
        assert_invalid(r, code, field);
    }
    assert_eq!(
        expect_json(s.get(&key, &path), 200),
        t,
        "a refused PATCH changes nothing"
    );

    let patched = expect_json(patch(json!({"title": "Patched", "unknown": true})), 200);
    assert_eq!(patched["title"], "Patched");
    for kept in [
        "description",
        "origin_product",
        "repository",
        "assignee",
        "json_schema",
    ] {
        assert_eq!(patched[kept], t[kept], "{kept}");
    }
    assert_eq!(patched["created_at"], t["created_at"]);
    assert!(patched["updated_at"].as_str().unwrap() > t["updated_at"].as_str().unwrap());

    let field = |b: Value, name: &str| expect_json(patch(b), 200)[name].clone();
    assert_eq!(
        field(json!({"repository": "Other/Repo"}), "repository"),
        "other/repo"
    );
    assert!(field(json!({"repository": ""}), "repository").is_null());
    assert_eq!(
        field(json!({"origin_product": "eval_clusters"}), "origin_product"),
        "eval_clusters"
    );
    assert_eq!(
        field(json!({"description": "New words"}), "description"),
        "New words"
    );
    let cleared = expect_json(patch(json!({"assignee": null, "json_schema": null})), 200);
    assert!(cleared["assignee"].is_null() && cleared["json_schema"].is_null());
    // A blank title falls back to the description, as on create.
    assert_eq!(field(json!({"title": "  "}), "title"), "New words");
    let now = expect_json(s.get(&key, &path), 200);
    assert_eq!(now["title"], "New words");
    assert_eq!(now["origin_product"], "eval_clusters");
    assert!(now["repository"].is_null());

    let missing = format!("{TASKS}0b7a3c1e-2f4d-4e5a-9b6c-7d8e9f0a1b2c/");
    let r = s.patch(&key, &missing, &json!({}));
    assert_not_found(r);
    let r = s.put(&key, &format!("{TASKS}not-a-uuid/"), &task_body(json!({})));
    assert_not_found(r);
}
