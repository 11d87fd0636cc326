//! Prometheus metrics at `GET /metrics`: requests by route, method and status, latency
//! histograms by route, and gauges read at scrape time (runs by status, log bytes, open
//! streams, database size).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::app::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Table {
    /// (route, method, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (route, method) → latencies.
    latency: BTreeMap<(String, String), Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    table: Mutex<Table>,
    /// Live Server-Sent Events streams.
    pub streams: AtomicI64,
}

impl Metrics {
    fn record(&self, route: &str, method: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        *t.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let h = t
            .latency
            .entry((route.to_string(), method.to_string()))
            .or_default();
        h.count += 1;
        h.sum += secs;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
    }

    /// The request metrics in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP burrow_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE burrow_http_requests_total counter\n");
        for ((route, method, status), n) in &t.requests {
            let _ = writeln!(
                out,
                "burrow_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP burrow_http_request_duration_seconds Time to answer, by route and method.\n",
        );
        out.push_str("# TYPE burrow_http_request_duration_seconds histogram\n");
        for ((route, method), h) in &t.latency {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "burrow_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "burrow_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "burrow_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "burrow_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP burrow_sse_streams Open live run streams.\n# TYPE burrow_sse_streams gauge"
        );
        let _ = writeln!(
            out,
            "burrow_sse_streams {}",
            self.streams.load(Ordering::Relaxed)
        );
    }
}

/// Middleware: times every request and counts it under its route pattern.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let res = next.call(req).await?;
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        state.metrics.record(
            &route,
            res.request().method().as_str(),
            res.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(res)
}
