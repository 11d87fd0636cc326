//! The one error type and its one mapping to HTTP, in PostHog's error shape:
//! `{"type", "code", "detail", "attr"}`. Details of server errors go to the log only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A 400 about one field (or the whole body when `attr` is `None`).
    #[error("{detail}")]
    Invalid {
        code: &'static str,
        detail: String,
        attr: Option<String>,
    },
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("{0}")]
    AuthenticationFailed(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("Not found.")]
    NotFound,
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    #[error("{0}")]
    TooLarge(String),
    /// A 409: the request does not fit the resource as it is now.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A body sent as something other than JSON; the content type it claimed.
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    /// Too many tries; the number is how many seconds to wait.
    #[error("Request was throttled. Expected available in {0} seconds.")]
    Throttled(u64),
    /// Anything we did not expect: what failed, and the error that caused it, kept so that
    /// the log shows the whole chain. Logged, never sent.
    #[error("{message}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    Internal {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    pub fn invalid(attr: impl Into<String>, code: &'static str, detail: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            detail: detail.into(),
            attr: Some(attr.into()),
        }
    }

    /// A 400 about the body as a whole.
    pub fn body(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            detail: detail.into(),
            attr: None,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::unexpected(e.to_string())
    }

    /// Something we did not expect, said in words.
    pub fn unexpected(message: String) -> Self {
        Error::Internal {
            message,
            source: None,
        }
    }

    /// `what` failed because of `source`.
    pub fn caused(what: &str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Internal {
            message: what.to_string(),
            source: Some(Box::new(source)),
        }
    }

    fn kind_and_code(&self) -> (&'static str, &'static str) {
        match self {
            Error::Invalid { code, .. } => ("validation_error", code),
            Error::NotAuthenticated => ("authentication_error", "not_authenticated"),
            Error::AuthenticationFailed(_) => ("authentication_error", "authentication_failed"),
            Error::PermissionDenied(_) => ("authentication_error", "permission_denied"),
            Error::NotFound => ("invalid_request", "not_found"),
            Error::MethodNotAllowed(_) => ("invalid_request", "method_not_allowed"),
            Error::TooLarge(_) => ("invalid_request", "too_large"),
            Error::Conflict { code, .. } => ("invalid_request", code),
            Error::UnsupportedMediaType(_) => ("invalid_request", "unsupported_media_type"),
            Error::Throttled(_) => ("throttled_error", "throttled"),
            Error::Internal { .. } => ("server_error", "error"),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: &'a str,
    detail: &'a str,
    attr: Option<&'a str>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::NotAuthenticated | Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
            Error::AuthenticationFailed(_) => StatusCode::UNAUTHORIZED,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (kind, code) = self.kind_and_code();
        let detail = match self {
            Error::Internal { .. } => {
                tracing::error!(error = %chain(self), "internal error");
                "A server error occurred.".to_string()
            }
            other => other.to_string(),
        };
        let attr = match self {
            Error::Invalid { attr, .. } => attr.as_deref(),
            _ => None,
        };
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, Error::AuthenticationFailed(_)) {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Error::Throttled(secs) = self {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(Body {
            kind,
            code,
            detail: &detail,
            attr,
        })
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Error::body(
                    "invalid_input",
                    "An object with these values already exists.",
                )
            }
            other => Error::caused("database", other),
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::caused("database pool", e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::caused("io", e)
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Error::caused("blocking task", e)
    }
}

/// An error and every cause below the one its own message names.
fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e).and_then(|s| s.source());
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
