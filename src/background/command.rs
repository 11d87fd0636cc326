//! The command runner: claims queued cloud runs while fewer than `--runner-concurrency`
//! commands run, starts `sh -c "$BURROW_RUNNER_COMMAND"` for each with a temporary API key,
//! stops it when the run is cancelled or failed (SIGTERM, then SIGKILL after the grace
//! period), and settles the run from the exit code unless the command already did. The
//! command gets a clean environment and a fresh working folder of its own.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Data;
use futures_util::future::LocalBoxFuture;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use super::output;
use crate::crypto;
use crate::db::runs::Run;
use crate::duration::humane;
use crate::runs::{Claimed, Status};
use crate::state::AppState;

/// How often an idle runner looks for queued runs it was not woken for (a restart, a run
/// queued by PATCH on another path).
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// How long the output may take to drain after the command exits.
const DRAIN: Duration = Duration::from_secs(5);

pub async fn run(state: Data<AppState>, wake: Arc<Notify>) {
    let slots = state.config.runner_concurrency;
    claim_loop(state, wake, slots, |state, run, key, slot| {
        Box::pin(supervise(state, run, key, slot))
    })
    .await
}

/// Claims queued runs while fewer than `slots` are being worked, and starts each with its
/// temporary key; the slot frees when the started work ends. Shared by the command and
/// ACP runners.
pub async fn claim_loop(
    state: Data<AppState>,
    wake: Arc<Notify>,
    slots: u32,
    start: impl Fn(Data<AppState>, Run, String, OwnedSemaphorePermit) -> LocalBoxFuture<'static, ()>,
) {
    let slots = Arc::new(Semaphore::new(slots as usize));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        match state.runs().claim_with_key().await {
            Ok(Claimed::Started(run, key)) => {
                actix_web::rt::spawn(start(state.clone(), *run, key, slot));
            }
            Ok(Claimed::Refused) => {}
            Ok(Claimed::Nothing) => {
                drop(slot);
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(LOOK_EVERY) => {}
                }
            }
            Err(e) => {
                tracing::warn!("runner: cannot claim a run: {e}");
                drop(slot);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The process group of a command, killed whole when it is dropped, so nothing it started
/// outlives the run (or the server).
struct Group(Option<Pid>);

impl Group {
    fn signal(&self, signal: Signal) {
        // Never pid 0: killpg(0) would signal Burrow's own group. ESRCH: already gone.
        if let Some(pid) = self.0.filter(|p| p.as_raw() > 0) {
            let _ = killpg(pid, signal);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// The server's environment variables every command gets, besides `--runner-env`.
const PASSED_ON: &[&str] = &["PATH", "HOME", "LANG", "TZ"];

fn command(state: &AppState, run: &Run, key: &str, folder: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(state.config.runner_command.as_deref().unwrap_or("false"))
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // The server's environment holds its secrets (the artifact store's credentials, the
    // metrics token, the runner webhook secret…): the command starts from nothing but what
    // is named here or by the operator.
    cmd.env_clear();
    let named = state.config.runner_env.iter().map(|n| n.trim());
    for name in PASSED_ON.iter().copied().chain(named) {
        if let Some(value) = std::env::var_os(name).filter(|_| !name.is_empty()) {
            cmd.env(name, value);
        }
    }
    let url = state.runner.base_url();
    let project = run.project_id.to_string();
    cmd.env("BURROW_URL", url)
        .env("BURROW_API_KEY", key)
        .env("BURROW_PROJECT_ID", &project)
        .env("BURROW_TASK_ID", &run.task)
        .env("BURROW_RUN_ID", &run.id)
        .env("POSTHOG_API_URL", url)
        .env("POSTHOG_PERSONAL_API_KEY", key)
        .env("POSTHOG_PROJECT_ID", &project);
    cmd
}

/// A fresh folder for one command to work in, outside the data folder (which holds the
/// database and its signing key), removed with everything in it once the command is over.
struct WorkFolder(PathBuf);

impl WorkFolder {
    fn new(run_id: &str) -> std::io::Result<WorkFolder> {
        let name = format!(
            "burrow-run-{run_id}-{}",
            crypto::random_alphanumeric(8).to_ascii_lowercase()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(WorkFolder(path))
    }

    async fn remove(self) {
        let path = self.0.clone();
        let removed = actix_web::web::block(move || std::fs::remove_dir_all(&path)).await;
        if let Ok(Err(e)) = removed {
            tracing::warn!("runner: cannot remove {}: {e}", self.0.display());
        }
    }
}

async fn supervise(state: Data<AppState>, run: Run, key: String, _slot: OwnedSemaphorePermit) {
    let pk = run.pk;
    let mut changes = state.events.subscribe(pk);
    let folder = WorkFolder::new(&run.id);
    let spawned = match &folder {
        Ok(folder) => command(&state, &run, &key, &folder.0).spawn(),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("cannot make its working folder: {e}"),
        )),
    };
    drop(key);
    let ended = match spawned {
        Err(e) => Err(format!(
            "The command runner could not start the command: {e}"
        )),
        Ok(mut child) => {
            let pid = child.id().unwrap_or_default();
            let group = Group(child.id().map(|id| Pid::from_raw(id as i32)));
            note(
                &state,
                pk,
                "info",
                format!("Started the command (process {pid})."),
            )
            .await;
            let out = output::capture(state.clone(), pk, child.stdout.take(), child.stderr.take());
            let exit = watch_over(&state, pk, &mut child, &group, &mut changes).await;
            drop(group);
            let _ = tokio::time::timeout(DRAIN, out).await;
            exit.map_err(|e| format!("The command runner lost the command: {e}"))
        }
    };
    if let Ok(folder) = folder {
        folder.remove().await;
    }
    let (status, why) = match &ended {
        Ok(exit) if exit.success() => (Status::Completed, "The command exited with code 0.".into()),
        Ok(exit) => (Status::Failed, exit_message(exit)),
        Err(why) => (Status::Failed, why.clone()),
    };
    if let Err(e) = state.runs().settle(pk, status, why).await {
        tracing::warn!(run = %run.id, "runner: cannot settle a run: {e}");
    }
}

fn exit_message(exit: &ExitStatus) -> String {
    match (exit.code(), exit.signal()) {
        (Some(code), _) => format!("The command exited with code {code}."),
        (None, Some(signal)) => format!("The command was killed by signal {signal}."),
        (None, None) => "The command ended without an exit code.".into(),
    }
}

/// Waits for the command, stopping it once the run is cancelled or failed (at once) or
/// completed (after the grace period, if it has not exited by then).
async fn watch_over(
    state: &Data<AppState>,
    pk: i64,
    child: &mut Child,
    group: &Group,
    changes: &mut watch::Receiver<crate::events::Notice>,
) -> std::io::Result<ExitStatus> {
    let grace = state.config.runner_grace;
    // The next signal to send and when; set once the run has ended.
    let mut next: Option<(Instant, Signal)> = None;
    let mut stopping = false;
    let mut look = true;
    let mut watching = true;
    loop {
        if look && !stopping {
            next = match state.runs().status(pk).await {
                Ok(Status::Cancelled | Status::Failed) => Some((Instant::now(), Signal::SIGTERM)),
                Ok(Status::Completed) => Some((Instant::now() + grace, Signal::SIGTERM)),
                _ => None,
            };
            stopping = next.is_some();
        }
        look = false;
        let at = next.map_or_else(|| Instant::now() + LOOK_EVERY, |(at, _)| at);
        tokio::select! {
            exit = child.wait() => return exit,
            changed = changes.changed(), if watching && !stopping => {
                watching = changed.is_ok();
                look = true;
            }
            _ = tokio::time::sleep_until(at) => {
                let Some((_, signal)) = next.take() else {
                    look = true;
                    continue;
                };
                group.signal(signal);
                let message = if signal == Signal::SIGTERM {
                    next = Some((Instant::now() + grace, Signal::SIGKILL));
                    "The run has ended: stopping the command (SIGTERM).".to_string()
                } else {
                    format!(
                        "The command did not stop within {}: killing it (SIGKILL).",
                        humane(grace)
                    )
                };
                note(state, pk, "warn", message).await;
            }
        }
    }
}

async fn note(state: &Data<AppState>, pk: i64, level: &'static str, message: String) {
    if let Err(e) = state.runs().note(pk, level, message).await {
        tracing::warn!("runner: cannot write to a run's log: {e}");
    }
}
