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
    talk_to_the_agent(w, &format!("{t}/runs/{id}"));
    let cancel = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/cancel/";
    let done = w.expect(200, "post", cancel, &format!("{t}/runs/{id}/cancel/"), None);
    assert_eq!(done["status"], "cancelled");
    w.expect(
        404,
        "post",
        cancel,
        &format!("{t}/runs/00000000-0000-4000-8000-000000000000/cancel/"),
        None,
    );

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
fn talk_to_the_agent(w: &Walk, run: &str) {
    let message = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/message/";
    let sent = w.expect(
        200,
        "post",
        message,
        &format!("{run}/message/"),
        Some(json!({"text": "Also fix the docs."})),
    );
    assert_eq!(sent["state"]["pending_user_message"], "Also fix the docs.");
    let question = json!({"request_id": "q-1", "tool_call": {"toolCallId": "c-1"},
        "options": [{"optionId": "allow", "name": "Allow", "kind": "allow_once"}]});
    w.expect(
        200,
        "patch",
        "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/",
        &format!("{run}/"),
        Some(json!({"state": {"pending_permission": question}})),
    );
    let permission = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/permission/";
    w.expect(
        400,
        "post",
        permission,
        &format!("{run}/permission/"),
        Some(json!({"request_id": "q-1", "option_id": "maybe"})),
    );
    let answered = w.expect(
        200,
        "post",
        permission,
        &format!("{run}/permission/"),
        Some(json!({"request_id": "q-1", "option_id": "allow"})),
    );
    assert_eq!(
        answered["state"]["permission_answer"],
        json!({"request_id": "q-1", "option_id": "allow"})
    );
    assert!(answered["state"].get("pending_permission").is_none());
    let relay = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/relay_message/";
    let relayed = w.expect(
        200,
        "post",
        relay,
        &format!("{run}/relay_message/"),
        Some(json!({"text": "Done.", "text_parts": ["Done."], "message_id": "m-1"})),
    );
    assert_eq!(relayed["status"], "accepted");
    let events = "/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/event_stream/";
    let line = json!({"seq": 1, "event": {"type": "notification", "notification": {}}});
    let r =
        w.s.req(
            &w.key,
            reqwest::Method::POST,
            &format!("{run}/event_stream/"),
        )
        .header("Content-Type", "application/x-ndjson")
        .body(format!("{line}\n"))
        .send()
        .unwrap();
    let c = w.doc.check("post", events, r);
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json["last_accepted_seq"], 1);
}
