//! Thin HTTP handlers, one file per resource, and what they share: the JSON body reader,
//! query parameters and paging.

pub mod agent;
pub mod artifacts;
pub mod health;
pub mod hooks;
pub mod ingest;
pub mod keys;
pub mod llm_gateway;
pub mod metrics;
mod on_run;
pub mod projects;
pub mod runner;
pub mod runs;
pub mod schema;
pub mod session;
pub mod tasks;
mod upload_form;
pub mod uploads;
pub mod users;

mod body;
pub mod query;

pub use body::{BodyLimit, JsonObject};
pub use query::{Page, Query};

use actix_web::{HttpRequest, HttpResponse};

use crate::error::Error;

/// A JSON response serialized into a buffer sized up front: growing a large body by
/// doubling would copy it several times.
pub fn json(
    status: actix_web::http::StatusCode,
    value: &impl serde::Serialize,
    size_hint: usize,
) -> HttpResponse {
    let mut body = Vec::with_capacity(size_hint);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_body(status, body),
        Err(e) => actix_web::ResponseError::error_response(&Error::internal(e)),
    }
}

/// A response of JSON already serialized.
pub fn json_body(
    status: actix_web::http::StatusCode,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

/// `GET /api/`: what this server is and where its resources live.
pub async fn root() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "name": "burrow",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "A self-hosted server for AI-agent tasks that speaks PostHog's Tasks API.",
        "authentication": "Authorization: Bearer <personal API key>",
        "resources": {
            "me": "/api/users/@me/",
            "projects": "/api/projects/",
            "tasks": "/api/projects/{project_id}/tasks/",
            "personal_api_keys": "/api/personal_api_keys/",
            "health": "/_health",
            "schema": "/api/schema/"
        }
    }))
}

/// Answers any `/api/...` path that matches no route.
pub async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

/// Answers a known path asked with a method it does not take.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed(req.method().to_string()))
}
