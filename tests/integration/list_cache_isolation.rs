//! The task list's page cache serves a page only for the project it was built for: two
//! callers whose `@current` names different projects, at equal change counts, each see their
//! own project's tasks and links, and a key limited to one project never reads another's.

use crate::harness::{Server, expect_json, task_body};
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// Each project gets one task with one run, so both change counters move alike.
fn task_with_run(s: &Server, key: &str, project: i64, description: &str) -> String {
    let tasks = format!("/api/projects/{project}/tasks/");
    let task = expect_json(
        s.post(key, &tasks, &task_body(json!({"description": description}))),
        201,
    );
    let id = task["id"].as_str().unwrap().to_string();
    expect_json(s.post(key, &format!("{tasks}{id}/runs/"), &json!({})), 201);
    id
}

fn versions(s: &Server) -> (i64, i64) {
    let db = s.sqlite();
    let v = |id: i64| -> i64 {
        db.query_row("SELECT version FROM projects WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
    };
    (v(1), v(2))
}

/// The one task a list shows, after checking no other project's id or link is in the body.
fn only_task(r: Response, foreign_task: &str, foreign_project: i64) -> String {
    let text = {
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    assert!(
        !text.contains(foreign_task),
        "another project's task was served: {text}"
    );
    assert!(
        !text.contains(&format!("/api/projects/{foreign_project}/")),
        "another project's links were served: {text}"
    );
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["count"], 1, "{list}");
    let task = &list["results"][0];
    assert!(task["latest_run"]["log_url"].is_string(), "{task}");
    task["id"].as_str().unwrap().to_string()
}

#[test]
fn current_resolves_per_caller_even_when_a_page_is_cached() {
    let s = Server::start();
    let two = s.project("two");
    assert_eq!(two, 2);
    let writer = s.key("task:write");
    let one_task = task_with_run(&s, &writer, 1, "project one's secret");
    let two_task = task_with_run(&s, &writer, 2, "project two's secret");
    let (v1, v2) = versions(&s);
    assert_eq!(
        v1, v2,
        "the change counters must agree for the test to mean anything"
    );

    // Keys limited to one project: `@current` is that project.
    let key_one = s.key_for("admin@localhost", "task:read", &[1]);
    let key_two = s.key_for("admin@localhost", "task:read", &[2]);
    // A second user whose current project is 2, with an unrestricted key.
    let key_other = s.key_for("other@localhost", "task:read", &[]);
    s.sqlite()
        .execute(
            "UPDATE users SET current_project_id = ?1 WHERE email = 'other@localhost'",
            [two],
        )
        .unwrap();
    s.sqlite()
        .execute(
            "UPDATE users SET current_project_id = 1 WHERE email = 'admin@localhost'",
            [],
        )
        .unwrap();
    let key_admin = s.key("task:read");

    // Each pair asks the same URL, the first caller filling the cache. A fresh query per
    // pair keeps the pairs apart.
    let pairs = [
        (&key_one, 1, &key_two, 2, "/api/projects/@current/tasks/"),
        (
            &key_two,
            2,
            &key_one,
            1,
            "/api/projects/@current/tasks/?limit=99",
        ),
        (
            &key_admin,
            1,
            &key_other,
            2,
            "/api/projects/@current/tasks/?limit=98",
        ),
        (
            &key_other,
            2,
            &key_admin,
            1,
            "/api/projects/@current/tasks/?limit=97",
        ),
    ];
    let task_of = |p: i64| if p == 1 { &one_task } else { &two_task };
    for (first, first_project, second, second_project, url) in pairs {
        for _ in 0..2 {
            let got = only_task(s.get(first, url), task_of(second_project), second_project);
            assert_eq!(&got, task_of(first_project), "{url}");
            let got = only_task(s.get(second, url), task_of(first_project), first_project);
            assert_eq!(&got, task_of(second_project), "{url}");
        }
    }

    // Project 1's page is cached now; a key limited to project 2 still cannot read it.
    let one_list = "/api/projects/1/tasks/";
    only_task(s.get(&key_one, one_list), &two_task, 2);
    let r = s.get(&key_two, one_list);
    assert_eq!(r.status(), 404, "{}", r.text().unwrap());
    let r = s.get(&key_two, &format!("{one_list}?limit=99"));
    assert_eq!(r.status(), 404, "{}", r.text().unwrap());
}
