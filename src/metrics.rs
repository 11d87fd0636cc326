//! Prometheus metrics at `GET /metrics`: requests by route, method and status, latency
//! histograms by route, and gauges read at scrape time (runs by status, log bytes, open
//! streams, database size).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

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

/// One route's counters: requests by (method, status) and latencies by method. A route
/// sees a handful of methods and statuses, so short lists beat maps here.
#[derive(Default)]
struct RouteStats {
    requests: Vec<(String, u16, u64)>,
    latency: Vec<(String, Histogram)>,
}

#[derive(Default)]
struct Table {
    /// Route pattern → its counters. Looked up by `&str`: recording allocates nothing once
    /// a route has been seen.
    routes: BTreeMap<String, RouteStats>,
}

#[derive(Default)]
pub struct Metrics {
    table: Mutex<Table>,
    /// Live Server-Sent Events streams.
    pub streams: AtomicI64,
}

/// The route pattern a resource answers, e.g. `/api/projects/{project_id}/tasks`, attached to
/// it as app data so the middleware can label a request without matching its path again.
pub struct Route(pub String);

impl Metrics {
    /// Counts one answered request under its route pattern (`other` when it matched none).
    pub fn observe(&self, route: Option<&Route>, method: &str, status: u16, took: Duration) {
        self.record(
            route.map_or(OTHER, |r| r.0.as_str()),
            method_label(method),
            status,
            took,
        );
    }

    fn record(&self, route: &str, method: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let stats = match t.routes.get_mut(route) {
            Some(stats) => stats,
            None => t.routes.entry(route.to_string()).or_default(),
        };
        match stats
            .requests
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => stats.requests.push((method.to_string(), status, 1)),
        }
        let h = match stats.latency.iter().position(|(m, _)| m == method) {
            Some(i) => &mut stats.latency[i].1,
            None => {
                stats
                    .latency
                    .push((method.to_string(), Histogram::default()));
                &mut stats.latency.last_mut().expect("just pushed").1
            }
        };
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
        let mut requests: Vec<_> = t
            .routes
            .iter()
            .flat_map(|(route, stats)| stats.requests.iter().map(move |(m, s, n)| (route, m, s, n)))
            .collect();
        requests.sort();
        for (route, method, status, n) in requests {
            let _ = writeln!(
                out,
                "burrow_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP burrow_http_request_duration_seconds Time to answer, by route and method.\n",
        );
        out.push_str("# TYPE burrow_http_request_duration_seconds histogram\n");
        let mut latency: Vec<_> = t
            .routes
            .iter()
            .flat_map(|(route, stats)| stats.latency.iter().map(move |(m, h)| (route, m, h)))
            .collect();
        latency.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (route, method, h) in latency {
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

/// The methods counted under their own name. Any token is a valid HTTP method, so the rest
/// share one label: a client must not be able to add series to every scrape.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The label for whatever is not in a bounded set: a method outside `METHODS`, or a path
/// outside the route table (which would otherwise be as many labels as clients invent).
const OTHER: &str = "other";

fn method_label(method: &str) -> &str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or(OTHER)
}
