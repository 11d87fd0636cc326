//! The command runner: a real shell script started for each run talks back to the API with
//! its temporary key, its output lands in the log, its exit code settles the run, and the
//! concurrency limit keeps later runs queued.

use std::path::Path;
use std::time::Duration;

use crate::harness::runner::*;
use crate::harness::{Server, expect_json};
use serde_json::Value;

/// The agent: records its key and environment under `$WORK/<task id>/`, talks back (append
/// a log entry, PATCH the state, try another project), then behaves as `$WORK/mode-<task>`
/// says: `ok` exits 0, `fail` exits 3, `self` marks the run completed itself and exits 3.
const AGENT: &str = r##"
d="$WORK/$BURROW_TASK_ID"; mkdir -p "$d"
mode=$(cat "$WORK/mode-$BURROW_TASK_ID")
echo "$BURROW_API_KEY" > "$d/key"
env | grep -E '^(BURROW|POSTHOG)_' | sort > "$d/env"
echo "hello on stdout"
echo "trouble on stderr" >&2
R="$BURROW_URL/api/projects/$BURROW_PROJECT_ID/tasks/$BURROW_TASK_ID/runs/$BURROW_RUN_ID"
api() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BURROW_API_KEY" -H 'Content-Type: application/json' "$@"; }
api -X POST -d '{"entries":[{"type":"info","message":"from the agent"}]}' "$R/append_log/" > "$d/append"
api -X PATCH -d '{"state":{"step":"done"}}' "$R/" > "$d/patch"
api "$BURROW_URL/api/projects/2/tasks/" > "$d/other"
case "$mode" in
  ok) exit 0 ;;
  fail) exit 3 ;;
  self) api -X PATCH -d '{"status":"completed","output":{"pr":"#1"}}' "$R/" > /dev/null; exit 3 ;;
esac
"##;

fn runner_server(work: &Path, script_name: &str, concurrency: &str) -> Server {
    Server::build()
        .command_runner(&sh_command(work, script_name))
        .args(["--runner-concurrency", concurrency])
        .start()
}

/// Starts a run of a new task whose agent behaves as `mode` says.
fn run_in_mode(s: &Server, key: &str, work: &Path, mode: &str) -> (String, String) {
    let task = s.new_task(key);
    std::fs::write(work.join(format!("mode-{task}")), mode).unwrap();
    let run = start_run(s, key, &task);
    (task, run)
}

fn read(work: &Path, task: &str, file: &str) -> String {
    std::fs::read_to_string(work.join(task).join(file)).unwrap()
}

fn has(log: &[Value], check: impl Fn(&Value) -> bool) -> bool {
    log.iter().any(check)
}

#[test]
fn each_run_gets_the_command_with_its_own_short_lived_key() {
    let work = tempfile::tempdir().unwrap();
    script(work.path(), "agent.sh", AGENT);
    let s = runner_server(work.path(), "agent.sh", "4");
    let key = s.key("task:write");
    s.project("Other");
    let (ok_task, ok_run) = run_in_mode(&s, &key, work.path(), "ok");
    let (fail_task, fail_run) = run_in_mode(&s, &key, work.path(), "fail");
    let (self_task, self_run) = run_in_mode(&s, &key, work.path(), "self");

    // Exit 0: completed, with the agent's writes and its output in the log.
    let run = wait_status(&s, &key, &ok_task, &ok_run, "completed");
    assert!(run["error_message"].is_null(), "{run}");
    assert_eq!(run["state"]["step"], "done");
    assert_eq!(read(work.path(), &ok_task, "append"), "200");
    assert_eq!(read(work.path(), &ok_task, "patch"), "200");
    assert_eq!(
        read(work.path(), &ok_task, "other"),
        "404",
        "the key reaches the run's project only"
    );
    let entries = run_log(&s, &key, &ok_task, &ok_run);
    assert!(has(&entries, |e| e["type"] == "console"
        && e["stream"] == "stdout"
        && e["level"] == "info"
        && e["message"] == "hello on stdout"));
    assert!(has(&entries, |e| e["stream"] == "stderr"
        && e["level"] == "error"
        && e["message"] == "trouble on stderr"));
    assert!(has(&entries, |e| e["message"] == "from the agent"));
    assert!(has(&entries, |e| e["source"] == "burrow"
        && e["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 0")));

    // Its environment names the server, the project, the task, the run and the key.
    let env = read(work.path(), &ok_task, "env");
    let key_used = read(work.path(), &ok_task, "key").trim().to_string();
    for line in [
        format!("BURROW_URL={}", s.base),
        "BURROW_PROJECT_ID=1".into(),
        format!("BURROW_TASK_ID={ok_task}"),
        format!("BURROW_RUN_ID={ok_run}"),
        format!("BURROW_API_KEY={key_used}"),
        format!("POSTHOG_API_URL={}", s.base),
        format!("POSTHOG_PERSONAL_API_KEY={key_used}"),
        "POSTHOG_PROJECT_ID=1".into(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in:\n{env}");
    }
    // And the run's event ingest token, under both names, which opens its event stream.
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("BURROW_EVENT_INGEST_TOKEN="))
        .unwrap_or_else(|| panic!("an ingest token in:\n{env}"));
    let posthog = format!("POSTHOG_TASK_RUN_EVENT_INGEST_TOKEN={token}");
    assert!(env.lines().any(|l| l == posthog), "{env}");
    let stream = run_path(&ok_task, &ok_run, "event_stream/");
    let r = s.req(token, reqwest::Method::POST, &stream).send().unwrap();
    assert_eq!(expect_json(r, 200)["last_accepted_seq"], 0);
    // Once the run is over, the key is refused.
    let refused = s.get(&key_used, "/api/projects/1/tasks/");
    assert_eq!(refused.status(), 401, "the run's key after the run");

    // Exit 3: failed, saying so.
    let run = wait_status(&s, &key, &fail_task, &fail_run, "failed");
    let error = run["error_message"].as_str().unwrap();
    assert!(error.contains("code 3"), "{error}");

    // A command that settles the run itself keeps its status, whatever its exit code.
    let run = wait_status(&s, &key, &self_task, &self_run, "completed");
    assert_eq!(run["output"]["pr"], "#1");
    assert!(run["error_message"].is_null(), "{run}");
    let self_key = read(work.path(), &self_task, "key").trim().to_string();
    poll("the key of a self-settled run to be revoked", || {
        (s.get(&self_key, "/api/projects/1/tasks/").status() == 401).then_some(())
    });
    assert!(has(&run_log(&s, &key, &self_task, &self_run), |e| {
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("exited with code 3")
    }));
}

#[test]
fn the_concurrency_limit_keeps_later_runs_queued() {
    let work = tempfile::tempdir().unwrap();
    script(
        work.path(),
        "wait.sh",
        r#"until [ -e "$WORK/go-$BURROW_TASK_ID" ]; do sleep 0.05; done"#,
    );
    let s = runner_server(work.path(), "wait.sh", "1");
    let key = s.key("task:write");
    let go = |task: &str| std::fs::write(work.path().join(format!("go-{task}")), "").unwrap();

    let first_task = s.new_task(&key);
    let first = start_run(&s, &key, &first_task);
    wait_status(&s, &key, &first_task, &first, "in_progress");
    let second_task = s.new_task(&key);
    let second = start_run(&s, &key, &second_task);
    // While the first runs, the second waits: give the runner every chance to break that.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(get_run(&s, &key, &second_task, &second)["status"], "queued");

    go(&first_task);
    let done = wait_status(&s, &key, &first_task, &first, "completed");
    wait_status(&s, &key, &second_task, &second, "in_progress");
    go(&second_task);
    wait_status(&s, &key, &second_task, &second, "completed");

    // The second started only after the first had finished.
    let started = run_log(&s, &key, &second_task, &second)
        .into_iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("Started the command")
        })
        .expect("a start entry");
    assert!(
        started["timestamp"].as_str().unwrap() >= done["completed_at"].as_str().unwrap(),
        "{started} vs {done}"
    );
    let r = s.get(&key, "/api/projects/1/webhook_deliveries/");
    assert_eq!(expect_json(r, 200)["count"], 0, "no webhooks configured");
}
