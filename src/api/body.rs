//! The JSON request body: read under the configured size limit, parsed, and required to be
//! an object. Errors come in the contract's shape (400 `parse_error`, 413 `too_large`, 415
//! when the body says it is not JSON), but only when the handler asks for the object, after
//! its access checks.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fields::type_name;

/// A request body that is a JSON object. An empty body reads as `{}`.
///
/// Extracting it never fails: actix polls a handler's extractors together, so a body error
/// would otherwise win the race against the key lookup and answer an unknown key, a missing
/// scope or an unreachable project with a 400 or 413. As in DRF, the caller is judged first;
/// the handler then takes the body with `object()`.
pub struct JsonObject {
    /// The body as read, or why it could not be.
    body: Result<Bytes>,
    /// The content type, when it names something other than JSON.
    claimed: Option<String>,
}

impl JsonObject {
    /// The object, or the error the body earned.
    pub fn object(self) -> Result<Map<String, Value>> {
        match (JsonObject::parse(&self.body?), self.claimed) {
            // A JSON body is read whatever the label (curl -d sends a form type); a body
            // that is not JSON under a foreign label is a 415.
            (
                Err(Error::Invalid {
                    code: "parse_error",
                    ..
                }),
                Some(claimed),
            ) => Err(Error::UnsupportedMediaType(claimed)),
            (parsed, _) => parsed,
        }
    }

    /// The body's bytes, for a hot path that reads them through a borrowed view first. It
    /// must fall back to `object()` for anything the view does not take, so that every
    /// error stays the one `object()` gives.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.body.as_deref().ok()
    }

    pub fn parse(bytes: &[u8]) -> Result<Map<String, Value>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(Error::body(
                "not_a_dict",
                format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    type_name(&other)
                ),
            )),
            Err(e) => Err(Error::body(
                "parse_error",
                format!("JSON parse error - {e}"),
            )),
        }
    }
}

impl FromRequest for JsonObject {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<JsonObject>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        let claimed = foreign_content_type(req);
        Box::pin(async move {
            let body = bytes.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => {
                    Error::TooLarge("Request body is too large.".into())
                }
                _ => Error::body(
                    "parse_error",
                    format!("Could not read the request body: {e}"),
                ),
            });
            Ok(JsonObject { body, claimed })
        })
    }
}

/// The request's content type when it names something other than JSON. None given is fine:
/// scripts often leave it out, and the body must parse as JSON all the same.
fn foreign_content_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json" || essence.ends_with("+json");
    (!json).then(|| text.chars().take(100).collect())
}
