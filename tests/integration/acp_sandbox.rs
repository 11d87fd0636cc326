//! `--agent-sandbox bwrap`: the agent runs in bubblewrap, with a read-only system, its
//! workspace writable, its own /tmp and no view of Burrow's data folder; its terminal
//! commands too. CI installs bubblewrap; without it the tests are skipped with a note, and
//! fail with CI set.

use crate::harness::acp::*;

fn bwrap_present() -> bool {
    let found = std::process::Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI needs bubblewrap");
        eprintln!("skipped: bubblewrap (bwrap) is not installed or cannot run here");
    }
    found
}

#[test]
fn a_sandboxed_agent_sees_its_workspace_and_not_the_data_folder() {
    if !bwrap_present() {
        return;
    }
    let places = Places::new();
    let (s, key) = places.server_and_key("", &["--agent-sandbox", "bwrap"]);

    // The whole flow works inside the sandbox: fs/*, a terminal, a commit.
    let (task, run_id, run) = completed(&s, &key, "work", Some("acme/web"));
    assert_eq!(run["output"]["files_changed"], 2, "{run}");
    let log = final_log(&s, &key, &task, &run_id);
    assert_eq!(burrow(&log, "agent_started").unwrap()["sandbox"], true);
    assert!(said(&log).contains("terminal said from-terminal (exit 0)"));

    // By its own means, it cannot see the database or write to the system, and its /tmp is
    // its own; what it writes in its workspace is committed.
    let db = s.dir.join("burrow.db").canonicalize().unwrap();
    assert!(db.exists());
    let probe = format!("probe {}", db.display());
    let (task, run_id, run) = completed(&s, &key, &probe, Some("acme/web"));
    let text = said(&final_log(&s, &key, &task, &run_id));
    assert!(
        text.starts_with("target visible=False system writable=False tmp="),
        "{text}"
    );
    // Only the ways to its workspace and to the repository's mirror (in an otherwise
    // empty data folder) show in its /tmp.
    let tmp = text.split("tmp=").nth(1).unwrap();
    let allowed = [places.workspaces.path(), s.dir.as_path()];
    assert!(
        tmp.split(',').all(|name| name.is_empty()
            || allowed
                .iter()
                .any(|p| p.starts_with(format!("/tmp/{name}")))),
        "{tmp}"
    );
    assert_eq!(run["output"]["files_changed"], 1);

    // Without the sandbox, the same agent does see the database.
    let open = places.server("", &[]);
    let key = open.key("task:write");
    let probe = format!(
        "probe {}",
        open.dir.join("burrow.db").canonicalize().unwrap().display()
    );
    let (task, run_id) = start(&open, &key, &probe, None);
    finished(&open, &key, &task, &run_id);
    let text = said(&final_log(&open, &key, &task, &run_id));
    assert!(text.starts_with("target visible=True"), "{text}");
}
