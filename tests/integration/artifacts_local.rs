//! Artifacts on the default store, the data folder's `artifacts/`: every endpoint and error
//! over real HTTP, and that no name or path puts a file outside that folder.

use crate::artifact_checks::{Check, DIRECT, INLINE, LIMIT_ARGS, LIMITS, run_checks};
use crate::harness::Server;
use crate::harness::stores::{Backend, relative, walk};

#[test]
fn inline_uploads_on_a_local_folder() {
    on_a_local_folder(&[], INLINE);
}

#[test]
fn direct_uploads_on_a_local_folder() {
    on_a_local_folder(&[], DIRECT);
}

#[test]
fn presigned_urls_and_limits_on_a_local_folder() {
    on_a_local_folder(&LIMIT_ARGS, LIMITS);
}

/// Runs `checks` on a server with `args` on a local folder, then looks for stray files.
fn on_a_local_folder(args: &[&str], checks: &[Check]) {
    let s = run_checks(&Backend::local(), args, checks);
    nothing_outside_the_run_folders(&s);
}

/// Every file in the data folder is the database or an object in some run's folder (no
/// stray staging files either).
fn nothing_outside_the_run_folders(s: &Server) {
    let mut files = Vec::new();
    walk(&s.dir, &mut files);
    for file in files {
        let path = relative(&s.dir, &file);
        let in_a_run = path
            .strip_prefix("artifacts/tasks/artifacts/team_1/task_")
            .is_some_and(|rest| {
                rest.split('/')
                    .nth(1)
                    .is_some_and(|r| r.starts_with("run_"))
            });
        let database =
            ["burrow.db", "burrow.db-wal", "burrow.db-shm", "server.lock"].contains(&path.as_str());
        assert!(in_a_run || database, "unexpected file {path}");
    }
}
