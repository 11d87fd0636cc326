//! Forwarding headers count only from `--trusted-proxies`, and links sent elsewhere
//! (webhook payloads) never take their host from a request.

use crate::harness::runner::*;
use crate::harness::{Server, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

/// A run's `log_url` as the answer to a request with these headers gives it.
fn log_url(s: &Server, key: &str, task: &str, run: &str, headers: &[(&str, &str)]) -> String {
    let mut r = s.req(key, Method::GET, &run_path(task, run, ""));
    for (name, value) in headers {
        r = r.header(*name, *value);
    }
    let run: Value = expect_json(r.send().unwrap(), 200);
    run["log_url"].as_str().unwrap().to_string()
}

const HOSTILE: &[(&str, &str)] = &[
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "https"),
    ("forwarded", "host=evil.example;proto=https"),
];

#[test]
fn forwarding_headers_from_an_untrusted_peer_do_not_change_links() {
    let (s, key, task) = Server::with_task("*");
    let run = start_run(&s, &key, &task);
    let url = log_url(&s, &key, &task, &run, HOSTILE);
    assert!(url.starts_with(&format!("{}/api/", s.base)), "{url}");
}

#[test]
fn a_trusted_proxy_says_where_the_client_reached_us() {
    let (s, key, task) = Server::build()
        .args(["--trusted-proxies", "10.0.0.0/8,127.0.0.1/32"])
        .start_with_task("*");
    let run = start_run(&s, &key, &task);
    let via = [
        ("x-forwarded-host", "burrow.example"),
        ("x-forwarded-proto", "https"),
    ];
    let url = log_url(&s, &key, &task, &run, &via);
    assert!(url.starts_with("https://burrow.example/api/"), "{url}");
    let url = log_url(
        &s,
        &key,
        &task,
        &run,
        &[("forwarded", "host=b.example;proto=https")],
    );
    assert!(url.starts_with("https://b.example/api/"), "{url}");
}

/// Registers a webhook for `run.created`, then starts a run with a hostile Host and
/// forwarding headers; returns the delivered run's `log_url`.
fn delivered_log_url(s: &Server) -> String {
    let receiver = Receiver::start(&[]);
    let key = s.key("*");
    let hook = json!({"url": format!("{}/hook", receiver.url), "events": ["run.created"]});
    expect_json(s.post(&key, "/api/projects/1/webhooks/", &hook), 201);
    let task = s.new_task(&key);
    let mut r = s
        .req(&key, Method::POST, &runs_path(&task))
        .header("host", "evil.example")
        .json(&json!({}));
    for (name, value) in HOSTILE {
        r = r.header(*name, *value);
    }
    expect_json(r.send().unwrap(), 201);
    let got = receiver.wait_for(1);
    got[0].json()["data"]["run"]["log_url"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn webhook_payload_links_never_come_from_the_request() {
    let s = Server::build().webhook_hosts("loopback").start();
    let url = delivered_log_url(&s);
    assert!(url.starts_with(&format!("{}/api/", s.base)), "{url}");

    let s = Server::build()
        .args([
            "--public-url",
            "https://burrow.example",
            "--webhook-allowed-hosts",
            "loopback",
        ])
        .start();
    let url = delivered_log_url(&s);
    assert!(url.starts_with("https://burrow.example/api/"), "{url}");

    // Not even a trusted proxy's word: the payload goes to other people.
    let s = Server::build()
        .args([
            "--trusted-proxies",
            "127.0.0.1/32",
            "--webhook-allowed-hosts",
            "loopback",
        ])
        .start();
    let url = delivered_log_url(&s);
    assert!(url.starts_with(&format!("{}/api/", s.base)), "{url}");
}
