//! Artifacts on the default store, the data folder's `artifacts/`: every endpoint and error
//! over real HTTP, and that no name or path puts a file outside that folder.

use crate::artifact_checks::{access, direct, inline, refusals};
use crate::harness::Server;
use crate::harness::stores::{Backend, relative, walk};

#[test]
fn inline_uploads_on_a_local_folder() {
    let store = Backend::local();
    let s = store.start(&[]);
    inline::inline_round_trips(&s, &store);
    inline::names_stay_in_the_run(&s, &store);
    access::paths_not_on_the_run(&s, &store);
    access::scopes(&s, &store);
    nothing_outside_the_run_folders(&s);
}

#[test]
fn direct_uploads_on_a_local_folder() {
    let store = Backend::local();
    let s = store.start(&[]);
    direct::round_trip(&s, &store);
    refusals::refused_uploads(&s, &store);
    refusals::refused_finalize(&s, &store);
    refusals::hang_up_mid_upload(&s, &store);
    refusals::finalized_once(&s, &store);
    refusals::late_upload_after_finalize(&s, &store);
    nothing_outside_the_run_folders(&s);
}

#[test]
fn presigned_urls_and_limits_on_a_local_folder() {
    let store = Backend::local();
    let s = store.start(&["--artifact-max-bytes", "1024"]);
    access::presigned_urls(&s, &store);
    inline::size_limit(&s, &store);
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
