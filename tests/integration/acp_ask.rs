//! `--agent-permissions ask` over HTTP: the agent's question shows on the run as
//! `state.pending_permission`, a person answers with `POST runs/:id/permission/`, and a
//! follow-up sent with `POST runs/:id/message/` meanwhile becomes the agent's next prompt.

use crate::harness::acp::*;
use crate::harness::runner::{get_run, poll, run_path};
use crate::harness::{assert_error, assert_invalid, expect_json};
use serde_json::json;

#[test]
fn a_person_answers_the_agent_and_sends_it_a_follow_up() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &["--agent-permissions", "ask"]);
    let reader = s.key("task:read");
    let (task, run_id) = start(&s, &key, "work", Some("acme/web"));
    let question = poll("the agent's question", || {
        let run = get_run(&s, &key, &task, &run_id);
        run["state"].get("pending_permission").cloned()
    });
    let request_id = question["request_id"].as_str().unwrap();
    assert_eq!(question["tool_call"]["title"], "Write ALLOWED.md");
    let options: Vec<&str> = question["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["optionId"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["yes", "always", "no"]);

    // While the agent waits, a follow-up is queued on the run.
    let message = run_path(&task, &run_id, "message/");
    let r = s.post(
        &key,
        &message,
        &json!({"text": "Also add a changelog line."}),
    );
    let run = expect_json(r, 200);
    assert_eq!(
        run["state"]["pending_user_message"],
        "Also add a changelog line."
    );
    assert_eq!(
        s.post(&reader, &message, &json!({"text": "x"})).status(),
        403
    );

    // Wrong answers are refused; the right one lets the agent go on.
    let permission = run_path(&task, &run_id, "permission/");
    assert_invalid(
        s.post(
            &key,
            &permission,
            &json!({"request_id": "other", "option_id": "yes"}),
        ),
        "invalid",
        "request_id",
    );
    assert_invalid(
        s.post(
            &key,
            &permission,
            &json!({"request_id": request_id, "option_id": "perhaps"}),
        ),
        "invalid_choice",
        "option_id",
    );
    let r = s.post(
        &key,
        &permission,
        &json!({"request_id": request_id, "option_id": "yes"}),
    );
    expect_json(r, 200);

    let run = finished(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["state"], json!({}), "the runner tidies what it read");
    assert_eq!(
        run["output"]["files_changed"], 3,
        "NOTES, ALLOWED and FOLLOWUP: {run}"
    );

    let log = final_log(&s, &key, &task, &run_id);
    let asked = burrow(&log, "permission_asked").unwrap();
    assert_eq!(asked["request_id"], request_id);
    let decided = burrow(&log, "permission").unwrap();
    assert_eq!(decided["optionId"], "yes");
    assert_eq!(decided["decidedBy"], "person");
    let prompts: Vec<&str> = log
        .iter()
        .filter(|e| e["notification"]["params"]["update"]["sessionUpdate"] == "user_message_chunk")
        .map(|e| {
            e["notification"]["params"]["update"]["content"]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(prompts, ["work", "Also add a changelog line."]);
    let text = said(&log);
    assert!(text.contains("Permission granted."), "{text}");
    assert!(
        text.contains("you said: Also add a changelog line."),
        "{text}"
    );
    let turns = log
        .iter()
        .filter(|e| e["notification"]["method"] == "_burrow/turn_ended")
        .count();
    assert_eq!(turns, 2);

    // A finished run takes no more messages.
    assert_error(
        s.post(&key, &message, &json!({"text": "too late"})),
        400,
        "validation_error",
        "run_finished",
        None,
    );
}
