//! Webhooks are no way into the server's network: `--webhook-allowed-hosts` (by default
//! `external`) is checked on the URL when a webhook is made and on the addresses its host
//! resolves to when it is delivered, and a refusal logs nothing a port scan could use.

use std::time::Duration;

use crate::harness::runner::*;
use crate::harness::watchdog::output_within;
use crate::harness::{Server, assert_invalid, expect_json, task_body};
use serde_json::{Value, json};

const HOOKS: &str = "/api/projects/1/webhooks/";

fn hook(url: &str) -> Value {
    json!({"url": url, "events": ["task.created"]})
}

/// The webhook's one delivery once it has settled.
fn settled(s: &Server, key: &str, id: &Value) -> Value {
    poll("the delivery to settle", || {
        let log = expect_json(s.get(key, &format!("{HOOKS}{id}/deliveries/")), 200);
        let first = log["results"][0].clone();
        (first["status"] == "delivered" || first["status"] == "failed").then_some(first)
    })
}

#[test]
fn inward_addresses_are_refused_by_default() {
    let (s, key) = Server::with_key("task:write");
    for url in [
        "http://127.0.0.1:8080/",
        "http://127.9.9.9/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:22/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[::1]:8080/",
        "http://[::]/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
    ] {
        let r = s.post(&key, HOOKS, &hook(url));
        let body = assert_invalid(r, "not_allowed", "url");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("--webhook-allowed-hosts"),
            "{body}"
        );
    }
    for url in [
        "https://hooks.example.com/x",
        "http://93.184.216.34/",
        "http://[2606:4700::1111]/",
    ] {
        assert_eq!(s.post(&key, HOOKS, &hook(url)).status(), 201, "{url}");
    }
}

#[test]
fn a_name_that_resolves_inward_is_refused_at_delivery() {
    let receiver = Receiver::start(&[]);
    let port = receiver.url.rsplit(':').next().unwrap().to_string();
    let (s, key) = Server::with_key("task:write");
    // A name passes when it is made: what it resolves to is judged at each delivery.
    let made = expect_json(
        s.post(&key, HOOKS, &hook(&format!("http://localhost:{port}/in"))),
        201,
    );
    // A closed port looks just the same: the log must not tell them apart.
    let closed = expect_json(s.post(&key, HOOKS, &hook("http://localhost:9/closed")), 201);
    s.task(&key, &task_body(json!({})));

    for id in [&made["id"], &closed["id"]] {
        let delivery = settled(&s, &key, id);
        assert_eq!(delivery["status"], "failed", "{delivery}");
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "a refusal is not retried: {delivery}");
        assert!(attempts[0]["status_code"].is_null());
        let error = attempts[0]["error"].as_str().unwrap();
        assert!(error.starts_with("Refused:"), "{error}");
        assert!(error.contains("--webhook-allowed-hosts"), "{error}");
        for detail in ["127.0.0.1", "::1", "connect", "tcp", &port] {
            assert!(!error.contains(detail), "{error} shows {detail}");
        }
    }
    assert!(receiver.received().is_empty(), "nothing reached loopback");
}

#[test]
fn allowed_classes_names_and_cidrs_are_delivered() {
    let receiver = Receiver::start(&[]);
    let port = receiver.url.rsplit(':').next().unwrap().to_string();

    // `loopback` admits the receiver, by address and by a name resolving to it.
    let s = Server::build().webhook_hosts("loopback").start();
    let key = s.key("task:write");
    let by_ip = expect_json(s.post(&key, HOOKS, &hook(&receiver.url)), 201);
    let url = format!("http://localhost:{port}/by-name");
    let by_name = expect_json(s.post(&key, HOOKS, &hook(&url)), 201);
    let r = s.post(&key, HOOKS, &hook("http://10.0.0.1/"));
    assert_invalid(r, "not_allowed", "url");
    s.task(&key, &task_body(json!({})));
    for id in [&by_ip["id"], &by_name["id"]] {
        assert_eq!(settled(&s, &key, id)["status"], "delivered");
    }
    receiver.wait_for(2);
    drop(s);

    // A host-name entry trusts that name whatever it resolves to (as in Gitea), and admits
    // no address by itself: a literal address is refused when the webhook is made.
    let s = Server::build().webhook_hosts("LocalHost").start();
    let key = s.key("task:write");
    let r = s.post(&key, HOOKS, &hook(&receiver.url));
    assert_invalid(r, "not_allowed", "url");
    let r = s.post(&key, HOOKS, &hook("https://elsewhere.example.com/"));
    assert_invalid(r, "not_allowed", "url");
    let named = expect_json(s.post(&key, HOOKS, &hook(&url)), 201);
    s.task(&key, &task_body(json!({})));
    assert_eq!(settled(&s, &key, &named["id"])["status"], "delivered");
    receiver.wait_for(3);
    drop(s);

    // A CIDR admits its addresses, in both forms of IPv4.
    let (s, key) = Server::build()
        .env("BURROW_WEBHOOK_ALLOWED_HOSTS", "127.0.0.0/24")
        .start_with_key("task:write");
    let mapped = format!("http://[::ffff:127.0.0.1]:{port}/mapped");
    let cidr = expect_json(s.post(&key, HOOKS, &hook(&mapped)), 201);
    let r = s.post(&key, HOOKS, &hook("http://127.0.1.1/"));
    assert_invalid(r, "not_allowed", "url");
    s.task(&key, &task_body(json!({})));
    assert_eq!(settled(&s, &key, &cidr["id"])["status"], "delivered");
    receiver.wait_for(4);
}

#[test]
fn a_narrowed_setting_holds_for_webhooks_made_before_it() {
    let receiver = Receiver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = Server::build()
        .data_dir(dir.path())
        .webhook_hosts("*")
        .start_with_key("task:write");
    let made = expect_json(s.post(&key, HOOKS, &hook(&receiver.url)), 201);
    s.terminate();

    let s = Server::build().data_dir(dir.path()).start();
    s.task(&key, &task_body(json!({})));
    let delivery = settled(&s, &key, &made["id"]);
    assert_eq!(delivery["status"], "failed", "{delivery}");
    let error = delivery["attempts"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("Refused:"), "{error}");
    assert!(receiver.received().is_empty());
}

#[test]
fn the_runner_webhook_is_the_operators_and_stays_exempt() {
    let receiver = Receiver::start(&[]);
    let (s, key, task) = Server::build()
        .args([
            "--runner",
            "webhook",
            "--runner-webhook-url",
            &format!("{}/runner", receiver.url),
            "--runner-webhook-secret",
            "s3cret",
        ])
        .start_with_task("task:write");
    start_run(&s, &key, &task);
    let got = receiver.wait_for(1);
    assert_eq!(got[0].json()["event"], "run.queued");
}

#[test]
fn nonsense_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, why) in [
        ("", "at least one entry"),
        ("10.0.0.0/40", "is not a CIDR"),
        ("ci.internal:8080", "is not loopback, private"),
    ] {
        let mut serve = std::process::Command::new(crate::harness::BIN);
        serve
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--webhook-allowed-hosts", bad]);
        // A server that took the setting would never end: 60 s, then fail.
        let out = output_within(&mut serve, "burrow serve", Duration::from_secs(60));
        assert!(!out.status.success(), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--webhook-allowed-hosts") && err.contains(why),
            "{err}"
        );
    }
}
