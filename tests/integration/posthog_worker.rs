//! `burrow worker --runner posthog-agent` on another machine (here, another process with its
//! own data folder): it claims the run over HTTP, gets the run's ingest token with it, and
//! runs PostHog's real agent-server against the server, whose LLM gateway holds the provider
//! key and counts the model's tokens on the run agent-server names. The run ends `completed`
//! with the file on its branch, and the log holds each of the agent's events once although
//! agent-server sent them on both paths.

use crate::harness::Server;
use crate::harness::acp::*;
use crate::harness::posthog::{PROVIDER_KEY, agent_command, assert_streamed_once, model};
use crate::harness::runner::run_log;
use crate::posthog_agent::write_script;

#[test]
fn a_worker_runs_agent_server_with_the_runs_ingest_token() {
    let Some(command) = agent_command() else {
        return;
    };
    let model = model(&write_script());
    let places = Places::new();
    // The server runs no agent itself: it holds the gateway and the provider key.
    let (s, key) = Server::build()
        .args(["--llm-upstream", &model.url])
        .env("ANTHROPIC_API_KEY", PROVIDER_KEY)
        .start_with_key("task:write");
    let worker_data = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["--runner", "posthog-agent", "--posthog-agent-command"]
        .map(String::from)
        .to_vec();
    args.extend([command, "--runner-grace".into(), "5s".into()]);
    args.extend(places.folder_args());
    let _worker = Worker::start(&s.base, &key, worker_data.path(), &args);

    let (task, run_id) = start(&s, &key, "Write FAKE.md", Some("acme/web"));
    let run = finished(&s, &key, &task, &run_id);
    assert_eq!(run["status"], "completed", "{run}");
    let log = run_log(&s, &key, &task, &run_id);
    let work = burrow(&log, "workspace_ready").unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        work.starts_with(&places.workspaces.path().display().to_string()),
        "{work}"
    );
    let branch = run["branch"].as_str().unwrap();
    let work = std::path::Path::new(&work);
    let on_branch = git(work, &["show", &format!("{branch}:FAKE.md")]);
    assert_eq!(on_branch, "written by the fake model");

    // The ingest token came with the claim: event_stream/ took it.
    assert_streamed_once(&s, &log);
    // The gateway counted the model's tokens on the run agent-server named, although the
    // worker's key is not the run's; and PostHog's own headers stopped at the gateway.
    let usage = &run["state"]["llm_usage"];
    assert!(usage["requests"].as_u64().unwrap() >= 3, "{usage}");
    for r in model.requests() {
        let headers = r["headers"].as_object().unwrap();
        assert!(!headers.keys().any(|h| h.starts_with("x-posthog")), "{r}");
    }
    // The agent's tools never saw the provider key.
    let env = std::fs::read_to_string(work.join("ENV.txt")).unwrap();
    assert!(!env.contains(PROVIDER_KEY), "{env}");
}
