//! Creating a task checks every writable field with the error PostHog's clients expect
//! (`type`, `code`, `attr`), ignores unknown and read-only fields, and answers the contract's
//! task object.

use crate::harness::{Server, assert_error, assert_invalid, expect_json, is_timestamp, task_body};
use serde_json::{Value, json};

const TASKS: &str = "/api/projects/1/tasks/";

fn rejects(s: &Server, key: &str, body: Value, code: &str, attr: &str) {
    let r = s.post(key, TASKS, &body);
    assert_invalid(r, code, attr);
}

/// The field `name` of a task created with `extra` on top of a valid body.
fn stored(s: &Server, key: &str, extra: Value, name: &str) -> Value {
    expect_json(s.post(key, TASKS, &task_body(extra)), 201)[name].clone()
}

#[test]
fn create_checks_every_field() {
    let (s, key) = Server::with_key("task:write");
    let long = || Value::String("x".repeat(256));
    let body = json!({"origin_product": "slack"});
    rejects(&s, &key, body, "required", "description");
    rejects(
        &s,
        &key,
        json!({"description": "d"}),
        "required",
        "origin_product",
    );
    let refused = [
        ("description", json!(null), "null"),
        ("description", json!(""), "blank"),
        ("description", json!(" \n\t "), "blank"),
        ("description", json!(5), "invalid_input"),
        ("origin_product", json!(null), "null"),
        ("origin_product", json!("nope"), "invalid_choice"),
        ("origin_product", json!("USER_CREATED"), "invalid_choice"),
        ("origin_product", json!(""), "invalid_choice"),
        ("origin_product", json!(3), "invalid_choice"),
        ("title", long(), "max_length"),
        ("title", json!(5), "invalid_input"),
        ("title", json!(["a"]), "invalid_input"),
        ("title", json!(null), "null"),
        ("assignee", long(), "max_length"),
        ("assignee", json!(7), "invalid_input"),
        ("assignee", json!({"name": "x"}), "invalid_input"),
        ("repository", json!("acme"), "invalid_input"),
        ("repository", json!("/x"), "invalid_input"),
        ("repository", json!("a/"), "invalid_input"),
        ("repository", json!("a/b/c"), "invalid_input"),
        ("repository", json!("/"), "invalid_input"),
        ("repository", json!("a b/c"), "invalid_input"),
        ("repository", json!(5), "invalid_input"),
        ("github_integration", json!("abc"), "invalid_input"),
        ("github_integration", json!(1.5), "invalid_input"),
        ("github_integration", json!(true), "invalid_input"),
        ("github_integration", json!([1]), "invalid_input"),
        ("github_integration", json!(999), "does_not_exist"),
    ];
    for (field, value, code) in refused {
        let mut body = task_body(json!({}));
        body[field] = value;
        rejects(&s, &key, body, code, field);
    }
    let list = expect_json(s.get(&key, TASKS), 200);
    assert_eq!(list["count"], 0, "nothing refused was stored");

    for &origin in burrow::tasks::ORIGIN_PRODUCTS {
        let got = stored(
            &s,
            &key,
            json!({"origin_product": origin}),
            "origin_product",
        );
        assert_eq!(got, origin);
    }
    // Lengths count characters, not bytes.
    let accented = "é".repeat(255);
    assert_eq!(
        stored(&s, &key, json!({"title": accented}), "title"),
        accented
    );
    let assignee = stored(&s, &key, json!({"assignee": "agent-1"}), "assignee");
    assert_eq!(assignee, "agent-1");
    assert!(stored(&s, &key, json!({"assignee": null}), "assignee").is_null());
    let repo = |v: Value| stored(&s, &key, json!({"repository": v}), "repository");
    assert_eq!(repo(json!("Acme/Web-App")), "acme/web-app");
    assert_eq!(repo(json!(" PostHog/posthog ")), "posthog/posthog");
    assert!(repo(json!("")).is_null());
    assert!(repo(json!(null)).is_null());
    assert!(stored(&s, &key, json!({}), "repository").is_null());
    let none = stored(
        &s,
        &key,
        json!({"github_integration": null}),
        "github_integration",
    );
    assert!(none.is_null());
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
    assert_eq!(
        stored(&s, &key, json!({"json_schema": schema}), "json_schema"),
        schema
    );
    // A json_schema that is not a JSON Schema is refused up front, not at set_output/.
    assert_error(
        s.post(
            &key,
            "/api/projects/1/tasks/",
            &task_body(json!({"json_schema": [1, "a"]})),
        ),
        400,
        "validation_error",
        "invalid_input",
        Some("json_schema"),
    );
    assert!(stored(&s, &key, json!({"json_schema": null}), "json_schema").is_null());
}

#[test]
fn unknown_and_read_only_fields_are_ignored() {
    let (s, key) = Server::with_key("task:write");
    let t = s.task(
        &key,
        &task_body(json!({
            "frobnicate": 1, "id": "not-a-uuid", "task_number": 4242, "slug": "NOPE-1",
            "created_by": 99, "created_at": "2000-01-01T00:00:00.000000Z",
            "latest_run": {"id": "x"},
        })),
    );
    assert!(t.get("frobnicate").is_none(), "{t}");
    let id = t["id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4),
        "{t}"
    );
    assert_eq!(t["task_number"], 0);
    assert_eq!(t["slug"], "DEF-0");
    assert_eq!(t["created_by"]["email"], "admin@localhost");
    assert!(t["latest_run"].is_null());
    assert!(is_timestamp(&t["created_at"]), "{t}");
    assert!(is_timestamp(&t["updated_at"]), "{t}");
    assert_ne!(t["created_at"], "2000-01-01T00:00:00.000000Z");
    let mut keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let expected = "assignee created_at created_by description github_integration id json_schema \
                    latest_run origin_product repository slug task_number title updated_at";
    assert_eq!(keys.join(" "), expected);
    let mut user: Vec<&str> = t["created_by"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    user.sort_unstable();
    assert_eq!(
        user.join(" "),
        "distinct_id email first_name id last_name uuid"
    );
    let again = expect_json(s.get(&key, &format!("{TASKS}{id}/")), 200);
    assert_eq!(again, t, "retrieve answers what create answered");
}

#[test]
fn github_integrations_must_belong_to_the_project() {
    let (s, key) = Server::with_key("task:write");
    let mine = s.integration("acme");
    let t = s.task(&key, &task_body(json!({"github_integration": mine})));
    assert_eq!(t["github_integration"], mine);
    // DRF takes a primary key given as a string of digits too.
    let as_text = json!({"github_integration": mine.to_string()});
    assert_eq!(stored(&s, &key, as_text, "github_integration"), mine);

    let listed = expect_json(s.get(&key, "/api/projects/1/integrations/"), 200);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["results"][0]["id"], mine);
    assert_eq!(listed["results"][0]["account"], "acme");

    let other = s.project("Other").to_string();
    let theirs = s.cli_ok(&[
        "integration",
        "create",
        "--project",
        &other,
        "--account",
        "acme",
    ]);
    let theirs: i64 = theirs.parse().unwrap();
    let body = task_body(json!({"github_integration": theirs}));
    rejects(&s, &key, body, "does_not_exist", "github_integration");
    let path = format!("{TASKS}{}/", t["id"].as_str().unwrap());
    let r = s.patch(&key, &path, &json!({"github_integration": theirs}));
    assert_invalid(r, "does_not_exist", "github_integration");
    let kept = expect_json(s.get(&key, &path), 200);
    assert_eq!(kept["github_integration"], mine);
    let cleared = s.patch(&key, &path, &json!({"github_integration": null}));
    assert!(expect_json(cleared, 200)["github_integration"].is_null());
    // The other project's tasks may name it.
    let there = s.post(
        &key,
        &format!("/api/projects/{other}/tasks/"),
        &task_body(json!({"github_integration": theirs})),
    );
    assert_eq!(expect_json(there, 201)["github_integration"], theirs);
}
