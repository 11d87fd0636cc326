//! The command line keeps the API's rules and the other commands' habits: passwords the API
//! would refuse, blank accounts, overwriting exports, unnamed missing files and half-made
//! databases are all refused or avoided.

use crate::harness::cli;
use crate::harness::stores::{must_fail, must_succeed};
use serde_json::json;

#[test]
fn passwords_follow_the_api_rules_and_a_user_made_here_can_sign_in() {
    let s = crate::harness::Server::start();
    for bad in ["", "abc", "1234567"] {
        let stderr = must_fail(s.cli(&["user", "create", "--email", "w@x.io", "--password", bad]));
        assert!(
            stderr.contains("at least 8 characters"),
            "{bad:?}: {stderr}"
        );
    }
    assert!(must_fail(s.cli(&["key", "list", "--email", "w@x.io"])).contains("no user"));
    must_succeed(s.cli(&[
        "user",
        "create",
        "--email",
        "w@x.io",
        "--password",
        "long enough",
    ]));
    let stderr = must_fail(s.cli(&[
        "user",
        "set-password",
        "--email",
        "w@x.io",
        "--password",
        "abc",
    ]));
    assert!(stderr.contains("at least 8 characters"), "{stderr}");
    let r = s
        .client
        .post(s.url("/api/auth/login"))
        .json(&json!({"email": "w@x.io", "password": "long enough"}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[test]
fn a_blank_integration_account_is_refused() {
    let s = crate::harness::Server::start();
    for blank in ["", "   "] {
        let stderr = must_fail(s.cli(&[
            "integration",
            "create",
            "--project",
            "1",
            "--account",
            blank,
        ]));
        assert!(stderr.contains("account"), "{stderr}");
    }
}

#[test]
fn export_and_import_name_their_files_and_leave_nothing_half_done() {
    let s = crate::harness::Server::start();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("export.jsonl");
    std::fs::write(&file, "keep me").unwrap();
    let stderr = must_fail(s.cli(&["export", file.to_str().unwrap()]));
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let target = tempfile::tempdir().unwrap();
    let missing = out.path().join("nowhere.jsonl");
    let stderr = must_fail(cli(target.path(), &["import", missing.to_str().unwrap()]));
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    assert!(!target.path().join("burrow.db").exists());

    // A file that is not an export: the import fails and leaves no database behind.
    let stderr = must_fail(cli(target.path(), &["import", file.to_str().unwrap()]));
    assert!(!stderr.is_empty());
    assert!(
        !target.path().join("burrow.db").exists(),
        "a fresh burrow.db is left"
    );
    assert!(!target.path().join("burrow.db-wal").exists());
}
