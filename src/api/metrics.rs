//! `GET /metrics`: Prometheus text format. Open unless `--metrics-token` is set.

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::crypto;
use crate::db;
use crate::error::{Error, Result};
use crate::llm_gateway::Gateway;
use crate::state::AppState;

pub async fn metrics(
    state: web::Data<AppState>,
    gateway: web::Data<Gateway>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    if let Some(token) = &state.config.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crypto::constant_time_eq(given.as_bytes(), token.0.as_bytes()) {
            return Err(Error::AuthenticationFailed(
                "A valid metrics token is required.".into(),
            ));
        }
    }
    let gauges = state.db.read(db::stats::gauges).await?;
    let mut out = String::with_capacity(8192);
    state.metrics.render(&mut out);
    gateway.counters.render(&mut out);
    out.push_str("# HELP burrow_runs Runs, by status.\n# TYPE burrow_runs gauge\n");
    for (status, n) in &gauges.runs_by_status {
        let _ = writeln!(out, "burrow_runs{{status=\"{status}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP burrow_tasks Live tasks.\n# TYPE burrow_tasks gauge\nburrow_tasks {}",
        gauges.tasks
    );
    let _ = writeln!(
        out,
        "# HELP burrow_log_bytes Bytes of log entries stored.\n# TYPE burrow_log_bytes gauge\nburrow_log_bytes {}",
        gauges.log_bytes
    );
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", state.db.path().display())).ok())
        .map(|m| m.len())
        .sum();
    let _ = writeln!(
        out,
        "# HELP burrow_database_bytes Size of the SQLite file and its WAL.\n# TYPE burrow_database_bytes gauge\nburrow_database_bytes {db_bytes}"
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
