//! `--runner posthog-agent` end to end: the real binary runs PostHog's real agent-server
//! (Node 22, `@posthog/agent`, its bundled Claude Code) on a task whose repository is a
//! local bare git repository; only the model is scripted (`tests/fake-anthropic.py`,
//! behind Burrow's LLM gateway). The run ends `completed` with a branch and a diff once the
//! agent's turn is complete; a model error fails it; a follow-up goes to the live agent, one
//! after the end resumes the run; the gateway's token budget stops it.

use serde_json::{Value, json};

use crate::harness::acp::*;
use crate::harness::anthropic::FakeAnthropic;
use crate::harness::posthog::{PROVIDER_KEY, agent_command, assert_streamed_once, model, server};
use crate::harness::runner::{poll, run_log, run_path};
use crate::harness::{Server, cli_env, expect_json};

/// The model writes FAKE.md and dumps the environment its tools get, then answers.
pub fn write_script() -> Value {
    json!({"turns": [
        {"text": "I will write the file.",
         "tool_use": {"name": "Write", "input": {"file_path": "{{cwd}}/FAKE.md",
                                                 "content": "written by the fake model\n"}}},
        {"text": "Now the environment.",
         "tool_use": {"name": "Bash", "input": {"command": "env > ENV.txt",
                                                "description": "Dump the environment"}}},
        {"text": "Done."},
    ]})
}

/// A server whose runner is agent-server, on scripted `model` answers, with `extra` settings,
/// and its key; `None` (the test skips) where agent-server cannot run here.
struct Agent {
    model: FakeAnthropic,
    places: Places,
    s: Server,
    key: String,
    task: String,
    run_id: String,
}

impl Agent {
    /// The run, once it has finished, which must be as `status`.
    fn finished_as(&self, status: &str) -> Value {
        let run = finished(&self.s, &self.key, &self.task, &self.run_id);
        assert_eq!(run["status"], status, "{run}");
        run
    }
}

/// As `agent`, with a run of a new task (on acme/web) asking `prompt` already started.
fn agent_on(script: &Value, extra: &[&str], prompt: &str) -> Option<Agent> {
    let command = agent_command()?;
    let model = model(script);
    let places = Places::new();
    let s = server(&places, &command, &model, extra);
    let key = s.key("task:write");
    let (task, run_id) = start(&s, &key, prompt, Some("acme/web"));
    Some(Agent {
        model,
        places,
        s,
        key,
        task,
        run_id,
    })
}

/// How many log entries call `method`.
fn count(log: &[Value], method: &str) -> usize {
    log.iter()
        .filter(|e| e["notification"]["method"] == method)
        .count()
}

/// Every request Burrow answered with a status outside 2xx, from `/metrics`.
fn refused_requests(s: &Server) -> Vec<String> {
    let text = s.get("", "/metrics").text().unwrap();
    text.lines()
        .filter(|l| l.starts_with("burrow_http_requests_total{"))
        .filter(|l| !l.contains("status=\"2"))
        .map(str::to_string)
        .collect()
}

#[test]
fn agent_server_works_a_task_into_a_completed_run_with_a_branch_and_a_diff() {
    let Some(a) = agent_on(&write_script(), &[], "Write FAKE.md") else {
        return;
    };
    let (model, s, key, task, run_id) = (&a.model, &a.s, &a.key, &a.task, &a.run_id);

    // While it runs, agent-server's environment holds the run's key, not the provider's.
    let started = poll("agent-server to start", || {
        burrow(&run_log(s, key, task, run_id), "agent_started").cloned()
    });
    let pid = started["pid"].as_u64().unwrap();
    if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
        let environ = String::from_utf8_lossy(&environ);
        assert!(!environ.contains(PROVIDER_KEY), "{environ}");
        assert!(
            environ.contains("POSTHOG_PERSONAL_API_KEY=phx_"),
            "{environ}"
        );
        assert!(environ.contains("JWT_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----"));
        assert!(
            environ.contains("POSTHOG_TASK_RUN_EVENT_INGEST_TOKEN=bit_"),
            "{environ}"
        );
    }

    let run = finished(s, key, task, run_id);
    assert_eq!(run["status"], "completed", "{run}");
    let branch = format!("burrow/def-0-{}", &run_id[..8]);
    assert_eq!(run["branch"], branch.as_str());
    assert_eq!(run["output"]["base_branch"], "main");

    // The file the model asked for is in the worktree and on the branch.
    let log = run_log(s, key, task, run_id);
    let work = burrow(&log, "workspace_ready").unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let work = std::path::Path::new(&work);
    assert_eq!(
        std::fs::read_to_string(work.join("FAKE.md")).unwrap(),
        "written by the fake model\n"
    );
    let source = a.places.sources.path().join("acme/web.git");
    let mirror_branch = git(work, &["show", &format!("{branch}:FAKE.md")]);
    assert_eq!(mirror_branch, "written by the fake model");
    let _ = source;

    // The environment its tools saw: the run's settings, nothing of the server's secrets.
    let env = std::fs::read_to_string(work.join("ENV.txt")).unwrap();
    assert!(!env.contains(PROVIDER_KEY), "{env}");
    assert!(!env.contains("ANTHROPIC_API_KEY=sk-"), "{env}");
    assert!(env.contains("IS_SANDBOX=1"), "{env}");

    // changes.diff holds the agent's work, not agent-server's Claude settings.
    let artifacts = run["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert_eq!(artifacts[0]["name"], "changes.diff");
    let diff = artifact_text(s, key, task, run_id, &artifacts[0]);
    assert!(diff.contains("+++ b/FAKE.md"), "{diff}");
    assert!(!diff.contains("settings.local.json"), "{diff}");

    // agent-server sent its events on both paths, append_log/ and event_stream/ (with the
    // run's ingest token); the log holds each once, ending its turn, and no provider key.
    assert_streamed_once(s, &log);
    assert_eq!(count(&log, "_posthog/turn_complete"), 1, "{log:?}");
    assert_eq!(count(&log, "_posthog/run_started"), 1);
    assert!(count(&log, "session/update") > 3);
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(PROVIDER_KEY));
    let exited = burrow(&log, "agent_exited").unwrap();
    assert_eq!(exited["byItself"], false, "Burrow stopped it: {exited}");

    // The model was reached through Burrow's gateway, with the provider key (the fake
    // refuses any other), and the gateway counted the run's tokens.
    let requests = model.requests();
    let messages = requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains("/v1/messages"))
        .count();
    assert!(messages >= 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r["headers"]["x-api-key"], PROVIDER_KEY, "{r}");
    }
    let usage = &run["state"]["llm_usage"];
    assert!(usage["requests"].as_u64().unwrap() >= 3, "{usage}");
    assert!(usage["output_tokens"].as_u64().unwrap() >= 15, "{usage}");
    let metrics = s.get("", "/metrics").text().unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("burrow_llm_tokens_total{product=\"posthog_code\"")),
        "{metrics}"
    );

    // Every call the agent made got a 2xx.
    assert_eq!(refused_requests(s), Vec::<String>::new());
}

#[test]
fn a_model_error_fails_the_run_with_the_agents_message() {
    let Some(a) = agent_on(
        &json!({"turns": [
            {"error": {"status": 400, "type": "invalid_request_error",
                       "message": "scripted refusal from the model"}},
        ]}),
        &[],
        "Write FAKE.md",
    ) else {
        return;
    };
    let (model, s, key, task, run_id) = (&a.model, &a.s, &a.key, &a.task, &a.run_id);
    let run = a.finished_as("failed");
    // agent-server marks the run failed with its own words (the model's error reaches it
    // as an ACP "Internal error"); Burrow stops it and logs its last lines.
    let why = run["error_message"].as_str().unwrap();
    assert!(why.starts_with("Agent server crashed: "), "{why}");
    let log = poll("agent-server to be stopped", || {
        let log = run_log(s, key, task, run_id);
        burrow(&log, "agent_exited").is_some().then_some(log)
    });
    let last_words = burrow(&log, "agent_stderr").unwrap().to_string();
    assert!(last_words.contains("marking run failed"), "{last_words}");
    assert!(
        model
            .requests()
            .iter()
            .any(|r| r["path"].as_str().unwrap_or("").contains("/v1/messages")),
        "the model was asked"
    );
    assert_eq!(count(&log, "_posthog/turn_complete"), 0);
    assert!(run["branch"].is_null(), "{run}");
}

#[test]
fn a_follow_up_goes_to_the_live_agent_and_one_after_the_end_resumes_the_run() {
    // The first answer waits until the test has queued its follow-up.
    let Some(a) = agent_on(
        &json!({"turns": [
            {"text": "Thinking about it.", "hold": true},
        ]}),
        &[],
        "Say something",
    ) else {
        return;
    };
    let (model, s, key, task, run_id) = (&a.model, &a.s, &a.key, &a.task, &a.run_id);
    poll("the model to be asked", || {
        model
            .requests()
            .iter()
            .any(|r| {
                r["path"].as_str().unwrap_or("").contains("/v1/messages")
                    && r["body"]["tools"].is_array()
            })
            .then_some(())
    });
    let r = s.post(
        key,
        &run_path(task, run_id, "message/"),
        &json!({"text": "Please also say hello"}),
    );
    expect_json(r, 200);
    model.release();

    let run = finished(s, key, task, run_id);
    assert_eq!(run["status"], "completed", "{run}");
    let log = run_log(s, key, task, run_id);
    assert_eq!(count(&log, "_posthog/turn_complete"), 2, "{log:?}");
    assert!(burrow(&log, "follow_up_sent").is_some());
    assert!(burrow(&log, "follow_up_failed").is_none());
    // The model saw the follow-up.
    let asked = model.requests();
    assert!(
        asked
            .iter()
            .any(|r| r["body"].to_string().contains("Please also say hello")),
        "{asked:?}"
    );
    assert!(run["state"].get("pending_user_message").is_none(), "{run}");

    // Its agent-server has stopped: a message now resumes the run PostHog's way, as a new
    // run that carries it and names the run it resumes.
    let r = s.post(
        key,
        &run_path(task, run_id, "message/"),
        &json!({"text": "One more thing after the end"}),
    );
    let resumed = expect_json(r, 200);
    let resumed_id = resumed["id"].as_str().unwrap().to_string();
    assert_ne!(&resumed_id, run_id);
    assert_eq!(resumed["state"]["resume_from_run_id"], run_id.as_str());
    assert_eq!(
        resumed["state"]["pending_user_message"],
        "One more thing after the end"
    );
    let again = finished(s, key, task, &resumed_id);
    assert_eq!(again["status"], "completed", "{again}");
    assert!(
        model.requests().iter().any(|r| r["body"]
            .to_string()
            .contains("One more thing after the end")),
        "the resumed agent-server passed the message on"
    );
}

#[test]
fn a_node_older_than_22_19_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    std::fs::write(&node, "#!/bin/sh\necho v22.18.0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = format!("{} agent-server.js", node.display());
    let out = cli_env(
        dir.path(),
        &[
            "--addr",
            "127.0.0.1:0",
            "--runner",
            "posthog-agent",
            "--posthog-agent-command",
            &command,
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "error: --posthog-agent-command needs Node >= 22.19, but {} is v22.18.0",
            node.display()
        )
    );
}

#[test]
fn the_token_budget_stops_the_model_and_fails_the_run() {
    let Some(a) = agent_on(
        &write_script(),
        &["--llm-budget-tokens", "1"],
        "Write FAKE.md",
    ) else {
        return;
    };
    let (model, s) = (&a.model, &a.s);
    a.finished_as("failed");
    // The first request went through and used the budget; the next were refused with 429
    // and never reached the model.
    let metrics = s.get("", "/metrics").text().unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "burrow_http_requests_total{route=\"/api/llm_gateway/{product}/v1/messages\",method=\"POST\",status=\"429\"}"
        )),
        "{metrics}"
    );
    let asked = model
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains("/v1/messages"))
        .count();
    assert_eq!(asked, 1, "{:?}", model.requests());
}
