//! A task's life: its number and slug per project, the title derived from its description,
//! a run started through `run/`, and the soft delete that hides it for good.

use crate::harness::database::count;
use crate::harness::{Server, assert_not_found, expect_json, task_body};
use reqwest::Method;
use serde_json::{Value, json};

const TASKS: &str = "/api/projects/1/tasks/";

#[test]
fn tasks_are_numbered_per_project_with_a_slug_from_its_name() {
    let (s, key) = Server::with_key("*");
    for n in 0..3 {
        let t = s.task(&key, &task_body(json!({})));
        assert_eq!(t["task_number"], n);
        assert_eq!(t["slug"], format!("DEF-{n}"));
    }
    let project = expect_json(s.get(&key, "/api/projects/1/"), 200);
    assert_eq!(project["name"], "Default project");

    for (name, prefix) in [
        ("Test Team", "TES"),
        ("PostHog", "POS"),
        ("my team", "MYT"),
        ("Acme Big Corp", "ABC"),
        ("x", "X"),
        ("(!) ?", "TSK"),
    ] {
        let id = s.project(name);
        let tasks = format!("/api/projects/{id}/tasks/");
        for n in 0..2 {
            let t = expect_json(s.post(&key, &tasks, &task_body(json!({}))), 201);
            assert_eq!(t["task_number"], n, "{name}");
            assert_eq!(t["slug"], format!("{prefix}-{n}"), "{name}");
        }
        let listed = expect_json(s.get(&key, &tasks), 200);
        assert_eq!(listed["results"][0]["slug"], format!("{prefix}-1"));
    }
    // Other projects' tasks do not move project 1's numbers.
    assert_eq!(s.task(&key, &task_body(json!({})))["slug"], "DEF-3");

    // Tasks created at once still get distinct, consecutive numbers.
    let mut numbers: Vec<i64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    s.task(&key, &task_body(json!({})))["task_number"]
                        .as_i64()
                        .unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    numbers.sort_unstable();
    assert_eq!(numbers, (4..20).collect::<Vec<i64>>());
}

#[test]
fn a_blank_title_comes_from_the_description() {
    let (s, key) = Server::with_key("task:write");
    let title = |extra: Value| s.task(&key, &task_body(extra))["title"].clone();
    let sixty = "b".repeat(60);
    let cases = [
        (json!({"title": ""}), "Fix the flaky login test"),
        (json!({"title": "   "}), "Fix the flaky login test"),
        (json!({}), "Fix the flaky login test"),
        (
            json!({"description": "First line\nsecond line"}),
            "First line",
        ),
        (
            json!({"description": "First line\r\nsecond line"}),
            "First line",
        ),
        // The first line with text in it, trimmed.
        (
            json!({"description": "\n \n  Real first line  \nmore"}),
            "Real first line",
        ),
        (json!({"description": sixty.clone()}), sixty.as_str()),
        // A title given is kept as given, however long the description.
        (
            json!({"title": "Mine", "description": "a".repeat(100)}),
            "Mine",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(title(extra.clone()), expected, "{extra}");
    }
    // Longer than 60 characters: the first 57 and "...".
    let long = format!("{}{}", "a".repeat(57), "bcdef");
    assert_eq!(
        title(json!({"description": long})),
        format!("{}...", "a".repeat(57))
    );
    let accented = "é".repeat(61);
    assert_eq!(
        title(json!({"description": accented})),
        format!("{}...", "é".repeat(57))
    );
    let sixty_one = title(json!({"description": "c".repeat(61)}));
    assert_eq!(sixty_one.as_str().unwrap().chars().count(), 60);
}

#[test]
fn run_starts_a_queued_cloud_run() {
    let (s, key) = Server::with_key("task:write");
    let t = s.task(&key, &task_body(json!({})));
    let id = t["id"].as_str().unwrap();
    let started = expect_json(s.post(&key, &format!("{TASKS}{id}/run/"), &json!({})), 200);
    assert_eq!(started["id"], id);
    let run = &started["latest_run"];
    assert_eq!(run["task"], id);
    assert_eq!(run["status"], "queued");
    assert_eq!(run["environment"], "cloud");
    assert!(run["stage"].is_null() && run["completed_at"].is_null());
    assert_eq!(run["state"], json!({}));
    assert!(
        run["log_url"].as_str().unwrap().starts_with(&s.base),
        "{run}"
    );
    // A body is not needed, and the newest run becomes latest_run.
    let again = s.send_raw(&key, Method::POST, &format!("{TASKS}{id}/run"), "");
    let again = expect_json(again, 200);
    assert_ne!(again["latest_run"]["id"], run["id"]);
    let listed = expect_json(s.get(&key, TASKS), 200);
    assert_eq!(
        listed["results"][0]["latest_run"]["id"],
        again["latest_run"]["id"]
    );
    let missing = format!("{TASKS}0b7a3c1e-2f4d-4e5a-9b6c-7d8e9f0a1b2c/run/");
    assert_not_found(s.post(&key, &missing, &json!({})));
}

#[test]
fn delete_is_soft_and_final() {
    let (s, key) = Server::with_key("task:write");
    let kept = s.task(&key, &task_body(json!({"title": "kept"})));
    let gone = s.task(&key, &task_body(json!({"title": "gone"})));
    let id = gone["id"].as_str().unwrap();
    let path = format!("{TASKS}{id}/");
    s.post(&key, &format!("{path}run/"), &json!({}));

    let r = s.delete(&key, &path);
    assert_eq!(r.status(), 204);
    assert!(r.bytes().unwrap().is_empty(), "204 has an empty body");
    assert_not_found(s.get(&key, &path));
    assert_not_found(s.patch(&key, &path, &json!({"title": "back"})));
    assert_not_found(s.put(&key, &path, &task_body(json!({}))));
    assert_not_found(s.delete(&key, &path));
    assert_not_found(s.post(&key, &format!("{path}run/"), &json!({})));

    let list = expect_json(s.get(&key, TASKS), 200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], kept["id"]);
    assert_eq!(
        expect_json(s.get(&key, &format!("{TASKS}?search=gone")), 200)["count"],
        0
    );
    assert_eq!(
        expect_json(
            s.get(&key, &format!("{TASKS}{}/", kept["id"].as_str().unwrap())),
            200
        ),
        kept
    );

    // Numbers are not reused, and the deleted task's run stays in the database.
    let next = s.task(&key, &task_body(json!({})));
    assert_eq!(next["task_number"], 2);
    assert_eq!(next["slug"], "DEF-2");
    let runs = "SELECT COUNT(*) FROM task_runs r JOIN tasks t ON t.pk = r.task_pk WHERE t.id = ?1";
    assert_eq!(count(&s.sqlite(), runs, [id]), 1);
}

#[test]
fn a_created_task_is_answered_as_it_then_reads() {
    let (s, key) = Server::with_key("task:write");
    let integration = s.integration("acme");
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    for extra in [
        json!({}),
        json!({
            "title": "  Spaced title  ",
            "repository": "Acme/Web",
            "assignee": "bot",
            "json_schema": schema,
            "github_integration": integration,
        }),
        json!({"description": "é ✓ \"quoted\" \\ back\nline", "title": ""}),
    ] {
        let created = expect_json(s.post(&key, TASKS, &task_body(extra.clone())), 201);
        let read = expect_json(
            s.get(
                &key,
                &format!("{TASKS}{}/", created["id"].as_str().unwrap()),
            ),
            200,
        );
        assert_eq!(created, read, "{extra}");
        let listed = expect_json(s.get(&key, TASKS), 200);
        assert_eq!(listed["results"][0], read, "{extra}");
    }
}
