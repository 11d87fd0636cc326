//! Talking HTTP to the server under test, and the checks every test makes on an answer: its
//! status, its JSON, the contract's error shape and its timestamps.

use reqwest::blocking::{RequestBuilder, Response};
use serde_json::Value;

use super::Server;

impl Server {
    pub fn get(&self, key: &str, path: &str) -> Response {
        self.req(key, reqwest::Method::GET, path).send().unwrap()
    }

    pub fn post(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::POST, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn patch(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn put(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::PUT, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn delete(&self, key: &str, path: &str) -> Response {
        self.req(key, reqwest::Method::DELETE, path).send().unwrap()
    }

    /// A request with `Authorization: Bearer KEY` (none when `key` is empty).
    pub fn req(&self, key: &str, method: reqwest::Method, path: &str) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        if key.is_empty() {
            r
        } else {
            r.bearer_auth(key)
        }
    }

    /// A POST with a raw body under `content_type`; an error where reqwest itself refuses to
    /// send the header.
    pub fn post_typed(
        &self,
        key: &str,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> reqwest::Result<Response> {
        self.req(key, reqwest::Method::POST, path)
            .header("content-type", content_type)
            .body(body)
            .send()
    }

    /// A request with a raw body (sent as `application/json`).
    pub fn send_raw(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Response {
        self.req(key, method, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    }
}

/// Asserts the status and returns the JSON body.
pub fn expect_json(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().unwrap();
    assert_eq!(got, status, "status, body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The `results` of a paged list.
pub fn results(page: &Value) -> &[Value] {
    page["results"].as_array().expect("a results list")
}

/// Asserts the contract's error shape and returns the body.
pub fn assert_error(r: Response, status: u16, kind: &str, code: &str, attr: Option<&str>) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let body: Value = r.json().expect("a JSON error body");
    assert_eq!(body["type"], kind, "type in {body}");
    assert_eq!(body["code"], code, "code in {body}");
    match attr {
        Some(a) => assert_eq!(body["attr"], a, "attr in {body}"),
        None => assert!(body["attr"].is_null(), "attr in {body}"),
    }
    assert!(body["detail"].is_string(), "detail in {body}");
    body
}

/// Asserts the contract's 400 for a field: a validation error `code` at `attr`.
pub fn assert_invalid(r: Response, code: &str, attr: &str) -> Value {
    assert_error(r, 400, "validation_error", code, Some(attr))
}

/// Asserts the contract's 404: nothing there, or nothing this caller may see.
pub fn assert_not_found(r: Response) -> Value {
    assert_error(r, 404, "invalid_request", "not_found", None)
}

/// Whether `v` is a timestamp as the contract writes them: `2026-11-28T12:34:56.123456Z`.
pub fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 26].contains(&i) || c.is_ascii_digit())
}
