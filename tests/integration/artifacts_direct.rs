//! A 50 MiB direct upload and download, on a local folder and on S3: the bytes come back
//! intact while the server's memory stays far below the file's size (both are streamed).

use std::io::Read;
use std::time::Duration;

use crate::artifact_checks::direct::{self, Pattern, form, pattern_byte};
use crate::harness::expect_json;
use crate::harness::stores::{Backend, proc_kib};
use serde_json::json;

const SIZE: u64 = 50 * 1024 * 1024;
/// The most the server's peak resident memory may grow while moving the file.
const MAX_GROWTH_KIB: u64 = 24 * 1024;

#[test]
fn fifty_mib_through_a_local_folder() {
    fifty_mib(&Backend::local());
}

#[test]
fn fifty_mib_through_s3() {
    if let Some(store) = Backend::s3("fifty_mib_through_s3") {
        fifty_mib(&store);
    }
}

fn fifty_mib(store: &Backend) {
    let s = store.start(&[]);
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    // Slow machines and a Python S3 server: allow minutes, not the harness's 60 s.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();

    // Warm up: one small upload and download, so pools and buffers exist before measuring.
    let warm = direct::prepare_one(&s, &key, &run, "w", 4);
    assert!(
        direct::send(&s, &warm["presigned_post"], b"warm".to_vec())
            .status()
            .is_success()
    );
    expect_json(
        direct::finalize(&s, &key, &run, json!([direct::item(&warm)])),
        200,
    );
    let path = warm["storage_path"].as_str().unwrap();
    assert_eq!(crate::artifact_checks::fetch(&s, &key, &run, path), b"warm");
    let pid = s.pid();
    let before = proc_kib(pid, "VmHWM");

    let big = direct::prepare_one(&s, &key, &run, "big.bin", SIZE);
    let post = &big["presigned_post"];
    let r = client
        .post(post["url"].as_str().unwrap())
        .header("content-type", direct::content_type())
        .body(form(&post["fields"], Pattern::new(SIZE), SIZE))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "upload: {}", r.status());
    let after_upload = proc_kib(pid, "VmHWM");
    let body = expect_json(
        direct::finalize(&s, &key, &run, json!([direct::item(&big)])),
        200,
    );
    assert_eq!(body["artifacts"][1]["size"], SIZE);

    let mut r = client
        .post(s.url(&run.path("artifacts/download/")))
        .bearer_auth(&key)
        .json(&json!({ "storage_path": big["storage_path"] }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], SIZE.to_string().as_str());
    let mut buf = vec![0u8; 1 << 16];
    let mut at: u64 = 0;
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (k, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, pattern_byte(at + k as u64), "byte {}", at + k as u64);
        }
        at += n as u64;
    }
    assert_eq!(at, SIZE, "downloaded length");
    let after_download = proc_kib(pid, "VmHWM");
    let rss = proc_kib(pid, "VmRSS");
    eprintln!(
        "{}: server peak RSS {before} KiB before, {after_upload} KiB after the 50 MiB upload \
         (+{} KiB), {after_download} KiB after the download (+{} KiB); RSS now {rss} KiB",
        if store.is_s3() { "s3" } else { "local" },
        after_upload - before,
        after_download - before,
    );
    assert!(
        after_upload - before < MAX_GROWTH_KIB,
        "the upload is buffered"
    );
    assert!(
        after_download - before < MAX_GROWTH_KIB,
        "the download is buffered"
    );
}
