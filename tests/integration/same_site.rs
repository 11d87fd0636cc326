//! Another site cannot act through the browser: setup, sign-in and cookie-authenticated
//! changes take JSON only, refuse a foreign `Origin`, and, with `--public-url`, refuse any
//! other Host (a hostile name resolved to Burrow by DNS rebinding).

use crate::harness::{Server, assert_error, expect_json};
use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::{Value, json};

const CREDS: &str = r#"{"email": "admin@localhost", "password": "correct horse"}"#;

fn post(s: &Server, path: &str) -> RequestBuilder {
    s.req("", Method::POST, path)
}

fn needs_setup(s: &Server) -> bool {
    expect_json(s.get("", "/api/auth/state/"), 200)["needs_setup"] == true
}

/// The `Cookie` header and CSRF token of a signed-in session.
fn signed_in(r: Response) -> (String, String) {
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let body: Value = r.json().unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

#[test]
fn setup_and_sign_in_take_json_only() {
    let s = Server::start();
    // What a form on another site can send without asking first.
    for kind in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = post(&s, "/api/auth/setup/")
            .header("content-type", kind)
            .body(CREDS)
            .send()
            .unwrap();
        assert_error(r, 415, "invalid_request", "unsupported_media_type", None);
    }
    let r = post(&s, "/api/auth/setup/").body(CREDS).send().unwrap();
    assert_error(r, 415, "invalid_request", "unsupported_media_type", None);
    assert!(needs_setup(&s), "no admin was made");

    let json = |path| post(&s, path).header("content-type", "application/json");
    assert_eq!(
        json("/api/auth/setup/")
            .body(CREDS)
            .send()
            .unwrap()
            .status(),
        201
    );
    let r = post(&s, "/api/auth/login/")
        .header("content-type", "text/plain")
        .body(CREDS)
        .send()
        .unwrap();
    assert_error(r, 415, "invalid_request", "unsupported_media_type", None);
    assert_eq!(
        json("/api/auth/login/")
            .body(CREDS)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_foreign_origin_is_refused() {
    let s = Server::start();
    let creds: Value = serde_json::from_str(CREDS).unwrap();
    let from = |origin: &str, path| post(&s, path).header("origin", origin).json(&creds);
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let r = from(origin, "/api/auth/setup/").send().unwrap();
        assert_error(r, 403, "authentication_error", "permission_denied", None);
    }
    assert!(needs_setup(&s));
    assert_eq!(
        from(&s.base, "/api/auth/setup/").send().unwrap().status(),
        201
    );
    let r = from("http://evil.example", "/api/auth/login/")
        .send()
        .unwrap();
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let (cookie, csrf) = signed_in(from(&s.base, "/api/auth/login/").send().unwrap());

    // A change made with the session cookie, even with the CSRF token.
    let keys = "/api/personal_api_keys/";
    let key = json!({"label": "x", "scopes": ["task:read"]});
    let change = |origin: &str| {
        post(&s, keys)
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("origin", origin)
            .json(&key)
            .send()
            .unwrap()
    };
    let r = change("http://evil.example");
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    assert_eq!(change(&s.base).status(), 201);
    let r = post(&s, keys)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("content-type", "text/plain")
        .body(key.to_string())
        .send()
        .unwrap();
    assert_error(r, 415, "invalid_request", "unsupported_media_type", None);
}

#[test]
fn with_a_public_url_another_host_is_refused() {
    let s = Server::build()
        .args(["--public-url", "https://burrow.example/"])
        .start();
    let mut creds: Value = serde_json::from_str(CREDS).unwrap();
    // With a public URL, Burrow is reached from elsewhere: setup takes the printed token.
    creds["setup_token"] = s.setup_token().into();
    let at = |host: &str, path| post(&s, path).header("host", host).json(&creds);
    // The page of a rebinding attacker: its Origin matches its own Host.
    let r = at("evil.example", "/api/auth/setup/")
        .header("origin", "http://evil.example")
        .send()
        .unwrap();
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    let r = at(s.base.trim_start_matches("http://"), "/api/auth/setup/")
        .send()
        .unwrap();
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    assert!(needs_setup(&s));
    let r = at("burrow.example", "/api/auth/setup/")
        .header("origin", "https://burrow.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = at("evil.example", "/api/auth/login/").send().unwrap();
    assert_error(r, 403, "authentication_error", "permission_denied", None);
    assert_eq!(
        at("burrow.example", "/api/auth/login/")
            .send()
            .unwrap()
            .status(),
        200
    );
}
