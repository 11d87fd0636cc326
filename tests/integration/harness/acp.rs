//! Helpers for the ACP runner tests: a local bare git repository as a task's source, a
//! server (or worker) running the fake agent in `tests/fake-acp-agent.py`, and the log read
//! back as its notifications.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::runner::{poll, run_log};
use super::{BIN, Server, expect_json, task_body};

/// The fake agent, with optional command-line arguments.
pub fn agent(args: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-acp-agent.py");
    format!("python3 {script} {args}")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Makes `<root>/acme/web.git`, a bare repository whose `main` holds a three-line README.
pub fn source_repo(root: &Path) -> PathBuf {
    let bare = root.join("acme/web.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    let seed = root.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("README.md"), "# Web\nline two\nline three\n").unwrap();
    seed_commit(&seed, "first");
    git(&seed, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

/// Commits all that is in the `seed` clone, as its author `Seed`.
pub fn seed_commit(seed: &Path, message: &str) {
    git(seed, &["add", "-A"]);
    let author = ["-c", "user.name=Seed", "-c", "user.email=seed@localhost"];
    git(
        seed,
        &[&author[..], &["commit", "-q", "-m", message]].concat(),
    );
}

/// Folders a test keeps for its lifetime: sources and workspaces.
pub struct Places {
    pub sources: tempfile::TempDir,
    pub workspaces: tempfile::TempDir,
}

impl Places {
    pub fn new() -> Places {
        let places = Places {
            sources: tempfile::tempdir().unwrap(),
            workspaces: tempfile::tempdir().unwrap(),
        };
        source_repo(places.sources.path());
        places
    }

    /// The settings that point the runner at these folders and the fake agent.
    pub fn args(&self, agent_args: &str) -> Vec<String> {
        let mut args = vec!["--agent-command".into(), agent(agent_args)];
        args.extend(self.folder_args());
        args.extend([
            // Generous: a loaded CI machine can take seconds to start Python.
            "--agent-start-timeout".into(),
            "20s".into(),
            "--runner-grace".into(),
            "1s".into(),
        ]);
        args
    }

    /// The settings that point any runner at these repositories and workspaces.
    pub fn folder_args(&self) -> [String; 4] {
        [
            "--repos".into(),
            format!("{}/{{repository}}.git", self.sources.path().display()),
            "--workspaces".into(),
            self.workspaces.path().display().to_string(),
        ]
    }

    /// A server with `--runner acp`, these places, and more arguments.
    pub fn server(&self, agent_args: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--runner".to_string(), "acp".into()];
        args.extend(self.args(agent_args));
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::build().args(&args).start()
    }

    /// As `server`, with a `task:write` key.
    pub fn server_and_key(&self, agent_args: &str, extra: &[&str]) -> (Server, String) {
        let s = self.server(agent_args, extra);
        let key = s.key("task:write");
        (s, key)
    }
}

/// Creates a task on acme/web with this description and starts a run; (task, run).
pub fn start(
    s: &Server,
    key: &str,
    description: &str,
    repository: Option<&str>,
) -> (String, String) {
    let mut extra = json!({"description": description, "title": description});
    if let Some(repo) = repository {
        extra["repository"] = json!(repo);
    }
    let task = s.task(key, &task_body(extra));
    let id = task["id"].as_str().unwrap().to_string();
    let r = s.post(key, &format!("/api/projects/1/tasks/{id}/run/"), &json!({}));
    let run = expect_json(r, 200)["latest_run"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, run)
}

/// Waits for the run to finish (any final status); returns it.
pub fn finished(s: &Server, key: &str, task: &str, run: &str) -> Value {
    poll(&format!("run {run} to finish"), || {
        let r = super::runner::get_run(s, key, task, run);
        let status = r["status"].as_str().unwrap_or_default().to_string();
        ["completed", "failed", "cancelled"]
            .contains(&status.as_str())
            .then_some(r)
    })
}

/// Starts a run as `start` does and waits for it to complete: (task, run id, run).
pub fn completed(
    s: &Server,
    key: &str,
    description: &str,
    repository: Option<&str>,
) -> (String, String, Value) {
    let (task, run_id) = start(s, key, description, repository);
    let run = finished(s, key, &task, &run_id);
    assert_eq!(run["status"], "completed", "{run}");
    (task, run_id, run)
}

/// The method of each log entry, in order.
pub fn methods(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| {
            let n = &e["notification"];
            match n["params"]["update"]["sessionUpdate"].as_str() {
                Some(kind) => format!("{}:{kind}", n["method"].as_str().unwrap_or("?")),
                None => n["method"].as_str().unwrap_or("?").to_string(),
            }
        })
        .collect()
}

/// The log, once the run has finished and its last entry (the agent's exit or a failure)
/// is in.
pub fn final_log(s: &Server, key: &str, task: &str, run: &str) -> Vec<Value> {
    run_log(s, key, task, run)
}

/// The text of every agent_message_chunk, joined.
pub fn said(log: &[Value]) -> String {
    log.iter()
        .filter(|e| e["notification"]["params"]["update"]["sessionUpdate"] == "agent_message_chunk")
        .filter_map(|e| e["notification"]["params"]["update"]["content"]["text"].as_str())
        .collect()
}

/// The params of the first `_burrow/<what>` entry.
pub fn burrow<'a>(log: &'a [Value], what: &str) -> Option<&'a Value> {
    let method = format!("_burrow/{what}");
    log.iter()
        .find(|e| e["notification"]["method"] == method.as_str())
        .map(|e| &e["notification"]["params"])
}

/// The text of one of the run's artifacts, downloaded by its `storage_path`.
pub fn artifact_text(s: &Server, key: &str, task: &str, run: &str, artifact: &Value) -> String {
    s.req(
        key,
        reqwest::Method::POST,
        &super::runner::run_path(task, run, "artifacts/download/"),
    )
    .json(&json!({"storage_path": artifact["storage_path"]}))
    .send()
    .unwrap()
    .text()
    .unwrap()
}

/// A `burrow worker` process working project 1 of the server at `base` with `key`, its
/// own data folder and `args`; stopped when dropped.
pub struct Worker(Child);

impl Worker {
    pub fn start(base: &str, key: &str, data: &Path, args: &[String]) -> Worker {
        let child = Command::new(BIN)
            .args(["worker", "--server", base, "--key", key, "--project", "1"])
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .args(["--log", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the worker");
        super::watchdog::own(child.id(), false);
        Worker(child)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        super::watchdog::disown(self.0.id());
    }
}
