//! The administrative commands on the data folder of a running server: what they print, that
//! the server sees their work at once, and one-line errors for bad arguments.

use crate::harness::{Server, assert_error, assert_not_found, expect_json, task_body};
use serde_json::json;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn users_and_projects_are_created_beside_a_running_server() {
    let s = Server::start();
    let with_password = s.cli_ok(&[
        "user",
        "create",
        "--email",
        "alice@example.com",
        "--password",
        "correct horse",
    ]);
    assert!(
        with_password.contains("alice@example.com"),
        "{with_password}"
    );
    assert!(
        !with_password.contains("Password"),
        "a given password is not echoed"
    );
    assert!(!with_password.contains("correct horse"));

    let mut generated = Vec::new();
    for email in ["bob@example.com", "carol@example.com"] {
        let out = s.cli_ok(&["user", "create", "--email", email]);
        let password = out
            .lines()
            .find_map(|l| l.strip_prefix("Password: "))
            .unwrap_or_else(|| panic!("a generated password in {out:?}"));
        assert_eq!(password.len(), 20, "{password}");
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{password}"
        );
        generated.push(password.to_string());
    }
    assert_ne!(generated[0], generated[1]);

    let out = s.cli(&["project", "create", "--name", "Test Team"]);
    assert!(out.status.success());
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    let id: i64 = printed.trim().parse().expect("an integer id");
    let key = s.key_for("alice@example.com", "*", &[]);
    let project = expect_json(s.get(&key, &format!("/api/projects/{id}/")), 200);
    assert_eq!(project["name"], "Test Team");
    let tasks = format!("/api/projects/{id}/tasks/");
    let t = expect_json(s.post(&key, &tasks, &task_body(json!({}))), 201);
    assert_eq!(t["slug"], "TES-0");
    assert_eq!(t["created_by"]["email"], "alice@example.com");
    let listed = expect_json(s.get(&key, "/api/projects/"), 200);
    assert_eq!(listed["count"], 2);
}

#[test]
fn keys_are_created_listed_and_revoked_beside_a_running_server() {
    let s = Server::start();
    let email = "dev@example.com";
    let out = s.cli(&[
        "key",
        "create",
        "--email",
        email,
        "--label",
        "laptop",
        "--scopes",
        "task:write",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "only the key: {printed:?}");
    let key = printed.trim();
    assert!(key.starts_with("phx_"), "{key}");
    assert!(key[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The key works at once, for a user the command created.
    let t = s.task(key, &task_body(json!({})));
    assert_eq!(t["created_by"]["email"], email);
    assert_eq!(
        expect_json(s.get(key, "/api/users/@me/"), 200)["email"],
        email
    );

    let list = s.cli_ok(&["key", "list", "--email", email]);
    assert!(!list.contains(key), "the list never shows a key's value");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one key: {list}");
    assert!(lines[0].starts_with("ID"), "{list}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[1..4], ["laptop", "task:write", "all"], "{list}");
    assert_eq!(row.last(), Some(&"active"));
    let id = s.key_id(email, "laptop");
    // Its last use shows up too (recorded in the background, so allow it a moment).
    let used = (0..50).any(|_| {
        let list = s.cli_ok(&["key", "list", "--email", email]);
        let row: Vec<String> = list
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(100));
        row[5] != "never"
    });
    assert!(used, "key list shows when the key was last used");

    let revoked = s.cli_ok(&["key", "revoke", "--id", &id]);
    assert!(revoked.contains(&id), "{revoked}");
    // The running server refuses it from the next request on.
    let r = s.get(key, "/api/projects/1/tasks/");
    assert_error(
        r,
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
    let list = s.cli_ok(&["key", "list", "--email", email]);
    assert!(list.lines().nth(1).unwrap().ends_with("revoked"), "{list}");
    let again = s.cli(&["key", "revoke", "--id", &id]);
    assert!(!again.status.success(), "a key is revoked once");

    // --project limits the key; --scopes takes a comma-separated list.
    let p = s.project("Limited");
    let arg = p.to_string();
    let limited = s.cli_ok(&[
        "key",
        "create",
        "--email",
        email,
        "--scopes",
        "task:read, task:write",
        "--project",
        &arg,
    ]);
    let r = s.get(&limited, "/api/projects/1/tasks/");
    assert_not_found(r);
    let created = s.post(
        &limited,
        &format!("/api/projects/{p}/tasks/"),
        &task_body(json!({})),
    );
    assert_eq!(created.status(), 201);
    let list = s.cli_ok(&["key", "list", "--email", email]);
    let newest: Vec<&str> = list.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        newest[2..4],
        ["task:read,task:write", arg.as_str()],
        "{list}"
    );
}

#[test]
fn bad_arguments_fail_with_one_line() {
    let s = Server::start();
    s.cli_ok(&["user", "create", "--email", "taken@example.com"]);
    // One command line a row, split at spaces; the rows below need a space or nothing in one
    // argument.
    let lines = [
        "key create --email a@example.com",
        "key create --email a@example.com --scopes task:admin",
        "key create --email a@example.com --scopes task:read,nope",
        "key create --email a@example.com --scopes task:read --project 999",
        "key create --email a@example.com --scopes task:read --project x",
        "key create --email not-an-email --scopes task:read",
        "key create --email a@example.com --scopes * --bogus",
        "key list --email nobody@example.com",
        "key list",
        "key revoke --id nope",
        "key",
        "user create --email taken@example.com",
        "user create",
        "project create",
        "integration create --project 999 --account acme",
        "integration create --project one --account acme",
        "frobnicate",
        "--json-limit lots key list --email taken@example.com",
        "--addr nowhere serve",
    ];
    let mut cases: Vec<Vec<&str>> = lines.iter().map(|l| l.split(' ').collect()).collect();
    cases.extend([
        vec!["key", "create", "--email", "a@example.com", "--scopes", ""],
        vec!["user", "create", "--email", "no at sign"],
        vec!["project", "create", "--name", "  "],
    ]);
    for args in &cases {
        let out = s.cli(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "burrow {args:?} succeeded");
        assert!(
            out.stdout.is_empty(),
            "burrow {args:?} printed {:?}",
            stdout(&out)
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "burrow {args:?}: one line, got:\n{err}"
        );
        assert!(err.starts_with("error: "), "burrow {args:?}: {err}");
    }
    // A failed command leaves nothing behind: no user for a@example.com was kept.
    let out = s.cli(&["key", "list", "--email", "a@example.com"]);
    assert!(!out.status.success());
    let key = s.key("*");
    let projects = expect_json(s.get(&key, "/api/projects/"), 200);
    assert_eq!(projects["count"], 1);
}
