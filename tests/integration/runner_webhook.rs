//! The webhook runner: each queued cloud run is POSTed, signed, to a receiver on loopback;
//! failed attempts are retried with backoff and recorded, and a run whose hand-over fails
//! for good ends failed.

use crate::harness::runner::*;
use crate::harness::{Server, expect_json};
use serde_json::{Value, json};

const SECRET: &str = "runner-secret";

fn deliveries(s: &Server, key: &str) -> Vec<Value> {
    let list = expect_json(s.get(key, "/api/projects/1/webhook_deliveries/"), 200);
    list["results"].as_array().unwrap().clone()
}

fn codes(delivery: &Value) -> Vec<Value> {
    let attempts = delivery["attempts"].as_array().unwrap();
    attempts.iter().map(|a| a["status_code"].clone()).collect()
}

#[test]
fn queued_runs_are_posted_signed_and_retried() {
    // The first run's hand-over succeeds at the third try; the second's never does.
    let receiver = Receiver::start(&[500, 500, 200, 500, 500, 500]);
    let url = format!("{}/runs", receiver.url);
    let (s, key, task) = Server::build()
        .args([
            "--runner",
            "webhook",
            "--runner-webhook-url",
            &url,
            "--runner-webhook-secret",
            SECRET,
            "--webhook-attempts",
            "3",
        ])
        .start_with_task("task:write");
    let run = start_run(&s, &key, &task);

    let got = receiver.wait_for(3);
    for req in &got {
        assert_eq!(req.path, "/runs");
        assert!(req.signed_with(SECRET), "signature of {req:?}");
        assert!(!req.signed_with("another secret"));
        assert_eq!(req.headers["x-burrow-event"], "run.queued");
        assert_eq!(req.headers["content-type"], "application/json");
        let body = req.json();
        assert_eq!(body["event"], "run.queued");
        assert_eq!(body["project_id"], 1);
        assert_eq!(body["data"]["run"]["id"], run.as_str());
        assert_eq!(body["data"]["run"]["status"], "queued");
        assert_eq!(body["data"]["task"]["id"], task.as_str());
        assert!(
            body["data"]["run"]["log_url"]
                .as_str()
                .unwrap()
                .starts_with(&s.base)
        );
    }
    // Every attempt carries the same delivery, byte for byte.
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert_eq!(
        got[0].headers["x-burrow-delivery"],
        got[0].json()["id"].as_str().unwrap()
    );

    let delivered = poll("the delivery to be recorded as delivered", || {
        let list = deliveries(&s, &key);
        (list.len() == 1 && list[0]["status"] == "delivered").then(|| list[0].clone())
    });
    assert_eq!(codes(&delivered), vec![json!(500), json!(500), json!(200)]);
    assert!(
        delivered["webhook"].is_null(),
        "the runner's, not a project webhook's"
    );
    assert_eq!(delivered["run"], run.as_str());
    assert_eq!(delivered["url"], url.as_str());
    assert_eq!(delivered["event"], "run.queued");
    assert_eq!(
        delivered["attempts"][0]["error"],
        "HTTP 500 Internal Server Error"
    );
    // The hand-over shows on the run; the run waits for the receiver to take it up.
    let log = run_log(&s, &key, &task, &run);
    let retries = log
        .iter()
        .filter(|e| e["message"].as_str().unwrap_or("").contains("retrying in"))
        .count();
    assert_eq!(retries, 2, "{log:?}");
    assert!(
        log.iter()
            .any(|e| e["message"] == "Handed to the runner webhook (HTTP 200).")
    );
    assert_eq!(get_run(&s, &key, &task, &run)["status"], "queued");

    // Out of attempts: the delivery failed, and so did the run, saying why.
    let second = start_run(&s, &key, &task);
    let failed = wait_status(&s, &key, &task, &second, "failed");
    let error = failed["error_message"].as_str().unwrap();
    assert!(
        error.contains("runner webhook") && error.contains("3 attempt"),
        "{error}"
    );
    let list = deliveries(&s, &key);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["status"], "failed", "newest first");
    assert_eq!(codes(&list[0]), vec![json!(500), json!(500), json!(500)]);
    assert!(receiver.received().len() == 6);
    // A run created for a local machine is not handed over.
    let r = s.post(
        &key,
        &runs_path(&task),
        &json!({"status": "queued", "environment": "local"}),
    );
    assert_eq!(r.status(), 201);
    assert_eq!(deliveries(&s, &key).len(), 2);
}

#[test]
fn the_webhook_runner_needs_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    for (args, missing) in [
        (vec!["--runner", "webhook"], "--runner-webhook-url"),
        (
            vec![
                "--runner",
                "webhook",
                "--runner-webhook-url",
                "http://127.0.0.1:9/x",
            ],
            "--runner-webhook-secret",
        ),
        (vec!["--runner", "command"], "--runner-command"),
    ] {
        let mut all = vec!["serve", "--addr", "127.0.0.1:0"];
        all.extend(args);
        let out = crate::harness::cli(dir.path(), &all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(missing), "{missing} in {err}");
    }
}
