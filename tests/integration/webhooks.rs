//! A project's outgoing webhooks: set up over the API, each event delivered signed with the
//! webhook's secret to a receiver on loopback (allowed by --webhook-allowed-hosts), failures
//! retried, every attempt logged.

use crate::harness::runner::*;
use crate::harness::{Server, assert_invalid, expect_json, results};
use serde_json::{Value, json};

const HOOKS: &str = "/api/projects/1/webhooks/";

/// The events a receiver got, sorted.
fn events(got: &[Received]) -> Vec<String> {
    let mut names: Vec<String> = got
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn webhooks_are_managed_over_the_api() {
    // Receivers listen on loopback, which webhooks reach only when allowed.
    let s = Server::build().webhook_hosts("loopback").start();
    let key = s.key("task:write");
    let reader = s.key("task:read");
    let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["task.created"]});
    assert_eq!(s.post(&reader, HOOKS, &body).status(), 403);

    // The secret is shown once: given, or generated.
    let given =
        json!({"url": "http://127.0.0.1:9/a", "events": ["run.completed"], "secret": "abc"});
    let a = expect_json(s.post(&key, HOOKS, &given), 201);
    assert_eq!(a["secret"], "abc");
    assert_eq!(a["events"], json!(["run.completed"]));
    let b = expect_json(s.post(&key, HOOKS, &body), 201);
    assert!(b["secret"].as_str().unwrap().starts_with("whsec_"), "{b}");
    let list = expect_json(s.get(&reader, HOOKS), 200);
    assert_eq!(list["count"], 2);
    assert!(results(&list).iter().all(|h| h.get("secret").is_none()));
    let one = expect_json(s.get(&reader, &format!("{HOOKS}{}/", a["id"])), 200);
    assert_eq!(one["url"], "http://127.0.0.1:9/a");
    assert!(one.get("secret").is_none());

    for (bad, code, attr) in [
        (
            json!({"url": "ftp://x/y", "events": ["run.created"]}),
            "invalid_input",
            "url",
        ),
        (
            json!({"url": "not a url", "events": ["run.created"]}),
            "invalid_input",
            "url",
        ),
        (json!({"events": ["run.created"]}), "required", "url"),
        (
            json!({"url": "http://127.0.0.1:9/", "events": []}),
            "blank",
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["run.created", "run.nope"]}),
            "invalid_choice",
            "events__1",
        ),
    ] {
        let r = s.post(&key, HOOKS, &bad);
        assert_invalid(r, code, attr);
    }

    assert_eq!(
        s.delete(&key, &format!("{HOOKS}{}/", b["id"])).status(),
        204
    );
    assert_eq!(
        s.delete(&key, &format!("{HOOKS}{}/", b["id"])).status(),
        404
    );
    assert_eq!(s.get(&key, &format!("{HOOKS}{}/", b["id"])).status(), 404);
    assert_eq!(expect_json(s.get(&key, HOOKS), 200)["count"], 1);
    let r = s.get(&key, &format!("{HOOKS}{}/deliveries/", b["id"]));
    assert_eq!(
        expect_json(r, 200)["count"],
        0,
        "a deleted webhook's log stays readable"
    );
    assert_eq!(
        s.get(&key, &format!("{HOOKS}999/deliveries/")).status(),
        404
    );
}

#[test]
fn events_are_delivered_signed_and_retried() {
    let all = Receiver::start(&[]);
    let flaky = Receiver::start(&[500, 500]);
    // Receivers listen on loopback, which webhooks reach only when allowed.
    let s = Server::build().webhook_hosts("loopback").start();
    let key = s.key("task:write");
    let every = json!({
        "url": format!("{}/all", all.url),
        "events": ["task.created", "run.created", "run.status_changed", "run.completed",
                   "artifact.uploaded"],
        "secret": "all-secret",
    });
    let every = expect_json(s.post(&key, HOOKS, &every), 201);
    let done = json!({"url": format!("{}/done", flaky.url), "events": ["run.completed"]});
    let done = expect_json(s.post(&key, HOOKS, &done), 201);
    let done_secret = done["secret"].as_str().unwrap().to_string();

    // A task's life: created, run, claimed, an artifact, completed.
    let task = s.new_task(&key);
    let run = start_run(&s, &key, &task);
    expect_json(s.post(&key, "/api/projects/1/runs/claim/", &json!({})), 200);
    let artifact = json!({"artifacts": [{"name": "plan.md", "type": "plan", "content": "# Plan"}]});
    expect_json(
        s.post(&key, &run_path(&task, &run, "artifacts/"), &artifact),
        200,
    );
    let r = s.patch(
        &key,
        &run_path(&task, &run, ""),
        &json!({"status": "completed"}),
    );
    expect_json(r, 200);

    let got = all.wait_for(6);
    assert_eq!(
        events(&got),
        vec![
            "artifact.uploaded",
            "run.completed",
            "run.created",
            "run.status_changed",
            "run.status_changed",
            "task.created"
        ]
    );
    for req in &got {
        assert_eq!(req.path, "/all");
        assert!(req.signed_with("all-secret"), "{req:?}");
        assert_eq!(req.json()["project_id"], 1);
    }
    let by_event = |name: &str| -> Vec<Value> {
        got.iter()
            .map(Received::json)
            .filter(|b| b["event"] == name)
            .collect()
    };
    assert_eq!(
        by_event("task.created")[0]["data"]["task"]["id"],
        task.as_str()
    );
    assert_eq!(
        by_event("run.created")[0]["data"]["run"]["status"],
        "queued"
    );
    let mut changes: Vec<(Value, Value)> = by_event("run.status_changed")
        .iter()
        .map(|b| {
            (
                b["data"]["previous_status"].clone(),
                b["data"]["run"]["status"].clone(),
            )
        })
        .collect();
    changes.sort_by_key(|c| c.0.to_string());
    assert_eq!(
        changes,
        vec![
            (json!("in_progress"), json!("completed")),
            (json!("queued"), json!("in_progress"))
        ]
    );
    let uploaded = &by_event("artifact.uploaded")[0]["data"];
    assert_eq!(uploaded["artifacts"][0]["name"], "plan.md");
    assert_eq!(uploaded["run"]["id"], run.as_str());
    assert_eq!(
        by_event("run.completed")[0]["data"]["run"]["status"],
        "completed"
    );

    // The flaky receiver took only run.completed, at the third attempt.
    let got = flaky.wait_for(3);
    assert_eq!(events(&got), vec!["run.completed"; 3]);
    assert!(got.iter().all(|r| r.signed_with(&done_secret)));
    let log = poll("the flaky delivery to be delivered", || {
        let r = s.get(&key, &format!("{HOOKS}{}/deliveries/", done["id"]));
        let log = expect_json(r, 200);
        (log["results"][0]["status"] == "delivered").then_some(log)
    });
    assert_eq!(log["count"], 1);
    let attempts = log["results"][0]["attempts"].as_array().unwrap();
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, vec![&json!(500), &json!(500), &json!(200)]);
    assert!(
        attempts
            .iter()
            .all(|a| a["at"].is_string() && a["duration_ms"].is_u64())
    );

    // The project's log has them all; one webhook's, only its own.
    let everything = expect_json(
        s.get(&key, "/api/projects/1/webhook_deliveries/?limit=100"),
        200,
    );
    assert_eq!(everything["count"], 7);
    let r = s.get(
        &key,
        &format!(
            "/api/projects/1/webhook_deliveries/?webhook={}",
            every["id"]
        ),
    );
    assert_eq!(expect_json(r, 200)["count"], 6);

    // A deleted webhook gets nothing more.
    assert_eq!(
        s.delete(&key, &format!("{HOOKS}{}/", every["id"])).status(),
        204
    );
    s.new_task(&key);
    let r = s.get(&key, &format!("{HOOKS}{}/deliveries/", every["id"]));
    assert_eq!(expect_json(r, 200)["count"], 6);
}
