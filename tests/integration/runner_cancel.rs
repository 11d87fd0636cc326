//! Cancelling a command runner's run stops its process: SIGTERM to the whole process group,
//! then SIGKILL after the grace period for a command that ignores SIGTERM.

use std::path::Path;

use crate::harness::Server;
use crate::harness::runner::*;
use serde_json::json;

/// Writes its pid and its child's pid under `$WORK/<task id>/`, then waits on a long sleep;
/// with `$WORK/stubborn-<task>` it ignores SIGTERM (and so does its sleep).
const SLEEPER: &str = r#"
d="$WORK/$BURROW_TASK_ID"; mkdir -p "$d"
if [ -e "$WORK/stubborn-$BURROW_TASK_ID" ]; then trap '' TERM; fi
sleep 600 &
echo $! > "$d/child"
echo $$ > "$d/pid"
echo "sleeping"
wait
"#;

fn pids(work: &Path, task: &str) -> (String, String) {
    poll("the script's pid files", || {
        let pid = std::fs::read_to_string(work.join(task).join("pid")).ok()?;
        let child = std::fs::read_to_string(work.join(task).join("child")).ok()?;
        Some((pid, child))
    })
}

#[test]
fn cancelling_stops_the_command_and_sticks() {
    let work = tempfile::tempdir().unwrap();
    script(work.path(), "sleeper.sh", SLEEPER);
    let (s, key) = Server::build()
        .command_runner(&exec_command(work.path(), "sleeper.sh"))
        .args(["--runner-grace", "1s"])
        .start_with_key("task:write");

    // PATCH to cancelled, as a user would: SIGTERM stops the script and its sleep.
    let task = s.new_task(&key);
    let run = start_run(&s, &key, &task);
    wait_status(&s, &key, &task, &run, "in_progress");
    let (pid, child) = pids(work.path(), &task);
    assert!(!process_gone(&pid) && !process_gone(&child));
    let r = s.patch(
        &key,
        &run_path(&task, &run, ""),
        &json!({"status": "cancelled"}),
    );
    assert_eq!(r.status(), 200);
    poll("the script and its child to stop", || {
        (process_gone(&pid) && process_gone(&child)).then_some(())
    });
    let log = wait_log(&s, &key, &task, &run, "killed by signal 15");
    assert!(log.iter().any(|e| e["message"] == "sleeping"));
    assert!(log.iter().any(|e| {
        e["source"] == "burrow" && e["message"].as_str().unwrap().contains("SIGTERM")
    }));
    let after = get_run(&s, &key, &task, &run);
    assert_eq!(
        after["status"], "cancelled",
        "the exit does not overwrite it"
    );
    assert!(after["completed_at"].is_string());

    // cancel/ on a command that ignores SIGTERM: SIGKILL after the grace period.
    let task = s.new_task(&key);
    std::fs::write(work.path().join(format!("stubborn-{task}")), "").unwrap();
    let run = start_run(&s, &key, &task);
    let (pid, child) = pids(work.path(), &task);
    let r = s.post(&key, &run_path(&task, &run, "cancel/"), &json!({}));
    assert_eq!(crate::harness::expect_json(r, 200)["status"], "cancelled");
    poll("the stubborn script to be killed", || {
        (process_gone(&pid) && process_gone(&child)).then_some(())
    });
    let log = wait_log(&s, &key, &task, &run, "killed by signal 9");
    assert!(
        log.iter().any(|e| {
            e["message"] == "The command did not stop within 1s: killing it (SIGKILL)."
        })
    );
    assert_eq!(get_run(&s, &key, &task, &run)["status"], "cancelled");

    // A cancelled run stays cancelled: cancel/ again and a later PATCH leave it so.
    let r = s.post(&key, &run_path(&task, &run, "cancel/"), &json!({}));
    assert_eq!(crate::harness::expect_json(r, 200)["status"], "cancelled");
    let r = s.patch(
        &key,
        &run_path(&task, &run, ""),
        &json!({"status": "completed"}),
    );
    assert_eq!(crate::harness::expect_json(r, 200)["status"], "cancelled");
}
