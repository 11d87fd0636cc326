//! How the agent and its terminal commands are started: in the workspace, with a clean
//! environment (PATH, a private HOME, LANG, TZ and the `--agent-env` names), in a process
//! group of their own, and with `--agent-sandbox bwrap` inside bubblewrap: a read-only view
//! of the system, the run's folder writable, a private /tmp, no data folder, network allowed.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;

/// What every process of one run is started with.
#[derive(Debug, Clone)]
pub struct Jail {
    env: Vec<(OsString, OsString)>,
    /// `bwrap` and its options, when sandboxed.
    bwrap: Option<Vec<OsString>>,
}

/// Where bubblewrap is looked for.
pub const BWRAP: &str = "bwrap";

impl Jail {
    /// `writable` are the folders the sandbox may write (the run's folder, its repository's
    /// mirror); `hidden` (the data folder) is covered by an empty one.
    pub fn new(
        home: &Path,
        names: &[String],
        sandbox: bool,
        writable: &[&Path],
        hidden: &Path,
    ) -> Jail {
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        for name in ["PATH", "LANG", "TZ"] {
            if let Some(value) = std::env::var_os(name) {
                env.push((name.into(), value));
            }
        }
        env.push(("HOME".into(), home.into()));
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if let Some(value) = std::env::var_os(name) {
                env.push((name.into(), value));
            }
        }
        let bwrap = sandbox.then(|| {
            let mut args: Vec<OsString> = [
                "--die-with-parent",
                "--unshare-pid",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
            ]
            .iter()
            .map(OsString::from)
            .collect();
            args.push("--tmpfs".into());
            args.push(hidden.into());
            for dir in writable {
                args.push("--bind".into());
                args.push((*dir).into());
                args.push((*dir).into());
            }
            args
        });
        Jail { env, bwrap }
    }

    /// A command ready to spawn: `program args…` in `cwd`, with the run's environment plus
    /// `extra`, stdio piped, in its own process group.
    pub fn command(
        &self,
        program: &str,
        args: &[String],
        cwd: &Path,
        extra: &[(String, String)],
    ) -> Command {
        let mut cmd = match &self.bwrap {
            Some(options) => {
                let mut cmd = Command::new(BWRAP);
                cmd.args(options).arg("--chdir").arg(cwd).arg("--");
                cmd.arg(program);
                cmd
            }
            None => {
                let mut cmd = Command::new(program);
                cmd.current_dir(cwd);
                cmd
            }
        };
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }
}

/// A process group, killed whole when dropped, so nothing the agent started outlives it.
pub struct Group(pub Option<Pid>);

impl Group {
    pub fn of(id: Option<u32>) -> Group {
        Group(id.map(|id| Pid::from_raw(id as i32)))
    }

    pub fn signal(&self, signal: Signal) {
        // Never pid 0: killpg(0) would signal Burrow's own group. ESRCH: already gone.
        if let Some(pid) = self.0.filter(|p| p.as_raw() > 0) {
            let _ = killpg(pid, signal);
        }
    }
}

impl Group {
    /// Whether any process of the group is still there.
    pub fn alive(&self) -> bool {
        self.0
            .filter(|p| p.as_raw() > 0)
            .is_some_and(|pid| killpg(pid, None).is_ok())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}
