//! `--runner acp` end to end: the real binary runs the fake ACP agent on a task whose
//! repository is a local bare git repository, logs its session in PostHog's shape, answers
//! its fs/terminal/permission requests, and ends the run with a branch, a commit, a diff
//! artifact and output; tasks with nothing to change, and the agent's environment.

use crate::harness::acp::*;
use crate::harness::expect_json;
use serde_json::{Value, json};

#[test]
fn an_agent_works_a_task_into_a_pushed_branch_with_a_diff() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &["--agent-push"]);
    let (task, run_id, run) = completed(&s, &key, "work", Some("acme/web"));
    assert!(run["error_message"].is_null());

    // The branch, named for the task and run, holds one commit by Burrow on top of main.
    let branch = format!("burrow/def-0-{}", &run_id[..8]);
    assert_eq!(run["branch"], branch.as_str());
    let output = &run["output"];
    assert_eq!(output["head_branch"], branch.as_str());
    assert_eq!(output["base_branch"], "main");
    assert_eq!(output["files_changed"], 2, "{output}");
    assert_eq!(output["insertions"], 3, "{output}");
    assert_eq!(output["deletions"], 0);
    let commit = output["commit"].as_str().unwrap();
    let source = places.sources.path().join("acme/web.git");
    assert_eq!(git(&source, &["rev-parse", &branch]), commit, "pushed");
    assert_eq!(
        git(&source, &["log", "-1", "--format=%an <%ae>", &branch]),
        "Burrow <burrow@localhost>"
    );
    assert_eq!(
        git(&source, &["show", &format!("{branch}:NOTES.md")]),
        "# Notes\nThe README had 3 lines."
    );
    assert_eq!(
        git(&source, &["rev-parse", &format!("{branch}~1")]),
        git(&source, &["rev-parse", "main"])
    );

    // changes.diff, an output artifact, is the diff against main.
    let artifacts = run["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert_eq!(artifacts[0]["name"], "changes.diff");
    assert_eq!(artifacts[0]["type"], "output");
    let diff = artifact_text(&s, &key, &task, &run_id, &artifacts[0]);
    assert!(diff.contains("+++ b/NOTES.md"), "{diff}");
    assert!(diff.contains("+++ b/ALLOWED.md"), "{diff}");

    // The log: every entry in PostHog's notification shape, the agent's updates unchanged,
    // Burrow's own under _burrow/, in order.
    let log = final_log(&s, &key, &task, &run_id);
    for entry in &log {
        assert_eq!(entry["type"], "notification", "{entry}");
        assert!(crate::harness::is_timestamp(&entry["timestamp"]), "{entry}");
        assert_eq!(entry["notification"]["jsonrpc"], "2.0");
    }
    let order = methods(&log);
    let expected = [
        "_burrow/workspace_ready",
        "_burrow/agent_started",
        "_burrow/agent_ready",
        "_burrow/session_started",
        "session/update:user_message_chunk",
        "session/update:agent_message_chunk",
        "session/update:agent_message_chunk",
        "session/update:agent_message_chunk",
        "session/update:plan",
        "session/update:tool_call",
        "_burrow/fs_write",
        "session/update:tool_call_update",
        "_burrow/terminal",
        "session/update:agent_message_chunk",
        "_burrow/permission",
        "_burrow/fs_write",
        "session/update:agent_message_chunk",
        "_burrow/turn_ended",
        "_burrow/agent_exited",
        "_burrow/pushed",
        "_burrow/committed",
    ];
    assert_eq!(order, expected, "{log:#?}");
    let plan = log
        .iter()
        .find(|e| e["notification"]["params"]["update"]["sessionUpdate"] == "plan")
        .unwrap();
    assert_eq!(
        plan["notification"]["params"],
        json!({"sessionId": "sess-1", "update": {"sessionUpdate": "plan", "entries": [
            {"content": "Read the README", "priority": "high", "status": "completed"},
            {"content": "Write NOTES.md", "priority": "medium", "status": "in_progress"}]}})
    );
    let tool_call = &log[9]["notification"]["params"]["update"];
    assert_eq!(tool_call["content"][0]["type"], "diff");
    assert!(tool_call["content"][0]["oldText"].is_null());
    assert_eq!(
        log[4]["notification"]["params"]["update"]["content"]["text"],
        "work"
    );
    let text = said(&log);
    assert!(
        text.contains("terminal said from-terminal (exit 0)"),
        "{text}"
    );
    assert!(text.contains("Permission granted."), "{text}");
    let permission = burrow(&log, "permission").unwrap();
    assert_eq!(permission["optionId"], "yes");
    assert_eq!(permission["decidedBy"], "policy");
    assert_eq!(
        burrow(&log, "turn_ended").unwrap()["stopReason"],
        "end_turn"
    );

    // The workspace lives under --workspaces, outside the data folder.
    let tail = burrow(&log, "workspace_ready").unwrap();
    assert!(
        tail["path"]
            .as_str()
            .unwrap()
            .starts_with(places.workspaces.path().to_str().unwrap())
    );
}

#[test]
fn nothing_to_change_completes_without_a_diff() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &["--agent-permissions", "deny"]);
    let (_, _, run) = completed(&s, &key, "idle", Some("acme/web"));
    assert_eq!(run["output"]["files_changed"], 0);
    assert!(run["output"]["commit"].is_null());
    assert!(run["branch"].is_null(), "no branch for nothing: {run}");
    assert_eq!(run["artifacts"], json!([]));

    // A task with no repository gets an empty folder, and deny refuses the permission.
    let (task, run_id, _) = completed(&s, &key, "work", None);
    let log = final_log(&s, &key, &task, &run_id);
    let text = said(&log);
    assert!(text.contains("Permission refused."), "{text}");
    assert_eq!(burrow(&log, "permission").unwrap()["optionId"], "no");
    assert!(burrow(&log, "workspace_ready").unwrap()["branch"].is_null());
}

#[test]
fn the_agent_sees_only_its_own_environment_and_workspace() {
    let places = Places::new();
    let mut args = vec!["--runner".to_string(), "acp".into()];
    args.extend(places.args(""));
    args.extend(["--agent-env".into(), "FAKE_AGENT_KEY".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = crate::harness::Server::build()
        .args(&args)
        .env("FAKE_AGENT_KEY", "k-123")
        .env("SERVER_SECRET", "do-not-leak")
        .env("BURROW_METRICS_TOKEN", "also-secret")
        .start();
    let key = s.key("task:write");
    let (task, run_id, _) = completed(&s, &key, "env", Some("acme/web"));
    let text = said(&final_log(&s, &key, &task, &run_id));
    let names: Vec<&str> = text
        .trim_start_matches("env: ")
        .split(" home: ")
        .next()
        .unwrap()
        .split(',')
        .collect();
    // pyenv's python3 shim, if that is what runs the agent, adds its own PYENV_* names.
    for name in names
        .iter()
        .filter(|n| !n.trim_start_matches('_').starts_with("PYENV"))
    {
        assert!(
            [
                "FAKE_AGENT_KEY",
                "HOME",
                "PATH",
                "LANG",
                "TZ",
                "PWD",
                "SHLVL",
                "_",
                "LC_CTYPE"
            ]
            .contains(name),
            "{name} reached the agent: {text}"
        );
    }
    assert!(names.contains(&"FAKE_AGENT_KEY"));
    let home = text.split(" home: ").nth(1).unwrap();
    assert!(
        home.starts_with(places.workspaces.path().to_str().unwrap()),
        "{home}"
    );
    assert!(home.ends_with("/home"), "{home}");

    // Paths outside the workspace, by absolute path, `..` or a symlink, are refused.
    let (task, run_id, _) = completed(&s, &key, "outside", Some("acme/web"));
    let log = final_log(&s, &key, &task, &run_id);
    assert!(said(&log).contains("refused 4 of 5"), "{log:#?}");
    let refused: Vec<&Value> = log
        .iter()
        .filter(|e| e["notification"]["method"] == "_burrow/fs_refused")
        .collect();
    assert_eq!(refused.len(), 4);
    assert!(
        !places
            .workspaces
            .path()
            .join(&run_id)
            .join("escaped.txt")
            .exists()
    );

    // A command's output is cut to its byte limit, keeping the end.
    let (task, run_id) = start(&s, &key, "flood", None);
    finished(&s, &key, &task, &run_id);
    let text = said(&final_log(&s, &key, &task, &run_id));
    assert!(
        text.contains("truncated=True, ends with tail-end=True"),
        "{text}"
    );
    let bytes: usize = text
        .split("got ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes <= 1000, "{text}");
    let _ = expect_json;
}

#[test]
fn workspaces_are_removed_once_their_run_has_ended_for_workspace_keep() {
    let places = Places::new();
    let (s, key) = places.server_and_key("", &["--workspace-keep", "1s"]);
    let (_, run_id, run) = completed(&s, &key, "work", Some("acme/web"));
    let folder = places.workspaces.path().join(&run_id);
    crate::harness::runner::poll("the workspace to be removed", || {
        (!folder.exists()).then_some(())
    });
    // The mirror forgets the worktree but keeps the run's branch.
    let mirror = s.dir.join("mirrors/acme/web.git");
    crate::harness::runner::poll("the worktree to be pruned", || {
        let list = git(&mirror, &["worktree", "list"]);
        (!list.contains(run_id.as_str())).then_some(())
    });
    let branch = run["branch"].as_str().unwrap();
    assert_eq!(
        git(&mirror, &["rev-parse", branch]),
        run["output"]["commit"].as_str().unwrap()
    );
}

#[test]
fn a_run_with_a_branch_starts_from_that_branch() {
    let places = Places::new();
    let source = places.sources.path().join("acme/web.git");
    let seed = places.sources.path().join("seed");
    git(&seed, &["checkout", "-q", "-b", "dev"]);
    std::fs::write(seed.join("DEV.md"), "dev only\n").unwrap();
    seed_commit(&seed, "dev");
    git(&seed, &["push", "-q", source.to_str().unwrap(), "dev"]);
    let (s, key) = places.server_and_key("", &[]);
    let task = s.task(
        &key,
        &crate::harness::task_body(json!({"description": "work", "repository": "acme/web"})),
    );
    let id = task["id"].as_str().unwrap();
    let r = s.post(
        &key,
        &format!("/api/projects/1/tasks/{id}/runs/"),
        &json!({"status": "queued", "environment": "cloud", "branch": "dev"}),
    );
    let run_id = expect_json(r, 201)["id"].as_str().unwrap().to_string();
    let run = finished(&s, &key, id, &run_id);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"]["base_branch"], "dev");
    let mirror = s.dir.join("mirrors/acme/web.git");
    let commit = run["output"]["commit"].as_str().unwrap();
    assert_eq!(
        git(&mirror, &["rev-parse", &format!("{commit}~1")]),
        git(&source, &["rev-parse", "dev"])
    );
}
