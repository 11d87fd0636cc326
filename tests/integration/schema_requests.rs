//! Requests that the OpenAPI document allows, or forbids, answered the way it says: the cases
//! schemathesis's request-side checks (`.ci/schemathesis`) found answered the other way.

use serde_json::json;

use crate::harness::{Server, assert_error, expect_json};

const TASKS: &str = "/api/projects/1/tasks/";

#[test]
fn limit_zero_on_a_log_is_a_400_as_on_every_list() {
    let (s, key, run) = Server::with_run("*");
    let path = format!("{}?limit=0", run.path("logs"));
    assert_error(
        s.get(&key, &path),
        400,
        "validation_error",
        "invalid_input",
        Some("limit"),
    );
    assert_eq!(
        s.get(&key, &format!("{}?limit=1", run.path("logs")))
            .status(),
        200
    );
}

#[test]
fn paging_numbers_are_digits_only() {
    let (s, key, run) = Server::with_run("*");
    let logs = run.path("logs");
    for list in [TASKS, logs.as_str()] {
        for (query, attr) in [
            ("limit=%201", "limit"),
            ("limit=1%20", "limit"),
            ("limit=%2B5", "limit"),
            ("offset=%090", "offset"),
            ("after=%2B1", "after"),
        ] {
            if list == TASKS && attr == "after" || list != TASKS && attr == "offset" {
                continue;
            }
            let path = format!("{list}?{query}");
            let r = s.get(&key, &path);
            assert_error(r, 400, "validation_error", "invalid_input", Some(attr));
        }
        // An empty value is no value: the default.
        assert_eq!(
            s.get(&key, &format!("{list}?limit=")).status(),
            200,
            "{list}"
        );
    }
}

#[test]
fn an_integral_float_is_an_integer() {
    let (s, key, run) = Server::with_run("*");
    let prepare = run.path("artifacts/prepare_upload/");
    let item = |size| json!({ "artifacts": [{ "name": "a.txt", "type": "plan", "size": size }] });
    let answer = expect_json(s.post(&key, &prepare, &item(json!(12.0))), 200);
    assert_eq!(answer["artifacts"].as_array().unwrap().len(), 1, "{answer}");
    // A whole number past i64 is too large, not malformed.
    assert_eq!(s.post(&key, &prepare, &item(json!(1e300))).status(), 413);
    for size in [json!(1.5), json!("1.0")] {
        let r = s.post(&key, &prepare, &item(size));
        assert_error(
            r,
            400,
            "validation_error",
            "invalid_input",
            Some("artifacts__0__size"),
        );
    }
}

#[test]
fn an_email_of_254_characters_is_accepted_whatever_their_bytes() {
    let (s, key) = Server::with_key("*");
    // 254 characters, 380 bytes: the limit counts characters, as the document's maxLength does.
    let email = format!("{}@{}.example", "é".repeat(126), "b".repeat(119));
    assert_eq!(email.chars().count(), 254);
    let body = json!({ "email": email, "password": "correct horse battery" });
    let user = expect_json(s.post(&key, "/api/users/", &body), 201);
    assert_eq!(user["email"], email);
    let longer = json!({ "email": format!("x{email}") });
    let r = s.post(&key, "/api/users/", &longer);
    assert_error(r, 400, "validation_error", "max_length", Some("email"));
}
