//! The git command line as Burrow calls it: every call with a timeout, a clean environment
//! and an error that names the command and quotes git.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::duration::humane;

pub struct Git {
    pub timeout: Duration,
}

impl Git {
    /// Runs `git -C dir args…`; its stdout, or why it failed.
    pub async fn bytes(&self, dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(dir).args(args);
        clean_env(&mut cmd);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("Could not run git: {e}"))?;
        let shown = args.join(" ");
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| {
                format!(
                    "git {shown} took longer than {} (--git-timeout).",
                    humane(self.timeout)
                )
            })?
            .map_err(|e| format!("git {shown}: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("git {shown} failed: {}", err.trim()));
        }
        Ok(out.stdout)
    }

    /// `bytes`, as trimmed text.
    pub async fn run(&self, dir: &Path, args: &[&str]) -> Result<String, String> {
        let out = self.bytes(dir, args).await?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }
}

/// What git gets of the server's environment: enough to find programs and the server
/// user's own git and ssh set-up (credentials for private sources), nothing else.
fn clean_env(cmd: &mut Command) {
    cmd.env_clear();
    for name in ["PATH", "HOME", "LANG", "TZ", "SSH_AUTH_SOCK"] {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0");
}
