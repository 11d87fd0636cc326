//! The JSON request body: read under the configured size limit, parsed, and required to be
//! an object. Errors come in the contract's shape (400 `parse_error`, 413 `too_large`).

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
pub struct JsonObject(pub Map<String, Value>);

impl JsonObject {
    pub fn parse(bytes: &[u8]) -> Result<JsonObject> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
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
        Box::pin(async move {
            let bytes = bytes
                .await
                .map_err(|e| match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => {
                        Error::TooLarge("Request body is too large.".into())
                    }
                    _ => Error::body(
                        "parse_error",
                        format!("Could not read the request body: {e}"),
                    ),
                })?;
            JsonObject::parse(&bytes)
        })
    }
}
