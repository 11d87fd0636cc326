//! `GET tasks/`: every filter of the contract (and the `search` extension), newest first,
//! and limit/offset paging with absolute next/previous links.

use crate::harness::{Server, assert_invalid, expect_json, results, task_body};
use reqwest::Url;
use serde_json::{Value, json};

const TASKS: &str = "/api/projects/1/tasks/";

/// The ids a list query answers, after checking `count` agrees with them.
fn ids(s: &Server, key: &str, query: &str) -> Vec<String> {
    let list = expect_json(s.get(key, &format!("{TASKS}?{query}")), 200);
    let ids: Vec<String> = results(&list)
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(list["count"], ids.len(), "count for ?{query}");
    ids
}

/// Creates a task and returns its id (leaked, so lists compare against plain `[a, b]`).
fn create(s: &Server, key: &str, extra: Value) -> &'static str {
    let id = s.task(key, &task_body(extra))["id"]
        .as_str()
        .unwrap()
        .to_string();
    id.leak()
}

#[test]
fn filters_on_origin_repository_and_organization() {
    let (s, key) = Server::with_key("task:write");
    let [a, b, c, d, e] = [
        json!({"origin_product": "user_created", "repository": "PostHog/PostHog"}),
        json!({"origin_product": "slack", "repository": "other/posthog"}),
        json!({"origin_product": "error_tracking", "repository": "posthog/posthog-js"}),
        json!({"origin_product": "user_created"}),
        json!({"origin_product": "user_created", "repository": "Acme/Web"}),
    ]
    .map(|extra| create(&s, &key, extra));
    let q = |query: &str| ids(&s, &key, query);

    assert_eq!(q(""), [e, d, c, b, a], "newest first");
    assert_eq!(q("origin_product=user_created"), [e, d, a]);
    assert_eq!(q("origin_product=slack"), [b]);
    assert!(q("origin_product=user").is_empty(), "an exact match");
    // With a '/': the whole repository, case-insensitively.
    assert_eq!(q("repository=posthog/posthog"), [a]);
    assert_eq!(q("repository=POSTHOG/PostHog"), [a]);
    assert_eq!(q("repository=acme/web"), [e]);
    assert!(q("repository=posthog/post").is_empty());
    // Without one: the repo part.
    assert_eq!(q("repository=posthog"), [b, a]);
    assert_eq!(q("repository=PostHog"), [b, a]);
    assert_eq!(q("repository=posthog-js"), [c]);
    assert!(
        q("repository=acme").is_empty(),
        "acme is the organization, not the repo"
    );
    // organization: the part before the '/'.
    assert_eq!(q("organization=posthog"), [c, a]);
    assert_eq!(q("organization=PostHog"), [c, a]);
    assert_eq!(q("organization=other"), [b]);
    assert_eq!(q("organization=acme"), [e]);
    assert!(q("organization=web").is_empty());
    assert!(q("organization=post").is_empty());
    // Filters combine, and an empty value means no filter.
    assert_eq!(q("organization=posthog&repository=posthog"), [a]);
    assert_eq!(q("origin_product=user_created&organization=posthog"), [a]);
    assert_eq!(
        q("origin_product=&repository=&organization=&stage=&created_by="),
        q("")
    );
    assert_eq!(
        q("repository=posthog%2Fposthog"),
        [a],
        "an encoded '/' counts"
    );
}

#[test]
fn filters_on_stage_created_by_and_search() {
    let (s, key) = Server::with_key("task:write");
    let new = |extra| create(&s, &key, extra);
    let t1 = new(json!({"title": "Fix the FLAKY login test", "description": "see title"}));
    let t2 = new(json!({"title": "Other", "description": "Make it 100% faster"}));
    let t3 = new(json!({"title": "snake_case names", "description": "plain"}));
    let run = |id: &str| {
        let t = expect_json(s.post(&key, &format!("{TASKS}{id}/run/"), &json!({})), 200);
        assert!(
            t["latest_run"]["stage"].is_null(),
            "a new run has no stage yet"
        );
        t["latest_run"]["id"].as_str().unwrap().to_string()
    };
    let (r1a, r1b, r2a, _r2b) = (run(t1), run(t1), run(t2), run(t2));
    // Runs cannot be given a stage through the API yet; set it in the database.
    let db = s.sqlite();
    for (run, stage) in [(&r1a, "build"), (&r1b, "build"), (&r2a, "review")] {
        let n = db
            .execute(
                "UPDATE task_runs SET stage = ?1 WHERE id = ?2",
                [stage, run],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let q = |query: &str| ids(&s, &key, query);
    assert_eq!(q("stage=build"), [t1], "once, though two runs match");
    assert_eq!(
        q("stage=review"),
        [t2],
        "any run counts, not only the latest"
    );
    assert!(q("stage=BUILD").is_empty());
    assert!(q("stage=deploy").is_empty());
    assert_eq!(q("stage=build&origin_product=user_created"), [t1]);

    // created_by: a user id.
    let me = expect_json(s.get(&key, "/api/users/@me/"), 200)["id"]
        .as_i64()
        .unwrap();
    let other_key = s.key_for("other@example.com", "task:write", &[]);
    let t4 = create(&s, &other_key, json!({}));
    let other = expect_json(s.get(&other_key, "/api/users/@me/"), 200)["id"]
        .as_i64()
        .unwrap();
    assert_ne!(me, other);
    assert_eq!(q(&format!("created_by={me}")), [t3, t2, t1]);
    assert_eq!(q(&format!("created_by={other}")), [t4]);
    assert!(q("created_by=999").is_empty());
    for bad in ["abc", "1.5", "-1", "1e3"] {
        let r = s.get(&key, &format!("{TASKS}?created_by={bad}"));
        assert_invalid(r, "invalid_input", "created_by");
    }

    // search: a case-insensitive substring of the title or the description.
    assert_eq!(q("search=flaky"), [t4, t1], "the title or the description");
    assert_eq!(q("search=FASTER"), [t2]);
    assert_eq!(q("search=%25"), [t2], "'%' is literal");
    assert_eq!(q("search=_"), [t3], "'_' is literal");
    assert_eq!(q("search=Fix+the"), [t4, t1]);
    assert!(q("search=nothing-like-this").is_empty());
}

/// `limit` and `offset` of an absolute link to this server's task list.
fn link(s: &Server, v: &Value) -> (i64, i64) {
    let url = Url::parse(v.as_str().unwrap_or_else(|| panic!("a link, got {v}"))).unwrap();
    assert!(v.as_str().unwrap().starts_with(&s.base), "absolute: {v}");
    assert_eq!(url.path().trim_end_matches('/'), "/api/projects/1/tasks");
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("{name} in {url}"))
            .1
            .parse()
            .unwrap()
    };
    (get("limit"), get("offset"))
}

#[test]
fn pages_with_absolute_links() {
    let (s, key) = Server::with_key("task:write");
    for i in 0..101 {
        let origin = if i % 2 == 0 { "user_created" } else { "slack" };
        s.task(
            &key,
            &task_body(json!({"description": format!("task {i}"), "origin_product": origin})),
        );
    }
    let page = |query: &str| expect_json(s.get(&key, &format!("{TASKS}?{query}")), 200);
    let descriptions = |p: &Value| -> Vec<String> {
        let results = p["results"].as_array().unwrap();
        results
            .iter()
            .map(|t| t["description"].as_str().unwrap().to_string())
            .collect()
    };

    // The default limit is 100, newest first.
    let first = page("");
    assert_eq!(first["count"], 101);
    assert_eq!(first["results"].as_array().unwrap().len(), 100);
    assert_eq!(descriptions(&first)[0], "task 100");
    assert!(first["previous"].is_null());
    assert_eq!(link(&s, &first["next"]), (100, 100));
    let second = expect_json(
        s.client
            .get(first["next"].as_str().unwrap())
            .bearer_auth(&key)
            .send()
            .unwrap(),
        200,
    );
    assert_eq!(descriptions(&second), ["task 0"]);
    assert!(second["next"].is_null());
    assert_eq!(link(&s, &second["previous"]), (100, 0));

    let middle = page("limit=10&offset=20");
    let expected: Vec<String> = (71..=80).rev().map(|i| format!("task {i}")).collect();
    assert_eq!(descriptions(&middle), expected);
    assert_eq!(link(&s, &middle["next"]), (10, 30));
    assert_eq!(link(&s, &middle["previous"]), (10, 10));
    assert_eq!(link(&s, &page("limit=10&offset=5")["previous"]), (10, 0));

    // A limit above 1000 is clamped to 1000, however large.
    for limit in ["5000", "99999999999999999999"] {
        let all = page(&format!("limit={limit}&offset=1"));
        assert_eq!(
            all["results"].as_array().unwrap().len(),
            100,
            "limit={limit}"
        );
        assert_eq!(link(&s, &all["previous"]), (1000, 0), "limit={limit}");
        assert!(all["next"].is_null());
    }
    let far = page("offset=99999999999999999999");
    assert!(far["results"].as_array().unwrap().is_empty() && far["next"].is_null());
    let past = page("offset=500");
    assert_eq!(past["count"], 101);
    assert!(past["results"].as_array().unwrap().is_empty());
    assert!(past["next"].is_null());

    // Links keep the filters; counts follow them.
    let filtered = page("origin_product=slack&limit=20");
    assert_eq!(filtered["count"], 50);
    let next = filtered["next"].as_str().unwrap();
    assert!(next.contains("origin_product=slack"), "{next}");
    assert_eq!(link(&s, &filtered["next"]), (20, 20));

    for (bad, attr) in [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-5", "offset"),
        ("offset=x", "offset"),
    ] {
        let r = s.get(&key, &format!("{TASKS}?{bad}"));
        assert_invalid(r, "invalid_input", attr);
    }
}

/// A polled first page is reused while nothing it shows changes, and follows every change:
/// to a task, to its runs, and a delete. Each answer equals the task read by itself.
#[test]
fn a_polled_page_follows_every_change() {
    let (s, key) = Server::with_key("task:write");
    let first = || expect_json(s.get(&key, TASKS), 200);
    let (run, _) = s.new_run(&key, &json!({"status": "queued"}));
    let task = format!("{TASKS}{}/", run.task);
    // The list and the task agree but for when their runs' log tokens were signed, which
    // may fall in different seconds.
    let unsigned = |mut task: Value| {
        let url = task["latest_run"]["log_url"].as_str().unwrap_or_default();
        let unsigned = url.split("token=").next().unwrap_or_default().to_string();
        task["latest_run"]["log_url"] = unsigned.into();
        task
    };
    let agrees = |list: &Value| {
        let retrieved = expect_json(s.get(&key, &task), 200);
        assert_eq!(unsigned(list["results"][0].clone()), unsigned(retrieved));
    };
    let page = first();
    agrees(&page);
    assert_eq!(first(), page, "nothing changed");

    // Appends show on no list page.
    s.append_ok(&key, &run, &[json!({"type": "x"})]);
    assert_eq!(first()["results"][0]["latest_run"]["status"], "queued");

    expect_json(s.patch(&key, &task, &json!({"title": "Renamed"})), 200);
    let page = first();
    assert_eq!(page["results"][0]["title"], "Renamed");
    agrees(&page);

    let update = json!({"status": "in_progress", "state": {"step": 2}, "branch": "b"});
    expect_json(s.patch(&key, &run.path(""), &update), 200);
    let page = first();
    assert_eq!(page["results"][0]["latest_run"]["status"], "in_progress");
    assert_eq!(page["results"][0]["latest_run"]["state"]["step"], 2);
    agrees(&page);

    let newer = s.run_of(&key, &run.task, &json!({"status": "queued"}));
    let page = first();
    assert_eq!(page["results"][0]["latest_run"]["id"], newer["id"]);

    let other = s.new_task(&key);
    assert_eq!(first()["count"], 2);
    assert_eq!(s.delete(&key, &format!("{TASKS}{other}/")).status(), 204);
    let page = first();
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["id"], run.task.as_str());
}
