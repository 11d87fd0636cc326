//! The JSON request body: read under the configured size limit, parsed, and required to be
//! an object. Errors come in the contract's shape (400 `parse_error`, 413 `too_large`, 415
//! when the body says it is not JSON), but only when the handler asks for the object, after
//! its access checks.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
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

/// The largest body a route reads: the JSON limit, or more where inline artifacts travel.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// How much of a refused body is still read, and thrown away, so that its 413 arrives: a
/// server that closes a connection holding unread data makes the kernel reset it, and the
/// client can lose the answer with it. A longer body is answered at once and cut off.
const DRAIN_MAX: usize = 16 << 20;

impl FromRequest for JsonObject {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<JsonObject>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(256 << 10, |l| l.0);
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let claimed = foreign_content_type(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read(&mut payload, limit, declared).await;
            Ok(JsonObject { body, claimed })
        })
    }
}

/// Reads the whole body, or fails with a 413 once it would pass `limit`.
async fn read(payload: &mut Payload, limit: usize, declared: Option<usize>) -> Result<Bytes> {
    let too_large = || Error::TooLarge("Request body is too large.".into());
    if let Some(declared) = declared.filter(|&n| n > limit) {
        if declared <= DRAIN_MAX {
            drain(payload, DRAIN_MAX).await;
        }
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Error::body(
                "parse_error",
                format!("Could not read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            drain(payload, DRAIN_MAX.saturating_sub(body.len())).await;
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads and drops what is left of the body, up to `max` bytes.
async fn drain(payload: &mut Payload, max: usize) {
    let mut read = 0;
    while read <= max {
        match payload.next().await {
            Some(Ok(chunk)) => read += chunk.len(),
            _ => return,
        }
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
