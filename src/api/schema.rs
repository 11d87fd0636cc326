//! `GET /api/schema/`: the OpenAPI 3.1 document of the whole API, `openapi.json` beside this
//! file, embedded in the binary. Open to everyone, like the public docs it mirrors.

use actix_web::HttpResponse;

/// The document, kept as plain JSON so that tools (and the tests) read what clients read.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn schema() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT)
}
