//! `/metrics` labels stay bounded whatever clients send: methods outside the standard set
//! and paths outside the route table are counted under one `other` label.

use crate::harness::Server;
use reqwest::Method;

#[test]
fn invented_methods_and_paths_share_one_label() {
    let (s, key) = Server::with_key("task:read");
    for i in 0..40 {
        let method = Method::from_bytes(format!("BREW{i}X").as_bytes()).unwrap();
        // On a known route, on an unknown API path and on an unknown UI path.
        for path in [
            "/_health".to_string(),
            format!("/api/nowhere-{i}-zq"),
            format!("/nowhere-{i}-zq/deeper"),
        ] {
            s.client
                .request(method.clone(), s.url(&path))
                .send()
                .unwrap();
        }
        s.get(&key, &format!("/api/nowhere-{i}-zq"))
            .bytes()
            .unwrap();
        s.get(&key, &format!("/elsewhere-{i}-zq")).bytes().unwrap();
    }
    // A standard method on a known route keeps its own labels.
    s.get(&key, "/api/projects/1/tasks/").bytes().unwrap();

    let text = s.get("", "/metrics").text().unwrap();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("burrow_http_requests_total{"))
        .collect();
    for line in text.lines().filter(|l| l.starts_with("burrow_http")) {
        assert!(!line.contains("BREW"), "a method became a label: {line}");
        assert!(!line.contains("-zq"), "a path became a label: {line}");
    }
    let has = |labels: &str| series.iter().any(|l| l.contains(labels));
    assert!(has(r#"route="/_health",method="other""#), "{text}");
    assert!(has(r#"route="other",method="other""#), "{text}");
    assert!(has(r#"route="other",method="GET""#), "{text}");
    assert!(
        has(r#"route="/api/projects/{project_id}/tasks",method="GET",status="200""#),
        "{text}"
    );
    // 200 requests made a handful of series, not hundreds.
    assert!(series.len() <= 10, "{series:#?}");
}
