//! The check every bad-input test makes: a 4xx in the error shape, as JSON, never HTML.

use reqwest::blocking::Response;
use serde_json::Value;

/// Asserts a 4xx in the error shape and returns its status and body.
pub fn clean_4xx(r: Response, what: &str) -> (u16, Value) {
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().unwrap();
    assert!((400..500).contains(&status), "{what}: {status} {text:.300}");
    assert_eq!(
        ctype.as_deref(),
        Some("application/json"),
        "{what}: {text:.300}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
    for field in ["type", "code", "detail"] {
        assert!(body[field].is_string(), "{what}: {field} in {body}");
    }
    assert!(
        body["attr"].is_null() || body["attr"].is_string(),
        "{what}: {body}"
    );
    (status, body)
}

/// Asserts a clean 4xx (as `clean_4xx`) with this status and error code; returns the body.
pub fn assert_refused(r: Response, status: u16, code: &str, what: &str) -> Value {
    let (got, err) = clean_4xx(r, what);
    assert_eq!(
        (got, err["code"].as_str().unwrap()),
        (status, code),
        "{what}: {err}"
    );
    err
}
