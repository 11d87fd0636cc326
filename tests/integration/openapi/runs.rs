//! Runs as documented: updates, output, logs, the stream, and every artifact route.

use serde_json::{Value, json};

use super::Walk;
use crate::harness::openapi::Checked;

/// Runs of `task`: create, update, output, logs, the stream, and every artifact route.
pub fn runs_and_artifacts(w: &Walk, task: &str) {
    let t = format!("/api/projects/1/tasks/{task}");
    let list = "/api/projects/{project_id}/tasks/{task_id}/runs/";
    let run = w.expect(
        201,
        "post",
        list,
        &format!("{t}/runs/"),
        Some(json!({"stage": "plan", "state": {"a": 1}})),
    );
    w.expect(
        400,
        "post",
        list,
        &format!("{t}/runs/"),
        Some(json!({"status": "bogus"})),
    );
    w.expect(200, "get", list, &format!("{t}/runs/?limit=1"), None);
    w.expect(
        404,
        "get",
        list,
        "/api/projects/1/tasks/00000000-0000-4000-8000-000000000000/runs/",
        None,
    );
    let r = format!("{t}/runs/{}", run["id"].as_str().unwrap());
    let at = |tail: &str| {
        format!("/api/projects/{{project_id}}/tasks/{{task_id}}/runs/{{run_id}}/{tail}")
    };
    w.on_run(200, "get", &r, "", None);
    w.expect(404, "get", &at(""), &format!("{t}/runs/nope/"), None);
    w.on_run(
        200,
        "patch",
        &r,
        "",
        Some(json!({"status": "in_progress", "output": {"x": 1}})),
    );
    w.on_run(400, "patch", &r, "", Some(json!({"state": null})));
    w.on_run(
        200,
        "patch",
        &r,
        "set_output/",
        Some(json!({"output": {"ok": true}})),
    );
    w.on_run(
        400,
        "patch",
        &r,
        "set_output/",
        Some(json!({"output": {"no": 1}})),
    );
    let entries = json!({"entries": [{"type": "info", "message": "one"}, {"type": "info", "message": "two"}]});
    let appended = w.on_run(200, "post", &r, "append_log/", Some(entries));
    w.on_run(
        400,
        "post",
        &r,
        "append_log/",
        Some(json!({"entries": [1]})),
    );
    let logs = at("logs");
    let log = w.call("get", &logs, &format!("{r}/logs?after=1"), None);
    assert_eq!(
        (log.status, log.content_type.as_str()),
        (200, "application/jsonl")
    );
    assert_eq!(log.text.lines().count(), 1);
    w.expect(400, "get", &logs, &format!("{r}/logs?after=-1"), None);
    // The signed log_url needs no key; a forged token is a 401.
    let url = w.local(&appended["log_url"]);
    assert_eq!(
        w.call_as("", "get", &logs, &url, None).text.lines().count(),
        2
    );
    assert_eq!(
        w.call_as("", "get", &logs, &format!("{r}/logs?token=forged"), None)
            .status,
        401
    );
    // A finished run's stream ends after the log, so it can be read whole.
    w.on_run(200, "patch", &r, "", Some(json!({"status": "completed"})));
    let stream = w.call("get", &at("stream/"), &format!("{r}/stream/"), None);
    assert_eq!(stream.status, 200);
    assert!(stream.content_type.starts_with("text/event-stream"));
    assert!(stream.text.contains("event: end"), "{}", stream.text);
    w.expect(
        404,
        "get",
        &at("stream/"),
        &format!("{t}/runs/nope/stream/"),
        None,
    );

    let item = json!({"name": "plan.md", "type": "plan", "content": "# Plan", "content_type": "text/markdown"});
    let manifest = w.on_run(
        200,
        "post",
        &r,
        "artifacts/",
        Some(json!({"artifacts": [item]})),
    );
    w.on_run(
        400,
        "post",
        &r,
        "artifacts/",
        Some(json!({"artifacts": []})),
    );
    let path = manifest["artifacts"][0]["storage_path"].clone();
    let named = json!({"storage_path": path});
    let missing = json!({"storage_path": "tasks/artifacts/elsewhere"});
    let presigned = w.on_run(200, "post", &r, "artifacts/presign/", Some(named.clone()));
    w.on_run(404, "post", &r, "artifacts/presign/", Some(missing.clone()));
    let bytes = w.call(
        "post",
        &at("artifacts/download/"),
        &format!("{r}/artifacts/download/"),
        Some(named),
    );
    assert_eq!(
        (
            bytes.status,
            bytes.text.as_str(),
            bytes.content_type.as_str()
        ),
        (200, "# Plan", "text/markdown")
    );
    w.on_run(404, "post", &r, "artifacts/download/", Some(missing));
    let downloads = "/api/artifact_downloads/";
    let signed = w.local(&presigned["url"]);
    assert_eq!(
        w.call_as("", "get", downloads, &signed, None).text,
        "# Plan"
    );
    let forged = w.call_as(
        "",
        "get",
        downloads,
        "/api/artifact_downloads/?path=x&token=y",
        None,
    );
    assert_eq!(forged.status, 401);

    let prepare = at("artifacts/prepare_upload/");
    let want = json!({"artifacts": [{"name": "out.bin", "type": "output", "size": 3}]});
    let prepared = w.expect(
        200,
        "post",
        &prepare,
        &format!("{r}/artifacts/prepare_upload/"),
        Some(want),
    );
    w.expect(
        400,
        "post",
        &prepare,
        &format!("{r}/artifacts/prepare_upload/"),
        Some(json!({"artifacts": [{"name": "x", "type": "output", "size": -1}]})),
    );
    let p = &prepared["artifacts"][0];
    let upload = "/api/artifact_uploads/";
    assert_eq!(
        send_form(w, &json!({"key": "k", "upload_id": "u", "token": "t"})).status,
        401
    );
    assert_eq!(send_form(w, &p["presigned_post"]["fields"]).status, 204);
    let refused = w.call_as(
        "",
        "post",
        upload,
        "/api/artifact_uploads/",
        Some(json!({})),
    );
    assert_eq!(refused.status, 400);
    let finalize = at("artifacts/finalize_upload/");
    let done = json!({"artifacts": [{"id": p["id"], "name": "out.bin", "type": "output", "storage_path": p["storage_path"]}]});
    let manifest = w.expect(
        200,
        "post",
        &finalize,
        &format!("{r}/artifacts/finalize_upload/"),
        Some(done.clone()),
    );
    assert_eq!(manifest["artifacts"].as_array().unwrap().len(), 2);
    w.expect(
        400,
        "post",
        &finalize,
        &format!("{r}/artifacts/finalize_upload/"),
        Some(done),
    );
}

/// Posts the upload form of `fields` and a three-byte file, without a key.
fn send_form(w: &Walk, fields: &Value) -> Checked {
    let boundary = "burrowopenapiboundary";
    let mut body = String::new();
    for (name, value) in fields.as_object().unwrap() {
        let value = value.as_str().unwrap();
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nabc\r\n--{boundary}--\r\n"));
    let r =
        w.s.client
            .post(w.s.url("/api/artifact_uploads/"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap();
    w.doc.check("post", "/api/artifact_uploads/", r)
}
