//! `--runner acp` when things go wrong: an agent that crashes, vanishes, writes garbage,
//! never answers the handshake, wants credentials or exits at once, a repository that
//! cannot be cloned, and cancellation of an agent that listens and of one that does not.

use std::time::{Duration, Instant};

use crate::harness::acp::*;
use crate::harness::runner::{poll, run_path};
use serde_json::json;

/// Runs one task on a server whose agent takes `agent_args`; the finished run and its log.
fn failing(
    places: &Places,
    agent_args: &str,
    description: &str,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let (s, key) = places.server_and_key(agent_args, &[]);
    let (task, run_id) = start(&s, &key, description, Some("acme/web"));
    let run = finished(&s, &key, &task, &run_id);
    // The runner's last entries land just before the status does.
    let log = final_log(&s, &key, &task, &run_id);
    (run, log)
}

fn error(run: &serde_json::Value) -> &str {
    run["error_message"].as_str().unwrap_or_default()
}

#[test]
fn each_failure_fails_the_run_with_its_reason_and_the_agents_last_words() {
    let places = Places::new();

    let (run, log) = failing(&places, "", "crash");
    assert_eq!(run["status"], "failed");
    assert_eq!(
        error(&run),
        "The agent exited with code 3 before its turn ended."
    );
    let stderr = burrow(&log, "agent_stderr").expect("stderr in the log");
    let lines = stderr["lines"].as_array().unwrap();
    assert_eq!(lines.last().unwrap(), "fake agent: fatal: out of cheese");
    assert!(lines.len() <= 40);
    assert_eq!(burrow(&log, "run_failed").unwrap()["reason"], error(&run));
    assert!(said(&log).contains("about to crash"));

    let (run, _) = failing(&places, "", "vanish");
    assert_eq!(run["status"], "failed");
    assert_eq!(
        error(&run),
        "The agent exited with code 0 before its turn ended."
    );

    let (run, _) = failing(&places, "--garbage", "work");
    assert_eq!(run["status"], "failed");
    assert!(
        error(&run).starts_with(
            "The agent wrote something that is not a JSON-RPC message: \"this is not JSON-RPC\""
        ),
        "{run}"
    );

    let started = Instant::now();
    let (run, _) = failing(&places, "--silent", "work");
    assert_eq!(
        error(&run),
        "The agent did not answer initialize within 20s (--agent-start-timeout)."
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    let (run, log) = failing(&places, "--auth", "work");
    assert!(
        error(&run)
            .starts_with("The agent needs authentication (API key) and Burrow cannot sign it in"),
        "{run}"
    );
    let stderr = burrow(&log, "agent_stderr").expect("stderr in the log");
    assert_eq!(stderr["lines"][0], "fake agent: no credentials found");

    let (run, log) = failing(&places, "--exit-at-start", "work");
    assert_eq!(
        error(&run),
        "The agent exited with code 5 before its turn ended."
    );
    assert_eq!(
        burrow(&log, "agent_stderr").unwrap()["lines"][0],
        "fake agent: giving up before the handshake"
    );
}

#[test]
fn a_repository_that_cannot_be_cloned_fails_the_run_and_says_why() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &[]);
    let (task, run_id) = start(&s, &key, "work", Some("acme/missing"));
    let run = finished(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "failed");
    let why = error(&run);
    assert!(
        why.starts_with("Could not prepare the workspace: Could not fetch "),
        "{why}"
    );
    assert!(why.contains("acme/missing.git"), "{why}");

    let (task, run_id) = start(&s, &key, "work", Some("../etc"));
    let run = finished(&s, &key, &task, &run_id);
    assert!(error(&run).contains("is not a name like org/repo"), "{run}");

    // Without --repos, a task with a repository cannot be worked.
    let bare = crate::harness::Server::build()
        .args([
            "--runner",
            "acp",
            "--agent-command",
            &agent(""),
            "--workspaces",
            places.workspaces.path().to_str().unwrap(),
        ])
        .start();
    let key = bare.key("task:write");
    let (task, run_id) = start(&bare, &key, "work", Some("acme/web"));
    let run = finished(&bare, &key, &task, &run_id);
    assert!(error(&run).contains("no --repos (BURROW_REPOS)"), "{run}");
}

#[test]
fn cancel_tells_the_agent_then_stops_it_after_the_grace_period() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &[]);

    // An agent that listens ends its turn as cancelled.
    let (task, run_id) = start(&s, &key, "hang", Some("acme/web"));
    poll("the agent to start thinking", || {
        said(&final_log(&s, &key, &task, &run_id))
            .contains("thinking")
            .then_some(())
    });
    let r = s.post(&key, &run_path(&task, &run_id, "cancel/"), &json!({}));
    assert_eq!(r.status(), 200);
    let log = poll("the agent to exit", || {
        let log = final_log(&s, &key, &task, &run_id);
        burrow(&log, "agent_exited").is_some().then_some(log)
    });
    let order = methods(&log);
    let cancel = order
        .iter()
        .position(|m| m == "_burrow/cancel_sent")
        .expect("cancel sent");
    assert!(
        cancel
            < order
                .iter()
                .position(|m| m == "_burrow/agent_exited")
                .unwrap()
    );
    assert!(burrow(&log, "agent_killed").is_none(), "{log:#?}");
    let run = crate::harness::runner::get_run(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "cancelled");

    // One that ignores session/cancel and SIGTERM is killed once the grace period is over.
    let (task, run_id) = start(&s, &key, "stubborn", Some("acme/web"));
    poll("the agent to start thinking", || {
        said(&final_log(&s, &key, &task, &run_id))
            .contains("thinking")
            .then_some(())
    });
    let cancelled = Instant::now();
    s.post(&key, &run_path(&task, &run_id, "cancel/"), &json!({}));
    let log = poll("the agent to be killed", || {
        let log = final_log(&s, &key, &task, &run_id);
        burrow(&log, "agent_exited").is_some().then_some(log)
    });
    let waited = cancelled.elapsed();
    assert!(burrow(&log, "agent_killed").is_some(), "{log:#?}");
    assert_eq!(burrow(&log, "agent_exited").unwrap()["byItself"], false);
    // Grace for the turn to end, then grace between SIGTERM and SIGKILL (1 s each).
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(20), "{waited:?}");
    let run = crate::harness::runner::get_run(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "cancelled");
}
