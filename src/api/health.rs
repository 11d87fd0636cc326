//! `GET /_health`: 200 with the version when the database answers, 503 when it does not.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let answered = state
        .db
        .read_light(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await;
    let version = env!("CARGO_PKG_VERSION");
    match answered {
        Ok(_) => HttpResponse::Ok().json(json!({"status": "ok", "version": version})),
        Err(e) => {
            tracing::error!("health check: {e}");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "version": version}))
        }
    }
}
