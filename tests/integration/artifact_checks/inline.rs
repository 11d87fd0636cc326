//! Inline uploads: text and base64 round trips, names reduced to base names, the size limit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::{assert_layout, direct, fetch, inline_item};
use crate::harness::stores::Backend;
use crate::harness::{Server, assert_error, assert_invalid, expect_json, is_timestamp};

/// Text and base64 uploads come back byte for byte with their type; the answer is the whole
/// manifest, newest last; malformed items are 400s that store nothing.
pub fn inline_round_trips(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let text = "# Plan\n\nÜnïcödé ✓ — 🦀\r\n\ttabs and \"quotes\"\n";
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let body = expect_json(
        run.upload(
            s,
            &key,
            json!([
                {"name": "plan.md", "type": "plan", "content": text,
                 "content_type": "text/markdown", "source": "agent"},
                {"name": "bytes.bin", "type": "artifact", "content_encoding": "base64",
                 "content": STANDARD.encode(&all_bytes), "content_type": "application/octet-stream"},
            ]),
        ),
        200,
    );
    let manifest = body["artifacts"].as_array().unwrap().clone();
    assert_eq!(manifest.len(), 2, "{body}");
    let (plan, bin) = (&manifest[0], &manifest[1]);
    let mut fields: Vec<&str> = plan
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    let contract = [
        "content_type",
        "id",
        "name",
        "size",
        "source",
        "storage_path",
        "type",
        "uploaded_at",
    ];
    assert_eq!(
        fields, contract,
        "a manifest entry has the contract's fields"
    );
    assert_eq!(plan["name"], "plan.md");
    assert_eq!(plan["type"], "plan");
    assert_eq!(plan["source"], "agent");
    assert_eq!(plan["size"], text.len());
    assert_eq!(plan["content_type"], "text/markdown");
    assert!(is_timestamp(&plan["uploaded_at"]), "{plan}");
    assert!(
        plan["id"].as_str().is_some_and(|id| id.len() == 36),
        "{plan}"
    );
    assert_layout(&run, &plan["storage_path"], "plan.md");
    assert_eq!(bin["size"], 256);
    assert_eq!(bin["source"], "");
    assert_layout(&run, &bin["storage_path"], "bytes.bin");
    assert_eq!(
        run.manifest(s, &key),
        manifest,
        "the run shows the same manifest"
    );

    let r = run.download(s, &key, plan["storage_path"].as_str().unwrap());
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/markdown");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"plan.md\"; filename*=UTF-8''plan.md"
    );
    assert_eq!(r.bytes().unwrap(), text.as_bytes());
    let got = fetch(s, &key, &run, bin["storage_path"].as_str().unwrap());
    assert_eq!(got, all_bytes, "all 256 byte values survive");

    // Base64 split over lines, no content type, and no encoding (utf-8 by default).
    let wrapped = STANDARD.encode(b"line one\nline two\n");
    let wrapped = format!("{}\n{}\n", &wrapped[..10], &wrapped[10..]);
    let e = run.upload_one(
        s,
        &key,
        json!({"name": "notes", "type": "context", "content_encoding": "base64", "content": wrapped}),
    );
    assert_eq!(e["content_type"], "");
    let r = run.download(s, &key, e["storage_path"].as_str().unwrap());
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().unwrap(), &b"line one\nline two\n"[..]);
    let e = run.upload_one(
        s,
        &key,
        json!({"name": "résumé.txt", "type": "output", "content": "", "content_encoding": "utf-8"}),
    );
    assert_eq!(e["size"], 0);
    let r = run.download(s, &key, e["storage_path"].as_str().unwrap());
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    );
    assert_eq!(r.bytes().unwrap().len(), 0);

    // Every upload appends, newest last, nothing de-duplicated.
    let again = expect_json(
        run.upload(
            s,
            &key,
            json!([{"name": "plan.md", "type": "plan", "content": "v2"}]),
        ),
        200,
    );
    let list = again["artifacts"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[..4], run.manifest(s, &key)[..4]);
    assert_ne!(list[4]["storage_path"], plan["storage_path"]);
    assert_eq!(
        fetch(s, &key, &run, list[4]["storage_path"].as_str().unwrap()),
        b"v2"
    );
    for &t in burrow::artifacts::TYPES {
        run.upload_one(s, &key, json!({"name": t, "type": t, "content": t}));
    }

    // Bad items: 400 on the item's field, nothing stored, manifest unchanged.
    let before = run.manifest(s, &key);
    let stored = store.stored(s);
    let good = json!({"name": "ok.md", "type": "plan", "content": "fine"});
    let cases = [
        (
            json!([good, {"name": "x", "type": "plan", "content": "%%%", "content_encoding": "base64"}]),
            "invalid_input",
            "artifacts__1__content",
        ),
        (
            json!([good, {"name": "x", "type": "diary", "content": "x"}]),
            "invalid_choice",
            "artifacts__1__type",
        ),
        (
            json!([{"name": "x", "type": "plan", "content": "x", "content_encoding": "utf-16"}]),
            "invalid_choice",
            "artifacts__0__content_encoding",
        ),
        (
            json!([{"type": "plan", "content": "x"}]),
            "required",
            "artifacts__0__name",
        ),
        (
            json!([{"name": "x", "content": "x"}]),
            "required",
            "artifacts__0__type",
        ),
        (
            json!([{"name": "x", "type": "plan"}]),
            "required",
            "artifacts__0__content",
        ),
        (json!([]), "blank", "artifacts"),
        (json!(["plan.md"]), "not_a_dict", "artifacts__0"),
        // The content the borrowed reading of the body leaves to the JSON tree's checks.
        (
            json!([good, {"name": "x", "type": "plan", "content": "a\u{0}b"}]),
            "invalid_input",
            "artifacts__1__content",
        ),
        (
            json!([{"name": "x", "type": "plan", "content": 5}]),
            "invalid_input",
            "artifacts__0__content",
        ),
        (
            json!([{"name": "x", "type": "plan", "content": null}]),
            "null",
            "artifacts__0__content",
        ),
        (
            json!([{"name": "x", "type": "plan", "content": "Zg==Zg==", "content_encoding": "base64"}]),
            "invalid_input",
            "artifacts__0__content",
        ),
    ];
    for (items, code, attr) in cases {
        let r = run.upload(s, &key, items);
        assert_invalid(r, code, attr);
    }
    let r = s.post(&key, &run.path("artifacts/"), &json!({}));
    assert_invalid(r, "required", "artifacts");
    assert_eq!(run.manifest(s, &key), before);
    assert_eq!(store.stored(s), stored, "a refused upload stores nothing");

    // Base64 with JSON escapes (`\/`, as PHP writes it) in the body's text.
    let escaped = r#"{"artifacts": [{"name": "esc", "type": "plan",
        "content_encoding": "base64", "content": "aGk\/Pz8="}]}"#;
    let r = s
        .client
        .post(s.url(&run.path("artifacts/")))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(escaped)
        .send()
        .unwrap();
    let e = expect_json(r, 200)["artifacts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        fetch(s, &key, &run, e["storage_path"].as_str().unwrap()),
        b"hi???"
    );
}

/// Names keep only their base name, so every object lands in the run's folder.
pub fn names_stay_in_the_run(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let before = store.stored(s);
    let cases = [
        ("../../etc/passwd", "passwd"),
        ("a/b/../c.md", "c.md"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/abs/olute.txt", "olute.txt"),
        ("dir/", "artifact"),
        ("..", "artifact"),
        ("", "artifact"),
    ];
    for (name, base) in cases {
        let e = run.upload_one(s, &key, inline_item(name, "artifact", name));
        assert_eq!(e["name"], base, "{name}");
        assert_layout(&run, &e["storage_path"], base);
        assert_eq!(
            fetch(s, &key, &run, e["storage_path"].as_str().unwrap()),
            name.as_bytes()
        );
    }
    let stored: Vec<String> = store
        .stored(s)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(stored.len(), cases.len(), "{stored:?}");
    for path in &stored {
        assert!(
            path.starts_with(&run.prefix()),
            "{path} escaped {}",
            run.prefix()
        );
    }
}

/// With `--artifact-max-bytes 1024`: 1024 bytes pass, one more is a 413 that stores nothing,
/// inline (text or base64) and direct (declared or actually sent).
pub fn size_limit(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let fits = "x".repeat(1024);
    run.upload_one(s, &key, inline_item("fits", "artifact", &fits));
    let stored = store.stored(s);
    let over = "x".repeat(1025);
    let over64 = STANDARD.encode(vec![7u8; 1025]);
    for item in [
        json!({"name": "big", "type": "artifact", "content": over}),
        json!({"name": "big", "type": "artifact", "content": over64, "content_encoding": "base64"}),
    ] {
        let r = run.upload(
            s,
            &key,
            json!([{"name": "small", "type": "plan", "content": "s"}, item]),
        );
        assert_error(r, 413, "invalid_request", "too_large", None);
    }
    let r = s.post(
        &key,
        &run.path("artifacts/prepare_upload/"),
        &json!({"artifacts": [{"name": "big", "type": "artifact", "size": 1025}]}),
    );
    assert_error(r, 413, "invalid_request", "too_large", None);
    let prepared = direct::prepare_one(s, &key, &run, "d", 1024);
    let r = direct::send(s, &prepared["presigned_post"], vec![1u8; 1500]);
    assert_error(r, 413, "invalid_request", "too_large", None);
    assert_eq!(run.manifest(s, &key).len(), 1);
    assert_eq!(
        store.stored(s),
        stored,
        "an oversize artifact stores nothing"
    );
    if let Some(b) = &store.bucket {
        assert_eq!(
            b.open_uploads(),
            Vec::<String>::new(),
            "the refused upload is aborted"
        );
    }
}
