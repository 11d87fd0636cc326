//! Browser sessions: the cookie, and the checks that a sign-in or a cookie-authenticated
//! change comes from Burrow's own page (same origin, JSON, the CSRF token).

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{Method, header};

use crate::client;
use crate::config::Config;
use crate::crypto;
use crate::error::{Error, Result};

pub const COOKIE: &str = "burrow_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// How long a session lasts.
pub const LIFETIME_SECS: i64 = 14 * 24 * 3600;

/// A new session's cookie value and CSRF token.
pub fn new_tokens() -> (String, String) {
    (
        crypto::random_alphanumeric(43),
        crypto::random_alphanumeric(32),
    )
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when served over HTTPS.
pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(LIFETIME_SECS))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut c = cookie(String::new(), secure);
    c.make_removal();
    c
}

/// Cookie-authenticated requests that change something must come from our own page
/// (`check_same_site`) and echo the session's CSRF token.
pub fn check_csrf(config: &Config, req: &HttpRequest, expected: &str) -> Result<()> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    check_same_site(config, req)?;
    let given = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crypto::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "CSRF token missing or incorrect.".into(),
        ))
    }
}

/// What a browser's sign-in, first-run setup or session change must look like, since a
/// cookie (or a password typed into another site's form) must not act for another site:
/// - an `Origin`, when given, is Burrow's own (`client::public_base`);
/// - with `--public-url`, the Host is the public URL's, so a hostile name that resolves to
///   Burrow (DNS rebinding) is refused even though its Origin matches its Host;
/// - a body is JSON: other sites can only send form and text types without a preflight.
pub fn check_same_site(config: &Config, req: &HttpRequest) -> Result<()> {
    let refused = |what: &str| {
        Error::PermissionDenied(format!(
            "{what} refused: this request must come from Burrow's own page."
        ))
    };
    if let Some(public) = &config.public_url {
        let own = client::origin_of(public);
        let scheme = own.split("://").next().unwrap_or("http");
        let host = client::request_host(config, req).unwrap_or_default();
        if own.split("://").nth(1) != Some(client::without_default_port(scheme, &host)) {
            return Err(refused("A request for another host name"));
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = client::origin_of(origin.to_str().unwrap_or("null"));
        if origin != client::origin_of(&client::public_base(config, req)) {
            return Err(refused("A cross-origin request"));
        }
    }
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        let given = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let essence = given
            .as_deref()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("");
        if !essence.trim().eq_ignore_ascii_case("application/json") {
            let shown = given.unwrap_or_else(|| "none".into());
            return Err(Error::UnsupportedMediaType(
                shown.chars().take(100).collect(),
            ));
        }
    }
    Ok(())
}
