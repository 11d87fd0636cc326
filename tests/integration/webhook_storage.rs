//! Webhook fan-out cannot multiply storage: a project has at most 20 webhooks, an event's
//! payload is stored once however many deliveries carry it, and settled deliveries (and the
//! payloads no delivery carries any more) are forgotten after the documented 30 days.

use crate::harness::runner::*;
use crate::harness::{Server, assert_error, expect_json, results, task_body};
use serde_json::{Value, json};

const HOOKS: &str = "/api/projects/1/webhooks/";

fn loopback() -> Server {
    Server::build().webhook_hosts("loopback").start()
}

fn hook(url: &str) -> Value {
    json!({"url": url, "events": ["task.created"], "secret": "s"})
}

fn count(s: &Server, sql: &str) -> i64 {
    s.sqlite().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_project_has_at_most_twenty_webhooks() {
    let s = loopback();
    let key = s.key("task:write");
    let mut made = Vec::new();
    for i in 0..20 {
        let body = hook(&format!("http://127.0.0.1:9/{i}"));
        made.push(expect_json(s.post(&key, HOOKS, &body), 201));
    }
    let r = s.post(&key, HOOKS, &hook("http://127.0.0.1:9/21"));
    let err = assert_error(r, 400, "validation_error", "too_many", None);
    assert!(
        err["detail"].as_str().unwrap().contains("at most 20"),
        "{err}"
    );
    assert_eq!(expect_json(s.get(&key, HOOKS), 200)["count"], 20);

    // Another project has its own room; a deleted webhook frees one.
    let other = s.project("Other");
    let path = format!("/api/projects/{other}/webhooks/");
    assert_eq!(
        s.post(&key, &path, &hook("http://127.0.0.1:9/x")).status(),
        201
    );
    let first = format!("{HOOKS}{}/", made[0]["id"]);
    assert_eq!(s.delete(&key, &first).status(), 204);
    assert_eq!(
        s.post(&key, HOOKS, &hook("http://127.0.0.1:9/again"))
            .status(),
        201
    );
}

#[test]
fn an_events_payload_is_stored_once_for_all_its_deliveries() {
    let receiver = Receiver::start(&[]);
    let s = loopback();
    let key = s.key("task:write");
    for i in 0..20 {
        let body = hook(&format!("{}/{i}", receiver.url));
        expect_json(s.post(&key, HOOKS, &body), 201);
    }
    let description = "d".repeat(500_000);
    let task = s.task(&key, &task_body(json!({"description": description})));

    let total = |sql: &str| count(&s, sql);
    assert_eq!(total("SELECT COUNT(*) FROM webhook_deliveries"), 20);
    assert_eq!(total("SELECT COUNT(*) FROM webhook_payloads"), 1);
    let payload_bytes = total("SELECT SUM(length(data)) FROM webhook_payloads");
    assert!(
        (500_000..600_000).contains(&payload_bytes),
        "{payload_bytes}"
    );
    let delivery_bytes = total(
        "SELECT SUM(length(id) + length(event) + length(url) + length(attempts)
                    + length(created_at)) FROM webhook_deliveries",
    );
    assert!(delivery_bytes < 20_000, "{delivery_bytes}");

    // Every receiver still gets the whole body, signed, with its own delivery id.
    let got = receiver.wait_for(20);
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            assert!(r.signed_with("s"));
            let body = r.json();
            assert_eq!(body["data"]["task"]["id"], task["id"]);
            assert_eq!(body["data"]["task"]["description"], description.as_str());
            assert_eq!(r.headers["x-burrow-delivery"], body["id"].as_str().unwrap());
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    // The log shows each delivery's body as it was sent.
    let log = expect_json(
        s.get(&key, "/api/projects/1/webhook_deliveries/?limit=1"),
        200,
    );
    let shown = &log["results"][0];
    assert_eq!(shown["payload"]["id"], shown["id"]);
    let sent = got
        .iter()
        .find(|r| r.json()["id"] == shown["id"])
        .expect("the shown delivery was received");
    assert_eq!(serde_json::to_vec(&shown["payload"]).unwrap(), sent.body);
}

/// An RFC 3339 UTC time `days` ago, as Burrow stores times.
fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[test]
fn settled_deliveries_and_orphaned_payloads_are_pruned_after_30_days() {
    let receiver = Receiver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = Server::build()
        .data_dir(dir.path())
        .webhook_hosts("loopback")
        .start_with_key("task:write");
    for name in ["a", "b"] {
        let body = hook(&format!("{}/{name}", receiver.url));
        expect_json(s.post(&key, HOOKS, &body), 201);
    }
    // Three events, each one payload carried by two deliveries.
    for _ in 0..3 {
        s.task(&key, &task_body(json!({})));
    }
    receiver.wait_for(6);
    poll("all six delivered", || {
        (count(
            &s,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'",
        ) == 6)
            .then_some(())
    });
    s.terminate();

    {
        let db = s.sqlite();
        let (old, recent) = (days_ago(31), days_ago(29));
        // Payload 1: both deliveries old. Payload 2: one old, one still pending (a pending
        // delivery is never pruned, however old). Payload 3: both within the 30 days.
        db.execute(
            "UPDATE webhook_deliveries SET finished_at = ?1 WHERE payload_id IN (1, 2)",
            [&old],
        )
        .unwrap();
        db.execute_batch(
            "UPDATE webhook_deliveries SET status = 'pending', finished_at = NULL,
               next_attempt_at = '2999-01-01T00:00:00.000000Z'
             WHERE pk = (SELECT MAX(pk) FROM webhook_deliveries WHERE payload_id = 2)",
        )
        .unwrap();
        db.execute(
            "UPDATE webhook_deliveries SET finished_at = ?1 WHERE payload_id = 3",
            [&recent],
        )
        .unwrap();
    }

    // The sweeper prunes when the server starts, and hourly after.
    let s = Server::build()
        .data_dir(dir.path())
        .webhook_hosts("loopback")
        .start();
    let log = poll("old deliveries to be pruned", || {
        let log = expect_json(s.get(&key, "/api/projects/1/webhook_deliveries/"), 200);
        (log["count"] == 3).then_some(log)
    });
    let statuses: Vec<&Value> = results(&log).iter().map(|d| &d["status"]).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "pending").count(), 1);
    let payloads: Vec<i64> = s
        .sqlite()
        .prepare("SELECT id FROM webhook_payloads ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        payloads,
        vec![2, 3],
        "the payload no delivery carries is gone"
    );
}
