//! Hostile uploads and the server's memory: a credential-less multipart form is refused after
//! a few KiB however it is shaped, a bad token is answered before the file is sent, and an
//! inline artifact costs about one decoded copy beside its request body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::artifact_checks::direct::{self, BOUNDARY, content_type, form_parts};
use crate::harness::stores::proc_kib;
use crate::harness::{Server, expect_json};
use base64::Engine;
use serde_json::json;

/// How much a refused hostile form may raise the server's peak memory.
const MAX_REFUSAL_GROWTH_KIB: u64 = 8 * 1024;
/// The size of each hostile form.
const HOSTILE_BYTES: usize = 80 * 1024 * 1024;

/// A server with its pools and buffers warmed by one small direct upload, and its peak
/// resident memory after that.
fn warmed() -> (Server, u64) {
    let (s, key, run) = Server::with_run("task:write");
    let p = direct::prepare_one(&s, &key, &run, "w", 4);
    let r = direct::send(&s, &p["presigned_post"], b"warm".to_vec());
    assert!(r.status().is_success(), "{}", r.status());
    let peak = proc_kib(s.pid(), "VmHWM");
    (s, peak)
}

fn connect(s: &Server) -> TcpStream {
    let addr = s.base.strip_prefix("http://").unwrap();
    let socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    socket
}

fn request_head(length: usize) -> String {
    format!(
        "POST /api/artifact_uploads HTTP/1.1\r\nHost: burrow\r\nContent-Type: {}\r\n\
         Content-Length: {length}\r\n\r\n",
        content_type()
    )
}

/// Sends `HOSTILE_BYTES` of body made by `piece(i)` with no credentials, stopping when the
/// server stops reading; returns the status line it answered, if one arrived.
fn send_hostile(s: &Server, piece: impl Fn(usize) -> Vec<u8>) -> Option<String> {
    let mut socket = connect(s);
    socket
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    socket
        .write_all(request_head(HOSTILE_BYTES).as_bytes())
        .unwrap();
    let mut sent = 0;
    let mut i = 0;
    while sent < HOSTILE_BYTES {
        let mut bytes = piece(i);
        bytes.truncate(HOSTILE_BYTES - sent);
        if socket.write_all(&bytes).is_err() {
            break;
        }
        sent += bytes.len();
        i += 1;
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().map(str::to_string)
}

fn assert_refused_in_bounded_memory(what: &str, piece: impl Fn(usize) -> Vec<u8>) {
    let (s, before) = warmed();
    let status = send_hostile(&s, piece);
    let after = proc_kib(s.pid(), "VmHWM");
    eprintln!(
        "{what}: server peak RSS {before} KiB before, {after} KiB after an 80 MB form \
         (+{} KiB); answered {status:?}",
        after - before
    );
    if let Some(status) = &status {
        assert!(
            status.starts_with("HTTP/1.1 4"),
            "{what}: answered {status}"
        );
    }
    assert!(
        after - before < MAX_REFUSAL_GROWTH_KIB,
        "{what}: the server's peak memory grew by {} KiB",
        after - before
    );
}

#[test]
fn many_small_fields_without_credentials_are_refused_in_bounded_memory() {
    assert_refused_in_bounded_memory("many small fields", |i| {
        let value = "v".repeat(3000);
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n{value}\r\n")
            .into_bytes()
    });
}

#[test]
fn field_headers_that_never_end_are_refused_in_bounded_memory() {
    assert_refused_in_bounded_memory("endless field headers", |i| {
        if i == 0 {
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\nX-Pad: ")
                .into_bytes()
        } else {
            vec![b'a'; 64 * 1024]
        }
    });
}

/// The token is checked as soon as the signed fields are in: a forged one is answered while
/// the client has sent nothing of the file (the request declares 100 MB more).
#[test]
fn a_bad_token_is_refused_before_the_file_is_read() {
    let (s, _) = warmed();
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let p = direct::prepare_one(&s, &key, &run, "x", 100_000_000);
    let mut fields = p["presigned_post"]["fields"].clone();
    fields["token"] = json!("1.forged");
    let (head, _) = form_parts(&fields);
    let end_of_fields = String::from_utf8(head.clone())
        .unwrap()
        .rfind(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\""
        ))
        .unwrap();
    let mut socket = connect(&s);
    socket
        .write_all(request_head(head.len() + 100_000_000 + 100).as_bytes())
        .unwrap();
    // The signed fields and the boundary line after them, then nothing.
    socket.write_all(&head[..end_of_fields]).unwrap();
    socket
        .write_all(format!("--{BOUNDARY}\r\n").as_bytes())
        .unwrap();
    let mut answer = [0u8; 512];
    let n = socket
        .read(&mut answer)
        .expect("an answer before the rest of the body is sent");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

/// An inline artifact of 40 MiB, sent base64-encoded in JSON (53 MiB of body), raises the
/// server's peak memory by about the body plus one decoded copy, not by several copies.
#[test]
fn an_inline_artifact_is_decoded_into_one_copy() {
    const SIZE: usize = 40 * 1024 * 1024;
    let (s, key, run) = Server::with_run("task:write");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let send = |bytes: &[u8]| {
        let body = json!({"artifacts": [{
            "name": "big.bin", "type": "artifact", "content_encoding": "base64",
            "content": base64::engine::general_purpose::STANDARD.encode(bytes),
        }]});
        let body = serde_json::to_vec(&body).unwrap();
        let r = client
            .post(s.url(&run.path("artifacts/")))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        expect_json(r, 200)
    };
    send(b"warm");
    let before = proc_kib(s.pid(), "VmHWM");
    let payload: Vec<u8> = (0..SIZE as u64).map(direct::pattern_byte).collect();
    let body = send(&payload);
    let after = proc_kib(s.pid(), "VmHWM");
    let entry = body["artifacts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(entry["size"], SIZE);
    let stored =
        crate::artifact_checks::fetch(&s, &key, &run, entry["storage_path"].as_str().unwrap());
    assert!(stored == payload, "the artifact comes back intact");
    let growth = after - before;
    let payload_kib = (SIZE / 1024) as u64;
    eprintln!(
        "inline {} MiB: server peak RSS {before} KiB before, {after} KiB after (+{growth} KiB, \
         {:.2}x the payload)",
        SIZE >> 20,
        growth as f64 / payload_kib as f64
    );
    assert!(
        growth < 3 * payload_kib,
        "the inline upload is copied: +{growth} KiB for a {payload_kib} KiB payload"
    );
}
