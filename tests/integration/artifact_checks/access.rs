//! Who may reach an artifact and how: paths off the manifest are 404s, scopes, and
//! presigned URLs that work without credentials.

use serde_json::json;

use super::{RunRef, direct, fetch, inline_item};
use crate::harness::stores::Backend;
use crate::harness::{Server, assert_error, assert_invalid, assert_not_found, expect_json};

/// Paths not on the run's manifest are 404s, for download and presign alike.
pub fn paths_not_on_the_run(s: &Server, _store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let other = s.new_run(&key, &json!({})).0;
    let mine = run.upload_one(s, &key, inline_item("a.md", "plan", "a"));
    let theirs = other.upload_one(s, &key, inline_item("b.md", "plan", "b"));
    let prepared = direct::prepare(
        s,
        &key,
        &run,
        json!([{"name": "p.bin", "type": "artifact", "size": 1}]),
    );
    let mine_path = mine["storage_path"].as_str().unwrap();
    let paths = [
        format!("{}deadbeef_a.md", run.prefix()),
        theirs["storage_path"].as_str().unwrap().to_string(),
        prepared[0]["storage_path"].as_str().unwrap().to_string(),
        format!("{}/", mine_path),
        run.prefix(),
        "../../etc/passwd".to_string(),
    ];
    for path in &paths {
        assert_not_found(run.download(s, &key, path));
        assert_not_found(run.presign(s, &key, path));
    }
    // The right path on the wrong run or task, and an unknown run.
    assert_not_found(other.download(s, &key, mine_path));
    let crossed = RunRef {
        task: other.task.clone(),
        id: run.id.clone(),
    };
    assert_not_found(crossed.download(s, &key, mine_path));
    assert_not_found(crossed.presign(s, &key, mine_path));
    let unknown = RunRef {
        task: run.task.clone(),
        id: uuid::Uuid::new_v4().to_string(),
    };
    assert_not_found(unknown.download(s, &key, mine_path));
    let r = s.post(&key, &run.path("artifacts/download/"), &json!({}));
    assert_invalid(r, "required", "storage_path");
    assert_eq!(fetch(s, &key, &run, mine_path), b"a");
}

/// `task:read` may download and presign but not upload; no key, a wrong key: 403, 401.
pub fn scopes(s: &Server, _store: &Backend) {
    let write = s.key("task:write");
    let read = s.key("task:read");
    let run = s.new_run(&write, &json!({})).0;
    let e = run.upload_one(s, &write, inline_item("a.md", "plan", "a"));
    let path = e["storage_path"].as_str().unwrap();
    assert_eq!(fetch(s, &read, &run, path), b"a");
    expect_json(run.presign(s, &read, path), 200);
    let item = json!([{"name": "b.md", "type": "plan", "content": "b", "size": 1}]);
    let denied = [
        "artifacts/",
        "artifacts/prepare_upload/",
        "artifacts/finalize_upload/",
    ];
    for tail in denied {
        let r = s.post(&read, &run.path(tail), &json!({ "artifacts": item }));
        let body = assert_error(r, 403, "authentication_error", "permission_denied", None);
        assert!(
            body["detail"].as_str().unwrap().contains("task:write"),
            "{body}"
        );
    }
    for tail in [
        "artifacts/",
        "artifacts/download/",
        "artifacts/presign/",
        "artifacts/prepare_upload/",
    ] {
        let r = s.post("", &run.path(tail), &json!({ "storage_path": path }));
        assert_error(r, 403, "authentication_error", "not_authenticated", None);
        let r = s.post(
            "phx_not_a_key",
            &run.path(tail),
            &json!({ "storage_path": path }),
        );
        assert_error(
            r,
            401,
            "authentication_error",
            "authentication_failed",
            None,
        );
    }
    assert_eq!(run.manifest(s, &write).len(), 1);
}

/// `presign/` answers a URL valid an hour that works without credentials: a real presigned
/// GET on the bucket for S3, else a URL signed by Burrow that refuses any tampering.
pub fn presigned_urls(s: &Server, store: &Backend) {
    let write = s.key("task:write");
    let read = s.key("task:read");
    let run = s.new_run(&write, &json!({})).0;
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let bin = run.upload_one(
        s,
        &write,
        json!({"name": "b.bin", "type": "artifact",
        "content_encoding": "base64", "content": base64_of(&all_bytes)}),
    );
    let md = run.upload_one(
        s,
        &write,
        json!({"name": "a b.md", "type": "plan",
        "content": "# a", "content_type": "text/markdown"}),
    );
    let plain = reqwest::blocking::Client::new();
    let mut urls = Vec::new();
    for (entry, bytes) in [(&bin, &all_bytes[..]), (&md, &b"# a"[..])] {
        let path = entry["storage_path"].as_str().unwrap();
        let answer = expect_json(run.presign(s, &read, path), 200);
        assert_eq!(answer["expires_in"], 3600, "{answer}");
        let url = answer["url"].as_str().unwrap().to_string();
        let r = plain.get(&url).send().unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.bytes().unwrap(), bytes, "{url}");
        urls.push(reqwest::Url::parse(&url).unwrap());
    }
    match &store.bucket {
        Some(b) => {
            let object = format!("{}/{}/{}/", b.endpoint, b.name, b.prefix);
            for url in &urls {
                assert!(
                    url.as_str().starts_with(&object),
                    "{url} is not on the bucket"
                );
                let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                let has = |k: &str, v: Option<&str>| {
                    query
                        .iter()
                        .any(|(qk, qv)| qk == k && v.is_none_or(|v| v == qv))
                };
                assert!(
                    has("X-Amz-Expires", Some("3600")) && has("X-Amz-Signature", None),
                    "{url}"
                );
            }
        }
        None => {
            let md_url = &urls[1];
            assert!(
                md_url
                    .as_str()
                    .starts_with(&s.url("/api/artifact_downloads?")),
                "{md_url}"
            );
            let r = plain.get(md_url.clone()).send().unwrap();
            assert_eq!(r.headers()["content-type"], "text/markdown");
            assert!(
                r.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .starts_with("attachment")
            );
            let param = |url: &reqwest::Url, k: &str| {
                url.query_pairs()
                    .find(|(qk, _)| qk == k)
                    .map(|(_, v)| v.into_owned())
                    .unwrap()
            };
            let token = param(md_url, "token");
            let (expires, sig) = token.split_once('.').unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let valid_for = expires.parse::<i64>().unwrap() - now;
            assert!((3500..=3600).contains(&valid_for), "valid {valid_for} s");
            let flipped = flip_first(sig);
            let later: i64 = expires.parse::<i64>().unwrap() + 3600;
            let bin_path = bin["storage_path"].as_str().unwrap();
            let md_path = param(md_url, "path");
            let outside = format!("{}deadbeef_x", run.prefix());
            let tampered = [
                (md_path.as_str(), format!("{expires}.{flipped}")),
                (md_path.as_str(), format!("{later}.{sig}")),
                (md_path.as_str(), String::new()),
                (bin_path, token.clone()),
                (outside.as_str(), token.clone()),
                ("../../etc/passwd", token.clone()),
            ];
            for (path, token) in tampered {
                let mut url = md_url.clone();
                url.query_pairs_mut()
                    .clear()
                    .append_pair("path", path)
                    .append_pair("token", &token);
                let r = plain.get(url.clone()).send().unwrap();
                assert_eq!(
                    r.headers()
                        .get("www-authenticate")
                        .map(|v| v.to_str().unwrap()),
                    Some("Bearer")
                );
                assert_error(
                    r,
                    401,
                    "authentication_error",
                    "authentication_failed",
                    None,
                );
            }
            let mut url = md_url.clone();
            url.query_pairs_mut().clear().append_pair("path", &md_path);
            assert_eq!(plain.get(url).send().unwrap().status(), 401, "no token");
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `text` with its first character changed: a real change to a base64 signature, where the
/// last character holds spare bits that a lenient decoder would ignore.
pub fn flip_first(text: &str) -> String {
    let first = if text.starts_with('A') { 'B' } else { 'A' };
    format!("{first}{}", &text[1..])
}
