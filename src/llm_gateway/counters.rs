//! The LLM gateway's counters for `/metrics`: model requests by product, model and status,
//! and tokens by product, model and kind. Labels come from the request, so they are bounded:
//! odd names and pairs past `SERIES_MAX` are counted as `other`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::db::run_usage::Usage;

/// Most (product, model) pairs counted under their own names.
const SERIES_MAX: usize = 64;
/// Longest product or model name kept as a label.
const LABEL_MAX: usize = 64;
const OTHER: &str = "other";

#[derive(Default)]
struct Series {
    requests: Vec<(u16, u64)>,
    tokens: Usage,
}

#[derive(Default)]
pub struct Counters {
    table: Mutex<BTreeMap<(String, String), Series>>,
}

fn label(name: &str) -> &str {
    let fine = !name.is_empty()
        && name.len() <= LABEL_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'));
    if fine { name } else { OTHER }
}

impl Counters {
    fn with(&self, product: &str, model: &str, f: impl FnOnce(&mut Series)) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = (label(product).to_string(), label(model).to_string());
        if !t.contains_key(&key) && t.len() >= SERIES_MAX {
            key = (OTHER.to_string(), OTHER.to_string());
        }
        f(t.entry(key).or_default());
    }

    /// Counts one answered model request.
    pub fn request(&self, product: &str, model: &str, status: u16) {
        self.with(product, model, |s| {
            match s.requests.iter_mut().find(|(st, _)| *st == status) {
                Some((_, n)) => *n += 1,
                None => s.requests.push((status, 1)),
            }
        });
    }

    /// Adds one answer's tokens.
    pub fn tokens(&self, product: &str, model: &str, usage: &Usage) {
        self.with(product, model, |s| {
            s.tokens.input += usage.input;
            s.tokens.output += usage.output;
            s.tokens.cache_read += usage.cache_read;
            s.tokens.cache_creation += usage.cache_creation;
        });
    }

    /// The counters in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP burrow_llm_requests_total Model requests the LLM gateway answered, by product, model and status.\n# TYPE burrow_llm_requests_total counter\n");
        for ((product, model), s) in t.iter() {
            let mut requests = s.requests.clone();
            requests.sort();
            for (status, n) in requests {
                let _ = writeln!(
                    out,
                    "burrow_llm_requests_total{{product=\"{product}\",model=\"{model}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP burrow_llm_tokens_total Model tokens counted by the LLM gateway, by product, model and kind.\n# TYPE burrow_llm_tokens_total counter\n");
        for ((product, model), s) in t.iter() {
            let u = &s.tokens;
            for (kind, n) in [
                ("input", u.input),
                ("output", u.output),
                ("cache_read", u.cache_read),
                ("cache_creation", u.cache_creation),
            ] {
                let _ = writeln!(
                    out,
                    "burrow_llm_tokens_total{{product=\"{product}\",model=\"{model}\",kind=\"{kind}\"}} {n}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        let c = Counters::default();
        c.request("posthog_code", "claude-sonnet-4-5", 200);
        c.request("a\"b", "x", 200);
        for i in 0..200 {
            c.request(&format!("p{i}"), "m", 200);
        }
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.contains(
            "burrow_llm_requests_total{product=\"posthog_code\",model=\"claude-sonnet-4-5\",status=\"200\"} 1"
        ));
        assert!(!out.contains("a\\\"b") && !out.contains("a\"b"));
        let series = out
            .lines()
            .filter(|l| l.starts_with("burrow_llm_requests_total{"))
            .count();
        assert!(series <= SERIES_MAX + 1, "{series}");
    }
}
