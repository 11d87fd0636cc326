//! Workers and webhooks as documented: claiming and cancelling runs, webhooks and their
//! delivery logs. Webhooks point at a closed loopback port: nothing leaves the machine.

use serde_json::json;

use super::Walk;

pub fn runner_and_webhooks(w: &Walk, task: &str) {
    let t = format!("/api/projects/1/tasks/{task}");
    w.expect(
        200,
        "post",
        "/api/projects/{project_id}/tasks/{task_id}/run/",
        &format!("{t}/run/"),
        None,
    );
    let claim = "/api/projects/{project_id}/runs/claim/";
    let run = w.expect(200, "post", claim, "/api/projects/1/runs/claim/", None);
    assert_eq!(run["status"], "in_progress");
    // Whatever else earlier steps queued, claim it all; then nothing is left.
    for _ in 0..100 {
        if w.call("post", claim, "/api/projects/1/runs/claim/", None)
            .status
            == 204
        {
            break;
        }
    }
    w.expect(204, "post", claim, "/api/projects/1/runs/claim/", None);
    let id = run["id"].as_str().unwrap();
    let token = run["event_ingest_token"].as_str().unwrap();
    talk_to_the_agent(w, &format!("{t}/runs/{id}"), token);
    let done = w.on_run(200, "post", &format!("{t}/runs/{id}"), "cancel/", None);
    assert_eq!(done["status"], "cancelled");
    let none = format!("{t}/runs/00000000-0000-4000-8000-000000000000");
    w.on_run(404, "post", &none, "cancel/", None);

    let hooks = "/api/projects/{project_id}/webhooks/";
    let hook = w.expect(
        201,
        "post",
        hooks,
        "/api/projects/1/webhooks/",
        Some(json!({"url": "https://hooks.example.com/burrow-hook", "events": ["task.created"]})),
    );
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));
    w.expect(
        400,
        "post",
        hooks,
        "/api/projects/1/webhooks/",
        Some(json!({"url": "x", "events": []})),
    );
    w.expect(200, "get", hooks, "/api/projects/1/webhooks/", None);
    let one = "/api/projects/{project_id}/webhooks/{webhook_id}/";
    let hid = hook["id"].as_i64().unwrap();
    w.expect(
        200,
        "get",
        one,
        &format!("/api/projects/1/webhooks/{hid}/"),
        None,
    );
    w.expect(404, "get", one, "/api/projects/1/webhooks/999999/", None);
    let of = "/api/projects/{project_id}/webhooks/{webhook_id}/deliveries/";
    w.expect(
        200,
        "get",
        of,
        &format!("/api/projects/1/webhooks/{hid}/deliveries/"),
        None,
    );
    let all = "/api/projects/{project_id}/webhook_deliveries/";
    w.expect(
        200,
        "get",
        all,
        &format!("/api/projects/1/webhook_deliveries/?webhook={hid}"),
        None,
    );
    w.expect(
        400,
        "get",
        all,
        "/api/projects/1/webhook_deliveries/?limit=-1",
        None,
    );
    w.expect(
        204,
        "delete",
        one,
        &format!("/api/projects/1/webhooks/{hid}/"),
        None,
    );
}

/// A follow-up message, and the answer to a permission question put on the run as the ACP
/// runner puts it.
fn talk_to_the_agent(w: &Walk, run: &str, ingest_token: &str) {
    let sent = w.on_run(
        200,
        "post",
        run,
        "message/",
        Some(json!({"text": "Also fix the docs."})),
    );
    assert_eq!(sent["state"]["pending_user_message"], "Also fix the docs.");
    let question = json!({"request_id": "q-1", "tool_call": {"toolCallId": "c-1"},
        "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"}]});
    let asked = json!({"state": {"pending_permission": question}});
    w.on_run(200, "patch", run, "", Some(asked));
    let answer = |option| Some(json!({"request_id": "q-1", "option_id": option}));
    w.on_run(400, "post", run, "permission/", answer("maybe"));
    let answered = w.on_run(200, "post", run, "permission/", answer("allow"));
    assert_eq!(
        answered["state"]["permission_answer"],
        json!({"request_id": "q-1", "option_id": "allow"})
    );
    assert!(answered["state"].get("pending_permission").is_none());
    let relay = json!({"text": "Done.", "text_parts": ["Done."], "message_id": "m-1"});
    let relayed = w.on_run(200, "post", run, "relay_message/", Some(relay));
    assert_eq!(relayed["status"], "accepted");
    let events = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/event_stream/";
    let line = json!({"seq": 1, "event": {"type": "notification", "notification": {}}});
    let (path, ndjson) = (format!("{run}/event_stream/"), "application/x-ndjson");
    let r =
        w.s.post_typed(ingest_token, &path, ndjson, format!("{line}\n"));
    let c = w.doc.check("post", events, r.unwrap());
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json["last_accepted_seq"], 1);
}
