//! The direct upload flow: `prepare_upload/`, the signed multipart POST without credentials,
//! `finalize_upload/`. Large files are streamed from a generator, never held in memory.

use std::io::{Cursor, Read};

use reqwest::blocking::{Body, Response};
use serde_json::{Value, json};

use super::{RunRef, assert_layout, fetch};
use crate::harness::stores::Backend;
use crate::harness::{Server, assert_invalid, assert_not_found, expect_json, is_timestamp};

pub const BOUNDARY: &str = "burrow-test-7e3f0c1a9b";

/// Byte `i` of a deterministic pattern that does not repeat with any short period.
pub fn pattern_byte(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 56) as u8) ^ (i as u8)
}

/// The first `len` bytes of the pattern, produced as they are read.
pub struct Pattern {
    pos: u64,
    end: u64,
}

impl Pattern {
    pub fn new(len: u64) -> Pattern {
        Pattern { pos: 0, end: len }
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.end - self.pos) as usize);
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern_byte(self.pos + k as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The multipart text around the file: every field of `fields` in order, then the `file`
/// part's header; and the closing boundary.
pub fn form_parts(fields: &Value) -> (Vec<u8>, Vec<u8>) {
    let mut head = String::new();
    for (name, value) in fields.as_object().expect("fields as an object") {
        let value = value.as_str().expect("string fields");
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    ));
    (
        head.into_bytes(),
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    )
}

/// A streamed multipart body of `fields` then `file` (`len` bytes), never held in memory.
pub fn form(fields: &Value, file: impl Read + Send + 'static, len: u64) -> Body {
    let (head, tail) = form_parts(fields);
    let total = head.len() as u64 + len + tail.len() as u64;
    let reader = Cursor::new(head)
        .chain(file.take(len))
        .chain(Cursor::new(tail));
    Body::sized(reader, total)
}

/// The content type of the forms `form` builds.
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Posts a form to `url` the way a browser or an agent would: no Authorization header.
pub fn post_form(s: &Server, url: &str, body: Body) -> Response {
    s.client
        .post(url)
        .header("content-type", content_type())
        .body(body)
        .send()
        .unwrap()
}

/// Sends `bytes` through a `presigned_post`, as one buffer: a server may answer a refusal
/// before reading the body, which a streamed body would report as a send error.
pub fn send(s: &Server, presigned: &Value, bytes: Vec<u8>) -> Response {
    let (mut body, tail) = form_parts(&presigned["fields"]);
    body.extend_from_slice(&bytes);
    body.extend_from_slice(&tail);
    post_form(s, presigned["url"].as_str().unwrap(), Body::from(body))
}

/// `prepare_upload/` that must succeed: its `artifacts` list.
pub fn prepare(s: &Server, key: &str, run: &RunRef, items: Value) -> Vec<Value> {
    let r = s.post(
        key,
        &run.path("artifacts/prepare_upload/"),
        &json!({ "artifacts": items }),
    );
    expect_json(r, 200)["artifacts"].as_array().unwrap().clone()
}

/// `prepare_upload/` for one artifact of `size` bytes: the prepared item.
pub fn prepare_one(s: &Server, key: &str, run: &RunRef, name: &str, size: u64) -> Value {
    let items = json!([{"name": name, "type": "artifact", "size": size}]);
    prepare(s, key, run, items).swap_remove(0)
}

pub fn finalize(s: &Server, key: &str, run: &RunRef, items: Value) -> Response {
    s.post(
        key,
        &run.path("artifacts/finalize_upload/"),
        &json!({ "artifacts": items }),
    )
}

/// Asserts finalize refused its first item as naming no upload.
pub fn refused_as_missing(r: Response) {
    assert_invalid(r, "does_not_exist", "artifacts__0__storage_path");
}

/// The finalize item for a prepared upload.
pub fn item(prepared: &Value) -> Value {
    json!({
        "id": prepared["id"], "name": prepared["name"], "type": prepared["type"],
        "storage_path": prepared["storage_path"],
    })
}

/// Prepare, send, finalize; the entries appear only once finalized and come back intact.
pub fn round_trip(s: &Server, _store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let big = 300_000u64;
    let prepared = prepare(
        s,
        &key,
        &run,
        json!([
            {"name": "../out/report.pdf", "type": "output", "size": 5,
             "content_type": "application/pdf", "source": "agent"},
            {"name": "data.bin", "type": "artifact", "size": big},
        ]),
    );
    assert_eq!(prepared.len(), 2);
    for (p, name) in prepared.iter().zip(["report.pdf", "data.bin"]) {
        assert_eq!(p["name"], name);
        assert!(p["id"].as_str().is_some_and(|id| id.len() == 36), "{p}");
        assert_layout(&run, &p["storage_path"], name);
        assert_eq!(p["expires_in"], 3600);
        assert_eq!(p["presigned_post"]["url"], s.url("/api/artifact_uploads"));
        assert!(p["presigned_post"]["fields"].is_object(), "{p}");
    }
    assert_eq!(prepared[0]["type"], "output");
    assert!(
        run.manifest(s, &key).is_empty(),
        "nothing is listed before finalize"
    );

    let r = send(s, &prepared[0]["presigned_post"], b"%PDF-".to_vec());
    assert!([201, 204].contains(&r.status().as_u16()), "{}", r.status());
    let p = &prepared[1]["presigned_post"];
    let r = post_form(
        s,
        p["url"].as_str().unwrap(),
        form(&p["fields"], Pattern::new(big), big),
    );
    assert!([201, 204].contains(&r.status().as_u16()), "{}", r.status());
    let path0 = prepared[0]["storage_path"].as_str().unwrap();
    assert_not_found(run.download(s, &key, path0));

    let mut second = item(&prepared[1]);
    second["content_type"] = json!("application/x-test");
    let body = expect_json(
        finalize(s, &key, &run, json!([item(&prepared[0]), second])),
        200,
    );
    let manifest = body["artifacts"].as_array().unwrap().clone();
    assert_eq!(manifest, run.manifest(s, &key));
    assert_eq!(manifest.len(), 2);
    let (pdf, bin) = (&manifest[0], &manifest[1]);
    assert_eq!(pdf["id"], prepared[0]["id"]);
    assert_eq!(pdf["name"], "report.pdf");
    assert_eq!(pdf["size"], 5);
    assert_eq!(pdf["source"], "agent");
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["storage_path"], prepared[0]["storage_path"]);
    assert!(is_timestamp(&pdf["uploaded_at"]), "{pdf}");
    assert_eq!(bin["size"], big);
    assert_eq!(bin["content_type"], "application/x-test");

    let r = run.download(s, &key, path0);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().unwrap(), &b"%PDF-"[..]);
    let got = fetch(s, &key, &run, bin["storage_path"].as_str().unwrap());
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, b)| *b == pattern_byte(i as u64))
            && got.len() as u64 == big
    );

    // An empty file takes the same way.
    let empty = prepare(
        s,
        &key,
        &run,
        json!([{"name": "e", "type": "output", "size": 0}]),
    );
    assert!(
        send(s, &empty[0]["presigned_post"], Vec::new())
            .status()
            .is_success()
    );
    let body = expect_json(finalize(s, &key, &run, json!([item(&empty[0])])), 200);
    assert_eq!(body["artifacts"][2]["size"], 0);
    let path = empty[0]["storage_path"].as_str().unwrap();
    assert!(fetch(s, &key, &run, path).is_empty());

    // A finalized upload can be neither overwritten nor finalized again.
    let r = send(s, &prepared[0]["presigned_post"], b"EVIL!".to_vec());
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(fetch(s, &key, &run, path0), b"%PDF-");
    refused_as_missing(finalize(s, &key, &run, json!([item(&prepared[0])])));
    assert_eq!(run.manifest(s, &key).len(), 3);
}
