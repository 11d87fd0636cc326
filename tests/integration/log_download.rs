//! The run log as a browser opens and saves it: text in the tab when it asks for HTML, and a
//! file named `<slug>-<run>.jsonl` rather than `logs`.

use crate::harness::Server;
use reqwest::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::{Value, json};

#[test]
fn the_log_opens_as_text_in_a_browser_and_saves_as_slug_and_run() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(&key, &json!({}));
    s.append_ok(&key, &run, &[json!({"type": "info", "message": "one"})]);
    let task: Value = s
        .get(&key, &format!("/api/projects/1/tasks/{}/", run.task))
        .json()
        .unwrap();
    let name = format!("{}-{}.jsonl", task["slug"].as_str().unwrap(), run.id);
    let url = created["log_url"].as_str().unwrap();
    let anonymous = reqwest::blocking::Client::new();
    let header = |r: &reqwest::blocking::Response, h| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };

    // What Chromium sends when a link opens in a new tab.
    let browser = anonymous
        .get(url)
        .header(
            ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .unwrap();
    assert_eq!(browser.status(), 200);
    assert_eq!(header(&browser, CONTENT_TYPE), "text/plain; charset=utf-8");
    assert_eq!(
        header(&browser, CONTENT_DISPOSITION),
        format!("inline; filename=\"{name}\"")
    );
    assert!(browser.text().unwrap().contains("\"message\":\"one\""));

    // API clients keep NDJSON; the name travels with it.
    let client = s.get(&key, &run.path("logs"));
    assert_eq!(header(&client, CONTENT_TYPE), "application/jsonl");
    assert_eq!(
        header(&client, CONTENT_DISPOSITION),
        format!("inline; filename=\"{name}\"")
    );

    let saved = anonymous.get(format!("{url}&download=1")).send().unwrap();
    assert_eq!(
        header(&saved, CONTENT_DISPOSITION),
        format!("attachment; filename=\"{name}\"")
    );
}
