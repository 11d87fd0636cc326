//! `/api/personal_api_keys/` and `/api/users/@me/`: keys made over HTTP are shown once, work
//! at once, can be revoked, and never grant more than the key that made them.

use crate::harness::{
    Server, assert_error, assert_invalid, assert_not_found, expect_json, is_timestamp, task_body,
};
use serde_json::{Value, json};

const KEYS: &str = "/api/personal_api_keys/";
const TASKS: &str = "/api/projects/1/tasks/";

/// Makes a key over HTTP with `key`, asserting a 201; returns it, value included.
fn make_key(s: &Server, key: &str, body: Value) -> Value {
    expect_json(s.post(key, KEYS, &body), 201)
}

#[test]
fn keys_are_shown_once_work_and_can_be_revoked() {
    let s = Server::start();
    let star = s.key("*");
    let made = make_key(&s, &star, json!({"label": "ci", "scopes": ["task:read"]}));
    let value = made["value"].as_str().expect("the value, once").to_string();
    assert!(value.starts_with("phx_") && value.len() > 20, "{value}");
    assert_eq!(made["label"], "ci");
    assert_eq!(made["scopes"], json!(["task:read"]));
    assert!(made["scoped_teams"].is_null());
    assert!(is_timestamp(&made["created_at"]));
    let mask = made["mask_value"].as_str().unwrap();
    assert!(
        mask.starts_with("phx_") && mask.ends_with(&value[value.len() - 4..]),
        "{mask}"
    );
    assert!(!mask.contains(&value[4..12]), "the mask hides the value");
    let id = made["id"].as_str().unwrap();

    let list = expect_json(s.get(&star, KEYS), 200);
    let keys = list.as_array().expect("a list of keys");
    assert_eq!(keys.len(), 2, "the CLI's key and the new one");
    assert!(keys.iter().all(|k| k.get("value").is_none()), "{list}");
    assert!(!list.to_string().contains(&value));
    let listed = keys
        .iter()
        .find(|k| k["id"] == id)
        .expect("the new key listed");
    assert_eq!(listed["mask_value"], mask);

    // It works at once, with its scopes.
    assert_eq!(s.get(&value, TASKS).status(), 200);
    let r = s.post(&value, TASKS, &task_body(json!({})));
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let r = s.get(&value, KEYS);
    assert_error(r, 403, "authentication_error", "permission_denied", None);

    let r = s.delete(&star, &format!("{KEYS}{id}/"));
    assert_eq!(r.status(), 204);
    assert!(r.bytes().unwrap().is_empty());
    let r = s.get(&value, TASKS);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_error(
        r,
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
    let r = s.delete(&star, &format!("{KEYS}{id}/"));
    assert_not_found(r);
    let list = expect_json(s.get(&star, KEYS), 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "revoked keys are not listed"
    );

    // A key of another user can neither see nor revoke ours.
    let theirs = s.key_for("eve@example.com", "*", &[]);
    let their_list = expect_json(s.get(&theirs, KEYS), 200);
    assert_eq!(their_list.as_array().unwrap().len(), 1);
    let own_id = list[0]["id"].as_str().unwrap();
    let r = s.delete(&theirs, &format!("{KEYS}{own_id}/"));
    assert_not_found(r);
    assert_eq!(s.get(&star, TASKS).status(), 200);
}

#[test]
fn keys_grant_no_more_than_their_maker() {
    let s = Server::start();
    let write = s.key("task:write");
    let r = s.get(&write, KEYS);
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let r = s.post(
        &write,
        KEYS,
        &json!({"label": "x", "scopes": ["task:read"]}),
    );
    let body = assert_error(r, 403, "authentication_error", "permission_denied", None);
    assert_eq!(
        body["detail"],
        "API key missing required scope 'personal_api_key:write'"
    );

    let maker = s.key("personal_api_key:write,task:read");
    assert_eq!(s.get(&maker, KEYS).status(), 200, ":write implies :read");
    let make = |scopes: Value| s.post(&maker, KEYS, &json!({"label": "made", "scopes": scopes}));
    for beyond in [
        json!(["task:write"]),
        json!(["*"]),
        json!(["task:read", "feature_flag:read"]),
    ] {
        assert_invalid(make(beyond), "invalid_input", "scopes");
    }
    let made = expect_json(make(json!(["task:read"])), 201);
    assert_eq!(made["scopes"], json!(["task:read"]));

    let star = s.key("*");
    let post = |body: Value| s.post(&star, KEYS, &body);
    let refused = [
        (json!({"scopes": ["task:read"]}), "required", "label"),
        (
            json!({"label": "", "scopes": ["task:read"]}),
            "blank",
            "label",
        ),
        (
            json!({"label": "x".repeat(41), "scopes": ["task:read"]}),
            "max_length",
            "label",
        ),
        (json!({"label": "x"}), "required", "scopes"),
        (json!({"label": "x", "scopes": []}), "blank", "scopes"),
        (
            json!({"label": "x", "scopes": "task:read"}),
            "not_a_list",
            "scopes",
        ),
        (
            json!({"label": "x", "scopes": ["task:admin"]}),
            "invalid_choice",
            "scopes__0",
        ),
        (
            json!({"label": "x", "scopes": ["task:read", 5]}),
            "invalid_choice",
            "scopes__1",
        ),
        (
            json!({"label": "x", "scopes": ["*"], "scoped_teams": [999]}),
            "does_not_exist",
            "scoped_teams__0",
        ),
        (
            json!({"label": "x", "scopes": ["*"], "scoped_teams": ["a"]}),
            "invalid_input",
            "scoped_teams__0",
        ),
    ];
    for (body, code, attr) in refused {
        assert_invalid(post(body), code, attr);
    }
    let other = make_key(
        &s,
        &star,
        json!({"label": "ff", "scopes": ["feature_flag:read"]}),
    );
    assert_eq!(other["scopes"], json!(["feature_flag:read"]));

    // Project limits are inherited and cannot be widened.
    let a = s.project("Alpha");
    let b = s.project("Beta");
    let only_a = s.key_for("admin@localhost", "*", &[a]);
    let inherited = make_key(&s, &only_a, json!({"label": "a", "scopes": ["task:read"]}));
    assert_eq!(inherited["scoped_teams"], json!([a]));
    let value = inherited["value"].as_str().unwrap();
    let r = s.get(value, &format!("/api/projects/{b}/tasks/"));
    assert_not_found(r);
    assert_eq!(
        s.get(value, &format!("/api/projects/{a}/tasks/")).status(),
        200
    );
    let widen = json!({"label": "b", "scopes": ["*"], "scoped_teams": [a, b]});
    let r = s.post(&only_a, KEYS, &widen);
    assert_invalid(r, "does_not_exist", "scoped_teams__1");
    let narrowed = make_key(
        &s,
        &star,
        json!({"label": "b", "scopes": ["*"], "scoped_teams": [b]}),
    );
    assert_eq!(narrowed["scoped_teams"], json!([b]));
    let value = narrowed["value"].as_str().unwrap();
    assert_not_found(s.get(value, TASKS));
}

#[test]
fn users_me_describes_the_caller() {
    let s = Server::start();
    let out =
        s.cli_line("user create --email ada@example.com --first-name Ada --last-name Lovelace");
    assert!(out.contains("ada@example.com"), "{out}");
    let key = s.key_for("ada@example.com", "task:read", &[]);
    let me = expect_json(s.get(&key, "/api/users/@me/"), 200);
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Lovelace");
    assert_eq!(me["team"]["id"], 1);
    assert_eq!(me["team"]["name"], "Default project");
    assert!(me["id"].is_i64() && me["uuid"].is_string() && me["distinct_id"].is_string());
    assert_eq!(me["is_staff"], true, "the first user is an admin");

    // created_by on a task is the same person.
    let writer = s.key_for("ada@example.com", "task:write", &[]);
    let t = s.task(&writer, &task_body(json!({})));
    for field in [
        "id",
        "uuid",
        "distinct_id",
        "first_name",
        "last_name",
        "email",
    ] {
        assert_eq!(t["created_by"][field], me[field], "{field}");
    }
    // Any valid key may ask who it is, whatever its scopes.
    let other = s.key_for("bob@example.com", "feature_flag:read", &[]);
    let bob = expect_json(s.get(&other, "/api/users/@me"), 200);
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["is_staff"], false);
}

#[test]
fn a_narrow_key_lists_and_revokes_only_keys_it_covers() {
    let s = Server::start();
    let a = s.project("Alpha");
    let b = s.project("Beta");
    let (star, star_id) = s.labeled_key("admin@localhost", "root", "*");
    let made = |key: &str, label: &str, scopes: Value, teams: Value| -> String {
        let body = json!({"label": label, "scopes": scopes, "scoped_teams": teams});
        expect_json(s.post(key, KEYS, &body), 201)["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let only_b = made(&star, "only-b", json!(["*"]), json!([b]));
    let flags = made(&star, "flags", json!(["feature_flag:read"]), json!([a]));
    let narrow_body = json!({"label": "narrow", "scopes": ["personal_api_key:write", "task:read"],
                             "scoped_teams": [a]});
    let narrow = expect_json(s.post(&star, KEYS, &narrow_body), 201);
    let narrow_value = narrow["value"].as_str().unwrap();
    let narrow_id = narrow["id"].as_str().unwrap();
    let mine = made(narrow_value, "mine", json!(["task:read"]), json!([a]));

    // It sees itself and what it could have made, not the broader keys of its user.
    let listed: Vec<String> = expect_json(s.get(narrow_value, KEYS), 200)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    let mut expected = vec![narrow_id.to_string(), mine.clone()];
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected, "{listed:?}");

    // It cannot revoke them: they are as good as absent.
    for id in [&star_id, &only_b, &flags] {
        let r = s.delete(narrow_value, &format!("{KEYS}{id}/"));
        assert_not_found(r);
    }
    assert_eq!(
        s.get(&star, TASKS).status(),
        200,
        "the unrestricted key lives"
    );
    assert_eq!(
        expect_json(s.get(&star, KEYS), 200)
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // What it covers, it may revoke, itself included.
    assert_eq!(
        s.delete(narrow_value, &format!("{KEYS}{mine}/")).status(),
        204
    );
    assert_eq!(
        s.delete(narrow_value, &format!("{KEYS}{narrow_id}/"))
            .status(),
        204
    );
}
