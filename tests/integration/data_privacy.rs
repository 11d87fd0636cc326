//! Secrets at rest: the data folder is 0700 and the database, its WAL and shared-memory
//! files, backups and exports 0600, whatever the umask; an export leaves password hashes
//! out unless `--include-secrets` is given, and imported users then set a new password.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{Server, cli_ok};
use serde_json::{Value, json};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn assert_mode(path: &Path, expected: u32) {
    assert_eq!(
        mode(path),
        expected,
        "{} is {:o}, not {expected:o}",
        path.display(),
        mode(path)
    );
}

fn set_mode(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

fn db_files(data: &Path) -> [std::path::PathBuf; 3] {
    ["burrow.db", "burrow.db-wal", "burrow.db-shm"].map(|f| data.join(f))
}

#[test]
fn the_data_folder_backups_and_exports_are_private_to_burrows_user() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let (mut s, key) = Server::build().data_dir(&data).start_with_key("task:write");
    s.task(&key, &crate::harness::task_body(json!({})));
    assert_mode(&data, 0o700);
    for file in db_files(&data) {
        assert_mode(&file, 0o600);
    }

    let backup = parent.path().join("backup.db");
    s.cli_ok(&["backup", backup.to_str().unwrap()]);
    assert_mode(&backup, 0o600);

    // An export is private too (like a backup, it never replaces a file already there).
    let export = parent.path().join("export.jsonl");
    let out = s.cli(&["export", export.to_str().unwrap()]);
    assert!(out.status.success());
    assert_mode(&export, 0o600);

    // A folder an older Burrow left open is closed when the server starts on it.
    s.terminate();
    set_mode(&data, 0o755);
    set_mode(&data.join("burrow.db"), 0o644);
    let s = Server::build().data_dir(&data).start();
    s.task(&key, &crate::harness::task_body(json!({})));
    assert_mode(&data, 0o700);
    for file in db_files(&data) {
        assert_mode(&file, 0o600);
    }

    // A restored database is as private as the live one was.
    drop(s);
    set_mode(&backup, 0o644);
    cli_ok(&data, &["restore", backup.to_str().unwrap()]);
    assert_mode(&data.join("burrow.db"), 0o600);
}

fn users_in(export: &str) -> Vec<Value> {
    export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["table"] == "users")
        .map(|l| l["row"].clone())
        .collect()
}

fn login(s: &Server, email: &str, password: &str) -> u16 {
    s.post(
        "",
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
    )
    .status()
    .as_u16()
}

#[test]
fn export_leaves_password_hashes_out_unless_asked_and_imported_users_set_a_new_one() {
    let s = Server::start();
    s.cli_ok(&[
        "user",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "correct-horse-battery",
    ]);
    let parent = tempfile::tempdir().unwrap();
    let plain = parent.path().join("plain.jsonl");
    let out = s.cli(&["export", plain.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(!text.contains("$argon2"), "{text}");
    let users = users_in(&text);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], "ada@example.com");
    assert!(users[0].get("password_hash").is_none(), "{}", users[0]);

    let out = s.cli(&["export", "--include-secrets"]);
    assert!(out.status.success());
    let users = users_in(&String::from_utf8(out.stdout).unwrap());
    assert!(
        users[0]["password_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("$argon2id$")),
        "{}",
        users[0]
    );

    // Imported without a hash, the user cannot sign in until a password is set.
    let target = tempfile::tempdir().unwrap();
    cli_ok(target.path(), &["import", plain.to_str().unwrap()]);
    let t = Server::build().data_dir(target.path()).start();
    assert_eq!(login(&t, "ada@example.com", "correct-horse-battery"), 401);
    t.cli_ok(&[
        "user",
        "set-password",
        "--email",
        "ada@example.com",
        "--password",
        "a-new-long-password",
    ]);
    assert_eq!(login(&t, "ada@example.com", "a-new-long-password"), 200);
    // Without --password, one is generated and printed once.
    let printed = t.cli_ok(&["user", "set-password", "--email", "ada@example.com"]);
    let generated = printed
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("a generated password");
    assert_eq!(login(&t, "ada@example.com", generated), 200);
    assert_eq!(login(&t, "ada@example.com", "a-new-long-password"), 401);
    let missing = t.cli(&["user", "set-password", "--email", "nobody@example.com"]);
    assert!(!missing.status.success());
}
