//! What the direct upload flow refuses: forged or altered upload forms and oversize files
//! (nothing stored), and finalize calls that name no matching upload (manifest unchanged).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::blocking::Body;
use serde_json::json;

use super::direct::{
    BOUNDARY, content_type, finalize, form_parts, item, post_form, prepare, prepare_one,
    refused_as_missing, send,
};
use super::{fetch, inline_item};
use crate::harness::stores::Backend;
use crate::harness::{Server, assert_error, assert_invalid, expect_json};

/// The signed form refuses a tampered token, a changed path or id, missing parts and an
/// oversize file, storing nothing; the genuine form still works afterwards.
pub fn refused_uploads(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let two = json!([
        {"name": "a.bin", "type": "artifact", "size": 10},
        {"name": "b.bin", "type": "artifact", "size": 10},
    ]);
    let prepared = prepare(s, &key, &run, two);
    let (a, b) = (
        &prepared[0]["presigned_post"],
        &prepared[1]["presigned_post"],
    );
    let stored = store.stored(s);
    let token = a["fields"]["token"].as_str().unwrap();
    let (expires, signature) = token.split_once('.').unwrap();
    let tampered = format!("{expires}.{}", super::access::flip_first(signature));
    let outside = "tasks/artifacts/team_1/task_x/run_y/00000000_a.bin";
    let edits = [
        ("a tampered token", "token", json!(tampered)),
        (
            "another upload's token",
            "token",
            b["fields"]["token"].clone(),
        ),
        (
            "another upload's id",
            "upload_id",
            b["fields"]["upload_id"].clone(),
        ),
        ("another path on the run", "key", b["fields"]["key"].clone()),
        ("a path outside the run", "key", json!(outside)),
        (
            "a path escaping the store",
            "key",
            json!("../../../tmp/escape"),
        ),
    ];
    for (what, field, value) in edits {
        let mut edited = a.clone();
        edited["fields"][field] = value;
        let r = send(s, &edited, b"0123456789".to_vec());
        assert_eq!(r.status(), 401, "{what}");
    }
    let mut edited = a.clone();
    edited["fields"].as_object_mut().unwrap().remove("token");
    let r = send(s, &edited, b"0123456789".to_vec());
    assert_invalid(r, "required", "token");
    let url = a["url"].as_str().unwrap();
    let no_file = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--{BOUNDARY}--\r\n"
    );
    assert_invalid(post_form(s, url, Body::from(no_file)), "required", "file");
    let r = s.client.post(url).json(&a["fields"]).send().unwrap();
    assert_eq!(r.status(), 400, "not a multipart form");
    let r = send(s, a, vec![0u8; 11]);
    assert_error(r, 413, "invalid_request", "too_large", None);
    assert_eq!(store.stored(s), stored, "refused forms store nothing");
    if let Some(bucket) = &store.bucket {
        assert_eq!(bucket.open_uploads(), Vec::<String>::new());
    }

    let r = send(s, a, b"0123456789".to_vec());
    assert!(r.status().is_success(), "{}", r.status());
    expect_json(finalize(s, &key, &run, json!([item(&prepared[0])])), 200);
    let path = prepared[0]["storage_path"].as_str().unwrap();
    assert_eq!(fetch(s, &key, &run, path), b"0123456789");
}

/// Finalize checks the object exists with the declared size on this run's prepared path;
/// a refusal leaves the manifest unchanged, even when other items were fine.
pub fn refused_finalize(s: &Server, _store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let other = s.new_run(&key, &json!({})).0;
    let inline = run.upload_one(s, &key, inline_item("i", "plan", "i"));
    let p = prepare(
        s,
        &key,
        &run,
        json!([
            {"name": "short.bin", "type": "artifact", "size": 10},
            {"name": "never.bin", "type": "artifact", "size": 5},
            {"name": "fine.bin", "type": "artifact", "size": 3},
        ]),
    );
    let theirs = prepare_one(s, &key, &other, "x.bin", 4);
    assert!(
        send(s, &p[0]["presigned_post"], b"1234567".to_vec())
            .status()
            .is_success()
    );
    assert!(
        send(s, &p[2]["presigned_post"], b"abc".to_vec())
            .status()
            .is_success()
    );
    assert!(
        send(s, &theirs["presigned_post"], b"wxyz".to_vec())
            .status()
            .is_success()
    );
    let before = run.manifest(s, &key);

    let mut swapped = item(&p[2]);
    swapped["storage_path"] = p[1]["storage_path"].clone();
    let mut forged = item(&p[2]);
    forged["storage_path"] = inline["storage_path"].clone();
    let cases = [
        (
            json!([item(&p[0])]),
            "invalid_input",
            "artifacts__0__storage_path",
            "wrong size",
        ),
        (
            json!([item(&p[1])]),
            "does_not_exist",
            "artifacts__0__storage_path",
            "never uploaded",
        ),
        (
            json!([item(&theirs)]),
            "does_not_exist",
            "artifacts__0__storage_path",
            "another run's",
        ),
        (
            json!([swapped]),
            "does_not_exist",
            "artifacts__0__storage_path",
            "id and path crossed",
        ),
        (
            json!([forged]),
            "does_not_exist",
            "artifacts__0__storage_path",
            "an inline artifact's path",
        ),
        (
            json!([item(&p[2]), item(&p[1])]),
            "does_not_exist",
            "artifacts__1__storage_path",
            "one bad of two",
        ),
        (
            json!([{"storage_path": p[2]["storage_path"]}]),
            "required",
            "artifacts__0__id",
            "no id",
        ),
    ];
    for (items, code, attr, what) in cases {
        let r = finalize(s, &key, &run, items);
        assert_eq!(r.status(), 400, "{what}");
        assert_invalid(r, code, attr);
        assert_eq!(
            run.manifest(s, &key),
            before,
            "{what} leaves the manifest unchanged"
        );
    }
    let body = expect_json(finalize(s, &key, &run, json!([item(&p[2])])), 200);
    assert_eq!(
        body["artifacts"].as_array().unwrap().len(),
        before.len() + 1
    );
    let r = finalize(s, &key, &other, json!([item(&theirs)]));
    assert_eq!(expect_json(r, 200)["artifacts"][0]["size"], 4);
}

/// Waits up to 30 s for `done`; false when it never happens.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A client that hangs up half-way through the file leaves nothing behind: no object, no
/// staging file, no open multipart upload holding the parts already sent.
pub fn hang_up_mid_upload(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let size = 12 * 1024 * 1024;
    let items = json!([{"name": "cut.bin", "type": "artifact", "size": size}]);
    let prepared = prepare(s, &key, &run, items);
    let stored = store.stored(s);
    let begun = store.begun(s);

    let (head, _) = form_parts(&prepared[0]["presigned_post"]["fields"]);
    let request = format!(
        "POST /api/artifact_uploads HTTP/1.1\r\nHost: burrow\r\nContent-Type: {}\r\n\
         Content-Length: {}\r\n\r\n",
        content_type(),
        head.len() + size + 100,
    );
    let addr = s.base.strip_prefix("http://").unwrap();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    socket.write_all(&head).unwrap();
    socket.write_all(&vec![b'x'; 7 * 1024 * 1024]).unwrap();
    assert!(
        eventually(|| store.begun(s) != begun),
        "the upload never began"
    );
    drop(socket);
    assert!(
        eventually(|| store.begun(s) == begun),
        "an interrupted upload is left behind: {:?}",
        store.begun(s)
    );
    assert_eq!(store.stored(s), stored);
    refused_as_missing(finalize(s, &key, &run, json!([item(&prepared[0])])));
}

/// An upload is finalized once: the same item twice in one call, or eight concurrent calls
/// (a client retrying), add one manifest entry; the others are 400s.
pub fn finalized_once(s: &Server, _store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let items = json!([{"name": "once.txt", "type": "output", "size": 4}]);
    let p = prepare(s, &key, &run, items);
    assert!(
        send(s, &p[0]["presigned_post"], b"once".to_vec())
            .status()
            .is_success()
    );
    let r = finalize(s, &key, &run, json!([item(&p[0]), item(&p[0])]));
    assert_invalid(r, "does_not_exist", "artifacts__1__storage_path");
    assert!(run.manifest(s, &key).is_empty());

    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    finalize(s, &key, &run, json!([item(&p[0])]))
                        .status()
                        .as_u16()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|c| **c == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|c| **c == 400).count(),
        7,
        "{statuses:?}"
    );
    let manifest = run.manifest(s, &key);
    assert_eq!(manifest.len(), 1, "{manifest:?}");
    assert_eq!(manifest[0]["id"], p[0]["id"]);
}

/// An upload still streaming when its upload is finalized cannot replace what was
/// finalized: finalize takes the object as it is, and the late stream is refused when it
/// ends, leaving neither its bytes nor a staging object behind.
pub fn late_upload_after_finalize(s: &Server, store: &Backend) {
    let key = s.key("task:write");
    let run = s.new_run(&key, &json!({})).0;
    let size = 1000;
    let items = json!([{"name": "late.bin", "type": "artifact", "size": size}]);
    let prepared = prepare(s, &key, &run, items);
    let presigned = &prepared[0]["presigned_post"];
    let original = vec![b'A'; size];
    assert!(send(s, presigned, original.clone()).status().is_success());
    let stored = store.stored(s);
    let begun = store.begun(s);

    // A second upload with the same form, sending half of its file and then pausing.
    let (head, tail) = form_parts(&presigned["fields"]);
    let request = format!(
        "POST /api/artifact_uploads HTTP/1.1\r\nHost: burrow\r\nContent-Type: {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        content_type(),
        head.len() + size + tail.len(),
    );
    let addr = s.base.strip_prefix("http://").unwrap();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    socket.write_all(&head).unwrap();
    socket.write_all(&vec![b'B'; size / 2]).unwrap();
    assert!(
        eventually(|| store.begun(s) != begun),
        "the late upload never began"
    );

    let body = expect_json(finalize(s, &key, &run, json!([item(&prepared[0])])), 200);
    assert_eq!(body["artifacts"][0]["size"], size);

    socket.write_all(&vec![b'B'; size - size / 2]).unwrap();
    socket.write_all(&tail).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "the late upload is refused: {answer}"
    );
    assert!(answer.contains("\"does_not_exist\""), "{answer}");
    let path = prepared[0]["storage_path"].as_str().unwrap();
    assert_eq!(fetch(s, &key, &run, path), original, "the finalized bytes");
    assert!(
        eventually(|| store.begun(s) == begun),
        "the late upload is left behind: {:?}",
        store.begun(s)
    );
    assert_eq!(store.stored(s), stored);
}
