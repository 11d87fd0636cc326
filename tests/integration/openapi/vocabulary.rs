//! The document against the code's own lists and limits: every `enum`, `const`, `maxLength`
//! and `minLength` in `src/api/openapi.json` equals the Rust constant the server checks with,
//! so the hand-written document cannot drift from what the server accepts.

use burrow::api::session::{EMAIL_MAX_CHARS, MAX_PASSWORD, MIN_PASSWORD, NAME_MAX_CHARS};
use burrow::{api, artifacts, runs, tasks, webhooks};
use serde_json::{Value, json};

/// Every `(schema, property, keyword, value)` in the document's component schemas, with the
/// property path of nested objects and arrays folded to the innermost property's name.
fn keywords(doc: &Value) -> Vec<(String, String, &'static str, Value)> {
    fn walk(
        v: &Value,
        schema: &str,
        prop: &str,
        out: &mut Vec<(String, String, &'static str, Value)>,
    ) {
        let Some(obj) = v.as_object() else { return };
        for kw in ["enum", "const", "maxLength", "minLength"] {
            if let Some(x) = obj.get(kw) {
                out.push((schema.to_string(), prop.to_string(), kw, x.clone()));
            }
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                walk(sub, schema, name, out);
            }
        }
        for key in ["items", "anyOf", "oneOf", "allOf"] {
            match obj.get(key) {
                Some(Value::Array(subs)) => subs.iter().for_each(|s| walk(s, schema, prop, out)),
                Some(sub) => walk(sub, schema, prop, out),
                None => {}
            }
        }
    }
    let mut out = Vec::new();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        walk(schema, name, "", &mut out);
    }
    for (name, param) in doc["components"]["parameters"].as_object().unwrap() {
        walk(
            &param["schema"],
            &format!("parameter {name}"),
            name,
            &mut out,
        );
    }
    out
}

/// What the code says each one must be; `None` for a keyword this test does not know, which
/// fails: a new list or limit in the document needs its constant here.
fn expected(schema: &str, prop: &str, keyword: &str) -> Option<Value> {
    let list = |l: &[&str]| json!(l);
    Some(match (keyword, schema, prop) {
        ("enum", _, "status") if schema.starts_with("Run") || schema == "ClaimedRun" => {
            list(runs::STATUSES)
        }
        ("enum", _, "environment") => list(runs::ENVIRONMENTS),
        // No constant holds these two: tests check real errors and health answers against them.
        ("enum", "Error", "type") => list(&[
            "validation_error",
            "authentication_error",
            "invalid_request",
            "throttled_error",
            "server_error",
        ]),
        ("enum", "Health", "status") => list(&["ok", "unavailable"]),
        // Anthropic's error shape, which the LLM gateway's clients read.
        ("const", "AnthropicError", "type") => json!("error"),
        ("enum", _, "type") => list(artifacts::TYPES),
        ("enum", _, "content_encoding") => {
            let mut encodings = list(artifacts::inline::ENCODINGS);
            encodings.as_array_mut().unwrap().push(Value::Null);
            encodings
        }
        ("enum", _, "origin_product") => list(tasks::ORIGIN_PRODUCTS),
        ("enum", _, "events") => list(webhooks::EVENTS),
        ("const", "Presigned", "expires_in") => json!(burrow::links::LINK_TTL_SECS),
        ("const", _, "project_id") => json!("@current"),
        ("maxLength", _, "description") => json!(tasks::DESCRIPTION_MAX_CHARS),
        ("maxLength", _, "title") => json!(tasks::TITLE_MAX_CHARS),
        ("maxLength", _, "repository") => json!(tasks::REPOSITORY_MAX_CHARS),
        ("maxLength", _, "assignee") => json!(tasks::ASSIGNEE_MAX_CHARS),
        ("maxLength", _, "stage") => json!(runs::STAGE_MAX_CHARS),
        ("maxLength", _, "branch") => json!(runs::BRANCH_MAX_CHARS),
        ("maxLength", _, "content_type") => json!(artifacts::CONTENT_TYPE_MAX_CHARS),
        ("maxLength", _, "source") => json!(artifacts::SOURCE_MAX_CHARS),
        ("maxLength", _, "email") => json!(EMAIL_MAX_CHARS),
        ("maxLength", _, "password") => json!(MAX_PASSWORD),
        ("minLength", "Credentials" | "Setup", "password") => json!(MIN_PASSWORD),
        ("maxLength", "Setup", "setup_token") => json!(burrow::first_run::TOKEN_MAX_CHARS),
        ("maxLength", _, "first_name" | "last_name") => json!(NAME_MAX_CHARS),
        ("maxLength", "ApiKeyCreate", "label") => json!(api::keys::LABEL_MAX_CHARS),
        ("maxLength", "ProjectCreate", "name") => json!(api::projects::NAME_MAX_CHARS),
        ("maxLength", "WebhookCreate", "secret") => json!(webhooks::SECRET_MAX_CHARS),
        ("maxLength", "AppendLog", "batch_id") => json!(burrow::logs::BATCH_ID_MAX_CHARS),
        ("maxLength", "PermissionAnswer", "request_id") => {
            json!(burrow::answers::REQUEST_ID_MAX_CHARS)
        }
        ("maxLength", "PermissionAnswer", "option_id") => {
            json!(burrow::answers::OPTION_ID_MAX_CHARS)
        }
        ("maxLength", "UserMessage", "text") => json!(burrow::answers::MESSAGE_MAX_CHARS),
        ("maxLength", "RelayMessage", "text") => json!(runs::RELAY_TEXT_MAX_CHARS),
        ("maxLength", "RelayMessage", "message_id" | "trace_id") => {
            json!(runs::RELAY_ID_MAX_CHARS)
        }
        ("enum", "RelayResult", "status") => list(&["accepted", "skipped"]),
        // Text the code takes with blanks refused.
        ("minLength", "AppendLog" | "PermissionAnswer" | "UserMessage", _) => json!(1),
        _ => return None,
    })
}

#[test]
fn every_list_and_limit_in_the_document_is_the_codes() {
    let doc: Value = serde_json::from_str(api::schema::DOCUMENT).unwrap();
    let found = keywords(&doc);
    let mut wrong = Vec::new();
    for (schema, prop, keyword, value) in &found {
        match expected(schema, prop, keyword) {
            Some(want) if &want == value => {}
            want => wrong.push(format!(
                "{schema}.{prop} {keyword}: {value}, the code: {want:?}"
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "the document drifts from the code:\n{}",
        wrong.join("\n")
    );
    // The lists the request side takes are documented where requests carry them.
    for (schema, prop, keyword) in [
        ("RunCreate", "status", "enum"),
        ("RunCreate", "environment", "enum"),
        ("RunUpdate", "status", "enum"),
        ("TaskWrite", "origin_product", "enum"),
        ("TaskWrite", "description", "maxLength"),
        ("TaskWrite", "title", "maxLength"),
        ("RunCreate", "stage", "maxLength"),
        ("RunUpdate", "branch", "maxLength"),
        ("InlineArtifacts", "type", "enum"),
        ("PrepareUpload", "type", "enum"),
        ("FinalizeUpload", "type", "enum"),
        ("WebhookCreate", "events", "enum"),
        ("WebhookCreate", "secret", "maxLength"),
        ("UserCreate", "password", "maxLength"),
        ("ApiKeyCreate", "label", "maxLength"),
        ("ProjectCreate", "name", "maxLength"),
    ] {
        assert!(
            found
                .iter()
                .any(|(s, p, k, _)| s == schema && p == prop && *k == keyword),
            "{schema}.{prop} has no {keyword} in the document"
        );
    }
}
