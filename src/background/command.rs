//! The command runner: claims queued cloud runs while fewer than `--runner-concurrency`
//! commands run, starts `sh -c "$BURROW_RUNNER_COMMAND"` for each with a temporary API key,
//! stops it when the run is cancelled or failed or Burrow shuts down (SIGTERM to its whole
//! process group, then SIGKILL once the grace period is over and any process of the group
//! is left), and settles the run from the exit code unless the command already did. The
//! command gets a clean environment and a fresh working folder of its own.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Data;
use futures_util::future::LocalBoxFuture;
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

use super::group::Group;
use super::output;
use crate::auth::ingest_token;
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

pub async fn run(state: Data<AppState>, wake: Arc<Notify>, slots: Arc<Semaphore>) {
    claim_loop(state, wake, slots, |state, run, key, slot| {
        Box::pin(supervise(state, run, key, slot))
    })
    .await
}

/// Claims queued runs while a permit of `slots` is free, and starts each with its temporary
/// key; the permit frees when the started work ends. Stops claiming when Burrow shuts down.
/// Shared by the command and ACP runners.
pub async fn claim_loop(
    state: Data<AppState>,
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
    start: impl Fn(Data<AppState>, Run, String, OwnedSemaphorePermit) -> LocalBoxFuture<'static, ()>,
) {
    let stopping = state.events.stopping();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Shutting down: no new run; `background::stop` waits for the running commands.
        if *stopping.borrow() {
            return;
        }
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
    // The run's event ingest token, for its event_stream/ (agent-server reads the second).
    let ingest = ingest_token(&state.signer, &run.id);
    cmd.env("BURROW_EVENT_INGEST_TOKEN", &ingest)
        .env("POSTHOG_TASK_RUN_EVENT_INGEST_TOKEN", &ingest);
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
    let mut shutdown = false;
    let ended = match spawned {
        Err(e) => Err(format!(
            "The command runner could not start the command: {e}"
        )),
        Ok(mut child) => {
            let pid = child.id().unwrap_or_default();
            let group = Group::new(pid, &state.config.data_dir, &run.id);
            note(
                &state,
                pk,
                "info",
                format!("Started the command (process {pid})."),
            )
            .await;
            let out = output::capture(state.clone(), pk, child.stdout.take(), child.stderr.take());
            let mut stop = Stop::default();
            let exit = watch_over(&state, pk, &mut child, &group, &mut changes, &mut stop).await;
            stop_group(&state, pk, &group, &mut stop).await;
            drop(group);
            shutdown = stop.shutdown;
            let _ = tokio::time::timeout(DRAIN, out).await;
            exit.map_err(|e| format!("The command runner lost the command: {e}"))
        }
    };
    if let Ok(folder) = folder {
        folder.remove().await;
    }
    let (status, why) = match &ended {
        // Whatever the command's exit, it did not get to finish its work.
        Ok(exit) if shutdown => (
            Status::Failed,
            format!(
                "Burrow was shutting down, so it stopped the command. {}",
                exit_message(exit)
            ),
        ),
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

/// Where stopping a command has got to.
#[derive(Default)]
struct Stop {
    /// The next signal to send and when; set once the run has ended.
    next: Option<(Instant, Signal)>,
    /// Burrow itself is shutting down.
    shutdown: bool,
}

/// Waits for the command's shell, stopping it once the run is cancelled or failed (at once),
/// completed (after the grace period, if it has not exited by then) or Burrow is shutting
/// down (at once).
async fn watch_over(
    state: &Data<AppState>,
    pk: i64,
    child: &mut Child,
    group: &Group,
    changes: &mut watch::Receiver<crate::events::Notice>,
    stop: &mut Stop,
) -> std::io::Result<ExitStatus> {
    let grace = state.config.runner_grace;
    let mut shutdown = state.events.stopping();
    let mut stopping = false;
    let mut look = true;
    let mut watching = true;
    loop {
        if *shutdown.borrow_and_update() && !stop.shutdown {
            stop.shutdown = true;
            // Sooner than a completed run's grace, never later than a SIGKILL already due.
            if !matches!(stop.next, Some((_, Signal::SIGKILL))) {
                stop.next = Some((Instant::now(), Signal::SIGTERM));
            }
            stopping = true;
        }
        if look && !stopping {
            stop.next = match state.runs().status(pk).await {
                Ok(Status::Cancelled | Status::Failed) => Some((Instant::now(), Signal::SIGTERM)),
                Ok(Status::Completed) => Some((Instant::now() + grace, Signal::SIGTERM)),
                _ => None,
            };
            stopping = stop.next.is_some();
        }
        look = false;
        let at = stop
            .next
            .map_or_else(|| Instant::now() + LOOK_EVERY, |(at, _)| at);
        tokio::select! {
            exit = child.wait() => return exit,
            changed = changes.changed(), if watching && !stopping => {
                watching = changed.is_ok();
                look = true;
            }
            _ = shutdown.changed(), if !stop.shutdown => {}
            _ = tokio::time::sleep_until(at) => {
                if stop.next.is_none() {
                    look = true;
                    continue;
                }
                send_next(state, pk, group, stop).await;
            }
        }
    }
}

/// Sends the planned signal and plans the next: SIGKILL one grace period after SIGTERM.
async fn send_next(state: &Data<AppState>, pk: i64, group: &Group, stop: &mut Stop) {
    let Some((_, signal)) = stop.next.take() else {
        return;
    };
    let grace = state.config.runner_grace;
    group.signal(signal);
    let message = if signal == Signal::SIGTERM {
        stop.next = Some((Instant::now() + grace, Signal::SIGKILL));
        if stop.shutdown {
            "Burrow is shutting down: stopping the command (SIGTERM).".to_string()
        } else {
            "The run has ended: stopping the command (SIGTERM).".to_string()
        }
    } else {
        format!(
            "The command did not stop within {}: killing it (SIGKILL).",
            humane(grace)
        )
    };
    note(state, pk, "warn", message).await;
}

/// Once the shell has exited, waits for the rest of its process group: a command being
/// stopped keeps its grace period (a script's TERM handler runs even when the shell that
/// started it is gone), and what a finished command left running gets SIGTERM and the
/// same grace. SIGKILL for whatever is still there after.
async fn stop_group(state: &Data<AppState>, pk: i64, group: &Group, stop: &mut Stop) {
    let grace = state.config.runner_grace;
    match stop.next {
        Some((at, Signal::SIGKILL)) => {
            if !group.gone_by(at).await {
                send_next(state, pk, group, stop).await;
            }
        }
        _ => {
            if !group.gone_by(Instant::now()).await {
                group.signal(Signal::SIGTERM);
                if !group.gone_by(Instant::now() + grace).await {
                    group.signal(Signal::SIGKILL);
                }
            }
        }
    }
}

async fn note(state: &Data<AppState>, pk: i64, level: &'static str, message: String) {
    if let Err(e) = state.runs().note(pk, level, message).await {
        tracing::warn!("runner: cannot write to a run's log: {e}");
    }
}
