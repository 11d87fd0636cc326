//! The administrative commands run on the server's data folder, and the users, keys,
//! projects and integrations they make for a test.

use std::path::Path;
use std::process::{Command, Output};

use super::{BIN, Server};

/// The longest an admin command may take (a backup of a large database, an export).
pub const LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

impl Server {
    /// Runs `burrow --data-dir <this server's folder> ARGS…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.dir, args)
    }

    /// Runs a command that must succeed and returns its standard output, trimmed.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        cli_ok(&self.dir, args)
    }

    /// As `cli_ok`, with the arguments written as one line of words (none with a space).
    pub fn cli_line(&self, line: &str) -> String {
        self.cli_ok(&line.split(' ').collect::<Vec<_>>())
    }

    /// A new key for `admin@localhost` (created on first use) with these scopes.
    pub fn key(&self, scopes: &str) -> String {
        self.key_for("admin@localhost", scopes, &[])
    }

    pub fn key_for(&self, email: &str, scopes: &str, projects: &[i64]) -> String {
        let mut args = vec!["key", "create", "--email", email, "--scopes", scopes];
        let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
        for id in &ids {
            args.push("--project");
            args.push(id);
        }
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "key create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A key with a label (one word), and its id as `burrow key list` shows it.
    pub fn labeled_key(&self, email: &str, label: &str, scopes: &str) -> (String, String) {
        let value = self.cli_ok(&[
            "key", "create", "--email", email, "--label", label, "--scopes", scopes,
        ]);
        (value, self.key_id(email, label))
    }

    /// The id of the user's key with this label, from `burrow key list`.
    pub fn key_id(&self, email: &str, label: &str) -> String {
        let list = self.cli_ok(&["key", "list", "--email", email]);
        list.lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.get(1) == Some(&label))
            .map(|cols| cols[0].to_string())
            .unwrap_or_else(|| panic!("no key labeled {label} in:\n{list}"))
    }

    /// Creates a project with `burrow project create` and returns its id.
    pub fn project(&self, name: &str) -> i64 {
        self.cli_ok(&["project", "create", "--name", name])
            .parse()
            .expect("project create prints an integer id")
    }

    /// Adds a GitHub integration to project 1 with the command line; returns its id.
    pub fn integration(&self, account: &str) -> i64 {
        self.cli_ok(&[
            "integration",
            "create",
            "--project",
            "1",
            "--account",
            account,
        ])
        .parse()
        .expect("integration create prints an integer id")
    }
}

/// Runs `burrow --data-dir DIR ARGS…` to completion.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    cli_env(dir, args, &[])
}

/// Runs `burrow --data-dir DIR ARGS…`, which must succeed; returns its standard output,
/// trimmed.
pub fn cli_ok(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "burrow {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs `burrow --data-dir DIR ARGS…` to completion with extra environment variables.
pub fn cli_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--log")
        .arg("warn")
        .args(args)
        .envs(env.iter().copied());
    super::watchdog::output_within(&mut cmd, "burrow", LIMIT)
}
