//! Starting agent-server: the Node it needs (checked at start-up), the Claude Code it runs
//! (made executable), and its command line and environment, which hold nothing of the
//! server's own but PATH.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::background::acp::jail::Jail;
use crate::background::workspace::Workspace;
use crate::error::{Error, Result};
use crate::llm_gateway::BASE_PATH;

/// The oldest Node agent-server runs on (older ones die at import).
pub const NODE_MIN: (u64, u64) = (22, 19);

/// The `node` the command runs: its first word when that names a Node binary, otherwise the
/// `node` its PATH finds (what `npx` and agent-server's `#!/usr/bin/env node` use).
pub fn node_of(command: &str) -> String {
    let first = command.split_whitespace().next().unwrap_or_default();
    let name = Path::new(first)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if name.starts_with("node") && !name.starts_with("node-") {
        first.to_string()
    } else {
        "node".to_string()
    }
}

/// The PATH agent-server gets: the server's, with the folder of the command's own Node first,
/// so that whatever it starts with `node` runs the same Node.
pub fn path_for(node: &str) -> OsString {
    let server = std::env::var_os("PATH").unwrap_or_default();
    let Some(dir) = Path::new(node)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    else {
        return server;
    };
    let mut path = dir.as_os_str().to_os_string();
    if !server.is_empty() {
        path.push(":");
        path.push(server);
    }
    path
}

/// Checks that `node --version` says at least 22.19; one line saying what is wrong.
pub fn check_node(node: &str, path: &OsString) -> Result<()> {
    let out = std::process::Command::new(node)
        .arg("--version")
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::unexpected(format!(
                "--posthog-agent-command needs Node >= {}.{}, but {node} cannot run: {e}",
                NODE_MIN.0, NODE_MIN.1
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut parts = text.trim_start_matches('v').split('.');
    let major = parts.next().and_then(|p| p.parse::<u64>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u64>().ok());
    match (major, minor) {
        (Some(major), Some(minor)) if (major, minor) >= NODE_MIN => Ok(()),
        _ => Err(Error::unexpected(format!(
            "--posthog-agent-command needs Node >= {}.{}, but {node} is {}",
            NODE_MIN.0,
            NODE_MIN.1,
            if text.is_empty() { "unknown" } else { &text }
        ))),
    }
}

/// The Claude Code agent-server runs: `--posthog-agent-claude`, or the one its package
/// bundles (`dist/claude-cli/claude`, next to the `dist/server/bin.js` the command names).
/// The package ships it without its execute bit, so a copy in the data folder is made
/// executable. `None` leaves agent-server to find its own (with `npx`).
pub fn claude(
    command: &str,
    configured: Option<&Path>,
    data_dir: &Path,
) -> Result<Option<PathBuf>> {
    let source = match configured {
        Some(path) => path.to_path_buf(),
        None => {
            let bundled = command.split_whitespace().find_map(|word| {
                let script = Path::new(word).canonicalize().ok()?;
                script
                    .ends_with("dist/server/bin.js")
                    .then(|| {
                        script
                            .parent()?
                            .parent()
                            .map(|d| d.join("claude-cli/claude"))
                    })
                    .flatten()
            });
            match bundled {
                Some(path) if path.is_file() => path,
                _ => return Ok(None),
            }
        }
    };
    let meta = std::fs::metadata(&source).map_err(|e| {
        Error::unexpected(format!("--posthog-agent-claude {}: {e}", source.display()))
    })?;
    if meta.permissions().mode() & 0o111 != 0 {
        return Ok(Some(source));
    }
    let folder = data_dir.join("posthog-agent");
    let copy = folder.join("claude");
    let current = std::fs::metadata(&copy)
        .is_ok_and(|m| m.len() == meta.len() && m.modified().ok() >= meta.modified().ok());
    if !current {
        let made = std::fs::create_dir_all(&folder).and_then(|_| {
            let partial = folder.join("claude.partial");
            std::fs::copy(&source, &partial)?;
            std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
            std::fs::rename(&partial, &copy)
        });
        made.map_err(|e| {
            Error::unexpected(format!(
                "cannot make an executable copy of {} in {}: {e}",
                source.display(),
                folder.display()
            ))
        })?;
    }
    Ok(Some(copy))
}

/// What agent-server is told about one run.
pub struct Launch<'a> {
    pub command: &'a str,
    pub path: &'a OsString,
    pub claude: Option<&'a Path>,
    pub public_key: &'a str,
    /// Burrow's base URL as agent-server reaches it.
    pub base_url: &'a str,
    pub key: &'a str,
    /// The run's event ingest token, for agent-server's `event_stream/`.
    pub ingest: Option<&'a str>,
    pub project: i64,
    pub task: &'a str,
    pub run: &'a str,
    pub port: u16,
    pub data_dir: &'a Path,
}

impl Launch<'_> {
    /// `sh -c '<command> "$@"' --taskId … --runId … --mode background --repositoryPath
    /// <worktree> --port N`, in the worktree, in a process group of its own, with only the
    /// environment named here: no provider key, no server secret.
    pub fn command(&self, ws: &Workspace) -> Result<Command> {
        let config_dir = ws.home.join(".claude");
        offline_claude(&config_dir)?;
        let base = self.base_url.trim_end_matches('/');
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), self.path.to_string_lossy().into_owned()),
            ("POSTHOG_API_URL".into(), base.into()),
            ("POSTHOG_PERSONAL_API_KEY".into(), self.key.into()),
            ("POSTHOG_PROJECT_ID".into(), self.project.to_string()),
            ("LLM_GATEWAY_URL".into(), format!("{base}{BASE_PATH}")),
            ("JWT_PUBLIC_KEY".into(), self.public_key.into()),
            // Claude Code offline and as root: see the README's "Running PostHog's agent".
            (
                "CLAUDE_CONFIG_DIR".into(),
                config_dir.to_string_lossy().into_owned(),
            ),
            ("IS_SANDBOX".into(), "1".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("DISABLE_TELEMETRY".into(), "1".into()),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
        ];
        // With the ingest token agent-server sends each event twice, to append_log/ and to
        // event_stream/ (in PostHog's cloud the durable log and the live stream); both feed
        // the one run log here, which keeps each event once (`runs::event_ids`).
        if let Some(token) = self.ingest {
            env.push(("POSTHOG_TASK_RUN_EVENT_INGEST_TOKEN".into(), token.into()));
        }
        if let Some(claude) = self.claude {
            env.push((
                "CLAUDE_CODE_EXECUTABLE".into(),
                claude.to_string_lossy().into_owned(),
            ));
        }
        let work = ws.work.to_string_lossy().into_owned();
        let args = [
            "-c".to_string(),
            format!("{} \"$@\"", self.command),
            "agent-server".into(),
            "--taskId".into(),
            self.task.into(),
            "--runId".into(),
            self.run.into(),
            "--mode".into(),
            "background".into(),
            "--repositoryPath".into(),
            work,
            "--port".into(),
            self.port.to_string(),
        ];
        // A Jail without a sandbox: HOME is the run's, and only PATH, LANG and TZ come from
        // the server (PATH is replaced above).
        let jail = Jail::new(&ws.home, &[], false, &[], self.data_dir);
        Ok(jail.command("sh", &args, &ws.work, &env))
    }
}

/// Claude Code's configuration folder for one run: a plugin blocklist it counts as fresh,
/// so that it does not fetch one from the internet at start.
fn offline_claude(config_dir: &Path) -> Result<()> {
    let plugins = config_dir.join("plugins");
    let blocklist = serde_json::json!({"fetchedAt": crate::clock::now(), "plugins": []});
    std::fs::create_dir_all(&plugins)
        .and_then(|_| std::fs::write(plugins.join("blocklist.json"), blocklist.to_string()))
        .map_err(|e| Error::unexpected(format!("{}: {e}", plugins.display())))
}

/// A free loopback port for agent-server's HTTP server.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::internal)?;
    Ok(listener.local_addr().map_err(Error::internal)?.port())
}
