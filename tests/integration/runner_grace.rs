//! Stopping a command started without `exec`: SIGTERM reaches the whole process group and
//! Burrow waits the grace period for every process in it, not only for the `sh` that leads
//! it; the run's stream ends only after the entries that stopping the command writes; and a
//! graceful stop of Burrow, or the next start after a crash, stops the commands too.

use std::path::Path;

use tempfile::TempDir;

use crate::harness::Server;
use crate::harness::runner::*;
use serde_json::json;

/// A bash agent with a TERM handler that takes a while (a second) and leaves proof that it
/// ran; it records its pid and its child's under `$WORK/<task id>.*`.
const TRAPPER: &str = r#"
trap 'echo "cleaning up"; sleep 1; echo done > "$WORK/$BURROW_TASK_ID.trapped"; exit 0' TERM
sleep 600 &
echo $! > "$WORK/$BURROW_TASK_ID.child"
echo $$ > "$WORK/$BURROW_TASK_ID.pid"
echo "working"
wait
"#;

/// `cd DIR && bash trap.sh`: the shell stays the group's leader and dies at once on SIGTERM.
fn command(work: &Path) -> String {
    format!(
        "export WORK={w}; cd {w} && bash {w}/trap.sh",
        w = work.display()
    )
}

fn pids(work: &Path, task: &str) -> (String, String) {
    poll("the agent's pid files", || {
        let pid = std::fs::read_to_string(work.join(format!("{task}.pid"))).ok()?;
        let child = std::fs::read_to_string(work.join(format!("{task}.child"))).ok()?;
        Some((pid, child))
    })
}

/// A trapper agent at work: its folder, the server, a key, the task and its run, the agent's
/// pid and its child's, and what reaps them both.
type Trapper = (
    TempDir,
    Server,
    String,
    String,
    String,
    String,
    String,
    Reap,
);

/// Starts a server running `trap.sh` from a new folder, and a run of a new task; waits for
/// the agent's pid files.
fn start_trapper() -> Trapper {
    let work = tempfile::tempdir().unwrap();
    script(work.path(), "trap.sh", TRAPPER);
    let s = server(work.path(), None);
    let key = s.key("task:write");
    let task = s.new_task(&key);
    let run = start_run(&s, &key, &task);
    let (pid, child) = pids(work.path(), &task);
    let reap = Reap(vec![pid.clone(), child.clone()]);
    (work, s, key, task, run, pid, child, reap)
}

/// Kills what a failing test would leave running.
struct Reap(Vec<String>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-9", pid.trim()])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn server(work: &Path, dir: Option<&Path>) -> Server {
    let build = Server::build()
        .command_runner(&command(work))
        .args(["--runner-grace", "20s"]);
    match dir {
        Some(dir) => build.data_dir(dir).start(),
        None => build.start(),
    }
}

#[test]
fn a_cancelled_script_without_exec_runs_its_trap_and_the_stream_ends_after_every_entry() {
    let (work, s, key, task, run, pid, child, _reap) = start_trapper();
    let sse = s.stream_url(&key, &s.url(&run_path(&task, &run, "stream/")), None);
    let mut events = sse.until(|e| e.is_entry() && e.json()["message"] == "working");

    let r = s.post(&key, &run_path(&task, &run, "cancel/"), &json!({}));
    assert_eq!(crate::harness::expect_json(r, 200)["status"], "cancelled");
    events.extend(sse.to_close());

    let log = run_log(&s, &key, &task, &run);
    // `end` comes after every entry, the runner's notes included.
    let end = events.last().expect("an end event");
    assert_eq!(end.event, "end", "{events:?}");
    let last = crate::harness::sse::entry_ids(&events)
        .into_iter()
        .max()
        .unwrap();
    assert_eq!(end.json()["last_event_id"], last);
    assert_eq!(
        crate::harness::sse::entry_ids(&events).len(),
        log.len(),
        "the stream carried the whole log"
    );
    assert!(events.iter().any(|e| {
        e.is_entry()
            && e.json()["message"]
                .as_str()
                .unwrap_or("")
                .contains("killed by signal 15")
    }));
    // The trap ran to its end: `sh` dying first did not cut the grace short.
    assert!(
        work.path().join(format!("{task}.trapped")).exists(),
        "the TERM handler did not finish"
    );
    assert!(process_gone(&pid) && process_gone(&child));
    let said = |text: &str| {
        log.iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains(text))
    };
    assert!(said("cleaning up"), "{log:?}");
    assert!(said("stopping the command (SIGTERM)"));
    assert!(said("killed by signal 15"), "{log:?}");
    assert!(
        !said("SIGKILL"),
        "no SIGKILL within the grace period: {log:?}"
    );
}

#[test]
fn a_graceful_stop_stops_the_commands_and_fails_their_runs() {
    let (work, mut s, key, task, run, pid, child, _reap) = start_trapper();
    poll("the agent's output", || {
        run_log(&s, &key, &task, &run)
            .iter()
            .any(|e| e["message"] == "working")
            .then_some(())
    });

    assert!(s.terminate().success());
    // Before Burrow exited: the command had its SIGTERM and grace, and its run is settled.
    assert!(work.path().join(format!("{task}.trapped")).exists());
    assert!(process_gone(&pid) && process_gone(&child));
    let (status, error): (String, String) = s
        .sqlite()
        .query_row(
            "SELECT status, error_message FROM task_runs WHERE id = ?1",
            [&run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("Burrow was shutting down"), "{error}");
}

#[test]
fn the_next_start_after_a_crash_stops_the_commands_left_running() {
    let (work, mut s, _, task, run, pid, child, _reap) = start_trapper();

    s.kill();
    assert!(
        !process_gone(&pid) && !process_gone(&child),
        "outlived the crash"
    );
    let again = server(work.path(), Some(&s.dir));
    // Start-up stops them before it serves, and removes their working folder.
    assert!(process_gone(&pid) && process_gone(&child));
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("burrow-run-{run}-"))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let key = again.key("task:write");
    let after = get_run(&again, &key, &task, &run);
    assert_eq!(after["status"], "failed");
}
