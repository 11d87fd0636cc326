//! The web UI in a real browser: `tests/ui/e2e.mjs` drives Debian's headless Chromium with
//! playwright-core against the real server. Screenshots land in `target/ui-screenshots/`.
//! Without node, `tests/ui/node_modules` or Chromium the tests skip, or fail when `CI` is set.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::harness::node::{missing_modules, root};
use crate::harness::runner::Receiver;
use crate::harness::watchdog::output_within;
use crate::harness::{Server, expect_json, task_body};
use serde_json::json;

/// One browser at a time: the machine may have two cores.
pub static BROWSER: Mutex<()> = Mutex::new(());

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Why the browser tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if let Some(why) = missing_modules("ui", "playwright-core") {
        return Some(why);
    }
    if !chromium().exists() {
        return Some(format!(
            "{} is missing (apt-get install -y --no-install-recommends chromium)",
            chromium().display()
        ));
    }
    None
}

/// True when the test may go on; skips (or fails under CI) when something is missing.
pub fn ready(test: &str) -> bool {
    match missing() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the browser tests cannot run: {why}. .ci/run installs both.")
        }
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// Runs `node tests/ui/e2e.mjs BASE SCREENSHOTS ARGS…`, prints its report, asserts success.
pub fn e2e(base: &str, args: &[&str]) {
    let shots = root().join("target/ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut node = Command::new("node");
    node.arg(root().join("tests/ui/e2e.mjs"))
        .arg(base)
        .arg(&shots)
        .args(args)
        .env("CHROMIUM_PATH", chromium());
    // Node and its Chromium, killed as a group if they ever hang.
    let out = output_within(&mut node, "node tests/ui/e2e.mjs", Duration::from_secs(420));
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the browser tests failed (see the report above)"
    );
}

/// First run, sign-in/out, a failed and a throttled sign-in, keys, tasks, a live run with
/// logs and artifacts, XSS probes, administration and the phone layout, on a fresh server.
#[test]
fn browser_end_to_end() {
    if !ready("browser_end_to_end") {
        return;
    }
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let s = Server::start();
    e2e(&s.base, &["main"]);
}

/// A server reachable from elsewhere (here through a trusted proxy) asks for the setup
/// token, refuses a wrong one, and takes it from the printed link.
#[test]
fn browser_setup_link() {
    if !ready("browser_setup_link") {
        return;
    }
    let s = Server::build()
        .args(["--trusted-proxies", "127.0.0.1/32"])
        .start();
    let link = s.setup_link.clone().expect("a setup link");
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    e2e(&s.base, &["setup", &link]);
}

const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "a long enough password";

/// Makes the user EMAIL (PASSWORD) on `s` and returns their all-scopes key.
fn user(s: &Server) -> String {
    s.cli_ok(&["user", "create", "--email", EMAIL, "--password", PASSWORD]);
    s.key_for(EMAIL, "*", &[])
}

/// A server with a user (EMAIL, PASSWORD), their all-scopes key and an in-progress run of a
/// new task titled `title`: (server, key, the run page's path).
fn live_run(title: &str) -> (Server, String, String) {
    let s = Server::start();
    let key = user(&s);
    let task = s.task(&key, &task_body(json!({ "title": title })));
    let task_id = task["id"].as_str().unwrap();
    let runs = format!("/api/projects/1/tasks/{task_id}/runs/");
    let run = expect_json(s.post(&key, &runs, &json!({"status": "in_progress"})), 201);
    let run_path = format!(
        "/projects/1/tasks/{task_id}/runs/{}",
        run["id"].as_str().unwrap()
    );
    (s, key, run_path)
}

/// Runs `scenario EMAIL PASSWORD RUN_PATH KEY` over a fresh in-progress run of `title`.
fn on_live_run(test: &str, scenario: &str, title: &str) {
    if !ready(test) {
        return;
    }
    let (s, key, run_path) = live_run(title);
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    e2e(&s.base, &[scenario, EMAIL, PASSWORD, &run_path, &key]);
}

/// A run page reads as the agent's session: messages, tool calls with diffs, plans, notes,
/// hostile text, log levels, the Raw log link and Cancel, over an in-progress run.
#[test]
fn browser_conversation() {
    on_live_run(
        "browser_conversation",
        "conversation",
        "Fix the flaky login test",
    );
}

/// A person answers the agent from the run page: the permission question in the run's
/// state gets one button per option and the click lands in `state.permission_answer`; a
/// refused answer says why; follow-up messages land in `state.pending_user_message`.
#[test]
fn browser_agent_questions() {
    on_live_run("browser_agent_questions", "agent", "Ship the release");
}

/// A project's webhooks from the UI: refused URLs at their field, create with the secret
/// shown once, the list, a delivery's failed and successful attempts, delete, and a deleted
/// webhook's deliveries.
#[test]
fn browser_webhooks() {
    if !ready("browser_webhooks") {
        return;
    }
    let receiver = Receiver::start(&[500]);
    let s = Server::build()
        .args(["--webhook-allowed-hosts", "loopback"])
        .start();
    let key = user(&s);
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    e2e(&s.base, &["webhooks", EMAIL, PASSWORD, &key, &receiver.url]);
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2, "one event, two attempts");
}

/// The task board: columns by the latest run's status, live moves, filters in the URL.
#[test]
fn browser_board() {
    if !ready("browser_board") {
        return;
    }
    let s = Server::start();
    let key = user(&s);
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    e2e(&s.base, &["board", EMAIL, PASSWORD, &key]);
}

/// A run with 100,000 log entries of every kind, seeded through the API, loads fast and
/// stays usable in both views.
#[test]
fn browser_long_log() {
    if !ready("browser_long_log") {
        return;
    }
    const ENTRIES: usize = 100_000;
    let (s, key, run_path) = live_run("Read a long log");
    for batch in 0..ENTRIES / 1000 {
        let entries: Vec<_> = (1..=1000)
            .map(|i| {
                let n = batch * 1000 + i;
                let update = |u: serde_json::Value| {
                    json!({"type": "notification", "timestamp": "2025-06-01T10:00:00Z",
                    "notification": {"jsonrpc": "2.0", "method": "session/update",
                    "params": {"sessionId": "s", "update": u}}})
                };
                let text = |t: String| json!({"type": "text", "text": t});
                let call = format!("call-{}", n / 50);
                match n % 50 {
                    0 => json!({"type": "error", "message": format!("entry {n}")}),
                    7 => update(json!({"sessionUpdate": "agent_message_chunk",
                        "content": text(format!("entry {n}"))})),
                    8 => update(json!({"sessionUpdate": "agent_message_chunk",
                        "content": text(format!(" and **more** `code` {}", n / 50))})),
                    9 => update(json!({"sessionUpdate": "agent_thought_chunk",
                        "content": text(format!("thinking {}", n / 50))})),
                    10 => update(json!({"sessionUpdate": "tool_call", "toolCallId": call,
                        "title": "Edit src/app.ts", "kind": "edit", "status": "pending"})),
                    11 => update(
                        json!({"sessionUpdate": "tool_call_update", "toolCallId": call,
                        "status": "completed", "content": [{"type": "diff", "path": "src/app.ts",
                        "oldText": "a\nb\nc\n", "newText": format!("a\nB{n}\nc\n")}]}),
                    ),
                    12 => update(json!({"sessionUpdate": "plan", "entries": [
                        {"content": "Read", "status": "completed", "priority": "high"},
                        {"content": "Fix", "status": "in_progress", "priority": "high"}]})),
                    13 => json!({"type": "notification", "notification": {"jsonrpc": "2.0",
                        "method": "_posthog/console", "params": {"level": "warn",
                        "message": format!("console {}", n / 50)}}}),
                    14 => update(json!({"sessionUpdate": "usage_update", "used": n,
                        "size": 200_000})),
                    _ => json!({"type": "info", "message": format!("entry {n}")}),
                }
            })
            .collect();
        let r = s.post(
            &key,
            &format!("/api{run_path}/append_log/"),
            &json!({ "entries": entries }),
        );
        assert_eq!(r.status(), 200, "append batch {batch}");
    }
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let total = ENTRIES.to_string();
    e2e(
        &s.base,
        &["biglog", EMAIL, PASSWORD, &run_path, &key, &total],
    );
}
